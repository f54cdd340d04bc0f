//! Face descriptors: dlib's 128-D ResNet face descriptor
//! (`dlib_face_recognition_resnet_model_v1.dat`, 99.38 % on LFW), computed
//! the way dlib's `face_recognition_model_v1.compute_face_descriptor(img,
//! shape)` computes it with jitter off:
//!
//! 1. a face box: SeetaFace's detector ([`crate::align::detect`]), largest
//!    face, or a box the caller gives;
//! 2. dlib's 5-point landmarks (`shape_predictor_5_face_landmarks.dat`,
//!    [`crate::dlib::ShapePredictor`]), rounded to pixels as dlib's
//!    `full_object_detection` holds them;
//! 3. the 150×150 chip with 25 % padding ([`chip`]);
//! 4. the network ([`resnet`]) on any [`ModelBackend`], loaded through the
//!    weights layer ([`Weights::dlib_dnn`]).
//!
//! Two descriptors of one person lie within about 0.6 of each other
//! (Euclidean), dlib's threshold.

pub mod chip;
pub mod resnet;

use crate::align::detect::DetectorModel;
use crate::dlib::shape_predictor::dlib_round;
use crate::dlib::{FaceBox, ShapePredictor};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::model::backend::{CpuBackend, ModelBackend};
use crate::model::stylegene::weights::ModelInfo;
use crate::weights::{StateDict, Weights};
use burn::tensor::Tensor;
use rayon::prelude::*;
use resnet::{DescriptorNet, CHIP_SIZE, DESCRIPTOR_LEN};
use std::path::{Path, PathBuf};

pub use chip::ChipDetails;

/// The padding around the face in a chip, as a fraction of the chip
/// (dlib's `compute_face_descriptor` default).
pub const CHIP_PADDING: f64 = 0.25;
/// Chips per network call: bounds the activations' memory (about 20 MB a chip).
pub const BATCH: usize = 16;

/// The file names famsim gives the models in a weights directory
/// (`famsim weights import --descriptor … --landmarks5 … --detector …`).
pub use crate::model::stylegene::weights::{DESCRIPTOR_FILE, DETECTOR_FILE, LANDMARKS5_FILE};

/// A 128-D face descriptor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Descriptor(pub [f32; DESCRIPTOR_LEN]);

impl Descriptor {
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// Euclidean distance (dlib's measure: < 0.6 means the same person).
    pub fn euclidean(&self, other: &Descriptor) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt() as f32
    }

    /// Cosine similarity, in [−1, 1]; 0 when either vector is zero.
    pub fn cosine(&self, other: &Descriptor) -> f32 {
        let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in self.0.iter().zip(&other.0) {
            dot += a as f64 * b as f64;
            na += a as f64 * a as f64;
            nb += b as f64 * b as f64;
        }
        if na == 0.0 || nb == 0.0 {
            0.0
        } else {
            (dot / (na.sqrt() * nb.sqrt())) as f32
        }
    }
}

/// Where the three model files are.
#[derive(Clone, Debug)]
pub struct DescriberFiles {
    /// `dlib_face_recognition_resnet_model_v1.dat` (or `.dat.bz2`).
    pub descriptor: PathBuf,
    /// `shape_predictor_5_face_landmarks.dat` (or `.dat.bz2`).
    pub landmarks5: PathBuf,
    /// SeetaFace's `seeta_fd_frontal_v1.0.bin`.
    pub detector: PathBuf,
}

impl DescriberFiles {
    /// The three models imported into a weights directory (`famsim weights
    /// import --descriptor FILE --landmarks5 FILE --detector FILE`); an input
    /// error names the flag of any that is missing.
    pub fn in_weights_dir(dir: &Path) -> Result<DescriberFiles> {
        let info = ModelInfo::read(dir)?;
        let need = |file: &Option<String>, what: &str, flag: &str| {
            file.as_ref().map(|f| dir.join(f)).ok_or_else(|| {
                Error::input(format!(
                    "{}: no {what} was imported; add it with `famsim weights import … {flag} FILE` \
                     (see weights/README.md)",
                    dir.display()
                ))
            })
        };
        Ok(DescriberFiles {
            descriptor: need(&info.descriptor, "face descriptor", "--descriptor")?,
            landmarks5: need(&info.landmarks5, "5-point landmark model", "--landmarks5")?,
            detector: need(&info.detector, "face detector", "--detector")?,
        })
    }
}

/// A face found and aligned: its box, dlib's 5 landmarks and the chip.
#[derive(Clone, Debug)]
pub struct AlignedFace {
    pub face: FaceBox,
    pub landmarks: [[i64; 2]; 5],
    pub chip: Image,
}

/// Computes descriptors of faces in photos on backend `B`.
pub struct Describer<B: ModelBackend> {
    net: DescriptorNet<B>,
    landmarks: ShapePredictor,
    detector: DetectorModel,
}

