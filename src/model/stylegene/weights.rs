//! A weights directory, as `famsim weights import` writes it:
//!
//! | file | what |
//! |---|---|
//! | `model.ron` | the architecture inferred from the checkpoints, and the name, size and SHA-256 of every source and native file |
//! | `generator.safetensors` | StyleGAN2 `g_ema.*` and `latent_avg`, under their PyTorch names |
//! | `mappings.safetensors` | StyleGene `w2sub34.*` and `sub2w.*`, under their PyTorch names |
//! | `photo_encoder.safetensors` | e4e's `encoder.*` and `latent_avg`, under their PyTorch names (optional) |
//! | `gene_pool.safetensors` | the gene pool: per key "age-gender-race", `KEY/mean` and `KEY/logvar` of shape `[entries, N, 34, W]` (optional) |
//! | `shape_predictor_68_face_landmarks.dat[.bz2]` | dlib's 68-point landmark model for `famsim align`, copied as given (optional) |
//! | `seeta_fd_frontal_v1.0.bin` | SeetaFace's face detector for `famsim align` and the face descriptor, copied as given (optional) |
//! | `dlib_face_recognition_resnet_model_v1.dat[.bz2]` | dlib's 128-D face descriptor network (`famsim::describe`), copied as given (optional) |
//! | `shape_predictor_5_face_landmarks.dat[.bz2]` | dlib's 5-point landmark model for the descriptor's chips, copied as given (optional) |
//! | `attributes.safetensors` | FairFace's ResNet-34 (`res34_fair_align_multi_7_20190809.pt`) under torchvision's names: race, gender and age of photographed parents (optional) |
//!
//! Tensors keep their PyTorch names so the same loaders read the official
//! files and the native ones, and a user can compare them in Python.

use crate::attributes::PoolKey;
use crate::error::{Error, Result};
use crate::genetics::genome::{GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::region::REGION_COUNT;
use crate::io::safetensors::{self as st, TensorToWrite};
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const MODEL_FILE: &str = "model.ron";
pub const GENERATOR_FILE: &str = "generator.safetensors";
pub const MAPPINGS_FILE: &str = "mappings.safetensors";
pub const POOL_FILE: &str = "gene_pool.safetensors";
pub const PHOTO_ENCODER_FILE: &str = "photo_encoder.safetensors";
/// dlib's landmark model as the folder keeps it; `.bz2` is appended when the
/// imported file was compressed (the reader takes either, so it is not unpacked).
pub const LANDMARKS_FILE: &str = "shape_predictor_68_face_landmarks.dat";
/// dlib's face descriptor network, as `weights import --descriptor` names it
/// (`.bz2` kept when the source is compressed).
pub const DESCRIPTOR_FILE: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// dlib's 5-point landmark model, as `weights import --landmarks5` names it.
pub const LANDMARKS5_FILE: &str = "shape_predictor_5_face_landmarks.dat";
pub const DETECTOR_FILE: &str = "seeta_fd_frontal_v1.0.bin";
pub const ATTRIBUTES_FILE: &str = "attributes.safetensors";

/// Version of the directory layout; bumped when a file changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// First W+ layer whose style the method averages from the parents.
///
/// StyleGene sets "the fine layers (8 and up at 1024 px)" of a child to the
/// parents' mean. W+ layer i drives a fixed resolution whatever the output
/// size (layer 0: the 4 px conv; layers 1–2: 8 px; …; layer 8: the second
/// conv of the 64 px block), so layer 8 means "the styles of 64 px and finer"
/// at every size. A model smaller than 64 px has no fine layers.
pub fn fine_layer_start(n_latent: usize) -> usize {
    8.min(n_latent)
}

/// `model.ron`: what a weights directory holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub format_version: u32,
    /// famsim version that imported the files.
    pub famsim_version: String,
    pub generator: GeneratorArch,
    pub mappings: MappingsArch,
    /// The gene pool, when one was imported or built.
    pub pool: Option<PoolInfo>,
    /// The e4e photo encoder, when one was imported (`--e4e`).
    #[serde(default)]
    pub photo_encoder: Option<PhotoEncoderArch>,
    /// File name, in this directory, of dlib's 68-point landmark model, when
    /// one was imported (`--landmarks`); `famsim align --weights` uses it.
    #[serde(default)]
    pub landmarks: Option<String>,
    /// File name, in this directory, of the SeetaFace face detector, when one
    /// was imported (`--detector`); `famsim align --weights` uses it.
    #[serde(default)]
    pub detector: Option<String>,
    /// File name, in this directory, of dlib's face descriptor network, when
    /// one was imported (`--descriptor`); `famsim::describe` uses it.
    #[serde(default)]
    pub descriptor: Option<String>,
    /// File name, in this directory, of dlib's 5-point landmark model, when
    /// one was imported (`--landmarks5`); the face descriptor's chips use it.
    #[serde(default)]
    pub landmarks5: Option<String>,
    /// FairFace, when it was imported (`--fairface`): photographed parents'
    /// race, gender and age.
    #[serde(default)]
    pub attributes: Option<AttributesArch>,
    /// The official files this directory was made from.
    pub sources: Vec<FileRecord>,
    /// The native files in this directory.
    pub files: Vec<FileRecord>,
}

