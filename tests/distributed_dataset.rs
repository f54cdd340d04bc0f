//! `famsim dataset` over timely workers writes the dataset one process
//! writes: 2 processes × 2 threads into one folder, and into one folder per
//! process joined by `famsim merge`.

use std::path::Path;
use std::process::Child;

mod common;
use common::{assert_same_tree, famsim, run_cluster};

fn ok(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "famsim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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

    let hostfile = dir.path().join("hosts");
    let cluster = |outs: [&str; 2]| {
        run_cluster(&hostfile, |i, hosts| {
            let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            let index = i.to_string();
            for a in [
                "--out",
                outs[i],
                "--workers",
                "2",
                "--processes",
                "2",
                "--process",
                &index,
                "--hostfile",
                hosts,
                "--connect-timeout",
                "20",
            ] {
                args.push(a.to_string());
            }
            args
        })
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
