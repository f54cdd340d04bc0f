//! dlib's published face models, read from dlib's own files: the
//! serialization format ([`reader`]), the 68- and 5-point landmark models
//! ([`shape_predictor`]) and `dnn` networks such as the face descriptor
//! ([`dnn`]).

pub mod dnn;
pub mod reader;
pub mod shape_predictor;

pub use shape_predictor::{FaceBox, ShapePredictor};
