//! Parity of the photo pipeline (issue 11) with dlib's own Python binding:
//! the dlib model reader and the 68-point shape predictor, on real photos
//! that ship inside scikit-image (fixtures: tools/fixtures/dlib_fixture.py).
//!
//! The model files are not in the repository (100 MB); `.ci/run` installs
//! them (Debian libdlib-data, PyPI face_recognition_models). Outside CI a
//! missing file skips with a note; under CI=true it fails.

mod common;

use common::mean_abs;

use famsim::dlib::shape_predictor::dlib_round;
use famsim::dlib::{FaceBox, ShapePredictor};
use famsim::model::Image;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo");

/// Where the registry-installed model files live, first match wins.
fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![];
    if let Ok(d) = std::env::var("FAMSIM_DLIB_MODELS") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("/usr/share/dlib"));
    if let Ok(home) = std::env::var("HOME") {
        dirs.push(Path::new(&home).join(
            ".cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models",
        ));
    }
    dirs
}

/// A model file, or None (skip) when it is not installed outside CI.
fn model(name: &str) -> Option<PathBuf> {
    if let Some(p) = model_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
    {
        return Some(p);
    }
    missing(&format!("{name} (looked in {:?})", model_dirs()))
}

fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is missing; .ci/run installs it");
    }
    eprintln!("skipping: {what} is not installed (bash .ci/run installs it)");
    None
}

/// scikit-image's data folder, asked from the installed package.
fn skimage_data() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(PathBuf::from(
            String::from_utf8(o.stdout).unwrap().trim().to_string(),
        )),
        _ => missing("python3 with scikit-image"),
    }
}

fn predictor68() -> Option<&'static ShapePredictor> {
    static P: OnceLock<Option<ShapePredictor>> = OnceLock::new();
    P.get_or_init(|| {
        model("shape_predictor_68_face_landmarks.dat").map(|p| ShapePredictor::load(&p).unwrap())
    })
    .as_ref()
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("dlib_landmarks.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A fixture photo as famsim reads it; the package photo is checked against
/// the pixels dlib saw.
fn photo(record: &serde_json::Value) -> Option<Image> {
    let name = record["photo"].as_str().unwrap();
    let path = match name.strip_prefix("package:scikit-image/data/") {
        Some(file) => skimage_data()?.join(file),
        None => Path::new(FIXTURES).join(name),
    };
    let image = famsim::io::photo::read_photo(&path).unwrap();
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&image.rgb));
    assert_eq!(
        sha,
        record["rgb_sha256"].as_str().unwrap(),
        "{name}: not the pixels the fixture was made from"
    );
    Some(image)
}

fn face_box(v: &serde_json::Value) -> FaceBox {
    let b: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    FaceBox {
        left: b[0],
        top: b[1],
        right: b[2],
        bottom: b[3],
    }
}

fn points(v: &serde_json::Value) -> Vec<[i64; 2]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_i64().unwrap(), p[1].as_i64().unwrap()])
        .collect()
}

/// Mean Euclidean distance between two point lists, in pixels.
fn mean_distance(a: &[[i64; 2]], b: &[[i64; 2]]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(p, q)| (((p[0] - q[0]).pow(2) + (p[1] - q[1]).pow(2)) as f64).sqrt())
        .sum::<f64>()
        / a.len() as f64
}

fn check_parity(predictor: &ShapePredictor, key: &str, parts: usize) {
    let fixture = fixture();
    let mut shapes = 0;
    for record in fixture["photos"].as_array().unwrap() {
        let Some(image) = photo(record) else { return };
        for shape in record["shapes"].as_array().unwrap() {
            let face = face_box(&shape["box"]);
            let want = points(&shape[key]);
            assert_eq!(want.len(), parts);
            let got = dlib_round(&predictor.predict(&image, face).unwrap());
            let mean = mean_distance(&got, &want);
            assert!(
                mean <= 0.5,
                "{} box {face:?}: mean distance {mean} px from dlib's {key}",
                record["photo"]
            );
            shapes += 1;
        }
    }
    assert!(shapes >= 20, "only {shapes} shapes in the fixture");
}

#[test]
fn landmarks68_match_dlib_on_the_same_boxes() {
    let Some(predictor) = predictor68() else {
        return;
    };
    assert_eq!(predictor.parts(), 68);
    check_parity(predictor, "landmarks", 68);
}

