//! The neural face model: StyleGAN2 generator + StyleGene gene mappings,
//! loaded from a weights directory, behind the [`FaceModel`] trait.
//!
//! Every method takes a batch and runs one forward pass for it. Inputs are
//! checked here, before they reach the networks (whose forward passes assert
//! on shapes), so a wrong latent is an input error, never a panic.

use super::device::{device_name, max_binding, run_on, OnDevice};
use super::e4e::PhotoEncoder;
use super::mixer::{GeneDecoder, GeneEncoder};
use super::stylegan2::{to_images, Generator, NoiseMode};
use super::weights::{self, ModelInfo};
use crate::align::pipeline::{AlignedPhoto, PhotoAligner, OFFICIAL_CROP};
use crate::attributes::AttributeScores;
use crate::error::{Error, Result};
use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::model::backend::ModelBackend;
use crate::model::fairface::{FairFace, CROP_SIZE};
use crate::model::{FaceModel, Image, Latent, Subject};
use crate::model_spec::{DeviceSpec, StyleGeneSpec};
use crate::weights::Weights;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// How to load a model besides its directory.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    pub device: DeviceSpec,
    /// People per forward pass.
    pub batch: usize,
    /// Truncation ψ for latents drawn from a seed.
    pub truncation: f32,
    /// Load the gene pool and fail without one (scenarios and `child` draw
    /// from it); when false the pool is not read at all and stays empty.
    pub with_pool: bool,
    /// Side of the portraits `render` returns; None: the generator's own size.
    pub image_size: Option<u32>,
    /// The networks to read; a command that needs only one skips the other.
    pub parts: Parts,
}

/// Which of the model's networks to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parts {
    /// Generator and gene mappings (scenarios, `child`).
    All,
    /// The StyleGAN2 generator alone (`render`, `sample`).
    Generator,
    /// The gene encoder w2sub34 alone (`genes encode`, `pool build`).
    Encoder,
    /// The gene decoder sub2w alone (`genes decode`).
    Decoder,
    /// None up front: the photo encoder, FairFace and the photo aligner
    /// load on first use (`check` and `run` predicting photo founders'
    /// attributes), or side by side through
    /// [`NeuralFaceModel::load_photo_tools`] (`invert`).
    Attributes,
}

impl LoadOptions {
    pub fn from_spec(spec: &StyleGeneSpec) -> LoadOptions {
        LoadOptions {
            device: spec.device,
            batch: spec.batch,
            truncation: spec.truncation,
            with_pool: true,
            image_size: None,
            parts: Parts::All,
        }
    }
}

/// What the research commands need beyond [`FaceModel`], whatever the backend.
pub trait NeuralFaceModel: FaceModel {
    /// The directory's `model.ron`.
    fn info(&self) -> &ModelInfo;

    /// Renders with the checkpoint's stored noise (deterministic); also
    /// returns the raw [-1, 1] output, `[batch, 3, size, size]` row-major.
    fn render_raw(&self, latents: &[&Latent]) -> Result<(Vec<Image>, Vec<f32>)>;

    /// W+ latents from z vectors (`[count, W]` row-major) through the mapping
    /// network and truncation ψ.
    fn latents_from_z(&self, z: Vec<f32>, psi: f32) -> Result<Vec<Latent>>;

    /// Whether FairFace was imported (`weights import --fairface`).
    fn has_attributes(&self) -> bool {
        self.info().attributes.is_some()
    }

    /// FairFace's race, gender and age probabilities for aligned crops
    /// (square; resampled to the official 256 px when another size).
    fn attributes(&self, crops: &[&Image]) -> Result<Vec<AttributeScores>>;

    /// Aligns face `face` (1 = the largest) of an ordinary photo into the
    /// official 256 px crop, with the directory's imported landmark model
    /// and detector.
    fn align_photo(&self, path: &Path, face: u32) -> Result<AlignedPhoto>;

    /// The W+ latent of an aligned crop (square, any size: resampled to the
    /// photo encoder's input); `path` names it in messages.
    fn latent_from_crop(&self, crop: &Image, path: &Path) -> Result<Latent>;

