//! The scenario file format (RON), exactly as users write it. Every field is
//! documented in `scenarios/README.md`; keep the two in step.
//!
//! Two RON extensions are always on (see [`ron_options`]) so that files read
//! naturally: `gamma: 0.3` instead of `gamma: Some(0.3)`, and
//! `StyleGene(weights: "…")` instead of `StyleGene((weights: "…"))`.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::{Inheritance, RegionSelector};
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
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

/// Which face model to use.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub enum ModelSpec {
    /// The built-in procedural painter: no weights, runs anywhere.
    #[default]
    Procedural,
    /// The neural StyleGene model from imported official weights.
    StyleGene(StyleGeneSpec),
}

/// Options of the neural model.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StyleGeneSpec {
    /// Directory written by `famsim weights import`.
    pub weights: String,
    #[serde(default)]
    pub device: DeviceSpec,
    /// People per forward pass.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Truncation ψ toward `latent_avg` for founders drawn from a seed.
    #[serde(default = "default_truncation")]
    pub truncation: f32,
}

fn default_batch() -> usize {
    8
}
fn default_truncation() -> f32 {
    0.7
}

/// Where the neural model runs.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
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
    pub sex: Sex,
    /// FairFace age group: "0-2", "3-9", …, "70+".
    pub age: AgeGroup,
    /// Required for founders; children inherit their parents' ancestries.
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

/// Where a founder's genes come from.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub enum FounderGenes {
    /// A gene-pool entry matching the founder's age, sex and ancestry.
    #[default]
    Pool,
    /// A latent drawn from this seed (the mapping network for the neural model).
    Seed(u64),
    /// A W+ latent file (.npy, `[N, 512]` or `[1, N, 512]`), neural model only.
    Latent(String),
    /// A face photo (PNG or JPEG, an aligned square crop) brought into W+ by
    /// the e4e photo encoder; neural model only.
    Photo(String),
}

impl FounderGenes {
    /// The file this founder's genes come from, with the variant's name.
    pub fn file(&self) -> Option<(&'static str, &str)> {
        match self {
            FounderGenes::Latent(path) => Some(("Latent", path)),
            FounderGenes::Photo(path) => Some(("Photo", path)),
            FounderGenes::Pool | FounderGenes::Seed(_) => None,
        }
    }
}
