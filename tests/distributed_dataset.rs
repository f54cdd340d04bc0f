//! `famsim dataset` over timely workers writes the dataset one process
//! writes: 2 processes × 2 threads into one folder, and into one folder per
//! process joined by `famsim merge`; losing either process mid-run stops the
//! other with an error naming it, and `--resume` completes the dataset.

use std::path::Path;
use std::process::Child;

mod common;
use common::{
    assert_same_tree, cluster_flags, famsim, finished_files, lose_one_process, run_cluster,
};

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
            for a in ["--out", outs[i], "--workers", "2"] {
                args.push(a.to_string());
            }
            args.extend(cluster_flags(i, hosts));
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

#[test]
fn a_dataset_cluster_survives_losing_either_process() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let base = [
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--families",
        "40",
    ];
    let one = p("one");
    let mut args = base.to_vec();
    args.extend(["--out", &one, "--quiet", "--threads", "2"]);
    ok(famsim(&args).spawn().unwrap());
    let total = finished_files(Path::new(&one), "png");

    let hostfile = dir.path().join("hosts");
    for victim in [0, 1] {
        let out = p(&format!("lost{victim}"));
        let args = |i: usize, hosts: &str, quiet: bool| -> Vec<String> {
            let mut a: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            for x in ["--out", &out, "--threads", "1", "--resume"] {
                a.push(x.to_string());
            }
            a.extend(cluster_flags(i, hosts));
            if quiet {
                a.push("--quiet".into());
            }
            a
        };
        let faces = || finished_files(Path::new(&out), "png");
        let kept = lose_one_process(
            &hostfile,
            |i, hosts| args(i, hosts, true),
            victim,
            faces,
            total,
            &Path::new(&out).join("DATASET.md"),
        );

        let texts = run_cluster(&hostfile, |i, hosts| args(i, hosts, false));
        assert!(
            texts[0].contains(&format!("({} rendered, {kept} kept)", total - kept)),
            "resume should keep the {kept} faces already drawn:\n{}",
            texts[0]
        );
        assert_same_tree(Path::new(&one), Path::new(&out));
    }
}
