//! Scenario files: parsing RON, validating, and turning them into a [`Pedigree`].
//!
//! Loading runs in three steps so that one report can list every problem:
//! 1. the file as a whole, with each person kept as raw RON text (syntax
//!    errors anywhere, and errors in the top-level fields, stop here);
//! 2. each person on their own, so that a typo in one person does not hide
//!    the typos in the others;
//! 3. the checks of [`validate`], with every problem located in the text.

pub mod diagnostics;
pub mod format;
pub mod source;
pub mod validate;

use crate::error::{Error, Result};
use crate::pedigree::Pedigree;
use diagnostics::{describe_ron_error, Diagnostic, Source};
use format::{PersonSpec, ScenarioFile};
use ron::value::RawValue;
use source::Node;
use std::path::{Path, PathBuf};

/// A scenario that parsed and validated.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub file: ScenarioFile,
    pub pedigree: Pedigree,
    /// Implausible but legal things, one line each:
    /// `path:line:col: person "id": message`.
    pub warnings: Vec<String>,
}

/// Reads, parses and validates a scenario file. Every problem found is in the
/// returned [`Error::Scenario`] report (exit code 2).
pub fn load(path: &Path) -> Result<LoadedScenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read scenario {}: {e}", path.display())))?;
    parse_and_validate(path, &text)
}

/// [`load`] for text already in memory; `path` names it in messages and
/// anchors relative paths.
pub fn parse_and_validate(path: &Path, text: &str) -> Result<LoadedScenario> {
    let source = Source::new(path, text);
    // Only used to locate problems; `None` when the text is not valid RON.
    let tree = source::parse(text);
    let options = format::ron_options();

    let header: ScenarioFile<&RawValue> = options
        .from_str(text)
        .map_err(|e| Error::Scenario(source.report(&[ron_diagnostic(&source, tree.as_ref(), text, &e)])))?;

    let mut diagnostics = Vec::new();
    let mut people = Vec::with_capacity(header.people.len());
    for raw in &header.people {
        let slice = raw.get_ron();
        match options.from_str::<PersonSpec>(slice) {
            Ok(person) => people.push(person),
            Err(e) => diagnostics.push(ron_diagnostic(&source, tree.as_ref(), slice, &e)),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::Scenario(source.report(&diagnostics)));
    }
    let file = ScenarioFile {
        name: header.name,
        seed: header.seed,
        model: header.model,
        image_size: header.image_size,
        defaults: header.defaults,
        people,
    };

    let validated = validate::validate(&source, tree.as_ref(), &file);
    let diagnostics = validated.diagnostics;
    match validated.pedigree {
        Some(pedigree) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(LoadedScenario {
            path: path.to_path_buf(),
            file,
            pedigree,
            warnings: diagnostics.iter().map(|d| source.headline(d)).collect(),
        }),
        _ => Err(Error::Scenario(source.report(&diagnostics))),
    }
}

/// One of ron's errors, located in the whole file. `within` is the text ron
/// was given (the file, or one person's slice of it).
fn ron_diagnostic(
    source: &Source,
    tree: Option<&Node>,
    within: &str,
    err: &ron::error::SpannedError,
) -> Diagnostic {
    let mut start = source.offset_in(within, err.span.start.line, err.span.start.col);
    // ron's span starts where its cursor was, often on the whitespace before
    // the token at fault; point at the token.
    let rest = &source.text[start..];
    if !rest.trim().is_empty() {
        start += rest.len() - rest.trim_start().len();
    }
    let mut end = source
        .offset_in(within, err.span.end.line, err.span.end.col)
        .max(start);
    if end == start {
        end = start + token_len(&source.text[start..]);
    }
    let field = tree.and_then(|t| t.field_at(start)).map(|f| f.name.as_str());
    let found = source.text[start..].chars().next();
    let (message, help) = describe_ron_error(&err.code, field, found);
    let mut d = Diagnostic::error(Some(start..end), message);
    d.help = help;
    if let Some(id) = tree.and_then(|t| person_at(source, t, start)) {
        d = d.person(&id);
    }
    d
}

/// The id of the person whose entry contains `offset`.
fn person_at(source: &Source, tree: &Node, offset: usize) -> Option<String> {
    let people = tree.field("people")?.value.items();
    let person = people
        .iter()
        .find(|p| p.span.start <= offset && offset <= p.span.end)?;
    let id_text = &source.text[person.value_span("id")?];
    ron::from_str::<String>(id_text).ok()
}

/// Length in bytes of the token at the start of `text` (a quoted string, a
/// word or number, or one character), for underlining it.
fn token_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        None => 0,
        Some((_, '"')) => text[1..].find('"').map_or(1, |i| i + 2),
        Some((_, c)) if c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.') => text
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.')))
            .unwrap_or(text.len()),
        Some((_, c)) => c.len_utf8(),
    }
}