    /// Loads now what photos will need: the photo encoder, FairFace (when
    /// imported) and, with `align`, the photo aligner, the aligner on a
    /// thread of its own. Parsing dlib's landmark model is one long
    /// single-threaded read, so on a one-photo run it would otherwise add
    /// its whole time to the networks'. Errors come in that order.
    fn load_photo_tools(&self, align: bool) -> Result<()>;
}

/// Loads a weights directory on the requested device.
pub fn load(dir: &Path, opts: LoadOptions) -> Result<Box<dyn NeuralFaceModel>> {
    if opts.batch == 0 {
        return Err(Error::input("StyleGene batch must be at least 1"));
    }
    if !(opts.truncation.is_finite() && (0.0..=1.0).contains(&opts.truncation)) {
        return Err(Error::input(format!(
            "StyleGene truncation {} must lie in 0..=1",
            opts.truncation
        )));
    }
    run_on(opts.device, Load { dir, opts })
}

/// Loading, for whichever backend the device runs.
struct Load<'a> {
    dir: &'a Path,
    opts: LoadOptions,
}

impl OnDevice for Load<'_> {
    type Output = Box<dyn NeuralFaceModel>;

    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Self::Output> {
        Ok(Box::new(StyleGeneModel::<B>::load(
            self.dir, device, self.opts,
        )?))
    }
}

/// The StyleGene model on backend `B`.
pub struct StyleGeneModel<B: ModelBackend> {
    dir: PathBuf,
    info: ModelInfo,
    device: B::Device,
    device_spec: DeviceSpec,
    /// Each network is loaded when the command's [`Parts`] include it.
    generator: Option<Generator<B>>,
    encoder: Option<GeneEncoder<B>>,
    decoder: Option<GeneDecoder<B>>,
    /// Loaded on the first photo (or by `load_photo_tools`): most runs have
    /// no photo founders and should not pay for it.
    photo_encoder: OnceLock<PhotoEncoder<B>>,
    /// Held while the photo encoder loads: founders are staged in parallel,
    /// and two photos must not load two copies (a gigabyte each).
    photo_encoder_loading: Mutex<()>,
    /// FairFace and the photo aligner, loaded on first use like the photo encoder.
    fairface: OnceLock<FairFace<B>>,
    aligner: OnceLock<PhotoAligner>,
    /// Held while each of them loads: two locks, so that
    /// `load_photo_tools` can load both at once.
    fairface_loading: Mutex<()>,
    aligner_loading: Mutex<()>,
    pool: GenePool,
    batch: usize,
    truncation: f32,
    image_size: Option<u32>,
}

