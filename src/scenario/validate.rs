//! The checks a scenario must pass after it parsed: value ranges, ids that
//! are safe file names, region names, founder-only and child-only fields, and
//! (through [`Pedigree::new`]) the family structure. Every problem is located
//! in the source text; every rule is listed in `scenarios/README.md`.

use super::diagnostics::{closest, Diagnostic, Source};
use super::format::{
    FounderGenes, ModelSpec, PersonSpec, ScenarioFile, StyleGeneSpec, IMAGE_SIZE_RANGE,
};
use super::source::{Node, Span};
use super::PhotoAttributes;
use crate::attributes::{AgeGroup, Ancestry, AttributeScores, Sex, CONFIDENT};
use crate::genetics::{CrossoverParams, Region, RegionGroup, RegionSelector};
use crate::pedigree::{Pedigree, PedigreeIssue, Person};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The outcome of validation: the pedigree when the family structure holds
/// together, and every error and warning found.
pub struct Validated {
    pub pedigree: Option<Pedigree>,
    pub diagnostics: Vec<Diagnostic>,
    pub predictions: Vec<Prediction>,
}

/// FairFace's prediction for a founder from a photo.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub id: String,
    /// The photo as the scenario names it.
    pub photo: String,
    pub scores: AttributeScores,
    /// The fields the scenario left out, which the prediction fills.
    pub filled: Vec<&'static str>,
}

/// A person's sex, age and ancestry: as written, else as predicted.
#[derive(Clone, Copy, Debug, Default)]
struct Attributes {
    sex: Option<Sex>,
    age: Option<AgeGroup>,
    ancestry: Option<Ancestry>,
}

/// Checks a parsed scenario. `tree` is the span tree of the text, used only
/// to locate problems; without it problems are reported without a position.
pub fn validate(
    source: &Source,
    tree: Option<&Node>,
    file: &ScenarioFile,
    photos: Option<&dyn PhotoAttributes>,
) -> Validated {
    let at = Locator::new(source, tree);
    let mut out = Vec::new();
    check_header(source, &at, file, &mut out);
    for (entry, p) in file.people.iter().enumerate() {
        check_person(source, &at, file, entry, p, &mut out);
    }
    check_id_case_collisions(&at, file, &mut out);
    let mut found = Vec::new();
    let (attributes, predictions) = resolve_attributes(source, &at, file, photos, &out, &mut found);
    out.extend(found);

    let people = file
        .people
        .iter()
        .zip(&attributes)
        .map(|(p, a)| to_person(p, a, file, source.path))
        .collect::<Vec<_>>();
    // A photo founder whose ancestry could not be predicted already has an
    // error saying what to state or import.
    let explained: Vec<&str> = file
        .people
        .iter()
        .zip(&attributes)
        .filter(|(p, a)| is_photo_founder(p) && a.ancestry.is_none())
        .map(|(p, _)| p.id.as_str())
        .collect();
    let keep = |i: &&PedigreeIssue| {
        !(i.message.contains("no `ancestry`") && explained.contains(&i.person.as_str()))
    };
    let pedigree = match Pedigree::new(people) {
        Ok((pedigree, issues)) => {
            out.extend(issues.iter().filter(keep).map(|i| from_issue(&at, i)));
            check_child_ancestry(&at, file, &pedigree, &mut out);
            Some(pedigree)
        }
        Err(issues) => {
            out.extend(issues.iter().filter(keep).map(|i| from_issue(&at, i)));
            None
        }
    };
    Validated {
        pedigree,
        diagnostics: out,
        predictions,
    }
}

fn is_photo_founder(p: &PersonSpec) -> bool {
    p.father.is_none()
        && p.mother.is_none()
        && matches!(
            p.genes,
            Some(FounderGenes::Photo(_) | FounderGenes::AlignedPhoto(_))
        )
}