/// StyleGAN2 generator sizes, read from the checkpoint's tensor shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorArch {
    /// Output side in pixels (1024 for FFHQ config-f).
    pub image_size: u32,
    /// Width of z, w and every style (512).
    pub style_dim: usize,
    /// Number of W+ layers, 2·log2(size) − 2 (18 at 1024 px).
    pub n_latent: usize,
    /// Equalised linear layers of the mapping network (8).
    pub n_mlp: usize,
    /// Feature channels per resolution, from 4 px up.
    pub channels: Vec<usize>,
}

/// StyleGene gene-mapping sizes, read from the checkpoint's tensor shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingsArch {
    /// W+ layers N the mappings work on.
    pub n_layers: usize,
    /// Width of a W+ layer.
    pub width: usize,
    /// Mixer blocks of the encoder trunk (`w2sub34`, 8 officially).
    pub encoder_blocks: usize,
    /// Mixer blocks of the decoder (`sub2w`, 6 officially).
    pub decoder_blocks: usize,
}

/// e4e photo-encoder sizes, read from the checkpoint's tensor shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoEncoderArch {
    /// Side of the square photos it takes (256 officially).
    pub input_size: usize,
    /// IR-SE units per backbone stage ([3, 4, 14, 3]: IR-SE-50).
    pub stage_units: Vec<usize>,
}

/// FairFace sizes, read from the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributesArch {
    /// BasicBlocks per ResNet layer ([3, 4, 6, 3]: ResNet-34).
    pub blocks: Vec<usize>,
}

/// Gene-pool summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolInfo {
    pub entries: usize,
    /// Entries per key "age-gender-race".
    pub keys: BTreeMap<String, usize>,
    /// Where it came from: "geneFactorPool.pkl import" or "built from latents".
    pub origin: String,
}

/// A file with its role, size and checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// "stylegan2", "stylegene", "gene_pool", "e4e", "landmarks", "detector", "descriptor", "landmarks5", "fairface", "latents", "attributes" (a pool's CSV), or a native file's role.
    pub role: String,
    /// File name (sources: as given on the command line).
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