impl<B: ModelBackend> StyleGeneModel<B> {
    /// Loads `dir` (written by `famsim weights import`) onto `device`.
    pub fn load(dir: &Path, device: B::Device, opts: LoadOptions) -> Result<Self> {
        let info = ModelInfo::read(dir)?;
        let what = dir.display().to_string();
        let shape = GeneShape {
            layers: info.generator.n_latent,
            width: info.generator.style_dim,
        };
        let generator = match opts.parts {
            Parts::All | Parts::Generator => {
                let path = dir.join(weights::GENERATOR_FILE);
                let generator = load_generator::<B>(&path, &device)?;
                let found = (generator.n_latent(), generator.style_dim());
                check_recorded_shape(&path, found, shape)?;
                Some(generator)
            }
            Parts::Encoder | Parts::Decoder | Parts::Attributes => None,
        };
        let path = dir.join(weights::MAPPINGS_FILE);
        let wants_encoder = matches!(opts.parts, Parts::All | Parts::Encoder);
        let wants_decoder = matches!(opts.parts, Parts::All | Parts::Decoder);
        let (mut encoder, mut decoder) = (None, None);
        if wants_encoder || wants_decoder {
            let weights = Weights::safetensors(&path)?;
            if wants_encoder {
                encoder = Some(GeneEncoder::from_weights(&weights, &device)?);
            }
            if wants_decoder {
                decoder = Some(GeneDecoder::from_weights(&weights, &device)?);
            }
        }
        if let Some(encoder) = &encoder {
            if let Some(generator) = &generator {
                check_agreement(generator, encoder, &what)?;
            }
            check_recorded_shape(&path, (encoder.n_layers(), encoder.width()), shape)?;
        }
        if let Some(decoder) = &decoder {
            check_recorded_shape(&path, (decoder.n_layers(), decoder.width()), shape)?;
        }
        let pool_path = dir.join(weights::POOL_FILE);
        let pool = if !opts.with_pool {
            GenePool::new()
        } else if pool_path.is_file() {
            weights::read_pool(&pool_path, shape)?
        } else {
            return Err(Error::input(format!(
                "{} has no gene pool ({}); import one with `famsim weights import --gene-pool` \
                 or build one with `famsim pool build`",
                dir.display(),
                weights::POOL_FILE
            )));
        };
        let mut batch = opts.batch.max(1);
        if let (Some(limit), Some(generator)) = (max_binding(opts.device), &generator) {
            batch = fit_batch(generator.widths(), batch, limit).map_err(|per_image| {
                Error::input(format!(
                    "device {:?} cannot render this {} px generator: one image needs a {} MiB \
                     buffer, and the adapter binds at most {} MiB per buffer; use device: Cpu",
                    opts.device,
                    generator.resolution(),
                    per_image.div_ceil(1 << 20),
                    limit >> 20
                ))
            })?;
        }
        let photo_encoder = OnceLock::new();
        Ok(StyleGeneModel {
            dir: dir.to_path_buf(),
            info,
            device,
            device_spec: opts.device,
            generator,
            encoder,
            decoder,
            photo_encoder,
            photo_encoder_loading: Mutex::new(()),
            fairface: OnceLock::new(),
            aligner: OnceLock::new(),
            fairface_loading: Mutex::new(()),
            aligner_loading: Mutex::new(()),
            pool,
            batch,
            truncation: opts.truncation,
            image_size: opts.image_size,
        })
    }

    /// The generator, or an internal error if this command did not load it.
    pub fn generator(&self) -> Result<&Generator<B>> {
        self.generator
            .as_ref()
            .ok_or_else(|| Error::internal("the StyleGAN2 generator was not loaded (Parts)"))
    }

    /// The gene encoder, or an internal error if this command did not load it.
    pub fn encoder(&self) -> Result<&GeneEncoder<B>> {
        self.encoder
            .as_ref()
            .ok_or_else(|| Error::internal("the StyleGene encoder was not loaded (Parts)"))
    }

    /// The gene decoder, or an internal error if this command did not load it.
    pub fn decoder(&self) -> Result<&GeneDecoder<B>> {
        self.decoder
            .as_ref()
            .ok_or_else(|| Error::internal("the StyleGene decoder was not loaded (Parts)"))
    }

    /// The e4e photo encoder, loaded on first use.
    pub fn photo_encoder(&self) -> Result<&PhotoEncoder<B>> {
        if let Some(encoder) = self.photo_encoder.get() {
            return Ok(encoder);
        }
        // A poisoned lock only means another load failed; try again.
        let _loading = self
            .photo_encoder_loading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(encoder) = self.photo_encoder.get() {
            return Ok(encoder);
        }
        let loaded = load_photo_encoder::<B>(&self.dir, &self.info, &self.device)?;
        Ok(self.photo_encoder.get_or_init(|| loaded))
    }

    /// FairFace, loaded on first use.
    pub fn fairface(&self) -> Result<&FairFace<B>> {
        if let Some(net) = self.fairface.get() {
            return Ok(net);
        }
        let _loading = self
            .fairface_loading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(net) = self.fairface.get() {
            return Ok(net);
        }
        let loaded = load_fairface::<B>(&self.dir, &self.info, &self.device)?;
        Ok(self.fairface.get_or_init(|| loaded))
    }

