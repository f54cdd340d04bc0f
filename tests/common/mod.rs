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
/// failed only because a port was taken is retried, twice at most.
pub fn run_cluster(hostfile: &Path, args_for: impl Fn(usize, &str) -> Vec<String>) {
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
        if outputs.iter().all(|o| o.status.success()) {
            return;
        }
        let texts: Vec<String> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        assert!(
            attempt < 2 && port_taken(texts.iter().map(String::as_str)),
            "a famsim process failed: {}\n{}",
            texts[0],
            texts[1]
        );
    }
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
