//! The documentation cannot drift from the code:
//!
//! - every `famsim …` command shown in README.md, docs/*.md,
//!   scenarios/README.md and weights/README.md names a subcommand and flags
//!   that `famsim SUB --help` lists;
//! - the README's command list shows every subcommand of `famsim --help`
//!   and every flag each one takes;
//! - every output file the docs name (`manifest.json`, `tree.ged`,
//!   `FIDxxxx/MIDy/FIDxxxx_MIDy.png`, `report/index.html`, …) is one that
//!   `famsim run`, `famsim export`, `famsim dataset` or `famsim eval` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod common;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn famsim(args: &[&str]) -> String {
    String::from_utf8_lossy(&common::famsim_ok(args).stdout).into_owned()
}

/// The lines of one section (`Commands:`, `Options:`) of clap's help text.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim_end() != title)
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .collect()
}

/// Every `--flag` a help text lists, without `--help` and `--version`.
fn flags_in_help(help: &str) -> BTreeSet<String> {
    section(help, "Options:")
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with('-'))
        // The option itself ends where its description starts.
        .map(|l| l.split("  ").next().unwrap_or(l))
        .flat_map(long_flags)
        .filter(|f| f != "help" && f != "version")
        .collect()
}

/// The `--name`s in a piece of text.
fn long_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("--") {
        let after = &rest[i + 2..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            flags.push(name.trim_end_matches('-').to_string());
        }
        rest = &after[name.len()..];
    }
    flags
}

/// The command line as `famsim --help` describes it: every command that
/// runs something ("run", "weights import", …) and its flags.
fn cli() -> BTreeMap<String, BTreeSet<String>> {
    let names = |help: &str| -> Vec<String> {
        section(help, "Commands:")
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| *n != "help")
            .map(String::from)
            .collect()
    };
    let mut commands = BTreeMap::new();
    let top = famsim(&["--help"]);
    let top_names = names(&top);
    assert!(top_names.len() >= 10, "too few commands in:\n{top}");
    for name in top_names {
        let help = famsim(&[&name, "--help"]);
        let children = names(&help);
        for child in &children {
            let help = famsim(&[&name, child, "--help"]);
            commands.insert(format!("{name} {child}"), flags_in_help(&help));
        }
        if children.is_empty() {
            commands.insert(name, flags_in_help(&help));
        }
    }
    commands
}

/// The documents that show commands or name output files.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![
        repo().join("README.md"),
        repo().join("scenarios/README.md"),
        repo().join("weights/README.md"),
    ];
    let mut more: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// A document split into the lines of its fenced code blocks (continuation
/// lines ending in `\` joined) and its inline code spans.
struct Code {
    block_lines: Vec<String>,
    spans: Vec<String>,
}

fn code_of(text: &str) -> Code {
    let mut block_lines = Vec::new();
    let mut spans = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            match line.trim_end().strip_suffix('\\') {
                Some(head) => pending.push_str(head),
                None => {
                    pending.push_str(line);
                    block_lines.push(std::mem::take(&mut pending));
                }
            }
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let Some(span) = parts.next() {
            spans.push(span.to_string());
            parts.next();
        }
    }
    Code { block_lines, spans }
}

/// Every `famsim …` command in a piece of code, as its words (the words
/// after `famsim`, up to a shell comment, pipe, redirection or quote).
fn commands_in(code: &str) -> Vec<Vec<String>> {
    let code = code.replace("cargo run --release --", "famsim");
    let mut found = Vec::new();
    for (i, _) in code.match_indices("famsim ") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| !(c.is_whitespace() || matches!(c, '/' | '\'' | '('))) {
            continue;
        }
        let rest = &code[i + "famsim ".len()..];
        let end = rest
            .find(['#', '|', '>', ';', '\'', '"', '`'])
            .unwrap_or(rest.len());
        let words: Vec<String> = rest[..end].split_whitespace().map(String::from).collect();
        if words
            .first()
            .is_some_and(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        {
            found.push(words);
        }
    }
    found
}

