//! `famsim eval` on a large dataset in bounded memory (issue 13, item 5):
//! gene-space figures are computed one family at a time, so what grows with
//! the number of people is the folder's table of people and the items the
//! figures are measured on, not every person's 34 region mixtures.
//!
//! The dataset: `famsim dataset` draws 24 procedural families (215 people), whose
//! manifests are then copied under new family ids into two folders, one
//! with few and one with many families (gene space reads the manifests
//! only, so the faces are not copied; this keeps the test to seconds).
//! Peak memory is the child's own `ru_maxrss` from `wait4`, as in
//! `tests/large_photo.rs`; the bound is on the growth per person between
//! the two folders, so what every run costs anyway (the binary, the
//! allocator's arenas) cancels out. One test in this file: the
//! measurement is of a process of its own.

mod common;

use common::{famsim_ok, run_measured};
use std::path::Path;
use std::process::{Command, Stdio};

const SEED_FAMILIES: &str = "24";
/// Copies of the seed families in the small and the large folder.
const SMALL: usize = 20;
const LARGE: usize = 140;
/// The most the peak may grow per extra person, in bytes.
///
/// How it was chosen: from the small folder (4 300 people) to the large
/// one (30 100), in gene space only, the old code (every person's region
/// mixtures held at once) grew by 3.7 kB a person (58 → 152 MB; at 100 000
/// people it peaked at 384 MB), the family-at-a-time code by 1.5 kB
/// (47 → 83 MB; 173 MB at 100 000), which is the people's table with their
/// region records, the kin pairs and matched items, and the figures'
/// scores. 2.5 kB sits between the two, with room for allocator noise on
/// either side.
const BYTES_PER_PERSON: f64 = 2500.0;

/// `copies` copies of the dataset at `seed`, as a dataset folder at `dir`.
fn copied_dataset(seed: &Path, dir: &Path, copies: usize) {
    let table = std::fs::read_to_string(seed.join("families.csv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (fid, split) = (col("fid"), col("split"));
    let mut out = String::from("fid,split\n");
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        let manifest = std::fs::read(seed.join(row[fid]).join("manifest.json")).unwrap();
        for c in 0..copies {
            let id = format!("{}C{c:03}", row[fid]);
            std::fs::create_dir_all(dir.join(&id)).unwrap();
            std::fs::write(dir.join(&id).join("manifest.json"), &manifest).unwrap();
            out.push_str(&format!("{id},{}\n", row[split]));
        }
    }
    std::fs::write(dir.join("families.csv"), out).unwrap();
}

/// Evaluates `dir` in gene space; its people and the peak memory in bytes.
fn measured_eval(dir: &Path) -> (u64, u64) {
    let report = dir.join("report");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
    cmd.arg("eval")
        .arg(dir)
        .arg("--out")
        .arg(&report)
        .arg("--quiet")
        .arg("--threads")
        .arg("1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (code, peak) = run_measured(cmd);
    assert_eq!(code, Some(0), "famsim eval {} failed", dir.display());
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("metrics.json")).unwrap()).unwrap();
    let folder = &metrics["folders"][0];
    assert_eq!(folder["genes"]["available"], true);
    (folder["people"].as_u64().unwrap(), peak)
}

#[test]
fn gene_space_memory_grows_by_the_people_table_not_their_mixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = tmp.path().join("seed");
    famsim_ok(&[
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--out",
        seed.to_str().unwrap(),
        "--families",
        SEED_FAMILIES,
        "--quiet",
    ]);
    let (small, large) = (tmp.path().join("small"), tmp.path().join("large"));
    copied_dataset(&seed, &small, SMALL);
    copied_dataset(&seed, &large, LARGE);
    let (people_small, peak_small) = measured_eval(&small);
    let (people_large, peak_large) = measured_eval(&large);
    assert!(
        people_large >= 5 * people_small,
        "{people_small} {people_large}"
    );
    let per_person = (peak_large as f64 - peak_small as f64) / (people_large - people_small) as f64;
    eprintln!(
        "peak {:.0} MB for {people_small} people, {:.0} MB for {people_large}: \
         {per_person:.0} bytes a person (bound {BYTES_PER_PERSON})",
        peak_small as f64 / 1e6,
        peak_large as f64 / 1e6
    );
    assert!(
        per_person <= BYTES_PER_PERSON,
        "the peak grew by {per_person:.0} bytes a person, over {BYTES_PER_PERSON}"
    );
}
