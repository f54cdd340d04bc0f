//! No module imports one that imports it back (issue 10).
//!
//! Reads every `src/**/*.rs`, finds the paths that name crate modules
//! (`use crate::…`, `crate::…`/`super::…`/`self::…` paths, and paths starting
//! with a child module's name), and builds one graph per module folder: the
//! crate's top-level modules, and the sibling submodules inside each module.
//! An edge A → B means some code in A (or below it) names B (or something in
//! it). A cycle in any of these graphs fails the test, naming every edge with
//! the file and line that makes it. Nothing here lists the modules: a new
//! folder (say `src/weights/`) is checked the day it appears.
//!
//! A child using its own parent (`super::Item`) is how Rust modules work and
//! does not count; neither do paths inside comments or string literals.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Known cycles waiting to be removed (none today). Each entry must still be
/// a cycle: once it is gone the test says to delete it, so the list can only
/// shrink.
const ALLOWED: &[&[&str]] = &[];

type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Open,
    Close,
    Comma,
    Star,
    Semi,
    Other,
}

/// Rust source → tokens (with their line numbers), without comments,
/// string/char literals and lifetimes. Only what path finding needs.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    // Skips a "…" string starting at c[i] == '"' (escapes honoured).
    fn skip_string(c: &[char], mut i: usize, line: &mut usize) -> usize {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if i < c.len() && c[i] == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    }
    // Skips r#"…"# starting at c[i] == 'r' or '#'/'"' after it.
    fn skip_raw(c: &[char], mut i: usize, line: &mut usize) -> usize {
        let mut hashes = 0;
        while c.get(i) == Some(&'#') {
            hashes += 1;
            i += 1;
        }
        i += 1; // opening quote
        loop {
            match c.get(i) {
                None => return i,
                Some('"') if (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) => {
                    return i + 1 + hashes
                }
                Some('\n') => *line += 1,
                _ => {}
            }
            i += 1;
        }
    }
    while i < c.len() {
        let ch = c[i];
        match ch {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if ch.is_whitespace() => i += 1,
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                loop {
                    if i >= c.len() {
                        break;
                    }
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if c[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(&c, i, &mut line),
            '\'' => {
                if c.get(i + 1) == Some(&'\\') {
                    // '\n', '\'', '\u{…}'
                    i += 2;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    i += 3; // 'x'
                } else {
                    i += 1; // a lifetime or label: its name lexes as an identifier
                }
            }
            _ if ch.is_alphabetic() || ch == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let next = c.get(i).copied();
                match (word.as_str(), next) {
                    ("b" | "c", Some('"')) => i = skip_string(&c, i, &mut line),
                    ("b", Some('\'')) => {
                        i += 1;
                        if c.get(i) == Some(&'\\') {
                            i += 1;
                        }
                        i += 1;
                        while i < c.len() && c[i] != '\'' {
                            i += 1;
                        }
                        i += 1;
                    }
                    ("r" | "br" | "cr", Some('"')) => i = skip_raw(&c, i, &mut line),
                    ("r" | "br" | "cr", Some('#'))
                        if matches!(c.get(i + 1), Some('"') | Some('#')) =>
                    {
                        i = skip_raw(&c, i, &mut line)
                    }
                    ("r", Some('#')) => {
                        // raw identifier r#name
                        i += 1;
                        let start = i;
                        while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                            i += 1;
                        }
                        out.push((Tok::Ident(c[start..i].iter().collect()), line));
                    }
                    _ => out.push((Tok::Ident(word), line)),
                }
            }
            ':' if c.get(i + 1) == Some(&':') => {
                out.push((Tok::Sep, line));
                i += 2;
            }
            _ => {
                out.push((
                    match ch {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        ',' => Tok::Comma,
                        '*' => Tok::Star,
                        ';' => Tok::Semi,
                        _ => Tok::Other,
                    },
                    line,
                ));
                i += 1;
            }
        }
    }
    out
}