    /// The photo aligner, loaded on first use.
    pub fn aligner(&self) -> Result<&PhotoAligner> {
        if let Some(aligner) = self.aligner.get() {
            return Ok(aligner);
        }
        let _loading = self
            .aligner_loading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(aligner) = self.aligner.get() {
            return Ok(aligner);
        }
        let loaded = load_aligner(&self.dir, &self.info)?;
        Ok(self.aligner.get_or_init(|| loaded))
    }

    fn n_latent(&self) -> usize {
        self.info.generator.n_latent
    }

    fn width(&self) -> usize {
        self.info.generator.style_dim
    }

    fn check_latent(&self, latent: &Latent) -> Result<()> {
        if (latent.layers, latent.width) != (self.n_latent(), self.width())
            || latent.data.len() != latent.layers * latent.width
        {
            return Err(Error::input(format!(
                "a W+ latent of [{}, {}] does not fit this model, which takes [{}, {}]",
                latent.layers,
                latent.width,
                self.n_latent(),
                self.width()
            )));
        }
        Ok(())
    }

    /// Latents → W+ tensor [batch, N, W].
    fn stack_latents(&self, latents: &[&Latent]) -> Result<Tensor<B, 3>> {
        let mut values = Vec::with_capacity(latents.len() * self.n_latent() * self.width());
        for l in latents {
            self.check_latent(l)?;
            values.extend_from_slice(&l.data);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [latents.len(), self.n_latent(), self.width()]),
            &self.device,
        ))
    }

    fn unstack_latents(&self, w_plus: Tensor<B, 3>) -> Result<Vec<Latent>> {
        let [_, n, width] = w_plus.dims();
        let values = w_plus
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| Error::internal(format!("reading latents: {e:?}")))?;
        Ok(Latent::split_batch(&values, n, width))
    }
}

/// The largest single buffer, in bytes, that synthesising one image fills:
/// at each resolution (side s, `widths[k]` channels) the upsampling
/// convolution's phases and their interleaved image hold width × (s + 2)²
/// floats (`backend/burn.rs`), more than any other tensor of that layer.
pub fn bytes_per_image(widths: &[usize]) -> u64 {
    widths
        .iter()
        .enumerate()
        .map(|(k, &width)| {
            let side = 4u64 << k;
            width as u64 * (side + 2) * (side + 2) * 4
        })
        .max()
        .unwrap_or(0)
}

/// The batch to render with on a device that binds at most `limit` bytes
/// per buffer (a wgpu adapter): `batch`, or fewer people per forward pass
/// when `batch` of them would not fit (the engine then renders in more
/// passes; the faces do not change). Err(bytes one image needs) when not
/// even one fits.
pub fn fit_batch(widths: &[usize], batch: usize, limit: u64) -> std::result::Result<usize, u64> {
    let per_image = bytes_per_image(widths).max(1);
    match usize::try_from(limit / per_image).unwrap_or(usize::MAX) {
        0 => Err(per_image),
        fits => Ok(batch.min(fits)),
    }
}

/// Reads the native generator file.
fn load_generator<B: ModelBackend>(path: &Path, device: &B::Device) -> Result<Generator<B>> {
    Generator::from_weights(&Weights::safetensors(path)?, device)
}

/// Reads the weights directory's photo encoder, which `weights import --e4e`
/// writes; a directory imported without it says how to add it.
fn load_photo_encoder<B: ModelBackend>(
    dir: &Path,
    info: &ModelInfo,
    device: &B::Device,
) -> Result<PhotoEncoder<B>> {
    let path = dir.join(weights::PHOTO_ENCODER_FILE);
    if info.photo_encoder.is_none() || !path.is_file() {
        return Err(Error::input(format!(
            "{} has no photo encoder ({}); founders from photos need e4e_ffhq_encode.pt: \
             re-run `famsim weights import` with `--e4e FILE` (see weights/README.md)",
            dir.display(),
            weights::PHOTO_ENCODER_FILE
        )));
    }
    let encoder = PhotoEncoder::from_weights(&Weights::safetensors(&path)?, device)?;
    let sizes = encoder.sizes();
    check_recorded_shape(
        &path,
        (sizes.n_latent, sizes.width),
        GeneShape {
            layers: info.generator.n_latent,
            width: info.generator.style_dim,
        },
    )?;
    Ok(encoder)
}

