//! `famsim weights import`: official PyTorch files → a weights directory.
//!
//! Each source is first loaded by the same strict loaders that serve the
//! model (they name the first missing or misshapen tensor), the two networks
//! are checked to belong together, and only then are the tensors copied into
//! the native files. Finally the written directory is loaded back, so an
//! import that succeeds is a directory that loads.

use super::checkpoint::Checkpoint;
use super::device::CpuBackend;
use super::face_model::{check_agreement, LoadOptions, Parts, StyleGeneModel};
use super::mixer::StyleGeneMappings;
use super::stylegan2::Generator;
use super::torch_pickle::{TorchFile, Value};
use super::weights::{
    pool_info, write_pool, FileRecord, GeneratorArch, MappingsArch, ModelInfo, FORMAT_VERSION,
    GENERATOR_FILE, MAPPINGS_FILE, POOL_FILE,
};
use crate::error::{Error, Result};
use crate::genetics::genome::GeneShape;
use crate::io::safetensors::{self as st, TensorToWrite};
use crate::scenario::format::DeviceSpec;
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
    /// `e4e_ffhq_encode.pt`, optional: checked and recorded (see weights/README.md).
    pub e4e: Option<PathBuf>,
    /// The weights directory to write.
    pub out: PathBuf,
}

/// Prefix of the generator's tensors in the StyleGAN2 checkpoint.
const GENERATOR_PREFIX: &str = "g_ema.";
const LATENT_AVG: &str = "latent_avg";
/// Prefixes of the two mappings in the StyleGene checkpoint's state dict.
const MAPPING_PREFIXES: [&str; 2] = ["w2sub34.", "sub2w."];

/// Imports the files and returns the written `model.ron`.
pub fn import(req: &ImportRequest) -> Result<ModelInfo> {
    let device = Default::default();
    let checkpoint = Checkpoint::open(&req.stylegan2)?;
    let generator = Generator::<CpuBackend>::from_checkpoint(&checkpoint, &device)?;
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
    if let Some(e4e) = &req.e4e {
        check_e4e(e4e, shape)?;
    }

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
            if pool_path.exists() {
                std::fs::remove_file(&pool_path).map_err(|e| Error::io(&pool_path, e))?;
            }
            None
        }
    };
    drop(pool);

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
    let mut files = vec![
        FileRecord::of("generator", &req.out.join(GENERATOR_FILE))?,
        FileRecord::of("mappings", &req.out.join(MAPPINGS_FILE))?,
    ];
    if pool_summary.is_some() {
        files.push(FileRecord::of("gene_pool", &pool_path)?);
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
        sources,
        files,
    };
    drop(mappings);
    info.write(&req.out)?;

    // Prove the directory loads through the model's own loading path.
    StyleGeneModel::<CpuBackend>::load(
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
    )
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
fn generator_arch(ckpt: &Checkpoint, m: &MappingsArch) -> Result<GeneratorArch> {
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
fn write_generator(ckpt: &Checkpoint, out: &Path) -> Result<()> {
    let names: Vec<String> = ckpt
        .names()
        .into_iter()
        .filter(|n| n.starts_with(GENERATOR_PREFIX) || *n == LATENT_AVG)
        .map(str::to_owned)
        .collect();
    let tensors = names
        .into_iter()
        .map(|name| {
            let shape = ckpt.shape(&name).unwrap_or_default();
            TensorToWrite {
                name: name.clone(),
                shape: shape.clone(),
                values: Box::new(move || Ok(Cow::Owned(ckpt.values(&name, &shape)?))),
            }
        })
        .collect();
    st::write(out, tensors, &meta("stylegan2-generator"))
}

/// Copies `w2sub34.*` and `sub2w.*` into the native mappings file.
fn write_mappings(source: &Path, out: &Path) -> Result<()> {
    let file = TorchFile::open(source)?;
    let root = file.root().clone();
    let state = match root.get("state_dict") {
        Some(sd @ Value::Dict(_)) => sd,
        _ => root,
    };
    let tensors: Vec<_> = state
        .tensors_by_name()
        .into_iter()
        .filter(|(n, _)| MAPPING_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    let file = std::cell::RefCell::new(file);
    let to_write = tensors
        .iter()
        .map(|(name, t)| {
            let file = &file;
            TensorToWrite {
                name: name.clone(),
                shape: t.shape.clone(),
                values: Box::new(move || Ok(Cow::Owned(file.borrow_mut().read_f32(t, name)?))),
            }
        })
        .collect();
    st::write(out, to_write, &meta("stylegene-mappings"))
}

/// The e4e encoder is not run by famsim (photo founders are future work); its
/// file is checked to be the e4e checkpoint of a model of this size, so the
/// record in `model.ron` means something.
fn check_e4e(path: &Path, shape: GeneShape) -> Result<()> {
    // e4e's checkpoint carries its training options (strings, numbers), so it
    // is read with the pickle reader that tolerates non-tensor extras.
    let file = TorchFile::open(path)?;
    let tensors = file.root().tensors_by_name();
    let found = tensors
        .get(LATENT_AVG)
        .map(|t| t.shape.clone())
        .ok_or_else(|| {
            Error::input(format!(
                "{}: missing tensor `latent_avg`; is this e4e_ffhq_encode.pt?",
                path.display()
            ))
        })?;
    if found != [shape.layers, shape.width] && found != [shape.width] {
        return Err(Error::input(format!(
            "{}: tensor `latent_avg` has shape {found:?}, expected [{}, {}] for this model",
            path.display(),
            shape.layers,
            shape.width
        )));
    }
    Ok(())
}

fn meta(what: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("famsim".to_string(), what.to_string());
    m
}
