//! `famsim dataset` end to end through the real binary: the FIW layout, every
//! label checked against the pedigree read back from the members tables,
//! family-disjoint splits, reproducibility, and crash safety (SIGKILL at
//! several points, then `--resume`, gives the same bytes).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{finished_files, kill_mid_run, tree};

const SPEC: &str = "scenarios/dataset_small.ron";

fn famsim(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_famsim"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn dataset(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "dataset",
        "--spec",
        SPEC,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = famsim(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Rows of a CSV with a header, as column → value maps (no quoted fields in these files).
fn csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

struct Member {
    fid: String,
    sex: String,
    age: String,
    parents: Vec<String>,
}

/// The whole population read back from the members tables.
fn members(root: &Path) -> BTreeMap<String, Member> {
    let mut all = BTreeMap::new();
    for family in csv(&root.join("families.csv")) {
        let fid = &family["fid"];
        let rows = csv(&root.join(fid).join("mid.csv"));
        assert_eq!(rows.len().to_string(), family["members"]);
        for r in &rows {
            let parents = ["father_mid", "mother_mid"]
                .iter()
                .filter(|c| !r[**c].is_empty())
                .map(|c| format!("{fid}_MID{}", r[*c]))
                .collect();
            assert!(root.join(&r["image"]).is_file(), "{}", r["image"]);
            all.insert(
                r["person_id"].clone(),
                Member {
                    fid: fid.clone(),
                    sex: r["sex"].clone(),
                    age: r["age_group"].clone(),
                    parents,
                },
            );
        }
    }
    all
}

fn ancestors_and_self(people: &BTreeMap<String, Member>, id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![id.to_string()];
    while let Some(x) = todo.pop() {
        if seen.insert(x.clone()) {
            todo.extend(people[&x].parents.iter().cloned());
        }
    }
    seen
}

#[test]
fn dataset_labels_splits_and_card_are_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    dataset(&root, &["--families", "12"]);
    let people = members(&root);
    let splits: BTreeMap<String, String> = csv(&root.join("families.csv"))
        .into_iter()
        .map(|r| (r["fid"].clone(), r["split"].clone()))
        .collect();
    assert_eq!(splits.len(), 12);

    let pairs = csv(&root.join("pairs.csv"));
    let (mut pos, mut neg) = (0, 0);
    for (i, p) in pairs.iter().enumerate() {
        let (a, b) = (&people[&p["p1"]], &people[&p["p2"]]);
        // No family is in two splits: the row's split is both families' split.
        assert_eq!(splits[&a.fid], p["split"]);
        assert_eq!(splits[&b.fid], p["split"]);
        let common = !ancestors_and_self(&people, &p["p1"])
            .is_disjoint(&ancestors_and_self(&people, &p["p2"]));
        if p["kin"] == "1" {
            pos += 1;
            assert!(common, "positive without a common ancestor: {p:?}");
            assert_eq!(a.fid, b.fid);
            assert!(p["kinship"].parse::<f64>().unwrap() > 0.0);
        } else {
            neg += 1;
            assert!(!common, "negative pair is kin: {p:?}");
            assert_ne!(a.fid, b.fid);
            assert_eq!(p["kinship"], "0");
            // Matched on sex and age group of the positive's second person.
            let positive = &pairs[i - 1];
            assert_eq!(positive["kin"], "1");
            assert_eq!((&positive["type"], &positive["p1"]), (&p["type"], &p["p1"]));
            let matched = &people[&positive["p2"]];
            assert_eq!((&b.sex, &b.age), (&matched.sex, &matched.age));
        }
    }
    assert!(pos > 50 && neg > 0, "{pos} positives, {neg} negatives");

    for t in csv(&root.join("triplets.csv")) {
        assert_eq!(
            people[&t["child"]].parents,
            [t["father"].clone(), t["mother"].clone()]
        );
        assert_eq!(splits[&t["fid"]], t["split"]);
    }
    let card = std::fs::read_to_string(root.join("DATASET.md")).unwrap();
    assert!(
        card.contains(&format!("{pos} positives, {neg} negatives")),
        "{card}"
    );
    assert!(card.contains(&format!("{} people", people.len())));
    // Each family folder is a run directory of its own.
    let out = famsim(&["export", root.join("FID0001").to_str().unwrap(), "--gedcom"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn families_do_not_depend_on_thread_count_or_how_many_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    dataset(&a, &["--families", "6", "--threads", "1"]);
    dataset(&b, &["--families", "9", "--threads", "2"]);
    let (ta, tb) = (tree(&a), tree(&b));
    for (path, bytes) in &ta {
        // Per-family files are identical; dataset-wide tables differ (more families).
        if path.components().count() > 1 {
            assert_eq!(Some(bytes), tb.get(path), "{}", path.display());
        }
    }
    // The same dataset again on other thread and worker counts.
    let c = tmp.path().join("c");
    dataset(&c, &["--families", "6", "--threads", "2", "--workers", "2"]);
    assert_eq!(ta, tree(&c));
}

/// True if every file under its final name is whole: PNGs decode, CSVs end with a newline, JSON parses.
fn all_files_whole(root: &Path) {
    for (path, bytes) in tree(root) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with(".famsim-") && name.ends_with(".tmp") {
            continue; // a temporary, never a final name
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
                    .read_info()
                    .unwrap();
                let mut buf = vec![0; reader.output_buffer_size()];
                reader
                    .next_frame(&mut buf)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            Some("csv") | Some("md") => assert!(bytes.ends_with(b"\n"), "{}", path.display()),
            Some("json") => {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            _ => {}
        }
    }
}

#[test]
fn killed_runs_resume_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    dataset(&whole, &["--families", "20", "--threads", "2"]);
    let expected = tree(&whole);
    let total = finished_files(&whole, "png");

    let resumed = tmp.path().join("resumed");
    let out = resumed.to_str().unwrap();
    // Kill while the run is drawing faces (early, middle, late), resuming
    // each time: each kill must land on a running process that has drawn
    // some of the faces but not all.
    for share in [0.1, 0.4, 0.7] {
        let before = finished_files(&resumed, "png");
        let target = ((total as f64 * share) as usize).max(before + 1);
        assert!(target < total, "{before} of {total} faces before a kill");
        let child = famsim(&[
            "dataset",
            "--spec",
            SPEC,
            "--out",
            out,
            "--families",
            "20",
            "--threads",
            "1",
            "--quiet",
            "--resume",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        kill_mid_run(child, || finished_files(&resumed, "png"), target, total);
        assert!(
            !resumed.join("DATASET.md").exists(),
            "a killed run finished"
        );
        all_files_whole(&resumed);
    }
    let kept = finished_files(&resumed, "png");
    let o = famsim(&[
        "dataset",
        "--spec",
        SPEC,
        "--out",
        out,
        "--families",
        "20",
        "--threads",
        "2",
        "--resume",
    ])
    .output()
    .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    // Only the faces the kills left undrawn are drawn.
    assert!(
        said.contains(&format!("({} rendered, {kept} kept)", total - kept)),
        "{said}"
    );
    let got = tree(&resumed);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "file lists differ"
    );
    for (path, bytes) in &expected {
        assert!(
            got[path] == *bytes,
            "{} differs after resume",
            path.display()
        );
    }

    // --resume refuses a folder made from something else.
    let o = famsim(&[
        "dataset",
        "--spec",
        SPEC,
        "--out",
        out,
        "--families",
        "21",
        "--resume",
        "--quiet",
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("--resume: {out} was made from a different")),
        "{stderr}"
    );
}

#[test]
fn bad_specs_are_input_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("bad.ron");
    // The shipped spec is valid (other tests run it), so this one breaks only
    // the rule under test and the error must be that rule's.
    let valid = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC)).unwrap();
    assert!(valid.contains("generations: 3,"));
    std::fs::write(&spec, valid.replace("generations: 3,", "generations: 9,")).unwrap();
    let out = tmp.path().join("o");
    let o = famsim(&[
        "dataset",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Located like a scenario error: file:line:column of the value.
    let bad = valid.replace("generations: 3,", "generations: 9,");
    let line = bad
        .lines()
        .position(|l| l.contains("generations: 9"))
        .unwrap()
        + 1;
    let column = bad.lines().nth(line - 1).unwrap().find('9').unwrap() + 1;
    assert!(
        stderr.contains(&format!(
            "{}:{line}:{column}: `generations` is 9, but must be 1 to 5",
            spec.display()
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "a bad spec wrote output");

    // Bad flags on the valid spec.
    for (flags, message) in [
        (["--threads", "0"], "--threads must be at least 1"),
        (["--families", "0"], "--families must be at least 1"),
    ] {
        let mut args = vec!["dataset", "--spec", SPEC, "--out", out.to_str().unwrap()];
        args.extend(flags);
        let o = famsim(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        assert!(!out.exists(), "{flags:?} wrote output");
    }
}
