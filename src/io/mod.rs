//! File formats famsim reads and writes besides scenarios and exports, and
//! the atomic write every output goes through.

pub mod atomic;
pub mod npy;
pub mod photo;
pub mod safetensors;
