//! `famsim run` end to end, through the real binary, on the shipped scenarios.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::tree;

fn famsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("famsim starts")
}

fn run_ok(args: &[&str]) {
    let out = famsim(args);
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped family scenarios (dataset specs are a different format).
fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("dataset")
        })
        .collect();
    all.sort();
    assert!(all.len() >= 3, "expected at least three shipped scenarios");
    all
}

#[test]
fn every_shipped_scenario_runs_and_writes_a_face_for_everyone() {
    for scenario in shipped_scenarios() {
        let out = tempfile::tempdir().unwrap();
        let out_dir = out.path().join("run");
        run_ok(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--size",
            "64",
            "--quiet",
        ]);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("manifest.json")).unwrap()).unwrap();
        let people = manifest["people"].as_array().unwrap();
        assert!(!people.is_empty());
        for p in people {
            let image = out_dir.join(p["image"].as_str().unwrap());
            let bytes =
                std::fs::read(&image).unwrap_or_else(|_| panic!("{} missing", image.display()));
            assert_eq!(&bytes[1..4], b"PNG");
            if p["father"].is_string() {
                assert_eq!(p["regions"].as_array().unwrap().len(), 34);
            }
        }
        assert!(out_dir.join("index.html").is_file());
        assert!(out_dir.join("contact_sheet.png").is_file());
        let names: Vec<_> = tree(&out_dir).into_keys().collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().contains(".tmp")),
            "temporary files left: {names:?}"
        );
    }
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_and_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    // (threads, timely workers) of each run.
    let settings = [("1", "1"), ("2", "1"), ("3", "2")];
    let runs: Vec<PathBuf> = settings
        .iter()
        .map(|(t, w)| dir.path().join(format!("t{t}w{w}")))
        .collect();
    for ((threads, workers), out) in settings.iter().zip(&runs) {
        run_ok(&[
            "run",
            "scenarios/three_gen.ron",
            "--out",
            out.to_str().unwrap(),
            "--size",
            "96",
            "--threads",
            threads,
            "--workers",
            workers,
            "--quiet",
        ]);
    }
    let first = tree(&runs[0]);
    assert!(first.len() > 5);
    for other in &runs[1..] {
        assert_eq!(first, tree(other), "{} differs", other.display());
    }
    // A different seed gives different faces.
    let reseeded = dir.path().join("seed");
    run_ok(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        reseeded.to_str().unwrap(),
        "--size",
        "96",
        "--seed",
        "999",
        "--quiet",
    ]);
    let other = tree(&reseeded);
    let differing = first
        .iter()
        .filter(|(k, v)| k.starts_with("people") && other.get(*k) != Some(v))
        .count();
    assert!(differing > 0);
}

