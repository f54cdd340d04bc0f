//! The model flags every research command shares (`render`, `genes`,
//! `sample`, `invert`, `child`, `pool`).

use crate::error::Result;
use crate::model::stylegene::face_model::{load, LoadOptions, NeuralFaceModel, Parts};
use crate::model_spec::DeviceSpec;
use std::path::PathBuf;

/// Options every research command shares: where the weights are and where to run.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// A directory written by `famsim weights import`.
    #[arg(long, value_name = "DIR")]
    pub weights: PathBuf,
    /// cpu, cuda[:N] or wgpu[:N] (builds with `--features cuda` or
    /// `--features wgpu`; `famsim devices` lists them).
    #[arg(long, default_value = "cpu", value_parser = crate::model::stylegene::device::parse_device)]
    pub device: DeviceSpec,
}

impl ModelArgs {
    /// Loads the networks a command needs; `with_pool` for commands that draw
    /// from the gene pool (the others skip reading it, which for the official
    /// pool takes a while).
    pub fn load(&self, parts: Parts, with_pool: bool) -> Result<Box<dyn NeuralFaceModel>> {
        self.load_with(parts, with_pool, 1.0)
    }

    /// Loads the model with truncation ψ for latents drawn from seeds.
    pub fn load_with(
        &self,
        parts: Parts,
        with_pool: bool,
        truncation: f32,
    ) -> Result<Box<dyn NeuralFaceModel>> {
        load(
            &self.weights,
            LoadOptions {
                device: self.device,
                batch: 8,
                truncation,
                with_pool,
                image_size: None,
                parts,
            },
        )
    }
}