#[test]
fn landmarks5_match_dlib_and_the_bzip2_file_reads_the_same() {
    let Some(path) = model("shape_predictor_5_face_landmarks.dat") else {
        return;
    };
    let plain = ShapePredictor::load(&path).unwrap();
    assert_eq!(plain.parts(), 5);
    check_parity(&plain, "landmarks5", 5);

    // dlib publishes its models as .dat.bz2: the same file compressed must
    // give the same predictor.
    let dir = tempfile::tempdir().unwrap();
    let bz2 = dir.path().join("shape_predictor_5_face_landmarks.dat.bz2");
    common::bzip2_copy(&path, &bz2);
    let packed = ShapePredictor::load(&bz2).unwrap();
    check_parity(&packed, "landmarks5", 5);

    // A truncated file and a corrupt bzip2 stream are clear input errors
    // naming the file and what was being read.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.dat");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = ShapePredictor::load(&cut).err().unwrap();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 2, "{msg}");
    assert!(
        msg.contains("cut.dat") && msg.contains("truncated"),
        "{msg}"
    );
    assert!(msg.contains("cascade"), "{msg}");

    let mut packed_bytes = std::fs::read(&bz2).unwrap();
    let mid = packed_bytes.len() / 2;
    for b in &mut packed_bytes[mid..mid + 64] {
        *b ^= 0x5A;
    }
    let broken = dir.path().join("broken.dat.bz2");
    std::fs::write(&broken, &packed_bytes).unwrap();
    let err = ShapePredictor::load(&broken).err().unwrap();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 2, "{msg}");
    assert!(msg.contains("broken.dat.bz2"), "{msg}");

    let empty = dir.path().join("empty.dat");
    std::fs::write(&empty, b"").unwrap();
    let msg = ShapePredictor::load(&empty).err().unwrap().to_string();
    assert!(msg.contains("empty.dat") && msg.contains("empty"), "{msg}");
}

#[test]
fn a_model_of_another_kind_is_refused_by_name() {
    // The face-descriptor network is a dlib file too, but not a shape predictor.
    let Some(path) = model("dlib_face_recognition_resnet_model_v1.dat") else {
        return;
    };
    let err = ShapePredictor::load(&path).err().unwrap();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 2, "{msg}");
    assert!(
        msg.contains("dlib_face_recognition_resnet_model_v1.dat"),
        "{msg}"
    );
}

/// `n`× enlargement by pixel repetition (what the fixture's np.repeat does).
fn repeat(img: &Image, n: u32) -> Image {
    let (w, h) = (img.width * n, img.height * n);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let s = (((y / n) * img.width + x / n) * 3) as usize;
            rgb.extend_from_slice(&img.rgb[s..s + 3]);
        }
    }
    Image {
        width: w,
        height: h,
        rgb,
    }
}

#[test]
fn ffhq_alignment_matches_the_official_image_align() {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("aligned.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dlib = self::fixture();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3, "no padding, padding and shrink cases");
    for case in cases {
        let name = case["case"].as_str().unwrap();
        let record = dlib["photos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["photo"] == case["photo"])
            .unwrap();
        let Some(mut image) = photo(record) else {
            return;
        };
        let n = case["repeat"].as_u64().unwrap() as u32;
        if n > 1 {
            image = repeat(&image, n);
        }
        let landmarks: Vec<[f64; 2]> = points(&case["landmarks"])
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect();
        let got = famsim::align::align(&image, &landmarks, 256, 1024).unwrap();
        let want = famsim::io::photo::read_photo(
            &Path::new(FIXTURES).join(case["expected"].as_str().unwrap()),
        )
        .unwrap();
        let diff = mean_abs(&got.image, &want);
        eprintln!("{name}: mean abs {diff:.4}/255");
        assert!(
            diff <= 2.0,
            "{name}: aligned crop differs by {diff}/255 on average"
        );
    }
}

#[test]
fn aligning_detected_landmarks_end_to_end() {
    // The 68 points famsim predicts on the detection box, aligned, give the
    // official crop of dlib's own points (they are the same points).
    let Some(predictor) = predictor68() else {
        return;
    };
    let dlib = fixture();
    let record = &dlib["photos"][1];
    assert_eq!(record["photo"], "astronaut_crop.png");
    let Some(image) = photo(record) else { return };
    let face = face_box(&record["detections"][0]["box"]);
    let points = dlib_round(&predictor.predict(&image, face).unwrap());
    let landmarks: Vec<[f64; 2]> = points.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let got = famsim::align::align(&image, &landmarks, 256, 1024).unwrap();
    let want =
        famsim::io::photo::read_photo(&Path::new(FIXTURES).join("aligned_astronaut_crop.png"))
            .unwrap();
    let diff = mean_abs(&got.image, &want);
    assert!(diff <= 2.0, "mean abs {diff}/255");
}
