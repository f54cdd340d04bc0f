//! What one run of a family can hand the next, for a caller that runs the
//! same family again and again with small changes (`famsim serve`: a
//! re-roll changes one person's seed, a slider one child's gamma).
//!
//! Every person gets a [`PersonKey`]: a SHA-256 of everything steps 1–3
//! (genes, latent, the genome they pass on) and step 4 (the portrait) read
//! for them — the run's seed, the model (as the caller names it, with its
//! image size), the person's own fields that the engine reads (id, sex, age,
//! ancestry, gamma/eta/lean, pins, founder genes with the content of a
//! founder's file, own seed) and their parents' keys. Name and surname are
//! left out: no draw reads them. Each step is a function of exactly these
//! inputs (every draw comes from the person's own streams, and the engine's
//! contract is that batching and thread count never change a byte), so a
//! person whose key is unchanged gets the same genes, latent, genome and
//! portrait bytes as a full run would give them; [`GeneCache`] keeps the
//! first three, the run folder keeps the portrait.

use crate::attributes::PoolKey;
use crate::genetics::{Genome, RegionOrigin, REGION_COUNT};
use crate::latent::Latent;
use crate::pedigree::{FounderGenes, Pedigree};
use petgraph::graph::NodeIndex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A digest of everything one person's genes and face depend on.
pub type PersonKey = [u8; 32];

/// Every person's key, parents before children. `model` names the face
/// model and everything about it that changes a face (famsim serve passes
/// the scenario's model spec and image size).
pub fn person_keys(pedigree: &Pedigree, seed: u64, model: &str) -> HashMap<NodeIndex, PersonKey> {
    let mut keys: HashMap<NodeIndex, PersonKey> = HashMap::with_capacity(pedigree.len());
    for generation in pedigree.generations() {
        for &node in generation {
            let p = pedigree.person(node);
            let mut h = Sha256::new();
            // Every field is length- or tag-delimited, so two different
            // people can never write the same byte stream.
            let mut field = |tag: &str, bytes: &[u8]| {
                h.update(tag.as_bytes());
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            };
            field("seed", &seed.to_le_bytes());
            field("model", model.as_bytes());
            field("id", p.id.as_bytes());
            field("sex", format!("{:?}", p.sex).as_bytes());
            field("age", format!("{:?}", p.age).as_bytes());
            field("ancestry", format!("{:?}", p.ancestry).as_bytes());
            field("gamma", &p.params.gamma.to_bits().to_le_bytes());
            field("eta", &p.params.eta.to_bits().to_le_bytes());
            field("lean", &p.params.lean.to_bits().to_le_bytes());
            field("pins", format!("{:?}", p.overrides).as_bytes());
            field("founder", format!("{:?}", p.founder_genes).as_bytes());
            if let FounderGenes::Latent(path)
            | FounderGenes::Photo(path)
            | FounderGenes::AlignedPhoto(path) = &p.founder_genes
            {
                // The file's content, not only its name: a file replaced
                // under the same name gives another face. A file that
                // cannot be read fails the run before anything is kept.
                let content = std::fs::read(path)
                    .map(|b| Sha256::digest(&b).to_vec())
                    .unwrap_or_default();
                field("file", &content);
            }
            field("own-seed", format!("{:?}", p.seed).as_bytes());
            for parent in [pedigree.father(node), pedigree.mother(node)] {
                let parent_key = parent.and_then(|n| keys.get(&n)).copied();
                field("parent", parent_key.as_ref().map_or(&[][..], |k| &k[..]));
            }
            keys.insert(node, h.finalize().into());
        }
    }
    keys
}

/// What steps 1–3 made of one person.
#[derive(Clone)]
pub(crate) struct Cached {
    pub latent: Latent,
    /// The genome they pass on, when a run needed it (or, for pool
    /// founders, their pool entry).
    pub genome: Option<Genome>,
    pub origins: Option<[RegionOrigin; REGION_COUNT]>,
    pub pool_keys: Vec<PoolKey>,
    pub warning: Option<String>,
}

/// Steps 1–3's results by [`PersonKey`], from the latest run of a family.
/// A run reads the previous run's entries and leaves only its own people's,
/// so the cache never holds more than one family.
#[derive(Clone, Default)]
pub struct GeneCache {
    pub(crate) people: HashMap<PersonKey, Cached>,
}

impl GeneCache {
    /// People held.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}
