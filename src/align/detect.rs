//! Face detection with SeetaFace's frontal detector (the `rustface` crate,
//! a pure-Rust port; its model file `seeta_fd_frontal_v1.0.bin` ships inside
//! the crate's package). Boxes are returned largest first.

use crate::dlib::FaceBox;
use crate::error::{Error, Result};
use crate::image::Image;
use std::path::Path;

/// The smallest face the detector looks for, in pixels (SeetaFace's window is 40).
pub const MIN_FACE: u32 = 40;

/// A detected face.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Detection {
    #[serde(rename = "box")]
    pub face: FaceBox,
    pub score: f64,
}

impl Detection {
    pub fn area(&self) -> i64 {
        (self.face.right - self.face.left + 1) * (self.face.bottom - self.face.top + 1)
    }
}

pub struct FaceDetector {
    detector: Box<dyn rustface::Detector>,
}

/// A loaded detector model, from which detectors are made cheaply: a
/// detector scans with `&mut self` and is not `Send`, so code that detects
/// from several threads makes one per thread (or per call) from this.
#[derive(Clone)]
pub struct DetectorModel(rustface::Model);

impl DetectorModel {
    /// Loads `seeta_fd_frontal_v1.0.bin`.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let model = rustface::read_model(std::io::BufReader::new(file)).map_err(|e| {
            Error::input(format!(
                "{}: not a SeetaFace detector model (seeta_fd_frontal_v1.0.bin): {e}",
                path.display()
            ))
        })?;
        Ok(DetectorModel(model))
    }

    /// A detector with this model.
    pub fn detector(&self) -> FaceDetector {
        let mut detector = rustface::create_detector_with_model(self.0.clone());
        // The settings of rustface's own demo (SeetaFace's defaults).
        detector.set_min_face_size(MIN_FACE);
        detector.set_score_thresh(2.0);
        detector.set_pyramid_scale_factor(0.8);
        detector.set_slide_window_step(4, 4);
        FaceDetector { detector }
    }
}

impl FaceDetector {
    /// Loads `seeta_fd_frontal_v1.0.bin`.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(DetectorModel::load(path)?.detector())
    }

    /// The faces in `image`, largest first.
    pub fn detect(&mut self, image: &Image) -> Vec<Detection> {
        if image.width < MIN_FACE || image.height < MIN_FACE {
            return vec![];
        }
        // ITU-R BT.601 luma, what SeetaFace was trained on (OpenCV's grey).
        let gray: Vec<u8> = image
            .rgb
            .chunks_exact(3)
            .map(|p| {
                ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114 + 500) / 1000) as u8
            })
            .collect();
        let data = rustface::ImageData::new(&gray, image.width, image.height);
        let mut faces: Vec<Detection> = self
            .detector
            .detect(&data)
            .iter()
            .map(|f| {
                let b = f.bbox();
                Detection {
                    face: FaceBox {
                        left: b.x() as i64,
                        top: b.y() as i64,
                        right: b.x() as i64 + b.width() as i64 - 1,
                        bottom: b.y() as i64 + b.height() as i64 - 1,
                    },
                    score: f.score(),
                }
            })
            .collect();
        faces.sort_by(|a, b| b.area().cmp(&a.area()).then(b.score.total_cmp(&a.score)));
        faces
    }
}