/// Everyone's sex, age and ancestry. A founder from a photo is asked of
/// `photos` (FairFace): what the scenario leaves out is filled from the
/// prediction, and a stated value that a confident prediction contradicts
/// is a warning (the stated value is kept). A field nobody states or
/// predicts is an error saying what to write or import.
fn resolve_attributes(
    source: &Source,
    at: &Locator,
    file: &ScenarioFile,
    photos: Option<&dyn PhotoAttributes>,
    earlier: &[Diagnostic],
    out: &mut Vec<Diagnostic>,
) -> (Vec<Attributes>, Vec<Prediction>) {
    let mut all = Vec::with_capacity(file.people.len());
    let mut predictions = Vec::new();
    for (entry, p) in file.people.iter().enumerate() {
        let id = p.id.as_str();
        let mut a = Attributes {
            sex: p.sex,
            age: p.age,
            ancestry: p.ancestry,
        };
        let is_founder = p.father.is_none() && p.mother.is_none();
        let photo = match (&p.genes, is_founder) {
            (Some(FounderGenes::Photo(f)), true) => Some((f, false)),
            (Some(FounderGenes::AlignedPhoto(f)), true) => Some((f, true)),
            _ => None,
        };
        let genes_span = at.person_field(entry, "genes");
        // A photo that already failed its checks is not classified again.
        let photo_failed = earlier
            .iter()
            .any(|d| d.is_error() && d.person.as_deref() == Some(id) && d.span == genes_span);
        let mut missing: Vec<&'static str> = Vec::new();
        if a.sex.is_none() {
            missing.push("sex");
        }
        if a.age.is_none() {
            missing.push("age");
        }
        if is_founder && a.ancestry.is_none() {
            missing.push("ancestry");
        }
        let Some((written, aligned)) = photo.filter(|_| !photo_failed) else {
            if photo.is_none() {
                // Not from a photo: the old rule, in ron's words.
                for field in missing.iter().filter(|f| **f != "ancestry") {
                    out.push(
                        Diagnostic::error(
                            at.person_end(entry),
                            format!("missing field `{field}` in a person"),
                        )
                        .person(id)
                        .help(format!(
                            "`{field}` is {}",
                            super::diagnostics::field_hint(field).unwrap_or_default()
                        )),
                    );
                }
            }
            all.push(a);
            continue;
        };
        let predicted = match photos {
            Some(photos) => photos.predict(
                &file.model,
                source.path,
                &resolve(source.path, written),
                aligned,
            ),
            None => Ok(None),
        };
        let scores = match predicted {
            Ok(Some(scores)) => scores,
            Ok(None) => {
                if !missing.is_empty() {
                    out.push(
                        Diagnostic::error(
                            at.person(entry),
                            format!(
                                "founder from photo {written:?} without {}: with FairFace \
                                 famsim predicts them from the photo, but this scenario's \
                                 model has none",
                                missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .person(id)
                        .help(format!(
                            "state them (e.g. {}), or import FairFace into the weights folder: \
                             `famsim weights import ... --fairface res34_fair_align_multi_7_20190809.pt`",
                            missing
                                .iter()
                                .map(|f| match *f {
                                    "sex" => "sex: Female",
                                    "age" => "age: \"30-39\"",
                                    _ => "ancestry: White",
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
                all.push(a);
                continue;
            }
            Err(why) => {
                out.push(
                    Diagnostic::error(
                        genes_span,
                        format!("photo {written:?}: cannot predict race, sex and age: {why}"),
                    )
                    .person(id),
                );
                all.push(a);
                continue;
            }
        };
        let ((sex, ps), (age, pa), (ancestry, pr)) =
            (scores.sex(), scores.age(), scores.ancestry());
        let contradicted = |field: &str, stated: String, predicted: String, p: f32| {
            Diagnostic::warning(
                at.person_field(entry, field),
                format!(
                    "`{field}` is {stated}, but FairFace predicts {predicted} ({p:.2}) from photo \
                     {written:?}; the stated value is used"
                ),
            )
            .person(id)
        };
        match a.sex {
            Some(s) if s != sex && ps >= CONFIDENT => out.push(contradicted(
                "sex",
                format!("{s:?}"),
                format!("{sex:?}"),
                ps,
            )),
            Some(_) => {}
            None => a.sex = Some(sex),
        }
        match a.age {
            Some(g) if g != age && pa >= CONFIDENT => out.push(contradicted(
                "age",
                format!("\"{g}\""),
                format!("\"{age}\""),
                pa,
            )),
            Some(_) => {}
            None => a.age = Some(age),
        }
        match a.ancestry {
            Some(r) if r != ancestry && pr >= CONFIDENT => out.push(contradicted(
                "ancestry",
                format!("{r:?}"),
                format!("{ancestry:?}"),
                pr,
            )),
            Some(_) => {}
            None => a.ancestry = Some(ancestry),
        }
        predictions.push(Prediction {
            id: id.to_string(),
            photo: written.clone(),
            scores,
            filled: missing,
        });
        all.push(a);
    }
    (all, predictions)
}

/// Finds the spans of things in the scenario text.
struct Locator<'a> {
    source: &'a Source<'a>,
    root: Option<&'a Node>,
    people: &'a [Node],
}

impl<'a> Locator<'a> {
    fn new(source: &'a Source<'a>, root: Option<&'a Node>) -> Self {
        let people = root
            .and_then(|r| r.field("people"))
            .map_or(&[][..], |f| f.value.items());
        Locator {
            source,
            root,
            people,
        }
    }

    /// The value of a top-level field.
    fn top(&self, field: &str) -> Option<Span> {
        self.root?.value_span(field)
    }

    /// A field inside a top-level struct field, e.g. `defaults.gamma`, or
    /// the outer field when the inner one is not written out.
    fn nested(&self, outer: &str, field: &str) -> Option<Span> {
        let node = self
            .root?
            .field(outer)?
            .value
            .unwrap_some()
            .variant_struct();
        node.value_span(field).or_else(|| self.top(outer))
    }

    /// A person: the value of their `id`, or the whole entry.
    fn person(&self, entry: usize) -> Option<Span> {
        let node = self.people.get(entry)?;
        node.value_span("id").or(Some(node.span.clone()))
    }

    /// The closing bracket of a person's entry (where a missing field goes).
    fn person_end(&self, entry: usize) -> Option<Span> {
        let node = self.people.get(entry)?;
        let end = node.span.end;
        Some(end.saturating_sub(1)..end)
    }

    /// A field of a person, or the person when the field is not written out.
    fn person_field(&self, entry: usize, field: &str) -> Option<Span> {
        self.people
            .get(entry)
            .and_then(|n| n.value_span(field))
            .or_else(|| self.person(entry))
    }

    /// The keys of a person's `regions` map, decoded, with their spans.
    fn region_keys(&self, entry: usize) -> Vec<(String, Span)> {
        let Some(map) = self
            .people
            .get(entry)
            .and_then(|n| n.field("regions"))
            .map(|f| f.value.unwrap_some())
        else {
            return Vec::new();
        };
        map.entries()
            .iter()
            .filter_map(|(k, _)| {
                let text = &self.source.text[k.span.clone()];
                let key = ron::from_str::<String>(text).ok()?;
                Some((key, k.span.clone()))
            })
            .collect()
    }
}

fn in_unit_range(x: f32) -> bool {
    (0.0..=1.0).contains(&x)
}

fn check_header(source: &Source, at: &Locator, file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    if file.name.trim().is_empty() {
        out.push(
            Diagnostic::error(at.top("name"), "`name` is empty")
                .help("give the scenario a name, e.g. name: \"The Okafor family\""),
        );
    }
    if !IMAGE_SIZE_RANGE.contains(&file.image_size) {
        out.push(Diagnostic::error(
            at.top("image_size"),
            format!(
                "`image_size` is {}, but it must be from {} to {} pixels",
                file.image_size,
                IMAGE_SIZE_RANGE.start(),
                IMAGE_SIZE_RANGE.end()
            ),
        ));
    }
    for (field, value) in [("gamma", file.defaults.gamma), ("eta", file.defaults.eta)] {
        if !in_unit_range(value) {
            out.push(
                Diagnostic::error(
                    at.nested("defaults", field),
                    format!("`defaults.{field}` is {value}, but it must be between 0 and 1"),
                )
                .help(parameter_meaning(field)),
            );
        }
    }
    if let ModelSpec::StyleGene(spec) = &file.model {
        check_stylegene(source, at, spec, out);
    }
    if file.people.is_empty() {
        out.push(
            Diagnostic::error(
                at.top("people"),
                "`people` is empty; a scenario needs at least one person",
            )
            .help(
                "add a founder, e.g. (id: \"anna\", sex: Female, age: \"30-39\", ancestry: White)",
            ),
        );
    }
}

fn parameter_meaning(field: &str) -> &'static str {
    match field {
        "gamma" => "gamma is the mutation strength: 0 keeps parents' genes as they are, 1 is the strongest blend",
        "lean" => "lean shifts an inherited region's blend weight: -1 towards the mother, 0 the method's own rule, 1 towards the father",
        _ => "eta is the share of regions drawn fresh from the gene pool: 0 inherits every region, 1 none",
    }
}

fn check_stylegene(source: &Source, at: &Locator, spec: &StyleGeneSpec, out: &mut Vec<Diagnostic>) {
    if spec.weights.trim().is_empty() {
        out.push(
            Diagnostic::error(at.nested("model", "weights"), "`weights` is empty")
                .help("give the folder written by `famsim weights import`"),
        );
    } else {
        let dir = resolve(source.path, &spec.weights);
        if !dir.is_dir() {
            out.push(Diagnostic::warning(
                at.nested("model", "weights"),
                format!(
                    "weights folder {:?} does not exist yet (looked at {}); `famsim run` needs it",
                    spec.weights,
                    dir.display()
                ),
            ));
        }
    }
    if spec.batch == 0 {
        out.push(Diagnostic::error(
            at.nested("model", "batch"),
            "`batch` is 0, but at least one person must fit in a forward pass",
        ));
    }
    if !in_unit_range(spec.truncation) {
        out.push(
            Diagnostic::error(
                at.nested("model", "truncation"),
                format!(
                    "`truncation` is {}, but it must be between 0 and 1",
                    spec.truncation
                ),
            )
            .help("truncation ψ pulls seeded founders toward the average face: 1 is no pull, 0 the average face itself"),
        );
    }
    if matches!(spec.device, super::format::DeviceSpec::Cuda(_)) && !cfg!(feature = "cuda") {
        out.push(
            Diagnostic::warning(
                at.nested("model", "device"),
                "this famsim was built without CUDA support, so `device: Cuda(…)` cannot run",
            )
            .help("rebuild with `--features cuda`, or use `device: Cpu`"),
        );
    }
    if matches!(spec.device, super::format::DeviceSpec::Wgpu(_)) && !cfg!(feature = "wgpu") {
        out.push(
            Diagnostic::warning(
                at.nested("model", "device"),
                "this famsim was built without the `wgpu` feature, so `device: Wgpu(…)` cannot run",
            )
            .help("rebuild with `--features wgpu`, or use `device: Cpu`"),
        );
    }
}

/// A path written in the scenario, relative to the scenario's own folder.
pub fn resolve(scenario: &Path, written: &str) -> std::path::PathBuf {
    scenario
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(written)
}

/// Why an id cannot be a file name, if it cannot.
fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the id is empty".into());
    }
    if id.starts_with('.') {
        return Some(format!("the id {id:?} starts with `.`"));
    }
    let mut bad: Vec<char> = id
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .collect();
    bad.dedup();
    if bad.is_empty() {
        None
    } else {
        let shown: Vec<String> = bad.iter().map(|c| format!("{c:?}")).collect();
        Some(format!("the id {id:?} contains {}", shown.join(", ")))
    }
}

fn check_person(
    source: &Source,
    at: &Locator,
    file: &ScenarioFile,
    entry: usize,
    p: &PersonSpec,
    out: &mut Vec<Diagnostic>,
) {
    let id = p.id.as_str();
    let is_founder = p.father.is_none() && p.mother.is_none();
    if let Some(problem) = id_problem(id) {
        out.push(
            Diagnostic::error(at.person_field(entry, "id"), problem)
                .person(id)
                .help("ids become file names (people/<id>.png): use letters, digits, `_`, `-` and `.`, not starting with `.`"),
        );
    }
    if p.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        out.push(
            Diagnostic::error(at.person_field(entry, "name"), "`name` is empty")
                .person(id)
                .help("leave `name` out to show the id instead"),
        );
    }
    if let Some(surname) = &p.surname {
        let problem = if surname.trim().is_empty() {
            Some("`surname` is empty")
        } else if surname.contains('/') {
            Some("`surname` contains `/`, which GEDCOM uses to mark the surname")
        } else {
            None
        };
        if let Some(problem) = problem {
            out.push(
                Diagnostic::error(at.person_field(entry, "surname"), problem)
                    .person(id)
                    .help("leave `surname` out to take the last word of `name`"),
            );
        }
    }
    for (field, value) in [("gamma", p.gamma), ("eta", p.eta)] {
        let Some(value) = value else { continue };
        if !in_unit_range(value) {
            out.push(
                Diagnostic::error(
                    at.person_field(entry, field),
                    format!("`{field}` is {value}, but it must be between 0 and 1"),
                )
                .person(id)
                .help(parameter_meaning(field)),
            );
        } else if is_founder {
            out.push(
                Diagnostic::warning(
                    at.person_field(entry, field),
                    format!("`{field}` is ignored for a founder: founders inherit nothing"),
                )
                .person(id),
            );
        }
    }
    if let Some(lean) = p.lean {
        if !(-1.0..=1.0).contains(&lean) {
            out.push(
                Diagnostic::error(
                    at.person_field(entry, "lean"),
                    format!("`lean` is {lean}, but it must be between -1 and 1"),
                )
                .person(id)
                .help(parameter_meaning("lean")),
            );
        } else if is_founder {
            out.push(
                Diagnostic::warning(
                    at.person_field(entry, "lean"),
                    "`lean` is ignored for a founder: founders inherit nothing",
                )
                .person(id),
            );
        }
    }
    if p.seed.is_some()
        && matches!(
            p.genes,
            Some(FounderGenes::Seed(_))
                | Some(FounderGenes::Latent(_))
                | Some(FounderGenes::Photo(_))
        )
    {
        out.push(
            Diagnostic::warning(
                at.person_field(entry, "seed"),
                "`seed` is ignored for a founder whose `genes` name a face seed or file",
            )
            .person(id)
            .help("change the number in `genes: Seed(…)` for another face"),
        );
    }
    check_regions(at, entry, p, is_founder, out);
    match (&p.genes, is_founder) {
        (Some(_), false) => out.push(
            Diagnostic::error(
                at.person_field(entry, "genes"),
                "`genes` only applies to founders; a child's genes come from their parents",
            )
            .person(id)
            .help("remove `genes`, or remove `father` and `mother` to make this person a founder"),
        ),
        (Some(genes), true) if genes.file().is_some() => {
            let (variant, file_name) = genes.file().expect("a file-based variant");
            let span = at.person_field(entry, "genes");
            if matches!(file.model, ModelSpec::Procedural) {
                out.push(
                    Diagnostic::error(
                        span.clone(),
                        format!("`{variant}(…)` genes need the neural model; the procedural model has no latent space"),
                    )
                    .person(id)
                    .help("use `model: StyleGene(weights: …)`, or `genes: Seed(…)` / `Pool` instead"),
                );
            }
            if file_name.trim().is_empty() {
                out.push(
                    Diagnostic::error(span, format!("the `{variant}` file name is empty"))
                        .person(id),
                );
            } else if let Some(problem) = not_a_file(&resolve(source.path, file_name)) {
                out.push(
                    Diagnostic::error(
                        span,
                        format!(
                            "{} file {file_name:?} {problem} (looked at {})",
                            variant.to_lowercase(),
                            resolve(source.path, file_name).display()
                        ),
                    )
                    .person(id)
                    .help("paths are relative to the scenario file's folder"),
                );
            } else if let Some(problem) = photo_problem(genes, &resolve(source.path, file_name)) {
                let help = match genes {
                    FounderGenes::AlignedPhoto(_) => "`AlignedPhoto` takes a square, FFHQ-aligned face crop (`famsim align` makes one); use `Photo` for an ordinary photo",
                    _ => "use a PNG or JPEG face photo",
                };
                out.push(
                    Diagnostic::error(span, format!("photo {file_name:?}: {problem}"))
                        .person(id)
                        .help(help),
                );
            }
        }
        _ => {}
    }
}

/// Why `path` cannot be read as a founder's file, if it cannot: "not found",
/// or what it is instead (a folder, a device such as `/dev/zero` that would
/// never end, a socket), so the message does not send the user looking for
/// a file that is there.
fn not_a_file(path: &Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("not found"),
        Err(_) => Some("cannot be read"),
        Ok(meta) if meta.is_dir() => Some("is a directory"),
        Ok(meta) if !meta.is_file() => Some("is not a regular file"),
        Ok(_) => None,
    }
}

/// Why a founder's photo cannot go through the photo encoder, if it cannot:
/// checked here so that `check` finds it, not the run halfway. An ordinary
/// photo must be an image; an aligned crop must also be square.
fn photo_problem(genes: &FounderGenes, path: &std::path::Path) -> Option<String> {
    if !matches!(
        genes,
        FounderGenes::Photo(_) | FounderGenes::AlignedPhoto(_)
    ) {
        return None;
    }
    match crate::io::photo::read_photo(path) {
        // The reader's message starts with the path, which the diagnostic has.
        Err(e) => Some(
            e.to_string()
                .trim_start_matches(&format!("{}: ", path.display()))
                .to_string(),
        ),
        Ok(photo)
            if matches!(genes, FounderGenes::AlignedPhoto(_)) && photo.width != photo.height =>
        {
            Some(format!("{}×{} px is not square", photo.width, photo.height))
        }
        Ok(_) => None,
    }
}

/// Every region and group name, groups first, for suggestions.
fn selector_names() -> Vec<&'static str> {
    RegionGroup::ALL
        .iter()
        .map(|g| g.name())
        .chain(Region::ALL.iter().map(|r| r.name()))
        .collect()
}

fn check_regions(
    at: &Locator,
    entry: usize,
    p: &PersonSpec,
    is_founder: bool,
    out: &mut Vec<Diagnostic>,
) {
    let id = p.id.as_str();
    if p.regions.is_empty() {
        return;
    }
    if is_founder {
        out.push(
            Diagnostic::error(
                at.person_field(entry, "regions"),
                "`regions` only applies to children; a founder has no parents to inherit from",
            )
            .person(id),
        );
    }
    let written = at.region_keys(entry);
    let span_of = |key: &str| {
        written
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, s)| s.clone())
            .or_else(|| at.person_field(entry, "regions"))
    };
    // A map keeps only the last of two equal keys, so look at the text.
    for (i, (key, span)) in written.iter().enumerate() {
        if written[..i].iter().any(|(k, _)| k == key) {
            out.push(
                Diagnostic::error(
                    Some(span.clone()),
                    format!("region {key:?} is given twice in `regions`"),
                )
                .person(id),
            );
        }
    }
    for key in p.regions.keys() {
        if key.selector().is_err() {
            let mut d = Diagnostic::error(
                span_of(&key.0),
                format!(
                    "unknown region {:?}; expected a region group ({}) or a region ({})",
                    key.0,
                    RegionGroup::ALL.map(|g| g.name()).join(", "),
                    Region::ALL.map(|r| r.name()).join(", ")
                ),
            )
            .person(id);
            if let Some(near) = closest(&key.0, selector_names()) {
                d = d.help(format!("did you mean {near:?}?"));
            }
            out.push(d);
        }
    }
}

