//! Face alignment for the photo encoder: the official FFHQ crop ([`ffhq`]).

pub mod ffhq;

pub use ffhq::{align, Aligned};