/// Reads the weights directory's FairFace, which `weights import --fairface`
/// writes; a directory imported without it says how to add it.
pub fn load_fairface<B: ModelBackend>(
    dir: &Path,
    info: &ModelInfo,
    device: &B::Device,
) -> Result<FairFace<B>> {
    let path = dir.join(weights::ATTRIBUTES_FILE);
    if info.attributes.is_none() || !path.is_file() {
        return Err(Error::input(format!(
            "{} has no FairFace attribute model ({}); predicting race, sex and age from photos \
             needs res34_fair_align_multi_7_20190809.pt: re-run `famsim weights import` with \
             `--fairface FILE` (see weights/README.md)",
            dir.display(),
            weights::ATTRIBUTES_FILE
        )));
    }
    FairFace::from_weights(&Weights::safetensors(&path)?, device)
}

/// The weights directory's photo aligner: the landmark model and face
/// detector that `weights import --landmarks FILE --detector FILE` copies in.
pub fn load_aligner(dir: &Path, info: &ModelInfo) -> Result<PhotoAligner> {
    match (&info.landmarks, &info.detector) {
        (Some(landmarks), Some(detector)) => {
            PhotoAligner::load(&dir.join(landmarks), &dir.join(detector))
        }
        _ => Err(Error::input(format!(
            "{} has no landmark model and face detector to align photos with; re-run \
             `famsim weights import` with `--landmarks FILE --detector FILE` (see \
             weights/README.md), or give crops that are already aligned (`famsim invert \
             --no-align`, `genes: AlignedPhoto(\"crop.png\")` in scenarios)",
            dir.display()
        ))),
    }
}

/// A network file must hold the W+ shape that model.ron records.
fn check_recorded_shape(path: &Path, found: (usize, usize), recorded: GeneShape) -> Result<()> {
    if found != (recorded.layers, recorded.width) {
        return Err(Error::input(format!(
            "{}: takes W+ latents [{}, {}] but model.ron beside it records [{}, {}]; \
             re-run `famsim weights import` for this directory",
            path.display(),
            found.0,
            found.1,
            recorded.layers,
            recorded.width
        )));
    }
    Ok(())
}

/// The generator and the mappings (their encoder) must agree on N and W.
pub fn check_agreement<B: ModelBackend>(
    generator: &Generator<B>,
    encoder: &GeneEncoder<B>,
    what: &str,
) -> Result<()> {
    let g = (generator.n_latent(), generator.style_dim());
    let m = (encoder.n_layers(), encoder.width());
    if g != m {
        return Err(Error::input(format!(
            "{what}: the StyleGAN2 generator ({} px) uses W+ latents [{}, {}] but the StyleGene mappings \
             take [{}, {}]; the two checkpoints do not belong together",
            generator.resolution(),
            g.0,
            g.1,
            m.0,
            m.1
        )));
    }
    Ok(())
}