/// The describer on the CPU backend (gemm convolutions).
pub type FaceDescriber = Describer<CpuBackend>;

impl FaceDescriber {
    /// Loads the three models for the CPU.
    pub fn load(files: &DescriberFiles) -> Result<Self> {
        Describer::load_on(files, &Default::default())
    }
}

impl<B: ModelBackend> Describer<B> {
    /// Loads the three models, the network onto `device`.
    pub fn load_on(files: &DescriberFiles, device: &B::Device) -> Result<Self> {
        let net = load_net::<B>(&files.descriptor, device)?;
        let landmarks = ShapePredictor::load(&files.landmarks5)?;
        if landmarks.parts() != 5 {
            return Err(Error::input(format!(
                "{}: a {}-point shape predictor; the face descriptor needs dlib's 5-point model (shape_predictor_5_face_landmarks.dat)",
                files.landmarks5.display(),
                landmarks.parts()
            )));
        }
        let detector = DetectorModel::load(&files.detector)?;
        Ok(Describer {
            net,
            landmarks,
            detector,
        })
    }

    /// The largest face SeetaFace finds in `image`, if any.
    pub fn detect(&self, image: &Image) -> Option<FaceBox> {
        self.detector
            .detector()
            .detect(image)
            .first()
            .map(|d| d.face)
    }

    /// dlib's landmarks and chip for the face in `face`.
    pub fn align(&self, image: &Image, face: FaceBox) -> Result<AlignedFace> {
        let points = dlib_round(&self.landmarks.predict(image, face)?);
        let landmarks: [[i64; 2]; 5] = points
            .try_into()
            .map_err(|_| Error::internal("the 5-point model gave another count"))?;
        let details = chip::face_chip_details(&landmarks, CHIP_SIZE, CHIP_PADDING)?;
        let chip = chip::extract_chip(image, &details)?;
        Ok(AlignedFace {
            face,
            landmarks,
            chip,
        })
    }

    /// Descriptors of 150×150 chips, in order.
    pub fn describe_chips(&self, chips: &[&Image]) -> Result<Vec<Descriptor>> {
        let mut out = Vec::with_capacity(chips.len());
        for group in chips.chunks(BATCH) {
            let pixels: Vec<&[u8]> = group
                .iter()
                .map(|c| {
                    if c.width as usize != CHIP_SIZE || c.height as usize != CHIP_SIZE {
                        Err(Error::internal(format!(
                            "a chip of {}×{}; the network takes {CHIP_SIZE}×{CHIP_SIZE}",
                            c.width, c.height
                        )))
                    } else {
                        Ok(c.rgb.as_slice())
                    }
                })
                .collect::<Result<_>>()?;
            let y: Tensor<B, 2> = self.net.forward(self.net.input(&pixels));
            let values: Vec<f32> = y
                .into_data()
                .into_vec()
                .map_err(|e| Error::internal(format!("descriptor values: {e:?}")))?;
            out.extend(
                values
                    .chunks_exact(DESCRIPTOR_LEN)
                    .map(|v| Descriptor(v.try_into().expect("chunks of DESCRIPTOR_LEN"))),
            );
        }
        Ok(out)
    }

    /// The descriptor of the face in `face` (a box the caller found).
    pub fn describe_face(&self, image: &Image, face: FaceBox) -> Result<Descriptor> {
        let aligned = self.align(image, face)?;
        Ok(self.describe_chips(&[&aligned.chip])?[0])
    }

    /// The descriptor of the largest face in `image`; `None` when no face is
    /// detected.
    pub fn describe(&self, image: &Image) -> Result<Option<Descriptor>> {
        Ok(self.describe_batch(std::slice::from_ref(image))?.remove(0))
    }

    /// [`Describer::describe`] over many images: detection and alignment run
    /// in parallel, the network in batches of [`BATCH`].
    pub fn describe_batch(&self, images: &[Image]) -> Result<Vec<Option<Descriptor>>> {
        let aligned: Vec<Option<AlignedFace>> = images
            .par_iter()
            .map(|image| {
                self.detect(image)
                    .map(|face| self.align(image, face))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let chips: Vec<&Image> = aligned.iter().flatten().map(|a| &a.chip).collect();
        let mut descriptors = self.describe_chips(&chips)?.into_iter();
        Ok(aligned
            .iter()
            .map(|a| a.as_ref().and_then(|_| descriptors.next()))
            .collect())
    }
}

/// Loads the network from a dlib file through the weights layer.
pub fn load_net<B: ModelBackend>(path: &Path, device: &B::Device) -> Result<DescriptorNet<B>> {
    let weights = Weights::dlib_dnn(path)?;
    DescriptorNet::load(StateDict::root(
        &weights,
        "dlib's face-descriptor network (dnn_face_recognition_ex.cpp's anet_type)",
        device,
    ))
}
