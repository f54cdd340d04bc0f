//! StyleGene, the neural face model: the StyleGAN2 generator and the two gene
//! mappings, loaded from the official PyTorch files.

pub mod checkpoint;
pub mod gene_pool;
pub mod mixer;
pub mod stylegan2;
pub mod torch_pickle;
