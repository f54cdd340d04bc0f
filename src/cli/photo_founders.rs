//! What `famsim check` and `famsim run` hand the scenario loader for founders
//! from photos: FairFace (and the photo aligner) from the scenario's weights
//! folder, loaded on the first photo that needs them, on the scenario's
//! `device` like the run's other networks. `check` alone falls back to the
//! CPU, with a note, when that device cannot be used here: a scenario for a
//! GPU machine can then be checked on a laptop, and the predictions it shows
//! are the device's to within float32 rounding (the parity tests'
//! 1e-4 on the logits).

use crate::attributes::AttributeScores;
use crate::model::stylegene::face_model::{load, LoadOptions, NeuralFaceModel, Parts};
use crate::model::stylegene::weights::{resolve_weights_dir, ModelInfo};
use crate::model_spec::{DeviceSpec, ModelSpec};
use crate::scenario::PhotoAttributes;
use std::cell::OnceCell;
use std::path::Path;

/// FairFace on the scenario's weights folder.
#[derive(Default)]
pub struct FairFacePhotos {
    /// The model with FairFace, once a photo asked for it (None: the folder
    /// has no FairFace, so nothing is predicted).
    model: OnceCell<Result<Option<Box<dyn NeuralFaceModel>>, String>>,
    /// Predict on the CPU when the scenario's device cannot be used here
    /// (`check`); `run` needs the device anyway and stops instead.
    cpu_fallback: bool,
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

    fn model(
        &self,
        spec: &ModelSpec,
        scenario: &Path,
    ) -> Result<Option<&dyn NeuralFaceModel>, String> {
        let loaded = self.model.get_or_init(|| {
            let ModelSpec::StyleGene(spec) = spec else {
                return Ok(None);
            };
            let dir = resolve_weights_dir(&spec.weights, scenario);
            // A missing or broken folder is reported by its own checks.
            let Ok(info) = ModelInfo::read(&dir) else {
                return Ok(None);
            };
            if info.attributes.is_none() {
                return Ok(None);
            }
            let options = LoadOptions {
                device: spec.device,
                batch: 1,
                truncation: 1.0,
                with_pool: false,
                image_size: None,
                parts: Parts::Attributes,
            };
            // Parts::Attributes loads no network up front, so what fails
            // here is the device (or the folder, which fails on the CPU too).
            let loaded = match load(&dir, options) {
                Err(e) if self.cpu_fallback && spec.device != DeviceSpec::Cpu => {
                    eprintln!(
                        "note: {e}; `famsim check` predicts photo founders' race, sex and age \
                         on the CPU instead"
                    );
                    load(
                        &dir,
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
}

impl PhotoAttributes for FairFacePhotos {
    fn predict(
        &self,
        model: &ModelSpec,
        scenario: &Path,
        photo: &Path,
        aligned: bool,
    ) -> Result<Option<AttributeScores>, String> {
        let Some(model) = self.model(model, scenario)? else {
            return Ok(None);
        };
        let crop = if aligned {
            crate::io::photo::read_photo(photo).map_err(|e| e.to_string())?
        } else {
            let found = model.align_photo(photo, 1).map_err(|e| e.to_string())?;
            for warning in &found.warnings {
                eprintln!("warning: {warning}");
            }
            found.aligned.image
        };
        let scores = model.attributes(&[&crop]).map_err(|e| e.to_string())?;
        Ok(scores.into_iter().next())
    }
}
