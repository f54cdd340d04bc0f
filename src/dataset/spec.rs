//! The dataset spec (RON): a population described the way pedigree
//! simulators' definition files describe one — how many families, how deep,
//! how many children per couple, who marries in, who has half-siblings — plus
//! the face model and the train/val/test split. Documented field by field in
//! `docs/dataset.md`.

use crate::attributes::{AgeGroup, Ancestry};
use crate::error::{Error, Result};
use crate::scenario::diagnostics::{from_ron_error, Diagnostic, Source};
use crate::scenario::format::{default_image_size, ron_options, Defaults, ModelSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Deepest family a spec may ask for.
pub const MAX_GENERATIONS: usize = 5;
/// Most children a couple may have.
pub const MAX_CHILDREN: usize = 12;

/// A whole dataset spec file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Shown in `DATASET.md` and in every family's manifest.
    pub name: String,
    /// Root of every random stream; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Number of families; `--families` overrides it.
    pub families: usize,
    /// Generations per family, 1 to 5 (founder couple = generation 1).
    pub generations: usize,
    /// Children per couple: weight of each count, e.g. `{1: 0.3, 2: 0.4, 3: 0.3}`.
    /// Every couple has at least one child (a couple without one is not a family).
    pub children: BTreeMap<usize, f64>,
    /// Share of boys among the children.
    #[serde(default = "half")]
    pub male_share: f64,
    /// Age groups per generation, oldest first; a person's group is drawn
    /// uniformly from their generation's list.
    pub age_groups: Vec<Vec<AgeGroup>>,
    /// Weight of each ancestry among founder couples.
    pub ancestry: BTreeMap<Ancestry, f64>,
    /// Share of couples whose partners have different ancestries.
    #[serde(default)]
    pub mixed_couples: f64,
    /// Share of couples where one partner also has children with a second
    /// partner (who gives the children half-siblings).
    #[serde(default)]
    pub half_siblings: f64,
    /// Share of children (outside the last generation) who find a partner and
    /// have children. At least one child of every couple does, so every family
    /// has all its generations.
    #[serde(default = "half")]
    pub partnered: f64,
    /// Which face model paints the faces.
    #[serde(default)]
    pub model: ModelSpec,
    /// Side of the square portraits in pixels (64 to 1024).
    #[serde(default = "default_image_size")]
    pub image_size: u32,
    /// Crossover parameters for every child.
    #[serde(default)]
    pub defaults: Defaults,
    /// Share of families in each split; families never cross splits.
    pub splits: SplitRatios,
}

fn half() -> f64 {
    0.5
}

