//! Face photos to aligned encoder inputs, as the official StyleGene demo
//! does: detection ([`detect`]), dlib's 68 landmarks ([`crate::dlib`]), the
//! official FFHQ crop ([`ffhq`]), plus EXIF orientation ([`photo`]) and a
//! preview ([`preview`]); [`pipeline`] runs them on one photo of any size,
//! detection and landmarks in bounded memory.

pub mod detect;
pub mod ffhq;
pub mod photo;
pub mod pipeline;
pub mod preview;

pub use ffhq::{align, Aligned};
