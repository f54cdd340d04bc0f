//! dlib's face descriptor (`famsim::describe`) on the CPU backend.
//!
//! - `descriptor/network_batch1`, `descriptor/network_batch16`: the ResNet on
//!   dlib's own chips (tests/fixtures/descriptor/chip_*.png), per call;
//! - `descriptor/face_obama`: landmarks, chip and network for one given box
//!   (the 300 px face of tests/fixtures/descriptor/obama.png, which needs
//!   dlib's image pyramid).
//!
//! The model files are face_recognition_models' (.ci/run unpacks them under
//! ~/.cache/famsim-models); without them the bench says so and measures
//! nothing. `python3 tools/descriptor_speed.py` then times dlib-bin on the
//! same chips and prints the ratio.
//!
//! Run: `cargo bench --bench descriptor`.

use criterion::{criterion_group, criterion_main, Criterion};
use famsim::describe::{DescriberFiles, FaceDescriber};
use famsim::dlib::FaceBox;
use famsim::image::Image;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn models() -> Option<DescriberFiles> {
    let home = std::env::var("HOME").ok()?;
    let dir = Path::new(&home)
        .join(".cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models");
    let cargo = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cargo"));
    let seeta = std::fs::read_dir(cargo.join("registry/src"))
        .ok()?
        .flatten()
        .map(|d| {
            d.path()
                .join("rustface-0.1.7/model/seeta_fd_frontal_v1.0.bin")
        })
        .find(|p| p.is_file())?;
    let files = DescriberFiles {
        descriptor: dir.join("dlib_face_recognition_resnet_model_v1.dat"),
        landmarks5: dir.join("shape_predictor_5_face_landmarks.dat"),
        detector: seeta,
    };
    (files.descriptor.is_file() && files.landmarks5.is_file()).then_some(files)
}

fn fixture(name: &str) -> Image {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/descriptor")
        .join(name);
    famsim::io::photo::read_photo(&path).expect("fixture photo")
}

fn bench(c: &mut Criterion) {
    let Some(files) = models() else {
        eprintln!("descriptor bench: face_recognition_models or rustface's model not found; nothing measured");
        return;
    };
    let describer = FaceDescriber::load(&files).expect("models load");
    let chips: Vec<Image> = ["obama", "obama2", "biden", "astronaut_crop", "lfw_0"]
        .iter()
        .map(|n| fixture(&format!("chip_{n}.png")))
        .collect();
    let batch16: Vec<&Image> = chips.iter().cycle().take(16).collect();
    let mut group = c.benchmark_group("descriptor");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("network_batch1", |b| {
        b.iter(|| describer.describe_chips(&[&chips[0]]).unwrap())
    });
    group.bench_function("network_batch16", |b| {
        b.iter(|| describer.describe_chips(&batch16).unwrap())
    });
    let photo = fixture("obama.png");
    // dlib's HOG box for this photo (tests/fixtures/descriptor/descriptor.json).
    let face = FaceBox {
        left: 63,
        top: 63,
        right: 384,
        bottom: 384,
    };
    group.bench_function("face_obama", |b| {
        b.iter(|| describer.describe_face(&photo, face).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
