//! Helpers shared by the integration tests. Each test crate uses only some
//! of them, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Every file under `dir`: relative path → bytes. Comparing two of these is
/// how the tests say "byte-identical run directories".
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// Asserts two folders hold the same files with the same bytes.
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let (a, b) = (tree(expected), tree(actual));
    let names = |t: &BTreeMap<PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "different files");
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{} differs", name.display());
    }
}

/// (shape, values) of float32 tensor `name` in a safetensors file (the
/// PyTorch fixtures' expected outputs).
pub fn expected_tensor(file: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st
        .tensor(name)
        .unwrap_or_else(|e| panic!("{}: {name}: {e:?}", file.display()));
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (view.shape().to_vec(), values)
}

/// The real famsim binary, run from the repository root with output captured.
pub fn famsim(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Two free local ports (bound, read, released), as `127.0.0.1:PORT`.
pub fn free_ports() -> Vec<String> {
    let listeners: Vec<_> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port()))
        .collect()
}

/// Whether a failed start was only a port that something else took between
/// `free_ports` and the bind (other tests run beside these): worth a retry.
pub fn port_taken<'a>(outputs: impl IntoIterator<Item = &'a str>) -> bool {
    outputs.into_iter().any(|t| t.contains("cannot listen on"))
}

/// Runs a two-process famsim cluster to completion on fresh local ports.
/// `args_for(index, hostfile)` gives process `index`'s arguments; a try that
/// failed only because a port was taken is retried, twice at most. Returns
/// each process's stderr.
pub fn run_cluster(hostfile: &Path, args_for: impl Fn(usize, &str) -> Vec<String>) -> Vec<String> {
    let hosts = hostfile.to_string_lossy().into_owned();
    for attempt in 0..3 {
        std::fs::write(hostfile, free_ports().join("\n") + "\n").unwrap();
        let children: Vec<Child> = (0..2)
            .map(|i| {
                let args = args_for(i, &hosts);
                famsim(&args.iter().map(String::as_str).collect::<Vec<_>>())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let texts: Vec<String> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        if outputs.iter().all(|o| o.status.success()) {
            return texts;
        }
        assert!(
            attempt < 2 && port_taken(texts.iter().map(String::as_str)),
            "a famsim process failed: {}\n{}",
            texts[0],
            texts[1]
        );
    }
    unreachable!("the last attempt either returns or panics")
}

/// How a two-process cluster ended after one of its processes was killed.
pub struct LostProcess {
    /// The host file's addresses, in process order.
    pub hosts: Vec<String>,
    /// The surviving process's exit code and stderr.
    pub survivor_code: Option<i32>,
    pub survivor_stderr: String,
    /// Finished files `count` saw just after the kill.
    pub files_at_kill: usize,
}

/// Starts a two-process famsim cluster on fresh local ports, waits until
/// `count()` (finished files in the output) reaches `from` while both
/// processes still run, kills process `victim` with SIGKILL, and waits for the
/// survivor to end, which it must do within 30 s. Panics unless the kill
/// landed on a running process with fewer than `below` files written. A try
/// that failed only because a port was taken is retried, twice at most.
pub fn kill_one_process(
    hostfile: &Path,
    args_for: impl Fn(usize, &str) -> Vec<String>,
    victim: usize,
    count: impl Fn() -> usize,
    from: usize,
    below: usize,
) -> LostProcess {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let file = hostfile.to_string_lossy().into_owned();
    for attempt in 0..3 {
        let hosts = free_ports();
        std::fs::write(hostfile, hosts.join("\n") + "\n").unwrap();
        let mut children: Vec<Child> = (0..2)
            .map(|i| {
                let args = args_for(i, &file);
                famsim(&args.iter().map(String::as_str).collect::<Vec<_>>())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let started = Instant::now();
        let mut ended_early = false;
        while count() < from {
            if children.iter_mut().any(|c| c.try_wait().unwrap().is_some())
                || started.elapsed() > Duration::from_secs(120)
            {
                ended_early = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if ended_early {
            for c in &mut children {
                let _ = c.kill();
            }
            let texts: Vec<String> = children
                .into_iter()
                .map(|c| {
                    String::from_utf8_lossy(&c.wait_with_output().unwrap().stderr).into_owned()
                })
                .collect();
            assert!(
                attempt < 2 && port_taken(texts.iter().map(String::as_str)),
                "a process ended before {from} files were written, so the kill \
                 could not land mid-run:\n{}\n{}",
                texts[0],
                texts[1]
            );
            continue;
        }
        children[victim].kill().unwrap(); // SIGKILL
        let status = children[victim].wait().unwrap();
        let files_at_kill = count();
        assert_eq!(
            status.signal(),
            Some(9),
            "process {victim} was not running any more when it was killed ({status})"
        );
        assert!(
            files_at_kill < below,
            "{files_at_kill} files were written before the kill landed; expected fewer than {below}"
        );
        let mut survivor = children.remove(1 - victim);
        let killed_at = Instant::now();
        while survivor.try_wait().unwrap().is_none() {
            if killed_at.elapsed() > Duration::from_secs(30) {
                let _ = survivor.kill();
                let out = survivor.wait_with_output().unwrap();
                panic!(
                    "process {} still ran 30 s after process {victim} was killed:\n{}",
                    1 - victim,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = survivor.wait_with_output().unwrap();
        return LostProcess {
            hosts,
            survivor_code: out.status.code(),
            survivor_stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            files_at_kill,
        };
    }
    unreachable!("the last attempt either returns or panics")
}

/// Writes `dir/families.ron`: `families` families of two pool founders and
/// three children each, at 128 px — enough faces that a test can kill a run
/// while it draws them.
pub fn many_families(dir: &Path, families: usize) -> PathBuf {
    let ancestries = ["White", "Black", "EastAsian", "Indian", "LatinoHispanic"];
    let mut people = String::new();
    for f in 0..families {
        let anc = ancestries[f % ancestries.len()];
        people.push_str(&format!(
            "(id: \"pa{f}\", sex: Male, age: \"40-49\", ancestry: Some({anc})),\n\
             (id: \"ma{f}\", sex: Female, age: \"30-39\", ancestry: Some({anc})),\n"
        ));
        for (k, (sex, age)) in [("Female", "3-9"), ("Male", "10-19"), ("Female", "20-29")]
            .iter()
            .enumerate()
        {
            people.push_str(&format!(
                "(id: \"kid{f}_{k}\", sex: {sex}, age: \"{age}\", \
                 father: Some(\"pa{f}\"), mother: Some(\"ma{f}\")),\n"
            ));
        }
    }
    let path = dir.join("families.ron");
    std::fs::write(
        &path,
        format!("(name: \"many families\", seed: 5, image_size: 128, people: [\n{people}])\n"),
    )
    .unwrap();
    path
}

/// Finished files (not famsim's temporaries) with extension `ext` anywhere
/// under `dir`; 0 while `dir` does not exist.
pub fn finished_files(dir: &Path, ext: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if !name.starts_with(".famsim-") && path.extension().is_some_and(|x| x == ext) {
                n += 1;
            }
        }
    }
    n
}

/// Whether the outside program `tool` (an independent judge of famsim's
/// output, such as Graphviz or Gramps) can be run. When it cannot: with
/// `CI=true` this panics, because CI (`.ci/run`) installs every such program
/// and a check that silently stops running proves nothing; elsewhere it
/// prints that `what` was not checked and returns false, so the caller can skip.
pub fn outside_tool(tool: &str, what: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "`{tool}` is not on PATH, but CI=true: {what} must be checked in CI (.ci/run installs it)"
    );
    // Straight to stderr, not `eprintln!`, which the test harness captures
    // and hides for a test that passes.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: `{tool}` is not installed, so {what} was not checked (CI=true makes this a failure)"
    );
    false
}

/// seeta_fd_frontal_v1.0.bin as cargo unpacked the rustface crate to build famsim.
pub fn seeta_model() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap()).join(".cargo"));
    let src = home.join("registry/src");
    for index in std::fs::read_dir(&src).unwrap() {
        let p = index
            .unwrap()
            .path()
            .join("rustface-0.1.7/model/seeta_fd_frontal_v1.0.bin");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "seeta_fd_frontal_v1.0.bin not found under {}",
        src.display()
    );
}

/// The 68-point model, or None (skip) outside CI when it is not installed.
pub fn landmarks_model() -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/share/dlib")];
    if let Ok(home) = std::env::var("HOME") {
        dirs.push(Path::new(&home).join(
            ".cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models",
        ));
    }
    let found = dirs
        .iter()
        .map(|d| d.join("shape_predictor_68_face_landmarks.dat"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "shape_predictor_68_face_landmarks.dat is missing; .ci/run installs it"
        );
        eprintln!("skipping: shape_predictor_68_face_landmarks.dat is not installed");
    }
    found
}

/// Runs famsim with `args` to the end and returns its output, panicking with
/// its stderr unless it succeeded.
pub fn famsim_ok(args: &[&str]) -> std::process::Output {
    let out = famsim(args).output().expect("famsim starts");
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The flags that make a famsim command process `index` of the two-process
/// cluster listed in `hostfile`, waiting up to 20 s for the other to join.
pub fn cluster_flags(index: usize, hostfile: &str) -> Vec<String> {
    let index = index.to_string();
    [
        "--processes",
        "2",
        "--process",
        &index,
        "--hostfile",
        hostfile,
        "--connect-timeout",
        "20",
    ]
    .map(String::from)
    .to_vec()
}

/// Kills process `victim` of a two-process cluster (`args_for` as for
/// `kill_one_process`) once a tenth of the `total` faces exist, before half
/// do, and asserts that the survivor exited with code 1, naming the lost
/// process and asking for a rerun with `--resume`, that the run did not
/// finish (`finished`, the file a finished run writes, is absent), and that
/// every face counted at the kill is still there. Returns the faces kept.
pub fn lose_one_process(
    hostfile: &Path,
    args_for: impl Fn(usize, &str) -> Vec<String>,
    victim: usize,
    faces: impl Fn() -> usize,
    total: usize,
    finished: &Path,
) -> usize {
    let lost = kill_one_process(hostfile, args_for, victim, &faces, total / 10, total / 2);
    let survivor = 1 - victim;
    let said = &lost.survivor_stderr;
    assert_eq!(lost.survivor_code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "process {victim} ({}) stopped or became unreachable; process {survivor} stops too",
            lost.hosts[victim]
        )) && said.contains("rerun the whole job with --resume"),
        "process {survivor} did not name the lost process {victim}:\n{said}"
    );
    assert!(!finished.exists());
    let kept = faces();
    assert!(kept >= lost.files_at_kill && kept < total);
    kept
}

