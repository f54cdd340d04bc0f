//! famsim's face detections on photos, as JSON lines, for
//! `tools/eval_detectors.py` (which compares them with dlib's detectors on
//! the same machine):
//!
//!     cargo run --release --example detect_faces -- DETECTOR.bin PHOTO...
//!
//! One line per photo: the upright size, the faces largest first (boxes in
//! dlib's inclusive convention, photo pixels) and the detection time in
//! milliseconds, the median of three runs on the decoded photo (decoding is
//! not timed, as on the Python side). Detection runs as `famsim align` runs
//! it (`famsim::align::pipeline::find_faces`: on a copy shrunk to at most
//! 2048 pixels a side, boxes scaled back).

use famsim::align::detect::FaceDetector;
use famsim::align::photo::Photo;
use famsim::align::pipeline::find_faces;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let model = args
        .next()
        .ok_or("usage: detect_faces DETECTOR.bin PHOTO...")?;
    let mut detector = FaceDetector::load(&model)?;
    for photo in args {
        let image = Photo::open(&photo)?;
        let mut times = vec![];
        let mut faces = vec![];
        for _ in 0..3 {
            let start = Instant::now();
            faces = find_faces(&mut detector, &image).faces;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let line = serde_json::json!({
            "photo": photo.display().to_string(),
            "width": image.width,
            "height": image.height,
            "faces": faces,
            "ms": times[1],
        });
        println!("{line}");
    }
    Ok(())
}
