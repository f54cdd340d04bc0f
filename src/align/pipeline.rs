//! One photo through detection and landmarks in bounded memory, what
//! `famsim align`, the `detect_faces` example and the bench share.
//!
//! The detector runs on a copy of the photo shrunk by a whole factor to at
//! most [`DETECT_SIDE`] pixels a side (SeetaFace's cost grows with the pixel
//! count, and a face big enough to encode is far above its 40-pixel window
//! there); its boxes are scaled back to the photo. The 68 landmarks are then
//! found at full resolution on a crop around the box only, and
//! [`crate::align::align`] copies out only the face's region (or the photo
//! shrunk, for a very large face), so the one full-size buffer is the
//! decoded photo itself.

use crate::align::detect::{Detection, FaceDetector, MIN_FACE};
use crate::align::photo::Photo;
use crate::dlib::{FaceBox, ShapePredictor};
use crate::error::Result;

/// The longest side of the copy the detector looks at, in pixels.
pub const DETECT_SIDE: u32 = 2048;

/// The faces found in a photo.
pub struct Found {
    /// Boxes in photo pixels, largest first.
    pub faces: Vec<Detection>,
    /// The smallest face, in photo pixels, the detector could have found:
    /// its window times the shrink factor.
    pub min_face: u32,
}

/// The whole factor that brings the photo's longest side to `DETECT_SIDE` or less.
pub fn detect_factor(photo: &Photo) -> u32 {
    photo.width.max(photo.height).div_ceil(DETECT_SIDE).max(1)
}

/// Detects faces on the shrunk copy and maps the boxes back to the photo.
pub fn find_faces(detector: &mut FaceDetector, photo: &Photo) -> Found {
    let f = detect_factor(photo);
    let mut faces = match (f, photo.as_upright()) {
        (1, Some(image)) => detector.detect(image),
        _ => detector.detect(&photo.downscaled(f)),
    };
    if f > 1 {
        let f = f as i64;
        let (w, h) = (photo.width as i64, photo.height as i64);
        for d in &mut faces {
            let b = d.face;
            // Copy pixel x covers photo pixels x·f .. x·f + f − 1.
            d.face = FaceBox {
                left: b.left * f,
                top: b.top * f,
                right: (b.right * f + f - 1).min(w - 1),
                bottom: (b.bottom * f + f - 1).min(h - 1),
            };
        }
    }
    Found {
        faces,
        min_face: MIN_FACE * f,
    }
}

/// dlib's 68 (or 5) points for `face`, in photo pixels, predicted at full
/// resolution on a crop around the box: the cascade reads pixels near its
/// current shape only, and a margin of one box side on every side holds all
/// of them (outside the photo both read as black), so the points are those
/// of the whole photo.
pub fn landmarks(
    predictor: &ShapePredictor,
    photo: &Photo,
    face: FaceBox,
) -> Result<Vec<[f64; 2]>> {
    if let Some(image) = photo.as_upright() {
        if (image.width as u64 * image.height as u64) <= (DETECT_SIDE as u64).pow(2) {
            return predictor.predict(image, face);
        }
    }
    let side = (face.right - face.left + 1).max(face.bottom - face.top + 1);
    let rect = [
        (face.left - side).max(0),
        (face.top - side).max(0),
        (face.right + 1 + side).min(photo.width as i64),
        (face.bottom + 1 + side).min(photo.height as i64),
    ];
    let region = photo.crop(rect);
    let shifted = FaceBox {
        left: face.left - rect[0],
        top: face.top - rect[1],
        right: face.right - rect[0],
        bottom: face.bottom - rect[1],
    };
    let mut points = predictor.predict(&region, shifted)?;
    for p in &mut points {
        p[0] += rect[0] as f64;
        p[1] += rect[1] as f64;
    }
    Ok(points)
}
