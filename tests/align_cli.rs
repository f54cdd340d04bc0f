//! `famsim align` end to end on real photos: the SeetaFace detector (model
//! from the rustface crate's package), dlib's 68-point model (installed by
//! `.ci/run`) and the official FFHQ crop; bad photos fail by name with
//! nothing written.

mod common;

use common::{landmarks_model, seeta_model};
use std::path::Path;
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo");

fn align(photos: &[&Path], out: &Path, model: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
    cmd.arg("align");
    cmd.args(photos);
    cmd.arg("--out").arg(out);
    cmd.arg("--landmarks").arg(model);
    cmd.arg("--detector").arg(seeta_model());
    cmd.output().unwrap()
}

fn read(path: &Path) -> famsim::model::Image {
    famsim::io::photo::read_photo(path).unwrap()
}

fn mean_abs(a: &famsim::model::Image, b: &famsim::model::Image) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.rgb
        .iter()
        .zip(&b.rgb)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum::<f64>()
        / a.rgb.len() as f64
}

#[test]
fn aligns_a_photo_and_a_sideways_jpeg() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("aligned");
    let png = Path::new(FIXTURES).join("astronaut_crop.png");
    let jpg = Path::new(FIXTURES).join("astronaut_crop_exif6.jpg");
    let o = align(&[&png, &jpg], &out, &model);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("landmarks.json")).unwrap()).unwrap();
    let records = json.as_array().unwrap();
    assert_eq!(records.len(), 2);
    // The JPEG is shown upright: the same size as the PNG, not turned.
    for r in records {
        assert_eq!(
            (r["width"].as_u64(), r["height"].as_u64()),
            (Some(220), Some(260))
        );
        assert_eq!(r["landmarks"].as_array().unwrap().len(), 68);
    }

    // Compared with dlib's own points on its HOG box (the official pipeline).
    let dlib: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(FIXTURES).join("dlib_landmarks.json")).unwrap(),
    )
    .unwrap();
    let want = &dlib["photos"][1]["shapes"][0]["landmarks"];
    let got = &records[0]["landmarks"];
    let mean = (0..68)
        .map(|i| {
            let d = |k: usize| got[i][k].as_f64().unwrap() - want[i][k].as_f64().unwrap();
            d(0).hypot(d(1))
        })
        .sum::<f64>()
        / 68.0;
    eprintln!("landmarks on SeetaFace's box vs dlib's on its HOG box: {mean:.2} px mean");
    assert!(mean < 1.0, "landmarks {mean} px from dlib's");

    let official = read(&Path::new(FIXTURES).join("aligned_astronaut_crop.png"));
    let crop = read(&out.join("astronaut_crop.png"));
    assert_eq!((crop.width, crop.height), (256, 256));
    let diff = mean_abs(&crop, &official);
    let from_jpeg = read(&out.join("astronaut_crop_exif6.png"));
    let diff_jpeg = mean_abs(&from_jpeg, &official);
    eprintln!("crop vs official: {diff:.2}/255, from the JPEG: {diff_jpeg:.2}/255");
    assert!(diff < 5.0 && diff_jpeg < 6.0, "{diff} {diff_jpeg}");
    let preview = read(&out.join("astronaut_crop.preview.png"));
    assert_eq!((preview.width, preview.height), (220, 260));
}

#[test]
fn no_face_or_a_broken_photo_fails_by_name_and_writes_nothing() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = Path::new(FIXTURES).join("astronaut_crop.png");
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let cut = dir.path().join("cut.png");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, b"not a picture").unwrap();
    let faceless = Path::new(FIXTURES).join("lfw_0.png");

    for (bad, says) in [
        (&faceless, "no face found"),
        (&empty, "empty.jpg"),
        (&cut, "cut.png"),
        (&text, "not a PNG or JPEG"),
    ] {
        let out = dir.path().join("out");
        let o = align(&[&good, bad.as_path()], &out, &model);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", bad.display());
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains(bad.file_name().unwrap().to_str().unwrap()),
            "{stderr}"
        );
        assert!(!out.exists(), "{}: something was written", bad.display());
    }
}