impl<B: ModelBackend> FaceModel for StyleGeneModel<B>
where
    StyleGeneModel<B>: Send + Sync,
{
    fn describe(&self) -> String {
        format!(
            "stylegene:{} ({})",
            self.dir.display(),
            device_name(self.device_spec)
        )
    }

    fn gene_shape(&self) -> GeneShape {
        GeneShape {
            layers: self.n_latent(),
            width: self.width(),
        }
    }

    fn fine_layer_start(&self) -> usize {
        weights::fine_layer_start(self.n_latent())
    }

    fn image_size(&self) -> u32 {
        self.image_size.unwrap_or(self.info.generator.image_size)
    }

    fn preferred_batch(&self) -> usize {
        self.batch
    }

    fn gene_pool(&self) -> &GenePool {
        &self.pool
    }

    fn encode(&self, latents: &[&Latent]) -> Result<Vec<Genome>> {
        if latents.is_empty() {
            return Ok(Vec::new());
        }
        let (mean, logvar) = self.encoder()?.forward(self.stack_latents(latents)?);
        let shape = self.gene_shape();
        let read = |t: Tensor<B, 4>| {
            t.into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .map_err(|e| Error::internal(format!("encode: {e:?}")))
        };
        let (mean, logvar) = (read(mean)?, read(logvar)?);
        mean.chunks_exact(shape.len())
            .zip(logvar.chunks_exact(shape.len()))
            .map(|(m, v)| {
                Genome::from_parts(shape, m.to_vec(), v.to_vec()).map_err(Error::internal)
            })
            .collect()
    }

    fn decode(&self, genes: &[&GeneSample]) -> Result<Vec<Latent>> {
        if genes.is_empty() {
            return Ok(Vec::new());
        }
        let shape = self.gene_shape();
        let mut values = Vec::with_capacity(genes.len() * shape.len());
        for g in genes {
            if g.shape != shape || g.values.len() != shape.len() {
                return Err(Error::input(format!(
                    "a gene of shape [{}, 34, {}] does not fit this model, which takes [{}, 34, {}]",
                    g.shape.layers, g.shape.width, shape.layers, shape.width
                )));
            }
            values.extend_from_slice(&g.values);
        }
        let genes = Tensor::<B, 4>::from_data(
            TensorData::new(
                values,
                [
                    genes.len(),
                    shape.layers,
                    crate::genetics::region::REGION_COUNT,
                    shape.width,
                ],
            ),
            &self.device,
        );
        self.unstack_latents(self.decoder()?.forward(genes))
    }

    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, _subject: Subject) -> Result<Latent> {
        let z: Vec<f32> = (0..self.width())
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect();
        let mut latents = self.latents_from_z(z, self.truncation)?;
        latents
            .pop()
            .ok_or_else(|| Error::internal("the mapping network returned no latent"))
    }

    fn render(&self, latents: &[&Latent], _subjects: &[Subject]) -> Result<Vec<Image>> {
        if latents.is_empty() {
            return Ok(Vec::new());
        }
        let images = self.render_raw(latents)?.0;
        let size = self.image_size();
        Ok(images
            .into_iter()
            .map(|img| {
                if img.width == size {
                    img
                } else {
                    resample(&img, size)
                }
            })
            .collect())
    }

    fn load_latent(&self, path: &Path) -> Result<Latent> {
        crate::io::npy::read_latent(path, Some(self.n_latent()), self.width())
    }

    fn latent_from_photo(&self, path: &Path) -> Result<Latent> {
        let found = self.align_photo(path, 1)?;
        for warning in &found.warnings {
            eprintln!("warning: {warning}");
        }
        self.latent_from_crop(&found.aligned.image, path)
    }

    fn latent_from_aligned_photo(&self, path: &Path) -> Result<Latent> {
        let photo = crate::io::photo::read_photo(path)?;
        self.latent_from_crop(&photo, path)
    }
}

