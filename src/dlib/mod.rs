//! dlib's published face models, read from dlib's own files: the
//! serialization format ([`reader`]) and the 68-point landmark model
//! ([`shape_predictor`]).

pub mod reader;
pub mod shape_predictor;

pub use shape_predictor::{FaceBox, ShapePredictor};
