#!/usr/bin/env bash
# Runs the same famsim job with 1 worker, 2 worker threads, and 2 processes
# of 1 thread each (over TCP on localhost), checks that all three wrote the
# same files, and prints people per second and parallel efficiency.
#
#   tools/bench_workers.sh run  scenario.ron [famsim flags...]
#   tools/bench_workers.sh dataset spec.ron  [famsim flags...]
#   tools/bench_workers.sh families N [famsim flags...]   (a generated scenario:
#       N unrelated three-generation families of 10 people, run with `famsim run`)
#
# FAMSIM=path/to/famsim picks the binary (default: builds target/release/famsim).
# Parallel efficiency = (people/s with N workers) / (N × people/s with 1 worker).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n 2,13p "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
mode=$1
input=$2
shift 2
extra=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ $mode == families ]]; then
    python3 - "$input" >"$work/families.ron" <<'PY'
import sys
n = int(sys.argv[1])
out = ['(name: "bench families", seed: 1, people: [']
for f in range(n):
    def add(i, sex, age, extra=""):
        out.append(f'(id: "f{f}_{i}", sex: {sex}, age: "{age}"{extra}),')
    kin = lambda a, b: f', father: Some("f{f}_{a}"), mother: Some("f{f}_{b}")'
    for i, sex in [("gf1", "Male"), ("gm1", "Female"), ("gf2", "Male"), ("gm2", "Female")]:
        add(i, sex, "60-69", ", ancestry: Some(White)")
    add("son", "Male", "30-39", kin("gf1", "gm1"))
    add("aunt", "Female", "30-39", kin("gf1", "gm1"))
    add("dau", "Female", "30-39", kin("gf2", "gm2"))
    add("uncle", "Male", "40-49", kin("gf2", "gm2"))
    add("kid1", "Female", "3-9", kin("son", "dau"))
    add("kid2", "Male", "10-19", kin("son", "dau"))
out.append("])")
print("\n".join(out))
PY
    mode=run
    input="$work/families.ron"
fi

if [[ -z "${FAMSIM:-}" ]]; then
    cargo build --release --quiet
    FAMSIM="${CARGO_TARGET_DIR:-target}/release/famsim"
fi
if [[ $mode == dataset ]]; then
    job=(dataset --spec "$input")
else
    job=(run "$input")
fi

# Rendering threads per process, so that "2 workers" means twice the cores of "1 worker".
threads=${THREADS_PER_WORKER:-1}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# "wall-seconds cpu-seconds" of a command and its children (its stdout,
# where timely logs connection attempts, and stderr go to $work/log).
seconds_of() {
    local TIMEFORMAT='%R %U %S'
    { time "$@" >>"$work/log" 2>&1; } 2>&1 | awk '{ print $1, $2 + $3 }'
}

# People = faces written (every person has one).
people_in() {
    find "$1" -name '*.png' ! -name contact_sheet.png | wc -l
}

one_worker() {
    "$FAMSIM" "${job[@]}" --out "$work/one" --quiet --threads "$threads" "${extra[@]}"
}

two_threads() {
    "$FAMSIM" "${job[@]}" --out "$work/threads" --quiet --threads $((2 * threads)) --workers 2 "${extra[@]}"
}

two_processes() {
    local hosts="$work/hosts"
    printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$(free_port)" "$(free_port)" >"$hosts"
    # Both at once, as a scheduler would start them; they find each other.
    "$FAMSIM" "${job[@]}" --out "$work/procs" --quiet --threads "$threads" \
        --processes 2 --process 0 --hostfile "$hosts" "${extra[@]}" &
    local leader=$!
    "$FAMSIM" "${job[@]}" --out "$work/procs" --quiet --threads "$threads" \
        --processes 2 --process 1 --hostfile "$hosts" "${extra[@]}"
    wait "$leader"
}

read -r t1 c1 < <(seconds_of one_worker)
read -r t2 c2 < <(seconds_of two_threads)
read -r tp cp < <(seconds_of two_processes)
people=$(people_in "$work/one")

for dir in threads procs; do
    if ! diff -r -q "$work/one" "$work/$dir" >/dev/null; then
        echo "error: $dir wrote different files than one worker" >&2
        exit 1
    fi
done

# CPU seconds show the cost of distribution even on a busy machine, where
# wall-clock speed-up is capped by the cores actually free.
printf '%-22s %8s %8s %10s %11s\n' setup wall-s cpu-s people/s efficiency
awk -v p="$people" -v t1="$t1" -v t2="$t2" -v tp="$tp" -v c1="$c1" -v c2="$c2" -v cp="$cp" 'BEGIN {
    r1 = p / t1; r2 = p / t2; rp = p / tp;
    printf "%-22s %8.2f %8.2f %10.1f %10.0f%%\n", "1 worker", t1, c1, r1, 100;
    printf "%-22s %8.2f %8.2f %10.1f %10.0f%%\n", "2 threads", t2, c2, r2, 100 * r2 / (2 * r1);
    printf "%-22s %8.2f %8.2f %10.1f %10.0f%%\n", "2 processes x 1 thread", tp, cp, rp, 100 * rp / (2 * r1);
}'
echo "($people people; outputs identical in all three setups)"
