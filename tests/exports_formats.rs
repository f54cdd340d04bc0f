//! `famsim run --gedcom --dot --html` and `famsim export`: the GEDCOM is
//! parsed back and matched to the pedigree, the DOT graph is checked (and
//! rendered when Graphviz is installed), and Gramps imports the GEDCOM with
//! no errors when Gramps is installed.

use famsim::exports::gedcom::{parse_gedcom, GedcomNode};
use famsim::exports::manifest::Manifest;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn famsim(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("famsim starts");
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A run of the four-generation scenario (cousins, a half-sibling) with every export.
fn run_with_exports(dir: &Path) -> Manifest {
    let out = dir.to_str().unwrap();
    famsim(&[
        "run",
        "scenarios/four_gen_cousins.ron",
        "--out",
        out,
        "--size",
        "64",
        "--quiet",
        "--gedcom",
        "--dot",
        "--html",
    ]);
    Manifest::read(&dir.join("manifest.json")).unwrap()
}

#[test]
fn gedcom_parses_back_to_the_pedigree() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let manifest = run_with_exports(&run);
    let text = std::fs::read_to_string(run.join("tree.ged")).unwrap();
    let records = parse_gedcom(&text).unwrap();

    let head = &records[0];
    assert_eq!(head.tag, "HEAD");
    assert_eq!(
        head.child("SOUR").and_then(|s| s.value.as_deref()),
        Some("FAMSIM")
    );
    assert_eq!(
        head.child("CHAR").and_then(|s| s.value.as_deref()),
        Some("UTF-8")
    );
    let gedc = head.child("GEDC").unwrap();
    assert_eq!(gedc.values("VERS"), ["5.5.1"]);
    assert_eq!(records.last().unwrap().tag, "TRLR");

    let by_xref: BTreeMap<&str, &GedcomNode> = records
        .iter()
        .filter_map(|r| r.xref.as_deref().map(|x| (x, r)))
        .collect();
    // famsim id of each INDI, from its note.
    let id_of = |xref: &str| -> String {
        let note = by_xref[xref].values("NOTE")[0];
        note.strip_prefix("famsim id ")
            .and_then(|n| n.split(';').next())
            .unwrap()
            .to_string()
    };
    let indis: Vec<&GedcomNode> = records.iter().filter(|r| r.tag == "INDI").collect();
    assert_eq!(indis.len(), manifest.people.len());
    for indi in indis {
        let id = id_of(indi.xref.as_deref().unwrap());
        let p = manifest.person(&id).unwrap();
        assert_eq!(indi.values("NAME"), [p.name.as_str()]);
        assert_eq!(
            indi.values("SEX"),
            [if p.sex == famsim::attributes::Sex::Male {
                "M"
            } else {
                "F"
            }]
        );
        let note = indi.values("NOTE")[0];
        assert!(
            note.contains(&format!("age group {}", p.age_group)),
            "{note}"
        );
        for a in &p.ancestry {
            assert!(note.contains(&a.to_string()), "{note}");
        }
        let file = indi.child("OBJE").unwrap().child("FILE").unwrap();
        assert_eq!(file.value.as_deref(), Some(p.image.as_str()));
        assert!(run.join(&p.image).is_file());
        // Parents through FAMC → FAM's HUSB and WIFE.
        let famc = indi.values("FAMC");
        match (&p.father, &p.mother) {
            (Some(f), Some(m)) => {
                assert_eq!(famc.len(), 1);
                let fam = by_xref[famc[0]];
                assert_eq!(&id_of(fam.values("HUSB")[0]), f);
                assert_eq!(&id_of(fam.values("WIFE")[0]), m);
                assert!(fam.values("CHIL").contains(&indi.xref.as_deref().unwrap()));
            }
            _ => assert!(famc.is_empty()),
        }
        // FAMS: exactly the couples this person has children in.
        let mut partners: Vec<String> = indi
            .values("FAMS")
            .iter()
            .map(|x| {
                let fam = by_xref[x];
                let (h, w) = (id_of(fam.values("HUSB")[0]), id_of(fam.values("WIFE")[0]));
                assert!(h == id || w == id);
                if h == id {
                    w
                } else {
                    h
                }
            })
            .collect();
        partners.sort();
        let mut expected: Vec<String> = manifest
            .people
            .iter()
            .filter_map(|c| match (&c.father, &c.mother) {
                (Some(f), Some(m)) if *f == id => Some(m.clone()),
                (Some(f), Some(m)) if *m == id => Some(f.clone()),
                _ => None,
            })
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(partners, expected, "{id}");
    }
}

#[test]
fn dot_graph_has_every_face_and_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let manifest = run_with_exports(&run);
    let dot = std::fs::read_to_string(run.join("tree.dot")).unwrap();
    assert!(dot.starts_with("digraph"));
    for p in &manifest.people {
        assert!(
            dot.contains(&format!("<IMG SRC=\"{}\"", p.image)),
            "{}",
            p.id
        );
    }
    // One rank group per generation row: four_gen_cousins.ron has four.
    assert_eq!(manifest.generations, 4);
    assert_eq!(dot.matches("rank=same").count(), 4);
    assert!(run.join("index.html").is_file());

    if !installed("dot") {
        eprintln!("graphviz not installed: DOT rendering not checked");
        return;
    }
    let out = Command::new("dot")
        .args(["-Tsvg", "tree.dot", "-o", "tree.svg"])
        .current_dir(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "dot: {stderr}"
    );
    let svg = std::fs::read_to_string(run.join("tree.svg")).unwrap();
    assert_eq!(svg.matches("<image").count(), manifest.people.len());
}

#[test]
fn export_command_writes_views_of_an_existing_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    run_with_exports(&run);
    let before = std::fs::read(run.join("tree.ged")).unwrap();
    std::fs::remove_file(run.join("tree.ged")).unwrap();
    std::fs::remove_file(run.join("tree.dot")).unwrap();
    famsim(&["export", run.to_str().unwrap(), "--gedcom"]);
    assert_eq!(std::fs::read(run.join("tree.ged")).unwrap(), before);
    assert!(!run.join("tree.dot").exists());
    famsim(&["export", run.to_str().unwrap()]);
    assert!(run.join("tree.dot").is_file());

    let missing = Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(["export", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("manifest.json"));
}

#[test]
fn gramps_imports_the_gedcom_without_errors() {
    if !installed("gramps") {
        eprintln!("gramps not installed: Gramps import not checked");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    run_with_exports(&run);
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("gramps")
        .args(["-y", "-C", "famsim-test", "-i", "tree.ged"])
        .env("HOME", &home)
        .current_dir(&run)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gramps failed: {text}");
    assert!(
        text.contains("GEDCOM import report: No errors detected"),
        "{text}"
    );
}