/// Waits until `count()` (faces drawn so far) reaches `target` while `child`
/// still runs, kills it with SIGKILL, and asserts that the kill landed
/// mid-run: on a running process, leaving `target..total` faces.
pub fn kill_mid_run(mut child: Child, count: impl Fn() -> usize, target: usize, total: usize) {
    use std::os::unix::process::ExitStatusExt;
    while count() < target {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before {target} of {total} faces existed; \
                 the kill could not land mid-run"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the run was not running any more when it was killed ({status})"
    );
    let left = count();
    assert!(
        (target..total).contains(&left),
        "expected a partial folder, found {left} of {total} faces"
    );
}

/// A file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// `famsim weights import` of the tiny generator and mappings fixtures (no
/// gene pool) into `out`, plus `extra` flags; its output, success or not.
pub fn import_tiny_networks(out: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    let (generator, mappings) = (
        fixture("stylegan2/tiny.pt"),
        fixture("neural/mappings.ckpt"),
    );
    let base: [&std::ffi::OsStr; 6] = [
        "weights".as_ref(),
        "import".as_ref(),
        "--stylegan2".as_ref(),
        generator.as_os_str(),
        "--stylegene".as_ref(),
        mappings.as_os_str(),
    ];
    Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(base)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("famsim starts")
}

