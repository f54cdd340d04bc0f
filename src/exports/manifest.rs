//! `manifest.json`: everything a run produced, per person, in one document.
//! The schema is documented in `docs/manifest.md`; bump [`SCHEMA_VERSION`]
//! when a field changes meaning.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::error::{Error, Result};
use crate::genetics::{Region, RegionOrigin};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the manifest layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub famsim_version: String,
    /// Scenario name (from the file).
    pub scenario: String,
    /// Root seed of every random stream.
    pub seed: u64,
    /// The face model, e.g. "procedural".
    pub model: String,
    pub image_size: u32,
    /// Number of generations (founders are generation 0).
    pub generations: usize,
    /// Warnings raised while validating or simulating (e.g. gene-pool fallbacks).
    pub warnings: Vec<String>,
    pub people: Vec<PersonRecord>,
}

/// One person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub id: String,
    pub name: String,
    /// The family name given in the scenario; absent when the scenario gives
    /// none (GEDCOM then takes the last word of a name with a space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    pub sex: Sex,
    pub age_group: AgeGroup,
    /// Founders: their own ancestry; children: every ancestry they descend from.
    pub ancestry: Vec<Ancestry>,
    pub father: Option<String>,
    pub mother: Option<String>,
    pub generation: usize,
    /// Face image, relative to the run directory.
    pub image: String,
    /// How a founder's genes were made: "pool", "seed:N" or "latent:PATH"; None for children.
    pub founder_genes: Option<String>,
    /// Gene-pool keys this person's pool draws came from.
    pub pool_keys: Vec<String>,
    /// Crossover parameters (children only).
    pub gamma: Option<f32>,
    pub eta: Option<f32>,
    /// The child's resemblance `lean` (scenario field), recorded only when it
    /// is not 0, so a manifest of the method's own rule is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lean: Option<f32>,
    /// Per region, where it came from (children only; in the method's region order).
    pub regions: Vec<RegionRecord>,
}

/// Where one region of a child came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionRecord {
    pub region: Region,
    #[serde(flatten)]
    pub origin: RegionOrigin,
    /// Whether the scenario pinned this region.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

impl Manifest {
    /// Pretty JSON with a trailing newline; stable byte for byte for the same run.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("manifest serialisation: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads a manifest written by famsim.
    pub fn read(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(format!("{} is not a famsim manifest: {e}", path.display())))
    }

    pub fn person(&self, id: &str) -> Option<&PersonRecord> {
        self.people.iter().find(|p| p.id == id)
    }

    /// The row each person is drawn in on the tree page and the contact
    /// sheet: their generation, except that a founder who married into the
    /// family stands beside their partner, in the partner's row.
    pub fn display_rows(&self) -> Vec<usize> {
        let index: std::collections::HashMap<&str, usize> = self
            .people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let mut rows: Vec<usize> = self.people.iter().map(|p| p.generation).collect();
        for child in &self.people {
            let (Some(f), Some(m)) = (child.father.as_deref(), child.mother.as_deref()) else {
                continue;
            };
            let (Some(&fi), Some(&mi)) = (index.get(f), index.get(m)) else {
                continue;
            };
            for (me, partner) in [(fi, mi), (mi, fi)] {
                if self.people[me].father.is_none() {
                    rows[me] = rows[me].max(self.people[partner].generation);
                }
            }
        }
        rows
    }
}
