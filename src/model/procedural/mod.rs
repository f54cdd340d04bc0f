//! famsim's built-in face model: needs no weights, runs anywhere.
//!
//! Genes decode into named face features (see [`params`]), the features and
//! the person's age and sex resolve into a concrete look ([`look`]), and the
//! look is painted as an anti-aliased portrait ([`paint`]). The gene pool is
//! generated deterministically from attribute-conditioned priors ([`priors`]).
//!
//! Mirrors StyleGAN's split: latent layer 0 holds shapes (coarse), layer 1
//! holds colours and textures (fine), so the engine's averaging of the
//! parents' fine layers mixes skin, hair, eye and lip colours.

pub mod look;
pub mod paint;
pub mod params;
pub mod priors;

use crate::attributes::{Ancestry, PoolKey};
use crate::error::{Error, Result};
use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::{Inheritance, Region};
use crate::model::{FaceModel, Image, Latent, Subject};
use look::Look;
use params::FaceParams;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Smallest and largest image side the procedural painter accepts.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 1024;
/// Image side when the scenario does not say.
pub const DEFAULT_SIZE: u32 = 256;

/// The procedural face model.
pub struct ProceduralModel {
    size: u32,
    pool: GenePool,
}

impl ProceduralModel {
    /// A model painting `image_size` × `image_size` portraits (64 to 1024).
    pub fn new(image_size: u32) -> Result<ProceduralModel> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&image_size) {
            return Err(Error::input(format!(
                "the procedural model paints images of {MIN_SIZE} to {MAX_SIZE} pixels, got {image_size}"
            )));
        }
        Ok(ProceduralModel {
            size: image_size,
            pool: priors::build_pool(),
        })
    }

    /// The named face features of a latent.
    pub fn params(&self, latent: &Latent) -> Result<FaceParams> {
        if let Some(i) = latent.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(format!(
                "latent value {i} is {} (the procedural model needs finite numbers)",
                latent.data[i]
            )));
        }
        FaceParams::from_latent(latent).map_err(Error::input)
    }

    /// The concrete look (sizes and colours) a latent gives this subject.
    pub fn look(&self, latent: &Latent, subject: Subject) -> Result<Look> {
        Ok(Look::new(&self.params(latent)?, subject))
    }

    fn render_one(&self, latent: &Latent, subject: Subject) -> Result<Image> {
        Ok(paint::paint(&self.look(latent, subject)?, self.size))
    }
}

impl FaceModel for ProceduralModel {
    fn describe(&self) -> String {
        "procedural".to_string()
    }

    fn gene_shape(&self) -> GeneShape {
        params::GENE_SHAPE
    }

    fn fine_layer_start(&self) -> usize {
        params::FINE_LAYER
    }

    /// Averages the colour layer like the method, except that a colour
    /// feature whose every region is pinned to one parent takes that parent's
    /// value: pin the iris to the mother and the child has her eye colour.
    fn inherit_fine_layers(
        &self,
        child: &mut Latent,
        father: &Latent,
        mother: &Latent,
        pins: &BTreeMap<Region, Inheritance>,
    ) {
        child.average_fine_layers(father, mother, params::FINE_LAYER);
        for feature in params::Feature::ALL
            .iter()
            .filter(|f| f.layer() == params::FINE_LAYER)
        {
            let pinned_to = |who: Inheritance| {
                feature
                    .cells()
                    .iter()
                    .all(|(r, _)| pins.get(r) == Some(&who))
            };
            let i = feature.latent_index();
            if pinned_to(Inheritance::Father) {
                child.data[i] = father.data[i];
            } else if pinned_to(Inheritance::Mother) {
                child.data[i] = mother.data[i];
            }
        }
    }

    fn image_size(&self) -> u32 {
        self.size
    }

    fn preferred_batch(&self) -> usize {
        8
    }

    fn gene_pool(&self) -> &GenePool {
        &self.pool
    }

    fn encode(&self, latents: &[&Latent]) -> Result<Vec<Genome>> {
        latents
            .iter()
            .map(|l| params::encode(l).map_err(Error::input))
            .collect()
    }

    fn decode(&self, genes: &[&GeneSample]) -> Result<Vec<Latent>> {
        genes
            .iter()
            .map(|g| params::decode(g).map_err(Error::input))
            .collect()
    }

    /// A founder from the priors of the subject's age and sex; the subject
    /// carries no ancestry, so one is drawn first (uniformly).
    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, subject: Subject) -> Result<Latent> {
        // A seed founder has the colours of their stated ancestry; without
        // one (a mixed subject) the ancestry is drawn from the same stream.
        let ancestry = match subject.ancestry {
            Some(a) => a,
            None => Ancestry::ALL[rng.random_range(0..Ancestry::ALL.len())],
        };
        let key = PoolKey {
            age: subject.age,
            sex: subject.sex,
            ancestry,
        };
        Ok(priors::draw(key, rng).into_latent())
    }

    /// Paints each person independently (in parallel); each image depends only
    /// on its own latent and subject, so thread count cannot change a byte.
    fn render(&self, latents: &[&Latent], subjects: &[Subject]) -> Result<Vec<Image>> {
        if latents.len() != subjects.len() {
            return Err(Error::internal(format!(
                "render got {} latents but {} subjects",
                latents.len(),
                subjects.len()
            )));
        }
        latents
            .par_iter()
            .zip(subjects.par_iter())
            .map(|(l, s)| self.render_one(l, *s))
            .collect()
    }
}

#[cfg(test)]
mod tests;