impl<B: ModelBackend> NeuralFaceModel for StyleGeneModel<B>
where
    StyleGeneModel<B>: Send + Sync,
{
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn render_raw(&self, latents: &[&Latent]) -> Result<(Vec<Image>, Vec<f32>)> {
        let images = self
            .generator()?
            .synthesis(self.stack_latents(latents)?, NoiseMode::Stored)?;
        let raw = images
            .clone()
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| Error::internal(format!("render: {e:?}")))?;
        Ok((to_images(images)?, raw))
    }

    fn attributes(&self, crops: &[&Image]) -> Result<Vec<AttributeScores>> {
        let net = self.fairface()?;
        let resampled: Vec<Image> = crops
            .iter()
            .map(|crop| {
                if crop.width != crop.height {
                    return Err(Error::input(format!(
                        "a {}×{} px photo: FairFace takes square, aligned face crops",
                        crop.width, crop.height
                    )));
                }
                Ok(if crop.width as usize == CROP_SIZE {
                    (*crop).clone()
                } else {
                    resample(crop, CROP_SIZE as u32)
                })
            })
            .collect::<Result<_>>()?;
        net.predict(&resampled.iter().collect::<Vec<_>>())
    }

    fn align_photo(&self, path: &Path, face: u32) -> Result<AlignedPhoto> {
        self.aligner()?.align_file(path, OFFICIAL_CROP, face)
    }

    fn load_photo_tools(&self, align: bool) -> Result<()> {
        std::thread::scope(|s| {
            let aligner = align.then(|| s.spawn(|| self.aligner().map(drop)));
            let encoder = self.photo_encoder().map(drop);
            let fairface = match self.has_attributes() {
                true => self.fairface().map(drop),
                false => Ok(()),
            };
            let aligner = match aligner.map(|h| h.join()) {
                None => Ok(()),
                Some(Ok(loaded)) => loaded,
                Some(Err(_)) => Err(Error::internal("loading the photo aligner panicked")),
            };
            encoder.and(aligner).and(fairface)
        })
    }

    fn latent_from_crop(&self, crop: &Image, path: &Path) -> Result<Latent> {
        let encoder = self.photo_encoder()?;
        let side = encoder.input_size();
        if crop.width != crop.height {
            return Err(Error::input(format!(
                "{}: the photo is {}×{} px; the photo encoder takes square, aligned face crops \
                 (FFHQ alignment, as e4e was trained on), resized to {side}×{side}",
                path.display(),
                crop.width,
                crop.height
            )));
        }
        let resampled;
        let photo = if crop.width as usize == side {
            crop
        } else {
            resampled = resample(crop, side as u32);
            &resampled
        };
        // torchvision's ToTensor then Normalize(0.5, 0.5): [0, 255] → [-1, 1].
        let mut planes = vec![0.0f32; 3 * side * side];
        for (i, px) in photo.rgb.chunks_exact(3).enumerate() {
            for (c, &v) in px.iter().enumerate() {
                planes[c * side * side + i] = (v as f32 / 255.0 - 0.5) / 0.5;
            }
        }
        let input =
            Tensor::<B, 4>::from_data(TensorData::new(planes, [1, 3, side, side]), &self.device);
        self.unstack_latents(encoder.forward(input))?
            .pop()
            .ok_or_else(|| Error::internal("the photo encoder returned no latent"))
    }

    fn latents_from_z(&self, z: Vec<f32>, psi: f32) -> Result<Vec<Latent>> {
        let width = self.width();
        let count = z.len() / width;
        let z = Tensor::<B, 2>::from_data(TensorData::new(z, [count, width]), &self.device);
        let generator = self.generator()?;
        let w = generator.truncate(generator.mapping(z)?, psi);
        let w_plus = generator.broadcast_w(w);
        self.unstack_latents(w_plus)
    }
}

/// Resamples a square portrait to `size`×`size` with a tent filter widened by
/// the scale factor when shrinking (so every source pixel counts, no aliasing),
/// one axis at a time.
fn resample(img: &Image, size: u32) -> Image {
    let (w, h, n) = (img.width as usize, img.height as usize, size as usize);
    let src: Vec<f32> = img.rgb.iter().map(|&v| v as f32).collect();
    // Horizontal pass: [h, w, 3] → [h, n, 3]; then vertical: → [n, n, 3].
    let horizontal = resample_axis(
        &src,
        h,
        w,
        n,
        |row, x, c| (row * w + x) * 3 + c,
        |row, x, c| (row * n + x) * 3 + c,
    );
    let vertical = resample_axis(
        &horizontal,
        n,
        h,
        n,
        |col, y, c| (y * n + col) * 3 + c,
        |col, y, c| (y * n + col) * 3 + c,
    );
    Image {
        width: size,
        height: size,
        rgb: vertical
            .into_iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect(),
    }
}

