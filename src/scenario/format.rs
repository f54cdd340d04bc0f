//! The scenario file format (RON), exactly as users write it. Every field is
//! documented in `scenarios/README.md`; keep the two in step.
//!
//! Two RON extensions are always on (see [`ron_options`]) so that files read
//! naturally: `gamma: 0.3` instead of `gamma: Some(0.3)`, and
//! `StyleGene(weights: "…")` instead of `StyleGene((weights: "…"))`.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::{Inheritance, RegionSelector};
// A person's founder source belongs to the pedigree (which the scenario builds);
// the file format names it here too.
pub use crate::pedigree::FounderGenes;
// What the `model:` field holds; plain data in a leaf module so the model
// reads it without importing the scenario.
pub use crate::model_spec::{DeviceSpec, ModelSpec, StyleGeneSpec};
use ron::extensions::Extensions;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// Allowed portrait sizes in pixels.
pub const IMAGE_SIZE_RANGE: RangeInclusive<u32> = 64..=1024;

/// The RON dialect of scenario files: implicit `Some` for optional fields and
/// unwrapped newtype variants, so `StyleGene(weights: "w")` parses.
pub fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// A whole scenario file. `P` is the type of one person entry: [`PersonSpec`]
/// normally; the loader first reads the entries as raw RON text so that it can
/// report the errors of every person, not only the first.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile<P = PersonSpec> {
    /// Human-readable name, shown in the manifest and on the tree page.
    pub name: String,
    /// Root of every random stream; `famsim run --seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Which face model paints the faces.
    #[serde(default)]
    pub model: ModelSpec,
    /// Side of the square portraits in pixels (64 to 1024).
    #[serde(default = "default_image_size")]
    pub image_size: u32,
    /// Crossover parameters for everyone without their own.
    #[serde(default)]
    pub defaults: Defaults,
    pub people: Vec<P>,
}

pub fn default_image_size() -> u32 {
    256
}

/// Scenario-wide method parameters.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default = "default_gamma")]
    pub gamma: f32,
    #[serde(default = "default_eta")]
    pub eta: f32,
}

fn default_gamma() -> f32 {
    0.47
}
fn default_eta() -> f32 {
    0.4
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            gamma: default_gamma(),
            eta: default_eta(),
        }
    }
}

/// One person as written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    /// Unique id, used for file names and parent references.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Required, except for a founder from a photo when FairFace can predict it.
    #[serde(default)]
    pub sex: Option<Sex>,
    /// FairFace age group: "0-2", "3-9", …, "70+". Required, except for a
    /// founder from a photo when FairFace can predict it.
    #[serde(default)]
    pub age: Option<AgeGroup>,
    /// Required for founders (except from a photo when FairFace can predict
    /// it); children inherit their parents' ancestries.
    #[serde(default)]
    pub ancestry: Option<Ancestry>,
    #[serde(default)]
    pub father: Option<String>,
    #[serde(default)]
    pub mother: Option<String>,
    /// Per-person mutation strength (overrides `defaults.gamma`).
    #[serde(default)]
    pub gamma: Option<f32>,
    /// Per-person pool share (overrides `defaults.eta`).
    #[serde(default)]
    pub eta: Option<f32>,
    /// Per-child resemblance lean, −1 (mother) … 1 (father); 0 (the
    /// default) is the method's own blend rule exactly.
    #[serde(default)]
    pub lean: Option<f32>,
    /// This person's own random-stream seed instead of the scenario's (the
    /// designer's "re-roll": a new face for this person alone).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Pins regions or region groups: `{"eyes": Mother, "nose": Father}`.
    #[serde(default)]
    pub regions: BTreeMap<RegionKey, Inheritance>,
    /// For founders: where their genes come from (default: the gene pool).
    #[serde(default)]
    pub genes: Option<FounderGenes>,
    /// Family name for genealogy exports (GEDCOM's `/…/`); by default the
    /// last word of a display name with a space. Last in the struct so that
    /// the field list in "unknown field" messages starts with the usual ones.
    #[serde(default)]
    pub surname: Option<String>,
}

/// A region or group name as a map key (kept as text for error messages).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(transparent)]
pub struct RegionKey(pub String);

impl RegionKey {
    pub fn selector(&self) -> Result<RegionSelector, String> {
        self.0.parse()
    }
}
