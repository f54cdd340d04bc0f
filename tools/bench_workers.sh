#!/usr/bin/env bash
# Runs the same famsim job with 1 worker, 2 worker threads, and 2 processes
# of 1 thread each (over TCP on localhost), checks that all three wrote the
# same files, and prints people per second and parallel efficiency.
#
#   tools/bench_workers.sh run  scenario.ron [famsim flags...]
#   tools/bench_workers.sh dataset spec.ron  [famsim flags...]
#
# FAMSIM=path/to/famsim picks the binary (default: builds target/release/famsim).
# Parallel efficiency = (people/s with N workers) / (N × people/s with 1 worker).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n 2,11p "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
mode=$1
input=$2
shift 2
extra=("$@")

if [[ -z "${FAMSIM:-}" ]]; then
    cargo build --release --quiet
    FAMSIM="${CARGO_TARGET_DIR:-target}/release/famsim"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Rendering threads per process, so that "2 workers" means twice the cores of "1 worker".
threads=${THREADS_PER_WORKER:-1}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

seconds_of() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

people_in() {
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["people"]))' "$1/manifest.json" 2>/dev/null ||
        find "$1" -name '*.png' ! -name contact_sheet.png | wc -l
}

one_worker() {
    "$FAMSIM" "$mode" "$input" --out "$work/one" --quiet --threads "$threads" "${extra[@]}"
}

two_threads() {
    "$FAMSIM" "$mode" "$input" --out "$work/threads" --quiet --threads $((2 * threads)) --workers 2 "${extra[@]}"
}

two_processes() {
    local hosts="$work/hosts"
    printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$(free_port)" "$(free_port)" >"$hosts"
    "$FAMSIM" "$mode" "$input" --out "$work/procs" --quiet --threads "$threads" \
        --processes 2 --process 1 --hostfile "$hosts" "${extra[@]}" &
    local follower=$!
    "$FAMSIM" "$mode" "$input" --out "$work/procs" --quiet --threads "$threads" \
        --processes 2 --process 0 --hostfile "$hosts" "${extra[@]}"
    wait "$follower"
}

t1=$(seconds_of one_worker)
t2=$(seconds_of two_threads)
tp=$(seconds_of two_processes)
people=$(people_in "$work/one")

for dir in threads procs; do
    if ! diff -r -q -x .famsim-run.json "$work/one" "$work/$dir" >/dev/null; then
        echo "error: $dir wrote different files than one worker" >&2
        exit 1
    fi
done

printf '%-22s %8s %10s %11s\n' setup seconds people/s efficiency
awk -v p="$people" -v t1="$t1" -v t2="$t2" -v tp="$tp" 'BEGIN {
    r1 = p / t1; r2 = p / t2; rp = p / tp;
    printf "%-22s %8.2f %10.1f %10.0f%%\n", "1 worker", t1, r1, 100;
    printf "%-22s %8.2f %10.1f %10.0f%%\n", "2 threads", t2, r2, 100 * r2 / (2 * r1);
    printf "%-22s %8.2f %10.1f %10.0f%%\n", "2 processes x 1 thread", tp, rp, 100 * rp / (2 * r1);
}'
echo "($people people; outputs identical in all three setups)"
