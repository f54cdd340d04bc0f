//! Where a founder's genes come from: part of a person, written in scenario
//! files as `genes: Seed(5)` and friends.

use serde::{Deserialize, Serialize};

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
    /// An ordinary face photo (PNG or JPEG): aligned first (face
    /// detection, dlib's 68 landmarks, the FFHQ crop), then brought into W+
    /// by the e4e photo encoder; neural model only.
    Photo(String),
    /// A photo that already is an aligned square face crop (`famsim align`'s
    /// output, an FFHQ image): the e4e photo encoder alone.
    AlignedPhoto(String),
}

impl FounderGenes {
    /// The file this founder's genes come from, with the variant's name.
    pub fn file(&self) -> Option<(&'static str, &str)> {
        match self {
            FounderGenes::Latent(path) => Some(("Latent", path)),
            FounderGenes::Photo(path) => Some(("Photo", path)),
            FounderGenes::AlignedPhoto(path) => Some(("AlignedPhoto", path)),
            FounderGenes::Pool | FounderGenes::Seed(_) => None,
        }
    }
}
