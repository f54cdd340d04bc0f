//! StyleGene, the neural face model: the StyleGAN2 generator and the gene
//! mappings, loaded from the official PyTorch checkpoints.

pub mod conv;
pub mod cpu_conv;
pub mod cpu_dense;
pub mod cpu_host;
pub mod cpu_im2col;
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

/// Test inputs shared by the CPU kernels' unit tests.
#[cfg(test)]
mod test_tensors {
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorData};

    /// A tensor of varied, repeatable values (a scrambled ramp around 0).
    pub fn ramp<B: Backend, const D: usize>(shape: [usize; D], scale: f32) -> Tensor<B, D> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * scale)
            .collect();
        Tensor::from_data(TensorData::new(v, shape), &Default::default())
    }
}
