//! StyleGene, the neural face model: the StyleGAN2 generator and the gene
//! mappings, loaded from the official PyTorch checkpoints.

pub mod device;
pub mod e4e;
pub mod face_model;
pub mod gene_pool;
pub mod import;
pub mod mixer;
pub mod stylegan2;
pub mod weights;

/// The weights layer under the names the tests and benchmarks import
/// (the reader itself is [`crate::weights`]).
pub mod checkpoint {
    pub use crate::weights::Weights as Checkpoint;
}

/// See [`checkpoint`].
pub mod torch_pickle {
    pub use crate::weights::Weights as TorchFile;
}

/// The backend layer under the names the parity tests use (it lives in
/// [`crate::model::backend`]).
pub mod conv {
    pub use crate::model::backend::{ModelBackend as ConvBackend, ReferenceCpuBackend};
}
