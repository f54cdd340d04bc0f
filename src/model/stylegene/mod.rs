//! The neural StyleGene model: StyleGAN2 generator and the two gene mappings,
//! loaded from the official PyTorch files.

pub mod device;
pub mod face_model;
pub mod import;
pub mod weights;
