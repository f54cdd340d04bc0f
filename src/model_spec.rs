//! What a scenario (or a command's flags) asks of the face model: which
//! model, with which weights, on which device. Plain data with no imports
//! from the crate, so both `scenario` (which reads it from files) and `model`
//! (which builds from it) can use it without importing each other.

use serde::{Deserialize, Serialize};

/// Which face model to use.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub enum ModelSpec {
    /// The built-in procedural painter: no weights, runs anywhere.
    #[default]
    Procedural,
    /// The neural StyleGene model from imported official weights.
    StyleGene(StyleGeneSpec),
}

/// Options of the neural model.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StyleGeneSpec {
    /// Directory written by `famsim weights import`.
    pub weights: String,
    #[serde(default)]
    pub device: DeviceSpec,
    /// People per forward pass.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Truncation ψ toward `latent_avg` for founders drawn from a seed.
    #[serde(default = "default_truncation")]
    pub truncation: f32,
}

fn default_batch() -> usize {
    8
}
fn default_truncation() -> f32 {
    0.7
}

/// Where the neural model runs.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    /// The N-th CUDA GPU (cargo feature `cuda`).
    Cuda(usize),
    /// The N-th wgpu adapter as `famsim devices` lists it: Vulkan, or Metal
    /// on macOS (cargo feature `wgpu`).
    Wgpu(usize),
}
