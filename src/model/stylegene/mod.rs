//! StyleGene, the neural face model: the StyleGAN2 generator and the gene
//! mappings, loaded from the official PyTorch checkpoints.

pub mod checkpoint;
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
pub mod state_dict;
pub mod stylegan2;
pub mod torch_pickle;
pub mod weights;
