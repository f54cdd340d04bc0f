//! `famsim run --resume` through the real binary: a run killed with SIGKILL
//! while it draws faces leaves only whole files, and resuming it redraws
//! exactly the missing faces and ends byte-identical to an uninterrupted run;
//! a folder whose faces came from other weights or other founder files is
//! refused, naming what changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{finished_files, fixture, import_tiny_weights, kill_mid_run, many_families, tree};

fn famsim_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_famsim"));
    c.args(args).current_dir(dir);
    c
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = famsim_in(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// (rendered, kept) from a run's summary line "N people (R rendered, K kept
/// from a previous run) in …".
fn counts(stderr: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.contains(" rendered, ") && l.contains(" kept from a previous run"))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    let inner = &line[line.find('(').unwrap() + 1..];
    let number = |after: &str| -> usize {
        let word = inner.split(after).next().unwrap();
        word.split(' ').next_back().unwrap().parse().unwrap()
    };
    let rendered = number(" rendered");
    // "R rendered, K kept …": K is the first word after the comma.
    let kept = inner
        .split(", ")
        .nth(1)
        .and_then(|k| k.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    (rendered, kept)
}

/// Files famsim writes under a temporary name before renaming them.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_keys()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".famsim-") && name.ends_with(".tmp")
        })
        .collect()
}

#[test]
fn a_run_killed_mid_render_resumes_to_the_bytes_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = many_families(dir.path(), 40);
    let total = 200;
    let whole = dir.path().join("whole");
    // Every run takes --resume, so that each one continues the last.
    let args = |out: &Path, threads: &str| -> Vec<String> {
        let a = ["run", s(&scenario), "--out", s(out), "--threads", threads];
        a.iter()
            .map(|x| x.to_string())
            .chain(["--resume".into()])
            .collect()
    };
    let run = |a: &[String]| {
        ok(
            dir.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    run(&args(&whole, "2"));
    assert_eq!(finished_files(&whole.join("people"), "png"), total);

    let killed = dir.path().join("killed");
    for share in [0.1, 0.4, 0.7] {
        let before = finished_files(&killed.join("people"), "png");
        let target = ((total as f64 * share) as usize).max(before + 1);
        let a = args(&killed, "1");
        let child = famsim_in(
            dir.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Wait until this run has drawn some faces but not all, then kill it.
        let faces = || finished_files(&killed.join("people"), "png");
        kill_mid_run(child, faces, target, total);
        assert!(
            !killed.join("manifest.json").exists(),
            "a killed run wrote its manifest"
        );
    }
    let kept = finished_files(&killed.join("people"), "png");
    let done = run(&args(&killed, "2"));
    assert_eq!(
        counts(&done.stderr),
        (total - kept, kept),
        "resume should draw exactly the {} missing faces",
        total - kept
    );
    assert_eq!(temporaries(&killed), Vec::<PathBuf>::new());
    assert!(
        tree(&whole) == tree(&killed),
        "the resumed run differs from the uninterrupted one"
    );
}

/// Imports the tiny neural fixtures into `dir/weights`, plus `extra` flags.
fn import(dir: &Path, extra: &[&str]) {
    import_tiny_weights(dir, "weights", extra);
}

/// Exit code 2 and stderr of a refused `--resume`.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = famsim_in(dir, args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

#[test]
fn resume_refuses_faces_made_from_other_weights_or_founder_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let e4e = fixture("e4e/e4e.pt");
    import(dir, &["--e4e", s(&e4e)]);
    for (from, to) in [
        ("neural/family.ron", "family.ron"),
        ("neural/mother.npy", "mother.npy"),
        ("e4e/face.png", "face.png"),
    ] {
        std::fs::copy(fixture(from), dir.join(to)).unwrap();
    }
    let run = ["run", "family.ron", "--out", "run", "--resume"];
    ok(dir, &run[..4]);
    let made = tree(&dir.join("run"));

    // Other founder files at the same paths.
    std::fs::copy(fixture("neural/father.npy"), dir.join("mother.npy")).unwrap();
    std::fs::copy(fixture("e4e/face.jpg"), dir.join("face.png")).unwrap();
    let err = refused(dir, &run);
    assert!(
        err.contains("was made from a different")
            && err.contains(
                "changed: the Latent file of founder `mum`, the AlignedPhoto file of founder `stepmum`)"
            ),
        "{err}"
    );
    std::fs::copy(fixture("neural/mother.npy"), dir.join("mother.npy")).unwrap();
    std::fs::copy(fixture("e4e/face.png"), dir.join("face.png")).unwrap();
    // The same files again: everything is kept.
    let again = ok(dir, &run);
    assert_eq!(counts(&again.stderr), (0, 8));

    // Other weights imported into the same folder.
    import(dir, &[]);
    let err = refused(dir, &run);
    assert!(
        err.contains("(changed: the weights (their model.ron))"),
        "{err}"
    );
    // A rebuilt gene pool changes the pool founders' faces too.
    import(dir, &["--e4e", s(&e4e)]);
    ok(dir, &run);
    ok(
        dir,
        &[
            "pool",
            "build",
            "--weights",
            "weights",
            "--latents",
            s(&fixture("neural/faces.npy")),
            "--attributes",
            s(&fixture("neural/faces.csv")),
        ],
    );
    let err = refused(dir, &run);
    assert!(
        err.contains("(changed: the weights (their model.ron))"),
        "{err}"
    );
    assert!(
        tree(&dir.join("run")) == made,
        "a refused resume changed the run folder"
    );
}