/// Resamples `lines` lines of `from` pixels to `to` pixels; `at_src` and
/// `at_dst` give the flat index of (line, position, channel).
fn resample_axis(
    src: &[f32],
    lines: usize,
    from: usize,
    to: usize,
    at_src: impl Fn(usize, usize, usize) -> usize,
    at_dst: impl Fn(usize, usize, usize) -> usize,
) -> Vec<f32> {
    let scale = from as f32 / to as f32;
    let support = scale.max(1.0);
    let mut out = vec![0.0; lines * to * 3];
    for x in 0..to {
        let centre = (x as f32 + 0.5) * scale - 0.5;
        let lo = (centre - support).floor().max(0.0) as usize;
        let hi = ((centre + support).ceil() as usize).min(from - 1);
        let taps: Vec<(usize, f32)> = (lo..=hi)
            .map(|i| (i, (1.0 - (i as f32 - centre).abs() / support).max(0.0)))
            .filter(|&(_, wgt)| wgt > 0.0)
            .collect();
        let total: f32 = taps.iter().map(|t| t.1).sum();
        for line in 0..lines {
            for c in 0..3 {
                let v: f32 = taps
                    .iter()
                    .map(|&(i, wgt)| wgt * src[at_src(line, i, c)])
                    .sum();
                out[at_dst(line, x, c)] = v / total;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_flat_colours_and_averages_when_shrinking() {
        let flat = Image {
            width: 8,
            height: 8,
            rgb: [10u8, 200, 77].repeat(64),
        };
        for size in [3, 4, 13, 16] {
            let r = resample(&flat, size);
            assert_eq!((r.width, r.height), (size, size));
            assert!(r.rgb.chunks(3).all(|p| p == [10, 200, 77]), "size {size}");
        }
        // A 2×2 checkerboard halves to its mean grey.
        let mut rgb = Vec::new();
        for y in 0..2 {
            for x in 0..2 {
                rgb.extend([if (x + y) % 2 == 0 { 0u8 } else { 255 }; 3]);
            }
        }
        let r = resample(
            &Image {
                width: 2,
                height: 2,
                rgb,
            },
            1,
        );
        assert!(
            r.rgb.iter().all(|&v| (127..=128).contains(&v)),
            "{:?}",
            r.rgb
        );
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    /// Config-f at 1024 px: the 1024 px layer (32 channels × 1026²) is the
    /// largest, 128.5 MiB per image.
    const CONFIG_F_1024: [usize; 9] = [512, 512, 512, 512, 512, 256, 128, 64, 32];

    #[test]
    fn the_largest_buffer_is_the_widest_layer_at_its_side_plus_two() {
        assert_eq!(bytes_per_image(&CONFIG_F_1024), 32 * 1026 * 1026 * 4);
        // At 256 px the 256 px layer (128 × 258²) beats 64 px (512 × 66²).
        assert_eq!(bytes_per_image(&CONFIG_F_1024[..7]), 128 * 258 * 258 * 4);
    }

    #[test]
    fn a_batch_that_does_not_fit_is_split_and_one_image_that_does_not_is_an_error() {
        let per_image = bytes_per_image(&CONFIG_F_1024);
        // A 2 GiB binding limit (common on desktop GPUs) takes 15 images.
        assert_eq!(fit_batch(&CONFIG_F_1024, 8, 2 << 30), Ok(8));
        assert_eq!(fit_batch(&CONFIG_F_1024, 32, 2 << 30), Ok(15));
        // wgpu's default 128 MiB limit is just short of one 1024 px image,
        assert_eq!(fit_batch(&CONFIG_F_1024, 8, 128 << 20), Err(per_image));
        // but takes a 256 px batch of 8 in passes of 3 (32.5 MiB each).
        assert_eq!(fit_batch(&CONFIG_F_1024[..7], 8, 128 << 20), Ok(3));
        assert_eq!(fit_batch(&CONFIG_F_1024, 3, 3 * per_image), Ok(3));
        assert_eq!(fit_batch(&CONFIG_F_1024, 4, 3 * per_image), Ok(3));
    }
}
