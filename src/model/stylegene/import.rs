//! `famsim weights import`: official PyTorch files → a weights directory.
//!
//! Each source is first loaded by the same strict loaders that serve the
//! model (they name the first missing or misshapen tensor), the two networks
//! are checked to belong together, and only then are the tensors copied into
//! the native files. Finally the written directory is loaded back, so an
//! import that succeeds is a directory that loads.

use super::device::CpuBackend;
use super::e4e::{PhotoEncoder, LATENT_AVG};
use super::face_model::{check_agreement, load_fairface, LoadOptions, Parts, StyleGeneModel};
use super::mixer::StyleGeneMappings;
use super::stylegan2::Generator;
use super::weights::{
    pool_info, write_pool, AttributesArch, FileRecord, GeneratorArch, MappingsArch, ModelInfo,
    PhotoEncoderArch, ATTRIBUTES_FILE, DESCRIPTOR_FILE, DETECTOR_FILE, FORMAT_VERSION,
    GENERATOR_FILE, LANDMARKS5_FILE, LANDMARKS_FILE, MAPPINGS_FILE, PHOTO_ENCODER_FILE, POOL_FILE,
};
use crate::align::detect::FaceDetector;
use crate::dlib::ShapePredictor;
use crate::error::{Error, Result};
use crate::genetics::genome::GeneShape;
use crate::io::safetensors::{self as st, TensorToWrite};
use crate::model::fairface::FairFace;
use crate::model_spec::DeviceSpec;
use crate::weights::Weights;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files to import.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// `stylegan2-ffhq-config-f.pt` (rosinality layout: `g_ema`, `latent_avg`).
    pub stylegan2: PathBuf,
    /// `stylegene_N18.ckpt` (`state_dict` with `w2sub34.*`, `sub2w.*`).
    pub stylegene: PathBuf,
    /// `geneFactorPool.pkl`, optional.
    pub gene_pool: Option<PathBuf>,
    /// `e4e_ffhq_encode.pt`, optional: the photo encoder.
    pub e4e: Option<PathBuf>,
    /// dlib's `shape_predictor_68_face_landmarks.dat` or `.dat.bz2`, optional:
    /// `famsim align --weights` uses it.
    pub landmarks: Option<PathBuf>,
    /// SeetaFace's `seeta_fd_frontal_v1.0.bin`, optional: `famsim align --weights` uses it.
    pub detector: Option<PathBuf>,
    /// dlib's `dlib_face_recognition_resnet_model_v1.dat` (or `.dat.bz2`),
    /// optional: the face descriptor (`famsim::describe`).
    pub descriptor: Option<PathBuf>,
    /// dlib's `shape_predictor_5_face_landmarks.dat` (or `.dat.bz2`),
    /// optional: the face descriptor's chips.
    pub landmarks5: Option<PathBuf>,
    /// FairFace's `res34_fair_align_multi_7_20190809.pt`, optional: race,
    /// gender and age of photographed parents.
    pub fairface: Option<PathBuf>,
    /// The weights directory to write.
    pub out: PathBuf,
}

/// Prefix of the generator's tensors in the StyleGAN2 checkpoint.
const GENERATOR_PREFIX: &str = "g_ema.";
/// Prefix of e4e's encoder in its checkpoint's state dict.
const PHOTO_ENCODER_PREFIX: &str = "encoder.";
/// Prefixes of the two mappings in the StyleGene checkpoint's state dict.
const MAPPING_PREFIXES: [&str; 2] = ["w2sub34.", "sub2w."];

