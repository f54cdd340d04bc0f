//! One photo → its aligned crop, as the official demo's `align_face` does it:
//! EXIF-upright photo, face detection (largest face first), dlib's 68
//! landmarks rounded to integers as dlib's Python binding returns them,
//! then FFHQ `image_align` at 1024 px resized to the crop size.
//!
//! Every command that takes an ordinary photo goes through [`PhotoAligner`]:
//! `famsim align`, `famsim invert`, `famsim child --father-photo`, and
//! scenario founders with `genes: Photo(…)`. Unlike the official code, which
//! silently falls back to the raw photo, a photo without a face is an error.

use super::detect::{Detection, FaceDetector, MIN_FACE};
use super::ffhq::{align, Aligned};
use super::photo;
use crate::dlib::shape_predictor::dlib_round;
use crate::dlib::ShapePredictor;
use crate::error::{Error, Result};
use crate::image::Image;
use std::path::{Path, PathBuf};

/// The official crop size (`align_face(img, output_size=256)`).
pub const OFFICIAL_CROP: u32 = 256;
/// `image_align`'s `transform_size`.
const TRANSFORM_SIZE: u32 = 1024;

/// The landmark model and the face detector, loaded once.
pub struct PhotoAligner {
    predictor: ShapePredictor,
    /// SeetaFace's detector is not `Send` (rustface keeps it behind a plain
    /// trait object), so each photo loads its own from this file (1 MB, a
    /// few milliseconds) and aligners can be shared between threads.
    detector: PathBuf,
}

/// A photo and its aligned face.
pub struct AlignedPhoto {
    /// The photo, EXIF-upright.
    pub photo: Image,
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
    /// Loads the 68-point landmark model (`.dat` or `.dat.bz2`) and checks
    /// the detector file loads.
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
        FaceDetector::load(detector)?;
        Ok(PhotoAligner {
            predictor,
            detector: detector.to_path_buf(),
        })
    }

    /// Reads, detects and aligns face `face` (1 = the largest) of the photo
    /// at `path` into a `size`-pixel crop.
    pub fn align_file(&self, path: &Path, size: u32, face: u32) -> Result<AlignedPhoto> {
        let image = photo::read_upright(path)?;
        self.align_image(path, image, size, face)
    }

    /// [`Self::align_file`] for a photo already read; `path` names it in messages.
    pub fn align_image(
        &self,
        path: &Path,
        image: Image,
        size: u32,
        face: u32,
    ) -> Result<AlignedPhoto> {
        let mut faces = FaceDetector::load(&self.detector)?.detect(&image);
        if faces.is_empty() {
            return Err(Error::input(format!(
                "{}: no face found; use a frontal photo with the face at least {MIN_FACE} px wide",
                path.display()
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
        let side = chosen.face.right - chosen.face.left + 1;
        if side < size as i64 / 2 {
            warnings.push(format!(
                "{}: the face is {side} px wide, small for a {size} px crop; the encoding will be blurry",
                path.display(),
            ));
        }
        // The official pipeline aligns dlib's integer points.
        let points = dlib_round(&self.predictor.predict(&image, chosen.face)?);
        let landmarks: Vec<[f64; 2]> = points.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
        let aligned = align(&image, &landmarks, size, TRANSFORM_SIZE.max(size))
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        Ok(AlignedPhoto {
            photo: image,
            chosen,
            others: faces,
            landmarks: points,
            aligned,
            warnings,
        })
    }
}
