//! The face model: the one boundary between the genetics (plain numbers) and
//! the picture maker (tensors or procedural drawing).
//!
//! Everything above this trait — scenario, pedigree, genetics, engine, exports —
//! knows nothing of tensors. A model turns latents into genomes (StyleGene's
//! latent-based gene encoder), genes back into latents (the gene decoder), and
//! latents into pictures (StyleGAN2 synthesis, or the procedural painter).

pub mod backend;
pub mod fairface;
pub mod procedural;
pub mod stylegene;

// The data the model trait speaks in lives in leaf modules (io and exports
// read and write them without importing the model); named here too, as the
// trait's vocabulary.
pub use crate::image::Image;
pub use crate::latent::Latent;

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::error::{Error, Result};
use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::{Inheritance, Region};
use crate::model_spec::ModelSpec;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// Smallest and largest portrait side famsim renders.
pub const IMAGE_SIZES: std::ops::RangeInclusive<u32> = 64..=1024;

/// Checks a requested portrait size.
pub fn check_image_size(size: u32) -> std::result::Result<(), String> {
    if IMAGE_SIZES.contains(&size) {
        Ok(())
    } else {
        Err(format!(
            "image size {size} is outside {}..={} pixels",
            IMAGE_SIZES.start(),
            IMAGE_SIZES.end()
        ))
    }
}

/// Builds the face model a scenario asks for. `scenario_path` anchors
/// relative weight paths.
pub fn build(
    spec: &ModelSpec,
    image_size: u32,
    scenario_path: &Path,
) -> Result<Box<dyn FaceModel>> {
    match spec {
        ModelSpec::Procedural => Ok(Box::new(procedural::ProceduralModel::new(image_size)?)),
        ModelSpec::StyleGene(spec) => {
            let dir = stylegene::weights::resolve_weights_dir(&spec.weights, scenario_path);
            let mut opts = stylegene::face_model::LoadOptions::from_spec(spec);
            // A generator paints at its own size; portraits are resampled to the scenario's.
            opts.image_size = Some(image_size);
            Ok(stylegene::face_model::load(&dir, opts)?)
        }
    }
}

/// What the renderer may know about a person besides the latent. The neural
/// model ignores it (age and sex live in its latent); the procedural painter
/// uses it so that children look like children whatever their genes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub age: AgeGroup,
    pub sex: Sex,
    /// The person's ancestry when it is a single one (always for founders);
    /// a founder drawn from a seed takes the colours of this ancestry.
    pub ancestry: Option<Ancestry>,
}

/// A face model. Batched: every method takes and returns slices so that a
/// neural implementation can run one forward pass per batch.
pub trait FaceModel: Send + Sync {
    /// Short description for manifests and logs ("procedural", "stylegene:weights/ffhq").
    fn describe(&self) -> String;

    /// Shape of the genomes this model's encoder produces and decoder consumes.
    fn gene_shape(&self) -> GeneShape;

    /// First W+ layer that the method averages from the parents (colour and texture).
    fn fine_layer_start(&self) -> usize;

    /// Side of the square images `render` returns.
    fn image_size(&self) -> u32;

    /// How many people to render per call for good throughput.
    fn preferred_batch(&self) -> usize;

    /// The pool children's mutated regions are drawn from.
    fn gene_pool(&self) -> &GenePool;

    /// Latent → genome (StyleGene's LGE, `w2sub34`). Borrowed, like
    /// `render`'s latents, so that the engine batches people without copies.
    fn encode(&self, latents: &[&Latent]) -> Result<Vec<Genome>>;

    /// Concrete genes → latent (StyleGene's gene decoder, `sub2w`).
    fn decode(&self, genes: &[&GeneSample]) -> Result<Vec<Latent>>;

    /// A founder latent from a random stream (the mapping network on a random z).
    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, subject: Subject) -> Result<Latent>;

    /// Latents → pictures of `image_size()` pixels.
    fn render(&self, latents: &[&Latent], subjects: &[Subject]) -> Result<Vec<Image>>;

    /// The method's colour step for a child: every layer from
    /// [`fine_layer_start`](Self::fine_layer_start) on becomes the average of
    /// the parents' layers. A model whose fine layers are organised by region
    /// may also honour the scenario's pins there (a region pinned to the mother
    /// keeps her colour); the neural model's fine layers are not, so it only averages.
    fn inherit_fine_layers(
        &self,
        child: &mut Latent,
        father: &Latent,
        mother: &Latent,
        pins: &BTreeMap<Region, Inheritance>,
    ) {
        let _ = pins;
        child.average_fine_layers(father, mother, self.fine_layer_start());
    }

    /// A founder's latent from a W+ file. Only neural models have W+ files;
    /// the default says so.
    fn load_latent(&self, path: &Path) -> Result<Latent> {
        Err(Error::input(format!(
            "{}: founders from latent files need the StyleGene model, not {}",
            path.display(),
            self.describe()
        )))
    }

    /// A founder's latent from an ordinary face photo: aligned (detection,
    /// landmarks, FFHQ crop), then the e4e photo encoder. Only neural models
    /// have one; the default says so.
    fn latent_from_photo(&self, path: &Path) -> Result<Latent> {
        Err(Error::input(format!(
            "{}: founders from photos need the StyleGene model with a photo encoder, not {}",
            path.display(),
            self.describe()
        )))
    }

    /// A founder's latent from a photo that already is an aligned square
    /// crop (`famsim align`'s output, FFHQ): the e4e photo encoder alone.
    fn latent_from_aligned_photo(&self, path: &Path) -> Result<Latent> {
        self.latent_from_photo(path)
    }
}
