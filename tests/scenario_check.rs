//! `famsim check` through the real binary: every file in
//! `tests/bad_scenarios/` must fail with exit code 2 and its expected
//! messages, and every shipped scenario must pass.
//!
//! Each bad scenario starts with directives in comments:
//! `// expect: <text>` (one or more): the text must appear in stderr;
//! `// at: LINE:COL` (optional): where the first error must point.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn famsim_check(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_famsim"))
        .arg("check")
        .arg(path)
        .output()
        .expect("famsim runs")
}

fn ron_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

/// Whether `text` contains `path:LINE:COL:` with numeric LINE and COL.
fn has_location(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(i, _)| {
        let rest = &text[i + path.len()..];
        let mut parts = rest.splitn(4, ':');
        parts.next() == Some("")
            && parts
                .next()
                .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
            && parts.next().is_some()
    })
}

#[test]
fn every_bad_scenario_fails_with_its_message_and_location() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios");
    let files = ron_files(&dir);
    assert!(
        files.len() >= 22,
        "the corpus should hold at least 22 bad scenarios, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("// expect: "))
            .collect();
        let at = text.lines().find_map(|l| l.strip_prefix("// at: "));
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(!expects.is_empty(), "{name} has no `// expect:` line");

        let out = famsim_check(file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = file.display().to_string();
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", out.status.code()));
        }
        for e in &expects {
            if !stderr.contains(e) {
                problems.push(format!("stderr lacks {e:?}"));
            }
        }
        if !has_location(&stderr, &path) {
            problems.push("stderr has no file:line:col location".into());
        }
        if let Some(at) = at {
            let first = stderr.lines().next().unwrap_or_default();
            if !first.starts_with(&format!("error: {path}:{at}:")) {
                problems.push(format!("first error is not at {at}: {first}"));
            }
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("famsim panicked".into());
        }
        if stderr.contains('\u{1b}') {
            problems.push("stderr has ANSI escapes".into());
        }
        if !stdout.trim().is_empty() {
            problems.push(format!("stdout is not empty: {stdout}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}\n{stderr}", problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_shipped_scenario_passes_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    // Dataset specs are a different format with their own command.
    let files: Vec<PathBuf> = ron_files(&dir)
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("dataset")
        })
        .collect();
    assert!(
        files.len() >= 3,
        "expected at least three shipped scenarios"
    );
    for file in files {
        let out = famsim_check(&file);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} failed:\n{stderr}",
            file.display()
        );
        assert!(stdout.contains("ok: the scenario is valid"), "{stdout}");
        assert!(
            stdout.contains("warnings: 0"),
            "{} should have no warnings:\n{stdout}",
            file.display()
        );
    }
}

#[test]
fn check_summarises_people_generations_founders_and_couples() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/three_gen.ron");
    let out = famsim_check(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for expected in [
        "people: 9",
        "generations: 3 (0: 4, 1: 2, 2: 3)",
        "founders: 4 (arthur, margaret, kenji, aiko)",
        "couples: 3",
        "david + yuki: 3 children (emma, leo, hana)",
        "iris Father",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn implausible_families_pass_with_located_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("young.ron");
    std::fs::write(
        &file,
        r#"(
    name: "young grandparents",
    people: [
        (id: "gpa", sex: Male, age: "20-29", ancestry: White),
        (id: "gma", sex: Female, age: "20-29", ancestry: White),
        (id: "dad", sex: Male, age: "10-19", father: "gpa", mother: "gma"),
        (id: "mum", sex: Female, age: "10-19", ancestry: Indian),
        (id: "baby", sex: Female, age: "0-2", father: "dad", mother: "mum"),
    ],
)
"#,
    )
    .unwrap();
    let out = famsim_check(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = file.display().to_string();
    for expected in [
        format!("warning: {path}:4:"),
        "person \"gpa\": is a grandparent but only 20-29".to_string(),
        "person \"gma\": is a grandparent but only 20-29".to_string(),
        "person \"baby\": father \"dad\" is only 10-19".to_string(),
        "warnings: 4".to_string(),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn a_missing_file_is_bad_input() {
    let out = famsim_check(Path::new("no/such/scenario.ron"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read scenario no/such/scenario.ron"),
        "{stderr}"
    );
}

/// Windows editors save UTF-8 with a byte-order mark; ron alone would stop
/// at it ("expected `(`").
#[test]
fn a_scenario_with_a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.ron");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/three_gen.ron");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(std::fs::read(shipped).unwrap());
    std::fs::write(&path, bytes).unwrap();
    let out = famsim_check(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: the scenario is valid"));
}

/// A file nested 100,000 brackets deep gets a plain message, not ron's hint
/// about its options, and not a 200 kB source line under it.
#[test]
fn a_scenario_nested_100000_deep_gets_a_plain_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.ron");
    let depth = 100_000;
    let text = format!(
        "(name: \"deep\", people: [{}{}])",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    std::fs::write(&path, text).unwrap();
    let out = famsim_check(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nested too deeply"), "{stderr}");
    for internal in ["recursion_limit", "serde_stacker", "ron::"] {
        assert!(!stderr.contains(internal), "{internal} in {stderr}");
    }
    assert!(
        has_location(&stderr, &path.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.len() < 2_000, "{} bytes of message", stderr.len());
}