/// Ids that differ only in case would overwrite each other's portraits on
/// case-insensitive file systems (macOS, Windows).
fn check_id_case_collisions(at: &Locator, file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<String, &str> = HashMap::new();
    for (entry, p) in file.people.iter().enumerate() {
        match first.get(&p.id.to_lowercase()) {
            Some(earlier) if *earlier != p.id => out.push(
                Diagnostic::error(
                    at.person_field(entry, "id"),
                    format!(
                        "the ids {earlier:?} and {:?} differ only in case; their portraits would \
                         overwrite each other on case-insensitive file systems",
                        p.id
                    ),
                )
                .person(&p.id),
            ),
            Some(_) => {}
            None => {
                first.insert(p.id.to_lowercase(), &p.id);
            }
        }
    }
}

/// The engine's view of a person. Region overrides are applied groups first,
/// then single regions, so `{"eyes": Mother, "iris": Father}` means "the eyes
/// from the mother, except the iris".
fn to_person(p: &PersonSpec, a: &Attributes, file: &ScenarioFile, scenario: &Path) -> Person {
    let mut overrides = BTreeMap::new();
    let selectors: Vec<(RegionSelector, _)> = p
        .regions
        .iter()
        .filter_map(|(key, how)| key.selector().ok().map(|s| (s, *how)))
        .collect();
    for pass_groups in [true, false] {
        for (selector, how) in &selectors {
            if matches!(selector, RegionSelector::Group(_)) == pass_groups {
                for r in selector.regions() {
                    overrides.insert(r, *how);
                }
            }
        }
    }
    let is_founder = p.father.is_none() && p.mother.is_none();
    Person {
        id: p.id.clone(),
        name: p.name.clone().unwrap_or_else(|| p.id.clone()),
        surname: p.surname.clone(),
        // A field neither written nor predicted is already an error; the
        // stand-ins keep the family checks from adding confusing ones.
        sex: a.sex.unwrap_or(
            if file
                .people
                .iter()
                .any(|o| o.mother.as_deref() == Some(&p.id))
            {
                Sex::Female
            } else {
                Sex::Male
            },
        ),
        age: a.age.unwrap_or(AgeGroup::Age30To39),
        ancestry: if is_founder {
            a.ancestry.into_iter().collect()
        } else {
            Vec::new()
        },
        father: p.father.clone(),
        mother: p.mother.clone(),
        params: CrossoverParams {
            gamma: p.gamma.unwrap_or(file.defaults.gamma),
            eta: p.eta.unwrap_or(file.defaults.eta),
            lean: p.lean.unwrap_or(0.0),
        },
        overrides,
        // A latent file is named relative to the scenario, as `check` reads it.
        founder_genes: match p.genes.clone().unwrap_or_default() {
            FounderGenes::Latent(written) => {
                FounderGenes::Latent(resolve(scenario, &written).to_string_lossy().into_owned())
            }
            FounderGenes::Photo(written) => {
                FounderGenes::Photo(resolve(scenario, &written).to_string_lossy().into_owned())
            }
            FounderGenes::AlignedPhoto(written) => FounderGenes::AlignedPhoto(
                resolve(scenario, &written).to_string_lossy().into_owned(),
            ),
            other => other,
        },
        seed: p.seed,
    }
}