/// Runs famsim in `dir` to import the tiny generator, mappings and gene pool
/// fixtures, plus `extra` flags, into `out`; panics unless it succeeded.
pub fn import_tiny_weights(dir: &Path, out: &str, extra: &[&str]) {
    let (generator, mappings, pool) = (
        fixture("stylegan2/tiny.pt"),
        fixture("neural/mappings.ckpt"),
        fixture("neural/gene_pool.pkl"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let base = [
        "weights",
        "import",
        "--stylegan2",
        &s(&generator),
        "--stylegene",
        &s(&mappings),
        "--gene-pool",
        &s(&pool),
        "--out",
        out,
    ];
    let args = [&base[..], extra].concat();
    let output = Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("famsim starts");
    assert!(
        output.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `src` compressed with bzip2 into `dest`: dlib publishes its models as
/// `.dat.bz2`, and famsim reads them so.
pub fn bzip2_copy(src: &Path, dest: &Path) {
    let mut enc = bzip2::write::BzEncoder::new(
        std::fs::File::create(dest).unwrap(),
        bzip2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(src).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
}

/// A model file from face_recognition_models (unpacked by `.ci/run` under
/// ~/.cache/famsim-models), or None (skip) outside CI when it is missing.
fn face_recognition_model(name: &str) -> Option<PathBuf> {
    let found = std::env::var("HOME").ok().map(|home| {
        Path::new(&home)
            .join(
                ".cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models",
            )
            .join(name)
    });
    let found = found.filter(|p| p.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{name} is missing; .ci/run installs it (face_recognition_models 0.3.0)"
        );
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// dlib's face descriptor network, or None (skip) outside CI when missing.
pub fn descriptor_model() -> Option<PathBuf> {
    face_recognition_model("dlib_face_recognition_resnet_model_v1.dat")
}

/// dlib's 5-point landmark model, or None (skip) outside CI when missing.
pub fn landmarks5_model() -> Option<PathBuf> {
    face_recognition_model("shape_predictor_5_face_landmarks.dat")
}

/// The device a GPU backend's parity tests run on, or None (skip). A machine
/// without the device skips them with a printed note; with `CI=true` that is
/// a failure instead, as for `outside_tool`: CI (`.ci/run`) installs Mesa's
/// lavapipe so that the wgpu tests always run there, and
/// `tools/cuda_check.sh` sets CI=true so that its CUDA tests cannot pass by
/// skipping.
pub fn gpu_or_skip<D>(what: &str, found: famsim::Result<D>) -> Option<D> {
    match found {
        Ok(device) => Some(device),
        Err(err) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{what} is needed but not usable, and CI=true: {err}"
            );
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {what} is not usable, so its checks did not run (CI=true makes this a failure): {err}"
            );
            None
        }
    }
}

/// wgpu adapter 0 (`Wgpu(0)`), or None (skip, see [`gpu_or_skip`]).
#[cfg(feature = "wgpu")]
pub fn wgpu_device() -> Option<famsim::model::stylegene::device::WgpuDevice> {
    gpu_or_skip(
        "wgpu adapter 0",
        famsim::model::stylegene::device::wgpu_device(0),
    )
}

/// CUDA GPU 0 (`Cuda(0)`), or None (skip, see [`gpu_or_skip`]).
#[cfg(feature = "cuda")]
pub fn cuda_device() -> Option<famsim::model::stylegene::device::CudaDevice> {
    gpu_or_skip(
        "CUDA GPU 0",
        famsim::model::stylegene::device::cuda_device(0),
    )
}

/// Two real faces side by side: the astronaut, and beside it the same photo
/// mirrored at 3/4 size (nearest pixel), so the two faces differ in size
/// (tools/eval_detectors.py composes the same picture).
pub fn two_faces(path: &Path) {
    let a = famsim::io::photo::read_photo(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/astronaut_crop.png"),
    )
    .unwrap();
    let (w2, h2) = (a.width * 3 / 4, a.height * 3 / 4);
    let (width, height) = (a.width + w2, a.height);
    let mut rgb = vec![128u8; (width * height * 3) as usize];
    for y in 0..height {
        for x in 0..width {
            let src = if x < a.width {
                Some((x, y))
            } else if y < h2 {
                let mx = w2 - 1 - (x - a.width);
                Some((mx * 4 / 3, y * 4 / 3))
            } else {
                None
            };
            if let Some((sx, sy)) = src {
                let s = ((sy * a.width + sx) * 3) as usize;
                let d = ((y * width + x) * 3) as usize;
                rgb[d..d + 3].copy_from_slice(&a.rgb[s..s + 3]);
            }
        }
    }
    let image = famsim::model::Image { width, height, rgb };
    std::fs::write(path, famsim::exports::png::encode_png(&image).unwrap()).unwrap();
}

/// Mean absolute difference of two 8-bit images of one size, in 1/255 units.
pub fn mean_abs(a: &famsim::model::Image, b: &famsim::model::Image) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.rgb
        .iter()
        .zip(&b.rgb)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum::<f64>()
        / a.rgb.len() as f64
}

/// Runs `cmd` to its end; its exit code and peak resident memory in bytes.
// The child is reaped by `wait4` below, which std's `Child::wait` cannot
// replace: only wait4 reports the child's own peak memory.
#[allow(clippy::zombie_processes)]
pub fn run_measured(mut cmd: Command) -> (Option<i32>, u64) {
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a plain wait for our own child; `rusage` is plain data that
    // wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in kilobytes.
    (code, usage.ru_maxrss as u64 * 1024)
}
