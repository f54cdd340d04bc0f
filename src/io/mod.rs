//! File formats famsim reads and writes besides scenarios and exports.

pub mod npy;
pub mod photo;
pub mod safetensors;
