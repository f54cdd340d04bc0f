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
#[cfg(feature = "wgpu")]
pub mod wgpu_device;

/// The weights layer under the names the tests import (the reader itself
/// is [`crate::weights`]).
pub mod checkpoint {
    use crate::error::Result;
    use crate::weights::Weights;
    use burn::tensor::TensorData;
    use std::path::Path;

    /// [`Weights`] opened from a `&Path`, as the generator tests do.
    pub struct Checkpoint(Weights);

    impl Checkpoint {
        pub fn open(path: &Path) -> Result<Checkpoint> {
            Weights::open(path).map(Checkpoint)
        }

        pub fn from_data(
            label: impl Into<String>,
            tensors: impl IntoIterator<Item = (String, TensorData)>,
        ) -> Checkpoint {
            Checkpoint(Weights::from_data(label, tensors))
        }
    }

    impl std::ops::Deref for Checkpoint {
        type Target = Weights;

        fn deref(&self) -> &Weights {
            &self.0
        }
    }
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
