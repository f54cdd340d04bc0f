//! The dataset spec (RON): a population described the way pedigree
//! simulators' definition files describe one — how many families, how deep,
//! how many children per couple, who marries in, who has half-siblings — plus
//! the face model and the train/val/test split. Documented field by field in
//! `docs/dataset.md`.

use crate::attributes::{AgeGroup, Ancestry};
use crate::error::{Error, Result};
use crate::scenario::format::{default_image_size, Defaults, ModelSpec};
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
    /// Reads, parses and validates a spec file.
    pub fn load(path: &Path) -> Result<DatasetSpec> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))?;
        let spec: DatasetSpec =
            ron::from_str(&text).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        spec.validate()
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        Ok(spec)
    }

    /// Checks every field; the message names the field and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.families == 0 {
            return Err("`families` must be at least 1".into());
        }
        if !(1..=MAX_GENERATIONS).contains(&self.generations) {
            return Err(format!(
                "`generations` is {}, but must be 1 to {MAX_GENERATIONS}",
                self.generations
            ));
        }
        check_weights("children", self.children.iter().map(|(k, w)| (*k, *w)))?;
        if let Some((&k, _)) = self
            .children
            .iter()
            .find(|(&k, _)| k == 0 || k > MAX_CHILDREN)
        {
            return Err(format!(
                "`children` has a weight for {k} children; counts must be 1 to {MAX_CHILDREN}"
            ));
        }
        check_weights("ancestry", self.ancestry.iter().map(|(k, w)| (*k, *w)))?;
        for (name, share) in [
            ("male_share", self.male_share),
            ("mixed_couples", self.mixed_couples),
            ("half_siblings", self.half_siblings),
            ("partnered", self.partnered),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("`{name}` is {share}, but must be between 0 and 1"));
            }
        }
        if self.mixed_couples > 0.0 && self.ancestry.values().filter(|&&w| w > 0.0).count() < 2 {
            return Err("`mixed_couples` needs at least two ancestries with a weight".into());
        }
        if self.age_groups.len() != self.generations {
            return Err(format!(
                "`age_groups` has {} lists but `generations` is {}: give one list per generation, oldest first",
                self.age_groups.len(),
                self.generations
            ));
        }
        for (g, groups) in self.age_groups.iter().enumerate() {
            if groups.is_empty() {
                return Err(format!("`age_groups` list {} is empty", g + 1));
            }
            if g + 1 < self.generations {
                if let Some(young) = groups.iter().find(|a| !a.is_adult()) {
                    return Err(format!(
                        "`age_groups` of generation {} has {young}, but parents must be adults (20-29 or older)",
                        g + 1
                    ));
                }
                let youngest_parent = groups.iter().min().copied();
                let oldest_child = self.age_groups[g + 1].iter().max().copied();
                if let (Some(p), Some(c)) = (youngest_parent, oldest_child) {
                    if c > p {
                        return Err(format!(
                            "`age_groups`: generation {} may be {c}, older than generation {} ({p})",
                            g + 2,
                            g + 1
                        ));
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
            return Err(format!(
                "`splits` ({}, {}, {}) must be non-negative and add up to 1",
                s.train, s.val, s.test
            ));
        }
        crate::model::check_image_size(self.image_size)
            .map_err(|e| format!("`image_size`: {e}"))?;
        Ok(())
    }
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