/// Shares of families per split; they must add up to 1.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SplitRatios {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl DatasetSpec {
    /// Reads, parses and validates a spec file. Problems are reported like a
    /// scenario's (exit code 2): `file:line:col`, the line with a caret, a
    /// hint or "did you mean".
    pub fn load(path: &Path) -> Result<DatasetSpec> {
        let text = crate::scenario::read_text(path, "dataset spec")?;
        Self::parse(path, &text)
    }

    /// [`DatasetSpec::load`] for text already in memory; `path` names it.
    pub fn parse(path: &Path, text: &str) -> Result<DatasetSpec> {
        let source = Source::new(path, text);
        // Only used to locate problems; `None` when the text is not valid RON.
        let tree = crate::scenario::source::parse(text);
        // The scenario's dialect, so `model: StyleGene(weights: …)` reads
        // the same in both files.
        let spec: DatasetSpec = match ron_options().from_str(text) {
            Ok(spec) => spec,
            Err(err) => match old_model_spelling(text) {
                Some(spec) => spec,
                None => {
                    let d = from_ron_error(&source, tree.as_ref(), text, text, &err, Some(hint));
                    return Err(Error::Scenario(source.report(&[d])));
                }
            },
        };
        if let Err(problem) = spec.check() {
            // The field's value, or the whole spec when it is not written out
            // (a default that does not fit the other fields).
            let root = tree.as_ref();
            let span = root
                .and_then(|t| t.value_span(problem.field))
                .or_else(|| root.map(|t| t.span.clone()));
            let d = Diagnostic::error(span, problem.message);
            return Err(Error::Scenario(source.report(&[d])));
        }
        Ok(spec)
    }

    /// Checks every field; the message names the field and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.check().map_err(|p| p.message)
    }

    fn check(&self) -> std::result::Result<(), Problem> {
        let at = |field: &'static str| move |message: String| Problem { field, message };
        if self.families == 0 {
            return Err(at("families")("`families` must be at least 1".into()));
        }
        if !(1..=MAX_GENERATIONS).contains(&self.generations) {
            return Err(at("generations")(format!(
                "`generations` is {}, but must be 1 to {MAX_GENERATIONS}",
                self.generations
            )));
        }
        check_weights("children", self.children.iter().map(|(k, w)| (*k, *w)))
            .map_err(at("children"))?;
        if let Some((&k, _)) = self
            .children
            .iter()
            .find(|(&k, _)| k == 0 || k > MAX_CHILDREN)
        {
            return Err(at("children")(format!(
                "`children` has a weight for {k} children; counts must be 1 to {MAX_CHILDREN}"
            )));
        }
        check_weights("ancestry", self.ancestry.iter().map(|(k, w)| (*k, *w)))
            .map_err(at("ancestry"))?;
        for (name, share) in [
            ("male_share", self.male_share),
            ("mixed_couples", self.mixed_couples),
            ("half_siblings", self.half_siblings),
            ("partnered", self.partnered),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(at(name)(format!(
                    "`{name}` is {share}, but must be between 0 and 1"
                )));
            }
        }
        if self.mixed_couples > 0.0 && self.ancestry.values().filter(|&&w| w > 0.0).count() < 2 {
            return Err(at("mixed_couples")(
                "`mixed_couples` needs at least two ancestries with a weight".into(),
            ));
        }
        if self.age_groups.len() != self.generations {
            return Err(at("age_groups")(format!(
                "`age_groups` has {} lists but `generations` is {}: give one list per generation, oldest first",
                self.age_groups.len(),
                self.generations
            )));
        }
        for (g, groups) in self.age_groups.iter().enumerate() {
            if groups.is_empty() {
                return Err(at("age_groups")(format!(
                    "`age_groups` list {} is empty",
                    g + 1
                )));
            }
            if g + 1 < self.generations {
                if let Some(young) = groups.iter().find(|a| !a.is_adult()) {
                    return Err(at("age_groups")(format!(
                        "`age_groups` of generation {} has {young}, but parents must be adults (20-29 or older)",
                        g + 1
                    )));
                }
                let youngest_parent = groups.iter().min().copied();
                let oldest_child = self.age_groups[g + 1].iter().max().copied();
                if let (Some(p), Some(c)) = (youngest_parent, oldest_child) {
                    if c > p {
                        return Err(at("age_groups")(format!(
                            "`age_groups`: generation {} may be {c}, older than generation {} ({p})",
                            g + 2,
                            g + 1
                        )));
                    }
                }
            }
        }
        let s = self.splits;
        if [s.train, s.val, s.test]
            .iter()
            .any(|r| !r.is_finite() || *r < 0.0)
            || ((s.train + s.val + s.test) - 1.0).abs() > 1e-6
        {
            return Err(at("splits")(format!(
                "`splits` ({}, {}, {}) must be non-negative and add up to 1",
                s.train, s.val, s.test
            )));
        }
        crate::model::check_image_size(self.image_size)
            .map_err(|e| at("image_size")(format!("`image_size`: {e}")))?;
        Ok(())
    }
}

/// A problem with one field of a spec.
struct Problem {
    /// The top-level field to point at.
    field: &'static str,
    message: String,
}

/// Specs written before they took the scenario's dialect spelled the model
/// `StyleGene((weights: …))`, as plain RON does; they still read.
fn old_model_spelling(text: &str) -> Option<DatasetSpec> {
    let spec: DatasetSpec = ron::Options::default().from_str(text).ok()?;
    matches!(spec.model, ModelSpec::StyleGene(_)).then_some(spec)
}

/// What a spec field holds, for hints after a type error; the fields it
/// shares with scenarios (`name`, `model`, `defaults`, …) have the
/// scenario's hints.
fn hint(field: &str) -> Option<String> {
    Some(match field {
        "families" => "a whole number of at least 1".into(),
        "generations" => format!("a whole number from 1 to {MAX_GENERATIONS}"),
        "children" => format!(
            "a map from a number of children (1 to {MAX_CHILDREN}) to its weight, e.g. {{1: 0.3, 2: 0.7}}"
        ),
        "male_share" | "mixed_couples" | "half_siblings" | "partnered" => {
            "a number from 0 to 1, e.g. 0.5".into()
        }
        "age_groups" => {
            "one list of age groups per generation, oldest first, e.g. [[\"60-69\"], [\"30-39\"]]"
                .into()
        }
        "ancestry" => format!(
            "a map from ancestry to weight, e.g. {{White: 0.5, Black: 0.5}}; ancestries: {}",
            crate::attributes::Ancestry::ALL
                .map(|a| format!("{a:?}"))
                .join(", ")
        ),
        "splits" => "(train: 0.7, val: 0.1, test: 0.2)".into(),
        "train" | "val" | "test" => "a share of families from 0 to 1".into(),
        other => return crate::scenario::diagnostics::field_hint(other),
    })
}