/// The command a shown command line runs ("genes encode"), if famsim has it.
fn command_of(
    words: &[String],
    cli: &BTreeMap<String, BTreeSet<String>>,
) -> Result<String, String> {
    let first = &words[0];
    if cli.contains_key(first) {
        return Ok(first.clone());
    }
    let nested: Vec<&String> = cli
        .keys()
        .filter(|k| k.starts_with(&format!("{first} ")))
        .collect();
    if nested.is_empty() {
        return Err(format!("`famsim {first}` is not a famsim command"));
    }
    match words.get(1).map(|w| format!("{first} {w}")) {
        Some(both) if cli.contains_key(&both) => Ok(both),
        _ => Err(format!(
            "`famsim {}` names none of: {}",
            words.join(" "),
            nested
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[test]
fn every_command_shown_in_the_docs_exists_with_its_flags() {
    let cli = cli();
    let mut problems = Vec::new();
    let mut shown = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let code = code_of(&text);
        let name = doc.strip_prefix(repo()).unwrap().display().to_string();
        for piece in code.block_lines.iter().chain(&code.spans) {
            for words in commands_in(piece) {
                shown += 1;
                let command = match command_of(&words, &cli) {
                    Ok(c) => c,
                    Err(e) => {
                        problems.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                for flag in words.iter().flat_map(|w| long_flags(w)) {
                    if !cli[&command].contains(&flag) {
                        problems.push(format!(
                            "{name}: `famsim {command}` has no --{flag} (in `famsim {}`)",
                            words.join(" ")
                        ));
                    }
                }
            }
        }
    }
    assert!(shown >= 40, "only {shown} commands found in the docs");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The README's command list: the first code block under `## Commands`. An
/// entry starts with `famsim`; indented lines continue it.
fn readme_command_list() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = readme
        .split("\n## Commands\n")
        .nth(1)
        .expect("README.md has a `## Commands` section");
    let block = after
        .split("```")
        .nth(1)
        .expect("the Commands section starts with a code block");
    let mut entries: Vec<String> = Vec::new();
    for line in block.lines() {
        if line.starts_with("famsim ") {
            entries.push(line.to_string());
        } else if line.starts_with(' ') && !line.trim().is_empty() {
            let last = entries
                .last_mut()
                .expect("a continuation line after an entry");
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    entries
}

#[test]
fn the_readme_command_list_shows_every_command_and_flag() {
    let cli = cli();
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in readme_command_list() {
        for words in commands_in(&entry) {
            match command_of(&words, &cli) {
                Ok(command) => listed
                    .entry(command)
                    .or_default()
                    .extend(words.iter().flat_map(|w| long_flags(w))),
                Err(e) => problems.push(format!("README command list: {e}")),
            }
        }
    }
    for (command, flags) in &cli {
        let Some(shown) = listed.get(command) else {
            problems.push(format!("README command list has no `famsim {command}`"));
            continue;
        };
        for flag in flags.difference(shown) {
            problems.push(format!(
                "README command list: `famsim {command}` does not show --{flag}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One piece of a file-name pattern from the docs.
#[derive(Debug)]
enum Piece {
    Char(char),
    /// `<id>` or `*`: any text.
    Any,
    /// The `xxxx` of `FIDxxxx`, the `y` of `MIDy`: a number.
    Digits,
}

fn pattern(segment: &str) -> Vec<Piece> {
    let chars: Vec<char> = segment.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            i += chars[i..].iter().position(|&c| c == '>').unwrap_or(0) + 1;
            pieces.push(Piece::Any);
            continue;
        }
        if c == '*' {
            pieces.push(Piece::Any);
        } else if matches!(c, 'x' | 'y') && i > 0 && chars[i - 1].is_ascii_uppercase() {
            while i + 1 < chars.len() && chars[i + 1] == c {
                i += 1;
            }
            pieces.push(Piece::Digits);
        } else {
            pieces.push(Piece::Char(c));
        }
        i += 1;
    }
    pieces
}

fn matches(pieces: &[Piece], text: &[char]) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Char(c), rest)) => text.first() == Some(c) && matches(rest, &text[1..]),
        Some((Piece::Any, rest)) => (0..=text.len()).any(|k| matches(rest, &text[k..])),
        Some((Piece::Digits, rest)) => (1..=text.len())
            .take_while(|&k| text[k - 1].is_ascii_digit())
            .any(|k| matches(rest, &text[k..])),
    }
}

/// Whether a file name from the docs (`people/<id>.png`, `pairs.csv`) names
/// one of `written` (paths relative to an output folder): its segments
/// match the last segments of the path.
fn names_a_written_file(name: &str, written: &BTreeSet<String>) -> bool {
    let want: Vec<Vec<Piece>> = name.split('/').map(pattern).collect();
    written.iter().any(|path| {
        let have: Vec<&str> = path.split('/').collect();
        have.len() >= want.len()
            && want
                .iter()
                .zip(&have[have.len() - want.len()..])
                .all(|(p, h)| matches(p, &h.chars().collect::<Vec<_>>()))
    })
}

/// Extensions of the files famsim writes.
const OUTPUT_EXTENSIONS: &[&str] = &["ged", "dot", "json", "html", "csv", "png", "md", "svg"];

/// Every file a run with every export, a small dataset (with a family
/// exported) and an evaluation of the run write, relative to their folders.
fn written_files(dir: &Path) -> BTreeSet<String> {
    let run = dir.join("run");
    let dataset = dir.join("dataset");
    famsim(&[
        "run",
        "scenarios/two_parents_one_child.ron",
        "--out",
        run.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
        "--gedcom",
        "--dot",
    ]);
    famsim(&[
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--out",
        dataset.to_str().unwrap(),
        "--families",
        "2",
        "--quiet",
    ]);
    famsim(&["export", dataset.join("FID0001").to_str().unwrap()]);
    let eval = dir.join("eval");
    famsim(&[
        "eval",
        run.to_str().unwrap(),
        "--out",
        eval.join("report").to_str().unwrap(),
        "--quiet",
    ]);
    let mut folders = vec![run, dataset, eval];
    // `famsim align` needs dlib's landmark model (installed by .ci/run; under
    // CI=true a missing one fails the test instead of skipping it).
    if let Some(landmarks) = common::landmarks_model() {
        let aligned = dir.join("aligned");
        let photo = repo().join("tests/fixtures/photo/astronaut_crop.png");
        famsim(&[
            "align",
            photo.to_str().unwrap(),
            "--out",
            aligned.to_str().unwrap(),
            "--landmarks",
            landmarks.to_str().unwrap(),
            "--detector",
            common::seeta_model().to_str().unwrap(),
        ]);
        folders.push(aligned);
        // The demo: `famsim child` from two photos, on the tiny weights.
        let weights = dir.join("weights");
        let fixture = |f: &str| repo().join("tests/fixtures").join(f);
        common::import_tiny_weights(
            dir,
            weights.to_str().unwrap(),
            &[
                "--e4e",
                fixture("e4e/e4e.pt").to_str().unwrap(),
                "--landmarks",
                landmarks.to_str().unwrap(),
                "--detector",
                common::seeta_model().to_str().unwrap(),
                "--fairface",
                fixture("fairface/fairface_views.pt").to_str().unwrap(),
            ],
        );
        let child = dir.join("child");
        famsim(&[
            "child",
            "--weights",
            weights.to_str().unwrap(),
            "--father-photo",
            photo.to_str().unwrap(),
            "--mother-photo",
            photo.to_str().unwrap(),
            "--age",
            "3-9",
            "--sex",
            "female",
            "--out",
            child.to_str().unwrap(),
        ]);
        folders.push(child);
    }
    let mut written = BTreeSet::new();
    for folder in &folders {
        written.extend(
            common::tree(folder)
                .into_keys()
                .map(|p| p.to_string_lossy().replace('\\', "/")),
        );
    }
    written
}

#[test]
fn output_file_names_in_the_docs_are_the_ones_famsim_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let written = written_files(tmp.path());
    // The names in both runs' folders, for words in commands.
    let basenames: BTreeSet<&str> = written
        .iter()
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let code = code_of(&text);
        let name = doc.strip_prefix(repo()).unwrap().display().to_string();
        let folder = doc.parent().unwrap();
        // A quoted file name: an output, unless it is a file of the repository.
        for span in &code.spans {
            let is_output = !span.contains(char::is_whitespace)
                && span
                    .rsplit_once('.')
                    .is_some_and(|(_, ext)| OUTPUT_EXTENSIONS.contains(&ext));
            if !is_output || repo().join(span).exists() || folder.join(span).exists() {
                continue;
            }
            checked += 1;
            if !names_a_written_file(span, &written) {
                problems.push(format!("{name}: `{span}` is not a file famsim writes"));
            }
        }
        // GEDCOM and Graphviz files in commands (`dot -Tsvg RUN/tree.dot`).
        for piece in code.block_lines.iter().chain(&code.spans) {
            for word in piece.split_whitespace() {
                let file = word.rsplit('/').next().unwrap();
                if file.ends_with(".ged") || file.ends_with(".dot") {
                    checked += 1;
                    if !basenames.contains(file) {
                        problems.push(format!(
                            "{name}: `{word}` is not a file famsim writes (in `{piece}`)"
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} file names found in the docs");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_file_name_patterns_match_what_they_should() {
    let written: BTreeSet<String> = [
        "people/anna.png",
        "FID0001/MID2/FID0001_MID2.png",
        "FID0001/manifest.json",
        "pairs.csv",
    ]
    .map(String::from)
    .into();
    for yes in [
        "people/<id>.png",
        "FIDxxxx/MIDy/FIDxxxx_MIDy.png",
        "FIDxxxx/MIDx/*.png",
        "manifest.json",
        "FIDxxxx/manifest.json",
        "pairs.csv",
    ] {
        assert!(names_a_written_file(yes, &written), "{yes}");
    }
    for no in [
        "family.ged",
        "people.png",
        "FIDxxxx/pairs.csv",
        "index.html",
        "FIDx/MIDy.png",
    ] {
        assert!(!names_a_written_file(no, &written), "{no}");
    }
    assert_eq!(
        commands_in("srun bash -c 'exec famsim dataset --spec s.ron --out /d --resume'"),
        [["dataset", "--spec", "s.ron", "--out", "/d", "--resume"].map(String::from)]
    );
    assert!(commands_in("metadata: { name: famsim }").is_empty());
    assert_eq!(
        long_flags("[--gamma G --eta E] --out=DIR"),
        ["gamma", "eta", "out"]
    );
}

/// Every file of the repository, relative to it (build outputs left out).
fn repository_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(repo().join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if matches!(name.to_str(), Some(".git" | "target" | "runs" | "datasets")) {
                continue;
            }
            let path = rel.join(&name);
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A comment or page that sends the reader to a Markdown page must find it:
/// a page in the repository, or the dataset card famsim writes.
#[test]
fn every_markdown_page_mentioned_exists() {
    let files = repository_files();
    let pages: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(String::from))
        .filter(|n| n.ends_with(".md"))
        .chain(["DATASET.md".to_string()])
        .collect();
    let mut problems = Vec::new();
    for file in &files {
        let text_file = ["rs", "md", "py", "sh", "toml", "ron", "txt", "yml", "yaml"]
            .iter()
            .any(|e| file.extension().is_some_and(|x| x == *e))
            || file.starts_with(".ci");
        let Ok(text) = std::fs::read_to_string(repo().join(file)) else {
            continue;
        };
        if !text_file {
            continue;
        }
        for word in
            text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')))
        {
            let word = word.trim_end_matches('.');
            let Some(page) = word.rsplit('/').next() else {
                continue;
            };
            if page.len() > 3 && page.ends_with(".md") && !pages.contains(page) {
                problems.push(format!(
                    "{}: mentions {word}, which is not in the repository",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