#[test]
fn adding_an_unrelated_person_changes_nobody_elses_face() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string("scenarios/three_gen.ron").unwrap();
    let close = original.rfind(']').expect("people list");
    let extended = format!(
        "{}    (id: \"stranger\", name: Some(\"A Stranger\"), sex: Female, age: \"40-49\", ancestry: Some(Indian)),\n{}",
        &original[..close],
        &original[close..]
    );
    let extended_path = dir.path().join("extended.ron");
    std::fs::write(&extended_path, extended).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_ok(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        a.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    run_ok(&[
        "run",
        extended_path.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    let (ta, tb) = (tree(&a.join("people")), tree(&b.join("people")));
    assert_eq!(tb.len(), ta.len() + 1);
    for (name, bytes) in &ta {
        assert_eq!(Some(bytes), tb.get(name), "{} changed", name.display());
    }
}

#[test]
fn the_tree_page_references_every_image_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run_ok(&[
        "run",
        "scenarios/four_gen_cousins.ron",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let referenced: Vec<String> = html
        .split("src=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .filter(|s| s.ends_with(".png"))
        .collect();
    let images: Vec<String> = std::fs::read_dir(out.join("people"))
        .unwrap()
        .map(|e| format!("people/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert!(!images.is_empty());
    for image in &images {
        assert!(referenced.contains(image), "{image} is not on the page");
    }
    for r in &referenced {
        assert!(
            out.join(r).is_file(),
            "page shows {r}, which does not exist"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "page must work offline"
    );
}

#[test]
fn resume_redraws_only_missing_faces_and_refuses_a_different_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = out.to_str().unwrap();
    run_ok(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        o,
        "--size",
        "64",
        "--quiet",
    ]);
    let complete = tree(&out);
    let people: Vec<PathBuf> = complete
        .keys()
        .filter(|k| k.starts_with("people"))
        .cloned()
        .collect();
    for victim in people.iter().step_by(2) {
        std::fs::remove_file(out.join(victim)).unwrap();
    }
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    std::fs::write(out.join("people/.famsim-abc.tmp"), b"half a png").unwrap();
    let resumed = famsim(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        o,
        "--size",
        "64",
        "--resume",
    ]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{said}");
    // Only the removed faces are drawn again; the others are kept as they were.
    let removed = people.iter().step_by(2).count();
    assert!(
        said.contains(&format!(
            "{} people ({removed} rendered, {} kept from a previous run)",
            people.len(),
            people.len() - removed
        )),
        "{said}"
    );
    assert_eq!(tree(&out), complete);

    let refused = famsim(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        o,
        "--size",
        "64",
        "--seed",
        "5",
        "--resume",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("different scenario, seed"));
}

#[test]
fn bad_flags_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (args, message) in [
        (
            vec!["run", "scenarios/three_gen.ron", "--size", "2000"],
            "--size: image size 2000 is outside 64..=1024 pixels",
        ),
        (
            vec!["run", "scenarios/three_gen.ron", "--threads", "0"],
            "--threads must be at least 1",
        ),
        (
            vec!["run", "no/such/file.ron"],
            "cannot read scenario no/such/file.ron",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--out", out.to_str().unwrap()]);
        let o = famsim(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote output");
    }
}

/// `famsim run … --out DIR --size 64 --quiet` plus `more`.
fn run_into(scenario: &str, out: &Path, more: &[&str]) -> Output {
    let mut args = vec![
        "run",
        scenario,
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ];
    args.extend(more);
    famsim(&args)
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_run_refuses_a_folder_it_did_not_make_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine");
    std::fs::create_dir_all(out.join("people")).unwrap();
    std::fs::write(out.join("important.txt"), b"keep me").unwrap();
    std::fs::write(out.join("people/arthur.png"), b"my own arthur").unwrap();
    let before = tree(&out);

    let refused = run_into("scenarios/three_gen.ron", &out, &[]);
    let err = stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains("important.txt"), "{err}");
    assert_eq!(tree(&out), before, "a refused run changed the folder");

    let forced = run_into("scenarios/three_gen.ron", &out, &["--force"]);
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    assert_eq!(
        std::fs::read(out.join("important.txt")).unwrap(),
        b"keep me"
    );
    assert!(out.join("manifest.json").is_file());
}

#[test]
fn starting_over_removes_what_the_earlier_run_wrote_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let first = run_into("scenarios/three_gen.ron", &out, &["--gedcom", "--dot"]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert!(out.join("tree.ged").is_file());
    // The user keeps notes beside the run's files.
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    std::fs::write(out.join("people/notes.txt"), b"mine too").unwrap();

    let second = run_into("scenarios/two_parents_one_child.ron", &out, &[]);
    assert!(second.status.success(), "{}", stderr_of(&second));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let mut expected: Vec<String> = manifest["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["image"].as_str().unwrap().to_string())
        .collect();
    expected.push("people/notes.txt".into());
    expected.sort();
    let mut found: Vec<String> = tree(&out)
        .into_keys()
        .map(|k| k.to_string_lossy().into_owned())
        .filter(|k| k.starts_with("people/"))
        .collect();
    found.sort();
    assert_eq!(found, expected, "stale portraits of the earlier run");
    // The exports the earlier run wrote are gone too; the notes stay.
    assert!(!out.join("tree.ged").exists() && !out.join("tree.dot").exists());
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    // A fresh run in a fresh folder gives the same files.
    let fresh = dir.path().join("fresh");
    let third = run_into("scenarios/two_parents_one_child.ron", &fresh, &[]);
    assert!(third.status.success(), "{}", stderr_of(&third));
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    std::fs::remove_file(out.join("people/notes.txt")).unwrap();
    assert_eq!(tree(&out), tree(&fresh));
}

#[test]
fn an_out_path_that_is_a_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, b"a file").unwrap();
    let o = run_into("scenarios/three_gen.ron", &file, &[]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is a file"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    let o = famsim(&[
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--out",
        file.to_str().unwrap(),
        "--families",
        "1",
        "--quiet",
    ]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is a file"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"a file");
}

#[test]
fn resume_removes_the_temporaries_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let first = run_into("scenarios/two_parents_one_child.ron", &out, &[]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let complete = tree(&out);
    // What a kill -9 during the final writes leaves: famsim's temporaries
    // at the top of the folder and among the faces.
    std::fs::write(out.join(".famsim-Xy12ab.tmp"), b"half a manifest").unwrap();
    std::fs::write(out.join("people/.famsim-Qw34cd.tmp"), b"half a png").unwrap();
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let resumed = run_into("scenarios/two_parents_one_child.ron", &out, &["--resume"]);
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    assert_eq!(tree(&out), complete);
}

/// Golden value: the SHA-256 of one child's PNG (crossover, gene sampling,
/// painting and PNG encoding all feed it) at 64 px, computed by running this
/// code when the test was added; it pins today's bytes against drift, not
/// against an outside reference. A change of it means "same seed, same
/// bytes" changed across famsim versions for the procedural painter, and the
/// README's "Same seed, same bytes" section must say so.
#[test]
fn a_procedural_portrait_keeps_its_bytes_across_versions() {
    const DAUGHTER_SHA256: &str =
        "edd44d6d6338f39f61a8494be238aa9d4ebf909f9a6df3962b25321adc272f80";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run_ok(&[
        "run",
        "scenarios/two_parents_one_child.ron",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    let png = std::fs::read(out.join("people/daughter.png")).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&png))
    };
    assert_eq!(sha, DAUGHTER_SHA256);
}
