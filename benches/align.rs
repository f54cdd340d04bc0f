//! Face detection and landmarks speed, as `famsim align` runs them
//! (`famsim::align::pipeline`): one decoded photo in memory, model files
//! loaded once.
//!
//! - `align/detect/<photo>`: SeetaFace on the photo (on the copy shrunk to
//!   at most 2048 px a side when larger);
//! - `align/landmarks68/<photo>`: dlib's 68-point cascade on the detected box;
//! - `align/ffhq/<photo>`: the official FFHQ crop (256 px via 1024).
//!
//! Photos: tests/fixtures/photo/astronaut_crop.png (220 × 260, committed) and,
//! when installed, scikit-image's astronaut.png (512 × 512) and
//! face_recognition's obama.jpg (910 × 1137; tools/eval_detectors.py unpacks
//! it). The 68-point model comes from where `.ci/run` installs it.
//!
//! Run: `cargo bench --bench align`. Figures and the comparison with dlib in
//! Python (`tools/bench_align.py`) are in the README.

use criterion::{criterion_group, criterion_main, Criterion};
use famsim::align::detect::FaceDetector;
use famsim::align::photo::Photo;
use famsim::align::pipeline::{find_faces, landmarks};
use famsim::dlib::ShapePredictor;
use std::path::{Path, PathBuf};

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default())
}

fn seeta_model() -> Option<PathBuf> {
    let cargo = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| home().join(".cargo"));
    std::fs::read_dir(cargo.join("registry/src"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| {
            e.path()
                .join("rustface-0.1.7/model/seeta_fd_frontal_v1.0.bin")
        })
        .find(|p| p.is_file())
}

fn landmarks_model() -> Option<PathBuf> {
    [
        PathBuf::from("/usr/share/dlib"),
        home().join(
            ".cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models",
        ),
    ]
    .into_iter()
    .map(|d| d.join("shape_predictor_68_face_landmarks.dat"))
    .find(|p| p.is_file())
}

fn photos() -> Vec<(String, PathBuf)> {
    let mut list = vec![(
        "astronaut_crop".to_string(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/astronaut_crop.png"),
    )];
    let skimage = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, skimage; print(os.path.dirname(skimage.__file__))",
        ])
        .output();
    if let Ok(o) = skimage {
        if o.status.success() {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            list.push((
                "astronaut".into(),
                Path::new(&dir).join("data/astronaut.png"),
            ));
        }
    }
    list.push((
        "obama".into(),
        home().join(".cache/famsim-models/face_recognition-1.3.0/tests/test_images/obama.jpg"),
    ));
    list.retain(|(_, p)| p.is_file());
    list
}

fn bench(c: &mut Criterion) {
    let (Some(seeta), Some(model)) = (seeta_model(), landmarks_model()) else {
        eprintln!("align bench skipped: the SeetaFace or 68-point model file is missing");
        return;
    };
    let mut detector = FaceDetector::load(&seeta).unwrap();
    let predictor = ShapePredictor::load(&model).unwrap();
    let mut group = c.benchmark_group("align");
    group.sample_size(10);
    for (name, path) in photos() {
        let photo = Photo::open(&path).unwrap();
        let face = find_faces(&mut detector, &photo).faces[0].face;
        group.bench_function(format!("detect/{name}"), |b| {
            b.iter(|| find_faces(&mut detector, &photo))
        });
        group.bench_function(format!("landmarks68/{name}"), |b| {
            b.iter(|| landmarks(&predictor, &photo, face).unwrap())
        });
        let points: Vec<[f64; 2]> = landmarks(&predictor, &photo, face).unwrap();
        group.bench_function(format!("ffhq/{name}"), |b| {
            b.iter(|| famsim::align::align(&photo, &points, 256, 1024).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