/// Expands one `use` tree starting at `toks[*i]` into its full paths.
fn use_tree(toks: &[(Tok, usize)], i: &mut usize, prefix: ModPath, out: &mut Vec<ModPath>) {
    let mut path = prefix;
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Ident(s)) if s == "as" => {
                *i += 2; // `as name`
                out.push(path);
                return;
            }
            Some(Tok::Ident(s)) => {
                // `use a::{self, b}`: `self` is the prefix itself.
                if s != "self" || path.is_empty() {
                    path.push(s.clone());
                }
                *i += 1;
            }
            Some(Tok::Open) => {
                *i += 1;
                loop {
                    use_tree(toks, i, path.clone(), out);
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Comma) => *i += 1,
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            Some(Tok::Star) => {
                *i += 1;
                out.push(path);
                return;
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// A path found in a file: the module (file or inline `mod`) it is written
/// in, the path's segments, and where.
struct Reference {
    scope: ModPath,
    path: ModPath,
    line: usize,
}

/// Every path of two or more segments in `src`, and every `use` path, with
/// the module each sits in. Also returns the inline modules declared.
fn references(src: &str, module: &ModPath) -> (Vec<Reference>, Vec<ModPath>) {
    let toks = lex(src);
    let mut refs = Vec::new();
    let mut inline = Vec::new();
    // (module, brace depth inside it)
    let mut scopes: Vec<(ModPath, usize)> = vec![(module.clone(), 0)];
    let mut depth = 0;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        let scope = scopes.last().unwrap().0.clone();
        match tok {
            Tok::Ident(w) if w == "use" => {
                i += 1;
                let mut paths = Vec::new();
                use_tree(&toks, &mut i, Vec::new(), &mut paths);
                for path in paths {
                    refs.push(Reference {
                        scope: scope.clone(),
                        path,
                        line,
                    });
                }
                continue;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    pending_mod = Some(name.clone());
                }
                i += 1;
                continue;
            }
            Tok::Open => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    let mut m = scope.clone();
                    m.push(name);
                    inline.push(m.clone());
                    scopes.push((m, depth));
                }
            }
            Tok::Close => {
                if scopes.len() > 1 && scopes.last().unwrap().1 == depth {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(first)
                if !matches!(i.checked_sub(1).map(|p| &toks[p].0), Some(Tok::Sep)) =>
            {
                let mut path = vec![first.clone()];
                let mut j = i + 1;
                while let (Some((Tok::Sep, _)), Some((Tok::Ident(s), _))) =
                    (toks.get(j), toks.get(j + 1))
                {
                    path.push(s.clone());
                    j += 2;
                }
                if path.len() >= 2 {
                    refs.push(Reference { scope, path, line });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (refs, inline)
}

/// The module a path names, or None for paths outside the crate.
fn resolve(path: &[String], scope: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let (mut abs, mut rest): (ModPath, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (scope.to_vec(), &path[1..]),
        "super" => (scope.to_vec(), path),
        first => {
            let mut child = scope.to_vec();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None; // another crate, or a type or value in scope
            }
            (scope.to_vec(), path)
        }
    };
    while rest.first().map(String::as_str) == Some("super") {
        abs.pop();
        rest = &rest[1..];
    }
    abs.extend(rest.iter().cloned());
    (0..=abs.len())
        .rev()
        .map(|k| abs[..k].to_vec())
        .find(|p| modules.contains(p))
}

/// One edge of a module graph and the code that makes it.
#[derive(Clone)]
struct Why {
    file: PathBuf,
    line: usize,
    path: String,
}

/// module folder → (child → (sibling → first reference)).
type Graphs = BTreeMap<ModPath, BTreeMap<String, BTreeMap<String, Why>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → a::b, `src/a/mod.rs` → a, `src/lib.rs` → the crate root.
/// None for files that are crate roots of other targets (main.rs, bin/).
fn module_of(src_dir: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src_dir).unwrap().with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts == ["main"] || parts.first().map(String::as_str) == Some("bin") {
        return None;
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    Some(parts)
}

fn graphs(src_dir: &Path) -> Graphs {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    files.sort();
    let mut modules = BTreeSet::new();
    let mut found = Vec::new();
    for file in files {
        let Some(module) = module_of(src_dir, &file) else {
            continue;
        };
        // Every folder above a module is a module too.
        for k in 0..=module.len() {
            modules.insert(module[..k].to_vec());
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let (refs, inline) = references(&text, &module);
        modules.extend(inline);
        found.push((file, refs));
    }
    let mut graphs = Graphs::new();
    for (file, refs) in found {
        for r in refs {
            let Some(target) = resolve(&r.path, &r.scope, &modules) else {
                continue;
            };
            let common = r
                .scope
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common < r.scope.len() && common < target.len() {
                graphs
                    .entry(target[..common].to_vec())
                    .or_default()
                    .entry(r.scope[common].clone())
                    .or_default()
                    .entry(target[common].clone())
                    .or_insert(Why {
                        // Shown from the crate root: `src/io/npy.rs`.
                        file: file
                            .strip_prefix(src_dir.parent().unwrap_or(src_dir))
                            .unwrap_or(&file)
                            .to_path_buf(),
                        line: r.line,
                        path: r.path.join("::"),
                    });
            }
        }
    }
    graphs
}

/// The shortest cycle through `start` (a list of nodes, start first), if any.
fn cycle_through(
    edges: &BTreeMap<String, BTreeMap<String, Why>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.to_string()]);
    while let Some(node) = queue.pop_front() {
        for next in edges.get(&node).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                let mut cycle = vec![node.clone()];
                while let Some(prev) = came_from.get(cycle.last().unwrap()) {
                    cycle.push(prev.clone());
                }
                cycle.reverse();
                return Some(cycle);
            }
            if !came_from.contains_key(next) && next != start {
                came_from.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

/// A found cycle: the folder's module path (`crate` for the top level), the
/// modules in order, and a readable account.
struct Cycle {
    members: BTreeSet<String>,
    text: String,
}

/// Every module cycle under `src_dir`, one per set of modules that reach
/// each other, each shown as its shortest loop.
fn cycles(src_dir: &Path) -> Vec<Cycle> {
    let mut found = Vec::new();
    for (parent, edges) in graphs(src_dir) {
        let mut covered = BTreeSet::new();
        for start in edges.keys() {
            if covered.contains(start) {
                continue;
            }
            let Some(cycle) = cycle_through(&edges, start) else {
                continue;
            };
            let qualify = |m: &str| {
                parent
                    .iter()
                    .map(String::as_str)
                    .chain([m])
                    .collect::<Vec<_>>()
                    .join("::")
            };
            let mut text = format!(
                "module cycle in `{}`: {} → {}\n",
                if parent.is_empty() {
                    "crate".to_string()
                } else {
                    parent.join("::")
                },
                cycle.join(" → "),
                cycle[0]
            );
            for (k, from) in cycle.iter().enumerate() {
                let to = &cycle[(k + 1) % cycle.len()];
                let why = &edges[from][to];
                text.push_str(&format!(
                    "  {} → {}: {}:{} names `{}`\n",
                    from,
                    to,
                    why.file.display(),
                    why.line,
                    why.path
                ));
            }
            covered.extend(cycle.iter().cloned());
            found.push(Cycle {
                members: cycle.iter().map(|m| qualify(m)).collect(),
                text,
            });
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = cycles(&src);
    let allowed: Vec<BTreeSet<String>> = ALLOWED
        .iter()
        .map(|c| c.iter().map(|m| m.to_string()).collect())
        .collect();
    let report: String = found
        .iter()
        .filter(|c| !allowed.contains(&c.members))
        .map(|c| c.text.clone())
        .collect();
    assert!(
        report.is_empty(),
        "{report}Move the shared types into a module both can use (a leaf \
         module such as src/latent.rs), or turn one edge around."
    );
    let gone: Vec<_> = allowed
        .iter()
        .filter(|a| !found.iter().any(|c| &c.members == *a))
        .collect();
    assert!(
        gone.is_empty(),
        "the cycles {gone:?} are gone: remove them from ALLOWED in tests/module_cycles.rs"
    );
}

/// Writes `files` (path under src → text) into a fresh folder.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn a_cycle_between_top_level_modules_is_named_with_its_lines() {
    let dir = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a/mod.rs", "pub mod x;\n"),
        ("a/x.rs", "use crate::{b::Thing};\n"),
        ("b.rs", "pub struct Thing;\n\nfn f() { crate::c::g() }\n"),
        ("c.rs", "pub fn g() { let _ = crate::a::x::h; }\n"),
    ]);
    let found = cycles(dir.path());
    assert_eq!(
        found.len(),
        1,
        "{:?}",
        found.iter().map(|c| &c.text).collect::<Vec<_>>()
    );
    let text = &found[0].text;
    assert!(
        text.contains("module cycle in `crate`: a → b → c → a"),
        "{text}"
    );
    assert!(text.contains("a/x.rs:1 names `crate::b::Thing`"), "{text}");
    assert!(text.contains("b.rs:3 names `crate::c::g`"), "{text}");
    assert!(text.contains("c.rs:1 names `crate::a::x::h`"), "{text}");
}

#[test]
fn a_cycle_between_sibling_submodules_is_found_through_super_and_relative_paths() {
    let dir = tree(&[
        ("lib.rs", "pub mod m;\n"),
        ("m/mod.rs", "mod p;\nmod q;\nfn f() { p::go(); }\n"),
        ("m/p.rs", "use super::q::Q;\npub fn go() {}\n"),
        (
            "m/q.rs",
            "pub struct Q;\nfn g() { super::super::m::p::go() }\n",
        ),
    ]);
    let found = cycles(dir.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].text.contains("module cycle in `m`: p → q → p"),
        "{}",
        found[0].text
    );
}

#[test]
fn comments_strings_parents_and_other_crates_make_no_edges() {
    let dir = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "use crate::b;\nmod tests { use super::*; }\nfn f() -> &'static str { b::X }\n",
        ),
        (
            "b.rs",
            concat!(
                "// crate::a::f\n/* crate::a::f /* nested */ crate::a::f */\n",
                "pub const X: &str = \"crate::a::f\";\n",
                "const Y: &str = r#\"crate::a::\"f\"#;\n",
                "const Z: char = '\"'; fn g<'a>(s: &'a str) -> &'a str { s }\n",
                "mod inner { fn h() { super::X; } }\n",
                "use a::b::c; use std::io;\n",
            ),
        ),
    ]);
    assert!(cycles(dir.path()).is_empty());
}