fn check_weights<K: std::fmt::Debug>(
    field: &str,
    weights: impl Iterator<Item = (K, f64)>,
) -> std::result::Result<(), String> {
    let mut total = 0.0;
    for (k, w) in weights {
        if !w.is_finite() || w < 0.0 {
            return Err(format!(
                "`{field}`: weight of {k:?} is {w}; weights must be ≥ 0"
            ));
        }
        total += w;
    }
    if total <= 0.0 {
        return Err(format!("`{field}` needs at least one positive weight"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> std::result::Result<DatasetSpec, String> {
        let s: DatasetSpec = ron::from_str(text).map_err(|e| e.to_string())?;
        s.validate().map(|_| s)
    }

    const GOOD: &str = r#"DatasetSpec(
        name: "t", families: 3, generations: 2,
        children: {1: 1.0, 2: 1.0},
        age_groups: [["40-49"], ["10-19", "20-29"]],
        ancestry: {White: 1.0, Black: 1.0},
        mixed_couples: 0.2,
        splits: (train: 0.6, val: 0.2, test: 0.2),
    )"#;

    #[test]
    fn a_good_spec_parses_with_defaults() {
        let s = spec(GOOD).unwrap();
        assert_eq!(s.image_size, 256);
        assert_eq!(s.male_share, 0.5);
        assert_eq!(s.ancestry.len(), 2);
    }

    fn report(text: &str) -> String {
        match DatasetSpec::parse(Path::new("d.ron"), text) {
            Err(Error::Scenario(report)) => report,
            other => panic!("expected a located report, got {other:?}"),
        }
    }

    #[test]
    fn the_model_reads_as_in_scenarios_and_in_the_old_spelling() {
        for model in [
            r#"StyleGene(weights: "w", batch: 2)"#,
            r#"StyleGene((weights: "w", batch: 2))"#,
        ] {
            let text = GOOD.replace("splits:", &format!("model: {model},\n        splits:"));
            let spec = DatasetSpec::parse(Path::new("d.ron"), &text)
                .unwrap_or_else(|e| panic!("{model}: {e}"));
            let ModelSpec::StyleGene(sg) = &spec.model else {
                panic!("{model}: {:?}", spec.model)
            };
            assert_eq!((sg.weights.as_str(), sg.batch), ("w", 2), "{model}");
        }
    }

    #[test]
    fn spec_errors_are_located_with_a_caret_and_no_rust_type_names() {
        // An unknown field: position, caret, did-you-mean.
        let text = GOOD.replace("mixed_couples: 0.2", "mixed_coupels: 0.2");
        let r = report(&text);
        assert!(
            r.starts_with("error: d.ron:6:9: unknown field `mixed_coupels` in the dataset spec"),
            "{r}"
        );
        assert!(r.contains("^^^^^^^^^^^^^"), "{r}");
        assert!(r.contains("did you mean `mixed_couples`?"), "{r}");
        // A misspelt option of the model, in the scenario's syntax.
        let text = GOOD.replace(
            "splits:",
            "model: StyleGene(wieghts: \"w\"),\n        splits:",
        );
        let r = report(&text);
        assert!(
            r.contains("d.ron:7:26: unknown field `wieghts` in `StyleGene`"),
            "{r}"
        );
        assert!(r.contains("did you mean `weights`?"), "{r}");
        // A value out of range points at the field's value.
        let r = report(&GOOD.replace("generations: 2", "generations: 9"));
        assert!(
            r.starts_with("error: d.ron:2:46: `generations` is 9"),
            "{r}"
        );
        // A type error names the field and what it holds.
        let r = report(&GOOD.replace("families: 3", "families: \"many\""));
        assert!(r.contains("field `families`"), "{r}");
        assert!(r.contains("`families` is a whole number"), "{r}");
        for r in [
            r,
            report(&GOOD.replace("name: \"t\", ", "")),
            report(&GOOD.replace("test: 0.2)", "tset: 0.2)")),
            report(&GOOD.replace("DatasetSpec(", "DataSpec(")),
        ] {
            for rust in ["DatasetSpec`", "SplitRatios", "StyleGeneSpec"] {
                assert!(!r.contains(rust), "{rust} in:\n{r}");
            }
            assert!(r.contains("d.ron:"), "{r}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.ron");
        std::fs::write(&path, format!("\u{feff}{GOOD}")).unwrap();
        assert_eq!(DatasetSpec::load(&path).unwrap().families, 3);
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases = [
            ("generations: 2", "generations: 6", "`generations`"),
            (
                "[\"10-19\", \"20-29\"]",
                "[\"50-59\"]",
                "older than generation",
            ),
            ("test: 0.2)", "test: 0.3)", "`splits`"),
            ("{1: 1.0, 2: 1.0}", "{0: 1.0}", "`children`"),
            (
                "{White: 1.0, Black: 1.0}",
                "{White: 1.0}",
                "`mixed_couples`",
            ),
            ("[[\"40-49\"]", "[[\"10-19\"]", "adults"),
        ];
        for (from, to, expect) in cases {
            let err = spec(&GOOD.replace(from, to)).unwrap_err();
            assert!(err.contains(expect), "{to}: {err}");
        }
    }
}
