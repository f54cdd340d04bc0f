//! The neural StyleGene model: StyleGAN2 generator and the two gene mappings,
//! loaded from the official PyTorch files.

pub mod gene_pool;
pub mod mixer;
pub mod torch_pickle;