impl FileRecord {
    /// Measures a file: size and SHA-256, streamed.
    pub fn of(role: &str, path: &Path) -> Result<FileRecord> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(FileRecord {
            role: role.to_string(),
            name: path.display().to_string(),
            bytes,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

impl ModelInfo {
    /// Reads `DIR/model.ron`.
    pub fn read(dir: &Path) -> Result<ModelInfo> {
        let path = dir.join(MODEL_FILE);
        if !dir.is_dir() {
            return Err(Error::input(format!(
                "weights directory {} does not exist; make it with `famsim weights import` (see weights/README.md)",
                dir.display()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::input(format!(
                "{}: cannot read ({e}); is {} a directory written by `famsim weights import`?",
                path.display(),
                dir.display()
            ))
        })?;
        let info: ModelInfo =
            ron::from_str(&text).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        if info.format_version != FORMAT_VERSION {
            return Err(Error::input(format!(
                "{}: weights format {} is not the format {FORMAT_VERSION} this famsim reads; import the files again",
                path.display(),
                info.format_version
            )));
        }
        Ok(info)
    }

    /// Writes `DIR/model.ron` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| Error::internal(format!("model.ron: {e}")))?;
        crate::io::atomic::write_atomic(
            &dir.join(MODEL_FILE),
            format!("// Written by `famsim weights import`.\n{text}\n").as_bytes(),
        )
    }

    /// The genome shape of this model.
    pub fn gene_shape(&self) -> GeneShape {
        GeneShape {
            layers: self.mappings.n_layers,
            width: self.mappings.width,
        }
    }

    /// A human-readable summary (`famsim weights info`).
    pub fn describe(&self, dir: &Path) -> String {
        use std::fmt::Write;
        let g = &self.generator;
        let m = &self.mappings;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: StyleGene weights (format {})",
            dir.display(),
            self.format_version
        );
        let _ = writeln!(
            s,
            "  generator: StyleGAN2 {0}×{0} px, style width {1}, {2} W+ layers, {3} mapping layers, channels {4:?}",
            g.image_size, g.style_dim, g.n_latent, g.n_mlp, g.channels
        );
        let _ = writeln!(
            s,
            "  mappings:  genes [{}, 34, {}]; encoder {} mixer blocks, decoder {}",
            m.n_layers, m.width, m.encoder_blocks, m.decoder_blocks
        );
        let _ = writeln!(
            s,
            "  fine layers (averaged from the parents): {} and up",
            fine_layer_start(g.n_latent)
        );
        optional_part(
            &mut s,
            "photo encoder",
            self.photo_encoder.as_ref().map(|e| {
                format!(
                    "e4e, {0}×{0} px aligned faces, IR-SE units per stage {1:?}",
                    e.input_size, e.stage_units
                )
            }),
            "founders from photos need `weights import --e4e`",
        );
        optional_part(
            &mut s,
            "landmarks",
            self.landmarks
                .as_ref()
                .map(|f| format!("dlib 68 points, {f}")),
            "`famsim align --weights` needs `weights import --landmarks`",
        );
        optional_part(
            &mut s,
            "face detector",
            self.detector.as_ref().map(|f| format!("SeetaFace, {f}")),
            "`famsim align --weights` needs `weights import --detector`",
        );
        optional_part(
            &mut s,
            "face descriptor",
            self.descriptor
                .as_ref()
                .map(|f| format!("dlib ResNet, 128-D, {f}")),
            "face descriptors need `weights import --descriptor`",
        );
        optional_part(
            &mut s,
            "descriptor landmarks",
            self.landmarks5
                .as_ref()
                .map(|f| format!("dlib 5 points, {f}")),
            "face descriptors need `weights import --landmarks5`",
        );
        optional_part(
            &mut s,
            "attributes",
            self.attributes.as_ref().map(|a| {
                format!(
                    "FairFace ResNet (blocks {:?}), race, gender and age of photographed parents, {ATTRIBUTES_FILE}",
                    a.blocks
                )
            }),
            "photographed parents' race, sex and age need `weights import --fairface`",
        );
        match &self.pool {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "  gene pool: {} entries under {} keys ({})",
                    p.entries,
                    p.keys.len(),
                    p.origin
                );
                for (k, n) in &p.keys {
                    let _ = writeln!(s, "    {k}: {n}");
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "  gene pool: none (import one with --gene-pool or make one with `famsim pool build`)"
                );
            }
        }
        let _ = writeln!(s, "  sources:");
        for f in &self.sources {
            let _ = writeln!(
                s,
                "    {:<10} {} ({} bytes, sha256 {})",
                f.role, f.name, f.bytes, f.sha256
            );
        }
        let _ = writeln!(s, "  files:");
        for f in &self.files {
            let present = match std::fs::metadata(dir.join(&f.name)) {
                Ok(m) if m.len() == f.bytes => "ok",
                Ok(_) => "SIZE DIFFERS",
                Err(_) => "MISSING",
            };
            let _ = writeln!(s, "    {:<24} {:>12} bytes  {present}", f.name, f.bytes);
        }
        s
    }

    /// Replaces (or adds) the record of a native file.
    pub fn set_file(&mut self, record: FileRecord) {
        self.files.retain(|f| f.name != record.name);
        self.files.push(record);
    }
}

/// Writes a gene pool as `KEY/mean` and `KEY/logvar` tensors `[entries, N, 34, W]`.
pub fn write_pool(path: &Path, pool: &GenePool) -> Result<()> {
    let shape = pool
        .shape()
        .ok_or_else(|| Error::input("the gene pool is empty; nothing to write"))?;
    let mut tensors = Vec::new();
    for (key, genomes) in pool.buckets() {
        if genomes.is_empty() {
            continue;
        }
        let dims = vec![genomes.len(), shape.layers, REGION_COUNT, shape.width];
        for (part, pick) in [("mean", true), ("logvar", false)] {
            tensors.push(TensorToWrite {
                name: format!("{key}/{part}"),
                shape: dims.clone(),
                values: Box::new(move || {
                    let mut all = Vec::with_capacity(genomes.len() * shape.len());
                    for g in genomes {
                        all.extend_from_slice(if pick { &g.mean } else { &g.logvar });
                    }
                    Ok(std::borrow::Cow::Owned(all))
                }),
            });
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert("famsim".to_string(), "gene-pool".to_string());
    st::write(path, tensors, &meta)
}

/// Reads a gene pool written by [`write_pool`]; every entry must be [`GeneShape`] `want`.
pub fn read_pool(path: &Path, want: GeneShape) -> Result<GenePool> {
    let file = Weights::safetensors(path)?;
    let bad = |msg: String| file.error(msg);
    let names: Vec<String> = file.names_under_owned("");
    let mut pool = GenePool::new();
    for name in &names {
        let Some(key_text) = name.strip_suffix("/mean") else {
            if !name.ends_with("/logvar") {
                return Err(bad(format!("unexpected tensor `{name}` in a gene pool")));
            }
            continue;
        };
        let key: PoolKey = key_text
            .parse()
            .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        let logvar_name = format!("{key_text}/logvar");
        let shape = file.shape(name).unwrap_or_default();
        let expected = [
            shape.first().copied().unwrap_or(0),
            want.layers,
            REGION_COUNT,
            want.width,
        ];
        if shape != expected {
            return Err(bad(format!(
                "tensor `{name}` has shape {shape:?}, expected [entries, {}, 34, {}] for this model",
                want.layers, want.width
            )));
        }
        if file.shape(&logvar_name).as_ref() != Some(&shape) {
            return Err(bad(format!(
                "tensor `{logvar_name}` is missing or not shaped like `{name}` {shape:?}"
            )));
        }
        let mean = file.read(name)?;
        let logvar = file.read(&logvar_name)?;
        for (m, v) in mean
            .chunks_exact(want.len())
            .zip(logvar.chunks_exact(want.len()))
        {
            pool.insert(
                key,
                Genome::from_parts(want, m.to_vec(), v.to_vec()).map_err(bad)?,
            );
        }
    }
    if pool.is_empty() {
        return Err(bad("the gene pool holds no entries".into()));
    }
    Ok(pool)
}

/// Summary of a pool for `model.ron`.
pub fn pool_info(pool: &GenePool, origin: &str) -> PoolInfo {
    PoolInfo {
        entries: pool.len(),
        keys: pool
            .buckets()
            .map(|(k, v)| (k.to_string(), v.len()))
            .collect(),
        origin: origin.to_string(),
    }
}

/// Resolves a weights path as the scenario section says: relative to the
/// current directory when it exists there, else to the scenario's folder.
pub fn resolve_weights_dir(weights: &str, scenario_path: &Path) -> PathBuf {
    let given = PathBuf::from(weights);
    if given.is_absolute() || given.exists() {
        return given;
    }
    match scenario_path.parent() {
        Some(folder) if folder.join(&given).exists() => folder.join(given),
        _ => given,
    }
}

/// One `weights info` line for an optional part: what was imported, or how
/// to import it.
fn optional_part(s: &mut String, label: &str, present: Option<String>, missing: &str) {
    use std::fmt::Write;
    let _ = match present {
        Some(what) => writeln!(s, "  {label}: {what}"),
        None => writeln!(s, "  {label}: none ({missing})"),
    };
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{AgeGroup, Ancestry, Sex};

    /// Rewrites `dir`'s model file without its `key:` block, as a
    /// directory imported before that part existed was written.
    fn drop_block(dir: &Path, key: &str) {
        let path = dir.join(MODEL_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find(&format!("    {key}:")).expect("written");
        let close = "\n    )),\n";
        let end = start + text[start..].find(close).expect("closed") + close.len();
        std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    }

    fn info() -> ModelInfo {
        ModelInfo {
            format_version: FORMAT_VERSION,
            famsim_version: "test".into(),
            generator: GeneratorArch {
                image_size: 32,
                style_dim: 16,
                n_latent: 8,
                n_mlp: 2,
                channels: vec![16, 16, 8, 8],
            },
            mappings: MappingsArch {
                n_layers: 8,
                width: 16,
                encoder_blocks: 2,
                decoder_blocks: 1,
            },
            pool: None,
            photo_encoder: Some(PhotoEncoderArch {
                input_size: 64,
                stage_units: vec![1, 2, 2, 1],
            }),
            landmarks: Some(LANDMARKS_FILE.to_string()),
            detector: Some(DETECTOR_FILE.to_string()),
            descriptor: Some(DESCRIPTOR_FILE.to_string()),
            landmarks5: Some(LANDMARKS5_FILE.to_string()),
            attributes: Some(AttributesArch {
                blocks: vec![3, 4, 6, 3],
            }),
            sources: vec![],
            files: vec![],
        }
    }

    #[test]
    fn model_ron_round_trip_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = info();
        std::fs::write(dir.path().join("x.bin"), b"hello").unwrap();
        i.sources
            .push(FileRecord::of("stylegan2", &dir.path().join("x.bin")).unwrap());
        assert_eq!(
            i.sources[0].sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        i.write(dir.path()).unwrap();
        assert_eq!(ModelInfo::read(dir.path()).unwrap(), i);
        assert!(i.describe(dir.path()).contains("32×32 px"));
        assert!(i
            .describe(dir.path())
            .contains("photo encoder: e4e, 64×64 px"));

        // A directory imported before photo encoders existed has no
        // `photo_encoder` line; it still reads, without one.
        drop_block(dir.path(), "photo_encoder");
        let old = ModelInfo::read(dir.path()).unwrap();
        assert_eq!(old.photo_encoder, None);
        assert_eq!(old.generator, i.generator);
        i.write(dir.path()).unwrap();

        // Nor, before FairFace, an `attributes` block.
        assert!(i
            .describe(dir.path())
            .contains("attributes: FairFace ResNet (blocks [3, 4, 6, 3])"));
        drop_block(dir.path(), "attributes");
        let old = ModelInfo::read(dir.path()).unwrap();
        assert_eq!(old.attributes, None);
        assert!(old
            .describe(dir.path())
            .contains("need `weights import --fairface`"));
        i.write(dir.path()).unwrap();

        // Nor, before `famsim align --weights`, `landmarks` and `detector` lines.
        assert!(i
            .describe(dir.path())
            .contains("landmarks: dlib 68 points, shape_predictor_68_face_landmarks.dat"));
        assert!(i
            .describe(dir.path())
            .contains("face detector: SeetaFace, seeta_fd_frontal_v1.0.bin"));
        let text = std::fs::read_to_string(dir.path().join(MODEL_FILE)).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("    landmarks:") && !l.starts_with("    detector:"))
            .collect();
        assert_eq!(kept.len(), text.lines().count() - 2, "{text}");
        std::fs::write(dir.path().join(MODEL_FILE), kept.join("\n")).unwrap();
        let old = ModelInfo::read(dir.path()).unwrap();
        assert_eq!((&old.landmarks, &old.detector), (&None, &None));
        assert_eq!(old.photo_encoder, i.photo_encoder);
        assert!(old
            .describe(dir.path())
            .contains("needs `weights import --landmarks`"));
        i.write(dir.path()).unwrap();

        let err = ModelInfo::read(&dir.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("famsim weights import"), "{err}");
        std::fs::write(dir.path().join(MODEL_FILE), "(format_version: 1,").unwrap();
        let err = ModelInfo::read(dir.path()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("model.ron"), "{err}");
    }

    #[test]
    fn pool_round_trip_and_shape_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(POOL_FILE);
        let shape = GeneShape {
            layers: 2,
            width: 3,
        };
        let mut pool = GenePool::new();
        let key = PoolKey {
            age: AgeGroup::Age20To29,
            sex: Sex::Female,
            ancestry: Ancestry::EastAsian,
        };
        for k in 0..3 {
            let mean = (0..shape.len()).map(|i| (i + 100 * k) as f32).collect();
            let logvar = (0..shape.len()).map(|i| -(i as f32) / 10.0).collect();
            pool.insert(key, Genome::from_parts(shape, mean, logvar).unwrap());
        }
        write_pool(&p, &pool).unwrap();
        let back = read_pool(&p, shape).unwrap();
        assert_eq!(back.bucket(&key), pool.bucket(&key));
        assert_eq!(pool_info(&back, "test").keys["20-29-female-East Asian"], 3);

        let err = read_pool(
            &p,
            GeneShape {
                layers: 3,
                width: 3,
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("expected [entries, 3, 34, 3]"),
            "{err}"
        );
    }

    #[test]
    fn fine_layers_are_64_px_and_finer() {
        assert_eq!(fine_layer_start(18), 8);
        assert_eq!(fine_layer_start(14), 8);
        assert_eq!(fine_layer_start(6), 6);
    }
}
