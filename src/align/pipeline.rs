//! One photo → its aligned crop, as the official demo's `align_face` does it
//! (EXIF-upright photo, face detection with the largest face first, dlib's
//! 68 landmarks rounded to integers as dlib's Python binding returns them,
//! then FFHQ `image_align` at 1024 px resized to the crop size), in bounded
//! memory for a photo of any size.
//!
//! Every command that takes an ordinary photo goes through [`PhotoAligner`]:
//! `famsim align`, `famsim invert`, `famsim child --father-photo`, and
//! scenario founders with `genes: Photo(…)`; the `detect_faces` example and
//! the bench use [`find_faces`] and [`landmarks`]. Unlike the official code,
//! which silently falls back to the raw photo, a photo without a face is an
//! error.
//!
//! The detector runs on a copy of the photo shrunk by a whole factor to at
//! most [`DETECT_SIDE`] pixels a side (SeetaFace's cost grows with the pixel
//! count, and a face big enough to encode is far above its 40-pixel window
//! there); its boxes are scaled back to the photo. The 68 landmarks are then
//! found at full resolution on a crop around the box only, and
//! [`crate::align::align`] copies out only the face's region (or the photo
//! shrunk, for a very large face), so the one full-size buffer is the
//! decoded photo itself.

use crate::align::detect::{Detection, DetectorModel, FaceDetector, MIN_FACE};
use crate::align::ffhq::{align, Aligned};
use crate::align::photo::Photo;
use crate::dlib::shape_predictor::dlib_round;
use crate::dlib::{FaceBox, ShapePredictor};
use crate::error::{Error, Result};
use std::path::Path;

/// The official crop size (`align_face(img, output_size=256)`).
pub const OFFICIAL_CROP: u32 = 256;
/// `image_align`'s `transform_size`.
const TRANSFORM_SIZE: u32 = 1024;

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

/// The landmark model and the face detector, loaded once.
pub struct PhotoAligner {
    predictor: ShapePredictor,
    /// SeetaFace's detector is not `Send` (rustface keeps it behind a plain
    /// trait object), so each photo makes its own from this shared model and
    /// aligners can be shared between threads.
    detector: DetectorModel,
}

/// A photo and its aligned face.
pub struct AlignedPhoto {
    /// The photo (read through its EXIF orientation).
    pub photo: Photo,
    /// The face that was aligned.
    pub chosen: Detection,
    /// The other faces found, largest first.
    pub others: Vec<Detection>,
    /// dlib's 68 points in integer pixels.
    pub landmarks: Vec<[i64; 2]>,
    /// The crop and its quad.
    pub aligned: Aligned,
    /// What the user should know (several faces, a small face), one line each.
    pub warnings: Vec<String>,
}

impl PhotoAligner {
    /// Loads the 68-point landmark model (`.dat` or `.dat.bz2`) and the
    /// detector file.
    pub fn load(landmarks: &Path, detector: &Path) -> Result<PhotoAligner> {
        let predictor = ShapePredictor::load(landmarks)?;
        if predictor.parts() != 68 {
            return Err(Error::input(format!(
                "{}: a {}-point shape predictor; FFHQ alignment needs the 68-point one \
                 (shape_predictor_68_face_landmarks.dat)",
                landmarks.display(),
                predictor.parts()
            )));
        }
        let detector = DetectorModel::load(detector)?;
        Ok(PhotoAligner {
            predictor,
            detector,
        })
    }

    /// Reads, detects and aligns face `face` (1 = the largest) of the photo
    /// at `path` into a `size`-pixel crop.
    pub fn align_file(&self, path: &Path, size: u32, face: u32) -> Result<AlignedPhoto> {
        self.align_photo(path, Photo::open(path)?, size, face)
    }

    /// [`Self::align_file`] for a photo already read; `path` names it in messages.
    pub fn align_photo(
        &self,
        path: &Path,
        photo: Photo,
        size: u32,
        face: u32,
    ) -> Result<AlignedPhoto> {
        let found = find_faces(&mut self.detector.detector(), &photo);
        let mut faces = found.faces;
        if faces.is_empty() {
            return Err(Error::input(format!(
                "{}: no face found; use a frontal photo with the face at least {} px wide",
                path.display(),
                found.min_face
            )));
        }
        let k = face as usize;
        if k == 0 || k > faces.len() {
            return Err(Error::input(format!(
                "{}: --face {k} but only {} face(s) were found, largest first: {}",
                path.display(),
                faces.len(),
                faces
                    .iter()
                    .enumerate()
                    .map(|(i, f)| format!("{} at {:?}", i + 1, f.face))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let chosen = faces.remove(k - 1);
        let mut warnings = vec![];
        if !faces.is_empty() {
            warnings.push(format!(
                "{}: {} faces; aligning face {k} at {:?} (--face chooses another); the others: {}",
                path.display(),
                faces.len() + 1,
                chosen.face,
                faces
                    .iter()
                    .map(|f| format!("{:?}", f.face))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // The official pipeline aligns dlib's integer points.
        let points = dlib_round(&landmarks(&self.predictor, &photo, chosen.face)?);
        let float_points: Vec<[f64; 2]> =
            points.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
        let aligned = align(&photo, &float_points, size, TRANSFORM_SIZE.max(size))
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        // The crop is the FFHQ square resampled to `size`: a square smaller
        // than that is blown up, and the encoder sees a blurred face.
        if aligned.qsize < size as f64 {
            warnings.push(format!(
                "{}: the face's square is {:.0} px, smaller than the {size} px crop; \
                 it is upscaled and the encoding will be blurry (use a larger or closer photo)",
                path.display(),
                aligned.qsize,
            ));
        }
        Ok(AlignedPhoto {
            photo,
            chosen,
            others: faces,
            landmarks: points,
            aligned,
            warnings,
        })
    }
}
