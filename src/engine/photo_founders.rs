//! What `famsim check`, `famsim run` and `famsim serve` hand the scenario
//! loader for founders from photos: FairFace and the photo aligner from the
//! scenario's weights folder, loaded on the first photo that needs them, on
//! the scenario's `device` like the run's other networks (the server's
//! upload uses the CPU). `check` alone falls back to the CPU, with a note,
//! when that device cannot be used here: a scenario for a GPU machine can
//! then be checked on a laptop, and the predictions it shows are the
//! device's to within float32 rounding (the parity tests' 1e-4 on the
//! logits). The scenario sits below the model and cannot load it itself;
//! the designer's photo upload asks the same object ([`FairFacePhotos::examine`]),
//! so a photo is aligned and classified one way everywhere.

use crate::align::pipeline::AlignedPhoto;
use crate::attributes::AttributeScores;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::model::stylegene::face_model::{load, LoadOptions, NeuralFaceModel, Parts};
use crate::model::stylegene::weights::{resolve_weights_dir, ModelInfo};
use crate::model_spec::{DeviceSpec, ModelSpec};
use crate::scenario::PhotoAttributes;
use std::path::Path;
use std::sync::OnceLock;

/// FairFace and the aligner of one weights folder (the first one asked
/// for: a scenario names one, a server has one).
#[derive(Default)]
pub struct FairFacePhotos {
    /// The folder's photo networks, once a photo asked for them (None: the
    /// folder cannot be read as a weights folder; its own checks say why).
    model: OnceLock<std::result::Result<Option<Box<dyn NeuralFaceModel>>, String>>,
    /// Predict on the CPU when the scenario's device cannot be used here
    /// (`check`); `run` needs the device anyway and stops instead.
    cpu_fallback: bool,
}

/// A founder's photo as the engine will read it.
pub struct FounderPhoto {
    /// The aligned face crop (the photo itself for an aligned crop).
    pub crop: Image,
    /// The photo's upright size (EXIF orientation applied).
    pub width: u32,
    pub height: u32,
    /// What the aligner wants the user to know (several faces, a small face).
    pub warnings: Vec<String>,
    /// FairFace's prediction; None when the folder has no FairFace.
    pub scores: Option<AttributeScores>,
}

impl FairFacePhotos {
    /// For `famsim check`: the scenario's device, or the CPU with a note when
    /// that device cannot be used on this machine.
    pub fn for_check() -> FairFacePhotos {
        FairFacePhotos {
            cpu_fallback: true,
            ..FairFacePhotos::default()
        }
    }

    fn model_in(
        &self,
        dir: &Path,
        device: DeviceSpec,
    ) -> std::result::Result<Option<&dyn NeuralFaceModel>, String> {
        let loaded = self.model.get_or_init(|| {
            // A missing or broken folder is reported by its own checks.
            if ModelInfo::read(dir).is_err() {
                return Ok(None);
            }
            let options = LoadOptions {
                device,
                batch: 1,
                truncation: 1.0,
                with_pool: false,
                image_size: None,
                // Nothing up front: FairFace and the aligner load on first use.
                parts: Parts::Attributes,
            };
            // Parts::Attributes loads no network up front, so what fails
            // here is the device (or the folder, which fails on the CPU too).
            let loaded = match load(dir, options) {
                Err(e) if self.cpu_fallback && device != DeviceSpec::Cpu => {
                    eprintln!(
                        "note: {e}; `famsim check` predicts photo founders' race, sex and age \
                         on the CPU instead"
                    );
                    load(
                        dir,
                        LoadOptions {
                            device: DeviceSpec::Cpu,
                            ..options
                        },
                    )
                }
                loaded => loaded,
            };
            loaded.map(Some).map_err(|e| e.to_string())
        });
        match loaded {
            Ok(model) => Ok(model.as_deref()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Aligns `photo` with the weights folder `dir`'s aligner (or reads it
    /// as the crop when `aligned`) and asks FairFace, when the folder has
    /// it: exactly what a `Photo(…)` (or `AlignedPhoto(…)`) founder goes
    /// through. A photo without a face is an input error naming `photo`.
    pub fn examine(&self, dir: &Path, photo: &Path, aligned: bool) -> Result<FounderPhoto> {
        let model = self
            .model_in(dir, DeviceSpec::Cpu)
            .map_err(Error::input)?
            .ok_or_else(|| {
                Error::input(format!(
                    "{}: not a weights folder (see weights/README.md)",
                    dir.display()
                ))
            })?;
        read_founder_photo(model, photo, aligned)
    }
}

fn read_founder_photo(
    model: &dyn NeuralFaceModel,
    photo: &Path,
    aligned: bool,
) -> Result<FounderPhoto> {
    let (crop, width, height, warnings) = if aligned {
        let crop = crate::io::photo::read_photo(photo)?;
        let (w, h) = (crop.width, crop.height);
        (crop, w, h, Vec::new())
    } else {
        let found: AlignedPhoto = model.align_photo(photo, 1)?;
        (
            found.aligned.image,
            found.photo.width,
            found.photo.height,
            found.warnings,
        )
    };
    let scores = if model.has_attributes() {
        model.attributes(&[&crop])?.into_iter().next()
    } else {
        None
    };
    Ok(FounderPhoto {
        crop,
        width,
        height,
        warnings,
        scores,
    })
}

impl PhotoAttributes for FairFacePhotos {
    fn predict(
        &self,
        model: &ModelSpec,
        scenario: &Path,
        photo: &Path,
        aligned: bool,
    ) -> std::result::Result<Option<AttributeScores>, String> {
        let ModelSpec::StyleGene(spec) = model else {
            return Ok(None);
        };
        let dir = resolve_weights_dir(&spec.weights, scenario);
        let Some(model) = self.model_in(&dir, spec.device)? else {
            return Ok(None);
        };
        if !model.has_attributes() {
            return Ok(None);
        }
        let found = read_founder_photo(model, photo, aligned).map_err(|e| e.to_string())?;
        for warning in &found.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(found.scores)
    }
}
