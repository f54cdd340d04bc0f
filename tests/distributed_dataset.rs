//! `famsim dataset` over timely workers writes the dataset one process
//! writes: 2 processes × 2 threads into one folder, and into one folder per
//! process joined by `famsim merge`.

use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;
use common::tree;

fn famsim(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn ok(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "famsim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (a, b) = (tree(a), tree(b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{} differs", name.display());
    }
}

fn free_ports() -> String {
    let listeners: Vec<_> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}\n", l.local_addr().unwrap().port()))
        .collect()
}

#[test]
fn a_dataset_on_two_processes_is_the_dataset_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let base = [
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--families",
        "6",
        "--quiet",
    ];
    let one = p("one");
    let mut args = base.to_vec();
    args.extend(["--out", &one]);
    ok(famsim(&args).spawn().unwrap());

    let hostfile = p("hosts");
    // Retries when another program took a port between `free_ports` and the bind.
    let cluster = |outs: [&str; 2]| {
        for attempt in 0..3 {
            std::fs::write(&hostfile, free_ports()).unwrap();
            let children: Vec<Child> = (0..2)
                .map(|i| {
                    let index = i.to_string();
                    let mut args = base.to_vec();
                    args.extend(["--out", outs[i], "--workers", "2", "--processes", "2"]);
                    args.extend(["--process", &index, "--hostfile", &hostfile]);
                    args.extend(["--connect-timeout", "20"]);
                    famsim(&args).spawn().unwrap()
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
                attempt < 2 && texts.iter().any(|t| t.contains("cannot listen on")),
                "famsim failed: {}\n{}",
                texts[0],
                texts[1]
            );
        }
    };

    let shared = p("shared");
    cluster([&shared, &shared]);
    assert_same_tree(Path::new(&one), Path::new(&shared));

    let (p0, p1) = (p("p0"), p("p1"));
    cluster([&p0, &p1]);
    assert!(
        !Path::new(&p1).join("DATASET.md").exists(),
        "only process 0 writes the tables"
    );
    let merged = p("merged");
    ok(famsim(&["merge", &p0, &p1, "--out", &merged])
        .spawn()
        .unwrap());
    assert_same_tree(Path::new(&one), Path::new(&merged));
}
