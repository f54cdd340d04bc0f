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

use crate::attributes::AttributeScores;
use crate::error::{Error, Result};
use crate::model_spec::ModelSpec;
use crate::pedigree::Pedigree;
use diagnostics::{Diagnostic, Source};
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
    /// What FairFace predicted for founders from photos, in file order.
    pub predictions: Vec<validate::Prediction>,
}

/// Predicts a photographed founder's race, sex and age (FairFace on the
/// aligned face). The scenario cannot reach the model itself (it sits below
/// it), so `famsim check` and `famsim run` hand one in.
pub trait PhotoAttributes {
    /// The prediction for `photo` (named as the scenario resolves it), with
    /// the scenario's `model`; `aligned` for an `AlignedPhoto` crop. Ok(None)
    /// when that model has no attribute classifier to ask; Err says why the
    /// photo could not be classified (no face found, …).
    fn predict(
        &self,
        model: &ModelSpec,
        scenario: &Path,
        photo: &Path,
        aligned: bool,
    ) -> std::result::Result<Option<AttributeScores>, String>;
}

impl LoadedScenario {
    /// A path written in the scenario (a `Latent` file, the weights folder),
    /// relative to the scenario file's folder as `famsim check` resolves it.
    pub fn resolve(&self, written: &str) -> PathBuf {
        validate::resolve(&self.path, written)
    }
}

/// Reads, parses and validates a scenario file. Every problem found is in the
/// returned [`Error::Scenario`] report (exit code 2).
pub fn load(path: &Path) -> Result<LoadedScenario> {
    load_with(path, None)
}

/// [`load`], asking `photos` for what founders from photos leave out.
pub fn load_with(path: &Path, photos: Option<&dyn PhotoAttributes>) -> Result<LoadedScenario> {
    let text = read_text(path, "scenario")?;
    parse_and_validate_with(path, &text, photos)
}

/// The text of a scenario or dataset spec (`what` names it in the message),
/// without the UTF-8 byte-order mark that Windows editors put first: ron
/// would take it for a stray character before the opening `(`.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read {what} {}: {e}", path.display())))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// [`load`] for text already in memory; `path` names it in messages and
/// anchors relative paths.
pub fn parse_and_validate(path: &Path, text: &str) -> Result<LoadedScenario> {
    parse_and_validate_with(path, text, None)
}

