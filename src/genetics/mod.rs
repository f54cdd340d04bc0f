//! Genes and how they pass from parents to children. No tensor library here:
//! genomes are plain `Vec<f32>` in the method's `[layers, 34, width]` layout.

pub mod crossover;
pub mod genome;
pub mod pool;
pub mod region;
pub mod rng;

pub use crossover::{crossover, ChildGenes, CrossoverParams, Inheritance, RegionOrigin};
pub use genome::{GeneSample, GeneShape, Genome};
pub use pool::GenePool;
pub use region::{Region, RegionGroup, RegionSelector, REGION_COUNT};