/// Imports the files and returns the written `model.ron`.
pub fn import(req: &ImportRequest) -> Result<ModelInfo> {
    let device = Default::default();
    let checkpoint = Weights::pytorch(&req.stylegan2)?;
    let generator = Generator::<CpuBackend>::from_weights(&checkpoint, &device)?;
    let mappings = StyleGeneMappings::<CpuBackend>::load(&req.stylegene, &device)?;
    check_agreement(
        &generator,
        &mappings.encoder,
        &format!(
            "{} and {}",
            req.stylegan2.display(),
            req.stylegene.display()
        ),
    )?;
    let shape = GeneShape {
        layers: generator.n_latent(),
        width: generator.style_dim(),
    };
    let pool = match &req.gene_pool {
        Some(path) => {
            let pool = super::gene_pool::load_gene_pool(path)?;
            if let Some(found) = pool.shape() {
                if found != shape {
                    return Err(Error::input(format!(
                        "{}: gene-pool entries are [{}, 34, {}] but the model's genes are [{}, 34, {}]",
                        path.display(),
                        found.layers,
                        found.width,
                        shape.layers,
                        shape.width
                    )));
                }
            }
            Some(pool)
        }
        None => None,
    };
    let photo_encoder = match &req.e4e {
        Some(path) => Some(check_e4e(path, shape)?),
        None => None,
    };
    // Both face-photo models are loaded as `famsim align` loads them, so a
    // corrupt file fails here, before anything is written.
    if let Some(path) = &req.landmarks {
        check_landmarks(path)?;
    }
    if let Some(path) = &req.detector {
        FaceDetector::load(path)?;
    }
    if let Some(path) = &req.descriptor {
        check_descriptor(path)?;
    }
    if let Some(path) = &req.landmarks5 {
        check_landmarks5(path)?;
    }
    let attributes = match &req.fairface {
        Some(path) => Some(check_fairface(path)?),
        None => None,
    };

    std::fs::create_dir_all(&req.out).map_err(|e| Error::io(&req.out, e))?;
    write_generator(&checkpoint, &req.out.join(GENERATOR_FILE))?;
    drop(generator);
    write_mappings(&req.stylegene, &req.out.join(MAPPINGS_FILE))?;
    let pool_path = req.out.join(POOL_FILE);
    let pool_summary = match &pool {
        Some(pool) => {
            write_pool(&pool_path, pool)?;
            Some(pool_info(pool, "geneFactorPool.pkl import"))
        }
        None => {
            // A re-import without a pool must not leave an old one behind.
            remove_if_present(&pool_path)?;
            None
        }
    };
    drop(pool);
    let photo_path = req.out.join(PHOTO_ENCODER_FILE);
    match &req.e4e {
        Some(source) => write_photo_encoder(source, &photo_path)?,
        // As with the pool: a re-import without e4e must not keep an old one.
        None => remove_if_present(&photo_path)?,
    }
    // As with e4e: a re-import without them must not keep old ones.
    let landmarks_name = req.landmarks.as_ref().map(|source| landmarks_name(source));
    for name in [LANDMARKS_FILE.to_string(), format!("{LANDMARKS_FILE}.bz2")] {
        if Some(&name) != landmarks_name.as_ref() {
            remove_if_present(&req.out.join(name))?;
        }
    }
    if let (Some(source), Some(name)) = (&req.landmarks, &landmarks_name) {
        copy_file(source, &req.out.join(name))?;
    }
    match &req.detector {
        Some(source) => copy_file(source, &req.out.join(DETECTOR_FILE))?,
        None => remove_if_present(&req.out.join(DETECTOR_FILE))?,
    }
    let descriptor_name = copy_dlib_model(&req.descriptor, DESCRIPTOR_FILE, &req.out)?;
    let landmarks5_name = copy_dlib_model(&req.landmarks5, LANDMARKS5_FILE, &req.out)?;
    let attributes_path = req.out.join(ATTRIBUTES_FILE);
    match &req.fairface {
        Some(source) => write_fairface(source, &attributes_path)?,
        None => remove_if_present(&attributes_path)?,
    }

    let mut sources = vec![
        FileRecord::of("stylegan2", &req.stylegan2)?,
        FileRecord::of("stylegene", &req.stylegene)?,
    ];
    if let Some(p) = &req.gene_pool {
        sources.push(FileRecord::of("gene_pool", p)?);
    }
    if let Some(p) = &req.e4e {
        sources.push(FileRecord::of("e4e", p)?);
    }
    if let Some(p) = &req.landmarks {
        sources.push(FileRecord::of("landmarks", p)?);
    }
    if let Some(p) = &req.detector {
        sources.push(FileRecord::of("detector", p)?);
    }
    if let Some(p) = &req.descriptor {
        sources.push(FileRecord::of("descriptor", p)?);
    }
    if let Some(p) = &req.landmarks5 {
        sources.push(FileRecord::of("landmarks5", p)?);
    }
    if let Some(p) = &req.fairface {
        sources.push(FileRecord::of("fairface", p)?);
    }
    let mut files = vec![
        FileRecord::of("generator", &req.out.join(GENERATOR_FILE))?,
        FileRecord::of("mappings", &req.out.join(MAPPINGS_FILE))?,
    ];
    if pool_summary.is_some() {
        files.push(FileRecord::of("gene_pool", &pool_path)?);
    }
    if photo_encoder.is_some() {
        files.push(FileRecord::of("photo_encoder", &photo_path)?);
    }
    if let Some(name) = &landmarks_name {
        files.push(FileRecord::of("landmarks", &req.out.join(name))?);
    }
    if req.detector.is_some() {
        files.push(FileRecord::of("detector", &req.out.join(DETECTOR_FILE))?);
    }
    if let Some(name) = &descriptor_name {
        files.push(FileRecord::of("descriptor", &req.out.join(name))?);
    }
    if let Some(name) = &landmarks5_name {
        files.push(FileRecord::of("landmarks5", &req.out.join(name))?);
    }
    if attributes.is_some() {
        files.push(FileRecord::of("fairface", &attributes_path)?);
    }
    // The copies are the sources byte for byte (what was loaded above).
    for role in ["landmarks", "detector", "descriptor", "landmarks5"] {
        let sum = |records: &[FileRecord]| {
            records
                .iter()
                .find(|f| f.role == role)
                .map(|f| f.sha256.clone())
        };
        if sum(&sources) != sum(&files) {
            return Err(Error::internal(format!(
                "the {role} model copied into {} differs from its source",
                req.out.display()
            )));
        }
    }
    for f in &mut files {
        f.name = Path::new(&f.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let info = ModelInfo {
        format_version: FORMAT_VERSION,
        famsim_version: env!("CARGO_PKG_VERSION").to_string(),
        generator: generator_arch(&checkpoint, &mappings_arch_of(&mappings))?,
        mappings: mappings_arch_of(&mappings),
        pool: pool_summary,
        photo_encoder,
        landmarks: landmarks_name,
        detector: req.detector.as_ref().map(|_| DETECTOR_FILE.to_string()),
        descriptor: descriptor_name,
        landmarks5: landmarks5_name,
        attributes,
        sources,
        files,
    };
    drop(mappings);
    info.write(&req.out)?;

    // Prove the directory loads through the model's own loading path.
    let load_back = || -> Result<()> {
        let model = StyleGeneModel::<CpuBackend>::load(
            &req.out,
            device,
            LoadOptions {
                device: DeviceSpec::Cpu,
                batch: 1,
                truncation: 1.0,
                with_pool: info.pool.is_some(),
                image_size: None,
                parts: Parts::All,
            },
        )?;
        if info.photo_encoder.is_some() {
            model.photo_encoder()?;
        }
        if info.attributes.is_some() {
            load_fairface::<CpuBackend>(&req.out, &info, &device)?;
        }
        Ok(())
    };
    load_back()
        .map_err(|e| Error::internal(format!("the imported directory does not load back: {e}")))?;
    Ok(info)
}

fn mappings_arch_of(m: &StyleGeneMappings<CpuBackend>) -> MappingsArch {
    MappingsArch {
        n_layers: m.encoder.n_layers(),
        width: m.encoder.width(),
        encoder_blocks: m.encoder.depth(),
        decoder_blocks: m.decoder.depth(),
    }
}

/// Generator sizes from tensor shapes (the loader has already checked them).
fn generator_arch(ckpt: &Weights, m: &MappingsArch) -> Result<GeneratorArch> {
    let g = |name: &str| ckpt.shape(&format!("{GENERATOR_PREFIX}{name}"));
    let n_mlp = (1..)
        .take_while(|i| g(&format!("style.{i}.weight")).is_some())
        .count();
    let mut channels = vec![g("input.input")
        .and_then(|s| s.get(1).copied())
        .unwrap_or(0)];
    // `convs.{2b}` is the upsampling conv of block b; its weight is [1, out, in, 3, 3].
    channels.extend(
        (0..)
            .map_while(|b| g(&format!("convs.{}.conv.weight", 2 * b)))
            .map(|s| s.get(1).copied().unwrap_or(0)),
    );
    let blocks = channels.len() - 1;
    Ok(GeneratorArch {
        image_size: 4u32 << blocks,
        style_dim: m.width,
        n_latent: m.n_layers,
        n_mlp,
        channels,
    })
}

/// Copies `g_ema.*` and `latent_avg` into the native generator file.
fn write_generator(ckpt: &Weights, out: &Path) -> Result<()> {
    let names: Vec<(String, String)> = ckpt
        .names_under(GENERATOR_PREFIX)
        .chain(ckpt.names_under(LATENT_AVG).filter(|n| *n == LATENT_AVG))
        .map(|n| (n.to_owned(), n.to_owned()))
        .collect();
    write_tensors(ckpt, names, out, "stylegan2-generator")
}

/// Copies `w2sub34.*` and `sub2w.*` into the native mappings file.
fn write_mappings(source: &Path, out: &Path) -> Result<()> {
    let weights = Weights::pytorch(source)?;
    let base = weights.state_dict_base();
    // In name order, as the file always was written.
    let mut names: Vec<(String, String)> = MAPPING_PREFIXES
        .iter()
        .flat_map(|prefix| weights.names_under_owned(&format!("{base}{prefix}")))
        .map(|full| (full[base.len()..].to_owned(), full))
        .collect();
    names.sort();
    write_tensors(&weights, names, out, "stylegene-mappings")
}

/// Streams tensors of a checkpoint into a native safetensors file, one
/// tensor at a time; `names` pairs the native name with the source's.
fn write_tensors(
    weights: &Weights,
    names: Vec<(String, String)>,
    out: &Path,
    what: &str,
) -> Result<()> {
    let to_write = names
        .into_iter()
        .map(|(name, full)| TensorToWrite {
            name,
            shape: weights.shape(&full).unwrap_or_default(),
            values: Box::new(move || Ok(Cow::Owned(weights.read(&full)?))),
        })
        .collect();
    st::write(out, to_write, &meta(what))
}

/// Loads the e4e checkpoint with the model's own strict loader (which names
/// any missing or misshapen tensor) and checks that it encodes photos into
/// this generator's W+ space.
fn check_e4e(path: &Path, shape: GeneShape) -> Result<PhotoEncoderArch> {
    let weights = Weights::pytorch(path)?;
    let encoder = PhotoEncoder::<CpuBackend>::from_weights(&weights, &Default::default())?;
    let sizes = encoder.sizes();
    if (sizes.n_latent, sizes.width) != (shape.layers, shape.width) {
        return Err(Error::input(format!(
            "{}: the e4e encoder makes W+ latents [{}, {}] but the generator takes [{}, {}]; \
             the two checkpoints do not belong together",
            path.display(),
            sizes.n_latent,
            sizes.width,
            shape.layers,
            shape.width
        )));
    }
    Ok(PhotoEncoderArch {
        input_size: sizes.input_size,
        stage_units: sizes.stage_units,
    })
}

/// Copies e4e's `encoder.*` and `latent_avg` into the native photo-encoder
/// file (the generator saved beside them, `decoder.*`, is not needed).
fn write_photo_encoder(source: &Path, out: &Path) -> Result<()> {
    let weights = Weights::pytorch(source)?;
    let base = weights.state_dict_base();
    // Batch norm's `num_batches_tracked` is an integer training counter.
    let mut names: Vec<(String, String)> = weights
        .names_under_owned(&format!("{base}{PHOTO_ENCODER_PREFIX}"))
        .into_iter()
        .filter(|full| weights.info(full).is_some_and(|t| t.float))
        .map(|full| (full[base.len()..].to_owned(), full))
        .collect();
    if weights.contains(LATENT_AVG) {
        names.push((LATENT_AVG.to_string(), LATENT_AVG.to_string()));
    }
    write_tensors(&weights, names, out, "e4e-photo-encoder")
}

/// Loads FairFace with the model's strict loader (which names any missing or
/// misshapen tensor).
fn check_fairface(path: &Path) -> Result<AttributesArch> {
    let weights = Weights::pytorch(path)?;
    let net = FairFace::<CpuBackend>::from_weights(&weights, &Default::default())?;
    Ok(AttributesArch {
        blocks: net.blocks(),
    })
}

/// Copies FairFace's float tensors, under their torchvision names, into the
/// native attributes file (batch norm's integer `num_batches_tracked` stays behind).
fn write_fairface(source: &Path, out: &Path) -> Result<()> {
    let weights = Weights::pytorch(source)?;
    let names: Vec<(String, String)> = weights
        .names_under_owned("")
        .into_iter()
        .filter(|full| weights.info(full).is_some_and(|t| t.float))
        .map(|full| (full.clone(), full))
        .collect();
    write_tensors(&weights, names, out, "fairface-attributes")
}

/// Loads a landmark model as `famsim align` does: it must be dlib's 68-point one.
fn check_landmarks(path: &Path) -> Result<()> {
    let predictor = ShapePredictor::load(path)?;
    if predictor.parts() != 68 {
        return Err(Error::input(format!(
            "{}: a {}-point shape predictor; FFHQ alignment needs the 68-point one \
             (shape_predictor_68_face_landmarks.dat)",
            path.display(),
            predictor.parts()
        )));
    }
    Ok(())
}

/// Reads a face-descriptor network and checks it is dlib's 128-D one over
/// 150 px chips (the whole network is checked layer by layer when
/// `famsim::describe` loads it; this module cannot import that one).
fn check_descriptor(path: &Path) -> Result<()> {
    use crate::dlib::dnn::{DnnFile, Layer};
    let file = DnnFile::load(path)?;
    let top = match file.layers.first() {
        Some(Layer::Fc(fc)) => Some((fc.num_inputs, fc.num_outputs)),
        _ => None,
    };
    if top != Some((256, 128)) || file.input.size != Some((150, 150)) {
        return Err(Error::input(format!(
            "{}: a dlib network, but not the face descriptor \
             (dlib_face_recognition_resnet_model_v1.dat: 150×150 chips → 128 values)",
            path.display()
        )));
    }
    Ok(())
}

/// Loads a landmark model for the descriptor's chips: it must be dlib's 5-point one.
fn check_landmarks5(path: &Path) -> Result<()> {
    let predictor = ShapePredictor::load(path)?;
    if predictor.parts() != 5 {
        return Err(Error::input(format!(
            "{}: a {}-point shape predictor; the face descriptor's chips need the 5-point one \
             (shape_predictor_5_face_landmarks.dat)",
            path.display(),
            predictor.parts()
        )));
    }
    Ok(())
}

/// Copies an optional dlib model under `name` (keeping `.bz2` when the
/// source has it), removing any earlier copy a re-import without it would
/// leave behind. Returns the name used.
fn copy_dlib_model(source: &Option<PathBuf>, name: &str, out: &Path) -> Result<Option<String>> {
    let compressed = source
        .as_ref()
        .map(|s| s.extension().is_some_and(|e| e == "bz2"));
    let chosen = compressed.map(|c| {
        if c {
            format!("{name}.bz2")
        } else {
            name.to_string()
        }
    });
    for candidate in [name.to_string(), format!("{name}.bz2")] {
        if Some(&candidate) != chosen.as_ref() {
            remove_if_present(&out.join(candidate))?;
        }
    }
    if let (Some(source), Some(chosen)) = (source, &chosen) {
        copy_file(source, &out.join(chosen))?;
    }
    Ok(chosen)
}

/// The landmark model's name in the folder: compressed files keep `.bz2`.
fn landmarks_name(source: &Path) -> String {
    let compressed = source.extension().is_some_and(|e| e == "bz2");
    if compressed {
        format!("{LANDMARKS_FILE}.bz2")
    } else {
        LANDMARKS_FILE.to_string()
    }
}

/// Copies a file through a temporary name, so an interrupted copy never
/// leaves a truncated model under the real name.
fn copy_file(source: &Path, out: &Path) -> Result<()> {
    let part = out.with_extension("part");
    std::fs::copy(source, &part).map_err(|e| Error::io(source, e))?;
    std::fs::rename(&part, out).map_err(|e| Error::io(out, e))
}

fn remove_if_present(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

fn meta(what: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("famsim".to_string(), what.to_string());
    m
}