/// [`parse_and_validate`] with a [`PhotoAttributes`] for photo founders.
pub fn parse_and_validate_with(
    path: &Path,
    text: &str,
    photos: Option<&dyn PhotoAttributes>,
) -> Result<LoadedScenario> {
    let source = Source::new(path, text);
    // Only used to locate problems; `None` when the text is not valid RON.
    let tree = source::parse(text);
    let options = format::ron_options();

    let (work, mut diagnostics) = header_errors(&source, tree.as_ref());
    let header: ScenarioFile<&RawValue> = match options.from_str(&work) {
        Ok(header) => header,
        // Only when `header_errors` gave up, with at least one error.
        Err(_) => return Err(Error::Scenario(source.report(&diagnostics))),
    };
    let header_failed = !diagnostics.is_empty();

    let mut people = Vec::with_capacity(header.people.len());
    for raw in &header.people {
        let slice = raw.get_ron();
        match options.from_str::<PersonSpec>(slice) {
            Ok(person) => people.push(person),
            Err(e) => {
                diagnostics.push(ron_diagnostic(&source, tree.as_ref(), &work, slice, &e));
            }
        }
    }
    // With a top-level field blanked out the rest would be checked against
    // defaults the user did not choose, so stop at the parse errors.
    if header_failed || !diagnostics.is_empty() {
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

    let validated = validate::validate(&source, tree.as_ref(), &file, photos);
    let mut diagnostics = validated.diagnostics;
    // Warnings are listed in file order, like errors.
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
    match validated.pedigree {
        Some(pedigree) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(LoadedScenario {
            path: path.to_path_buf(),
            file,
            pedigree,
            warnings: diagnostics.iter().map(|d| source.headline(d)).collect(),
            predictions: validated.predictions,
        }),
        _ => Err(Error::Scenario(source.report(&diagnostics))),
    }
}

/// Most top-level fields a file can have wrong before we stop looking.
const MAX_HEADER_ERRORS: usize = 16;

/// Parses the top level (people kept as raw text). ron stops at the first
/// error, so when that error sits in an optional top-level field, the field
/// is blanked out (replaced by spaces, which keeps every offset) and the
/// parse retried, to report the other fields' errors and every person's too.
///
/// Returns the text to parse people from and the errors found. The text
/// parses unless an error could not be blanked out (a syntax error, a
/// problem in `name` or `people`, a missing field).
fn header_errors(source: &Source, tree: Option<&Node>) -> (String, Vec<Diagnostic>) {
    let options = format::ron_options();
    let mut work = source.text.to_string();
    let mut diagnostics = Vec::new();
    while diagnostics.len() < MAX_HEADER_ERRORS {
        let err = match options.from_str::<ScenarioFile<&RawValue>>(&work) {
            Ok(_) => break,
            Err(err) => err,
        };
        let d = ron_diagnostic(source, tree, &work, &work, &err);
        let offset = d.span.as_ref().map_or(0, |s| s.start);
        diagnostics.push(d);
        let blankable = tree.and_then(|t| {
            t.fields().iter().find(|f| {
                f.name_span.start <= offset
                    && offset <= f.value.span.end
                    && f.name != "name"
                    && f.name != "people"
            })
        });
        match blankable {
            Some(field) => blank_out(&mut work, field),
            None => break,
        }
    }
    (work, diagnostics)
}

/// Replaces a field, and the comma after it, with spaces.
fn blank_out(work: &mut String, field: &source::Field) {
    let start = field.name_span.start;
    let mut end = field.value.span.end;
    let after = &work[end..];
    let trimmed = after.trim_start();
    if trimmed.starts_with(',') {
        end += after.len() - trimmed.len() + 1;
    }
    work.replace_range(start..end, &" ".repeat(end - start));
}

/// One of ron's errors, located in the whole file, with the person it is in.
fn ron_diagnostic(
    source: &Source,
    tree: Option<&Node>,
    whole: &str,
    within: &str,
    err: &ron::error::SpannedError,
) -> Diagnostic {
    let d = diagnostics::from_ron_error(source, tree, whole, within, err, None);
    let start = d.span.as_ref().map_or(0, |s| s.start);
    match tree.and_then(|t| person_at(source, t, start)) {
        Some(id) => d.person(&id),
        None => d,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genetics::{Inheritance, Region};
    use format::{DeviceSpec, FounderGenes, ModelSpec};

    const FAMILY: &str = r#"(
    name: "t",
    people: [
        (id: "dad", sex: Male, age: "30-39", ancestry: White),
        (id: "mum", sex: Female, age: "30-39", ancestry: Black, genes: Seed(9)),
        (id: "kid", sex: Male, age: "3-9", father: "dad", mother: "mum", gamma: 0.2,
            regions: {"iris": Father, "eyes": Mother, "nose": Pool}),
    ],
)"#;

    fn load_text(text: &str) -> Result<LoadedScenario> {
        parse_and_validate(Path::new("t.ron"), text)
    }

    #[test]
    fn a_single_region_beats_its_group_whatever_the_order() {
        let loaded = load_text(FAMILY).unwrap();
        let kid = loaded.pedigree.person(loaded.pedigree.node("kid").unwrap());
        assert_eq!(kid.overrides[&Region::Iris], Inheritance::Father);
        assert_eq!(kid.overrides[&Region::Sclera], Inheritance::Mother);
        assert_eq!(kid.overrides[&Region::NoseTip], Inheritance::Pool);
        assert!(!kid.overrides.contains_key(&Region::Hair));
        assert_eq!(kid.params.gamma, 0.2);
        assert_eq!(kid.params.eta, 0.4);
        let mum = loaded.pedigree.person(loaded.pedigree.node("mum").unwrap());
        assert_eq!(mum.founder_genes, FounderGenes::Seed(9));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn stylegene_options_need_no_extra_parentheses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("weights")).unwrap();
        std::fs::write(dir.path().join("anna.npy"), b"").unwrap();
        let path = dir.path().join("s.ron");
        let text = r#"(
    name: "n",
    model: StyleGene(weights: "weights", device: Cpu, batch: 2),
    people: [(id: "anna", sex: Female, age: "20-29", ancestry: Indian, genes: Latent("anna.npy"))],
)"#;
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path).unwrap();
        let ModelSpec::StyleGene(spec) = &loaded.file.model else {
            panic!("expected StyleGene, got {:?}", loaded.file.model)
        };
        assert_eq!(spec.weights, "weights");
        assert_eq!(spec.device, DeviceSpec::Cpu);
        assert_eq!(spec.batch, 2);
        assert_eq!(spec.truncation, 0.7);
        // The latent path resolves against the scenario's folder, so no error.
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn errors_are_reported_in_file_order_with_a_count() {
        let text = FAMILY
            .replace(
                "\"30-39\", ancestry: White",
                "\"30-39\", ancestry: White, gamma: 2.0",
            )
            .replace("age: \"3-9\"", "age: \"70+\"");
        let Err(Error::Scenario(report)) = load_text(&text) else {
            panic!("expected a scenario error")
        };
        let gamma = report.find("`gamma` is 2").expect(&report);
        let older = report.find("older than their father").expect(&report);
        assert!(gamma < older, "{report}");
        assert!(report.contains("t.ron:4:"), "{report}");
        assert!(
            report.ends_with("t.ron has 3 errors; nothing was done"),
            "{report}"
        );
    }

    /// Every single-character deletion or insertion in a real scenario must
    /// give either a valid scenario or a located report, never a panic.
    #[test]
    fn damaged_files_never_panic_and_always_point_somewhere() {
        let original = include_str!("../../scenarios/two_parents_one_child.ron");
        let mut damaged = Vec::new();
        for (i, _) in original.char_indices() {
            let mut deleted = original.to_string();
            deleted.remove(i);
            damaged.push(deleted);
            for c in ['(', ')', '"', ',', '{', ':', 'x', '\n'] {
                let mut inserted = original.to_string();
                inserted.insert(i, c);
                damaged.push(inserted);
            }
        }
        let (mut ok, mut bad) = (0, 0);
        for text in &damaged {
            match std::panic::catch_unwind(|| load_text(text)) {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(Error::Scenario(report))) => {
                    bad += 1;
                    let first = report.lines().next().unwrap_or_default();
                    let located = first.strip_prefix("error: t.ron:").is_some_and(|rest| {
                        rest.split(':').take(2).all(|n| n.parse::<usize>().is_ok())
                    });
                    assert!(located, "no location in:\n{report}\nfor:\n{text}");
                }
                Ok(Err(other)) => panic!("unexpected error kind {other:?} for:\n{text}"),
                Err(_) => panic!("panicked on:\n{text}"),
            }
        }
        // Most damage breaks the file, some (a space in a comment) does not.
        assert!(bad > ok && ok > 0, "{bad} rejected, {ok} accepted");
    }

    #[test]
    fn matching_ancestry_on_a_child_is_only_a_warning() {
        let text = FAMILY.replace(
            "father: \"dad\", mother",
            "ancestry: Black, father: \"dad\", mother",
        );
        let loaded = load_text(&text).unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].starts_with("t.ron:6:54:")
                && loaded.warnings[0].contains("`ancestry` is ignored for a child"),
            "{:?}",
            loaded.warnings
        );
    }
}
