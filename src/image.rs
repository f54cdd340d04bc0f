//! Portraits as plain pixels. A leaf module: the model paints them, `io`
//! reads photos into them and `exports` encodes them, none importing another.

/// An 8-bit RGB picture, row-major, no alpha.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}