fn from_issue(at: &Locator, issue: &PedigreeIssue) -> Diagnostic {
    let span = match issue.field {
        Some(field) => at.person_field(issue.entry, field),
        None => at.person(issue.entry),
    };
    let d = if issue.is_error {
        Diagnostic::error(span, issue.message.clone())
    } else {
        Diagnostic::warning(span, issue.message.clone())
    };
    d.person(&issue.person)
}

/// A child's ancestry comes from the parents. Writing one that matches is
/// harmless (a warning); one the parents do not have is an error, because the
/// scenario asks for something the run would not do.
fn check_child_ancestry(
    at: &Locator,
    file: &ScenarioFile,
    pedigree: &Pedigree,
    out: &mut Vec<Diagnostic>,
) {
    for (entry, p) in file.people.iter().enumerate() {
        let (Some(written), false) = (p.ancestry, p.father.is_none() && p.mother.is_none()) else {
            continue;
        };
        let Some(node) = pedigree.node(&p.id) else {
            continue;
        };
        let inherited = pedigree.ancestry(node);
        let listed = inherited
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let span = at.person_field(entry, "ancestry");
        if inherited.contains(&written) {
            out.push(
                Diagnostic::warning(
                    span,
                    format!(
                        "`ancestry` is ignored for a child; it comes from the parents ({listed})"
                    ),
                )
                .person(&p.id),
            );
        } else {
            out.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`ancestry` is {written:?}, but a child's ancestry comes from their parents, \
                         who descend from {listed}"
                    ),
                )
                .person(&p.id)
                .help("remove `ancestry` from this person"),
            );
        }
    }
}
