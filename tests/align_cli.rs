//! `famsim align` end to end on real photos: the SeetaFace detector (model
//! from the rustface crate's package), dlib's 68-point model (installed by
//! `.ci/run`) and the official FFHQ crop; bad photos fail by name with
//! nothing written. Also the two model files imported into a weights folder
//! (`weights import --landmarks --detector`, `align --weights`) and
//! `--face K` on a photo with two faces.

mod common;

use common::{landmarks_model, mean_abs, seeta_model};
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

    // A PNG whose header claims 20000 × 10000 pixels: refused from the
    // header, before anything is decoded.
    let huge = dir.path().join("huge.png");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&20000u32.to_be_bytes());
    png.extend_from_slice(&10000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&png[12..]);
    png.extend_from_slice(&crc.to_be_bytes());
    std::fs::write(&huge, &png).unwrap();

    for (bad, says) in [
        (
            &faceless,
            "no face found; use a frontal photo with the face at least 40 px wide",
        ),
        (
            &huge,
            "20000 × 10000 pixels; famsim reads photos of up to 150 million",
        ),
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

/// The CRC-32 PNG chunks end with (over the chunk type and data).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_face_smaller_than_the_crop_is_warned_about() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photo = Path::new(FIXTURES).join("astronaut_crop.png");
    let run = |size: u32, out: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
        cmd.arg("align").arg(&photo).arg("--out").arg(out);
        cmd.arg("--landmarks").arg(&model);
        cmd.arg("--detector").arg(seeta_model());
        cmd.arg("--size").arg(size.to_string());
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        stderr
    };
    // The astronaut's FFHQ square is about 170 px: a 256 px crop blows it up.
    let out = dir.path().join("a");
    let stderr = run(256, &out);
    let quad = &landmarks_json(&out)[0]["quad"];
    let c = |i: usize, k: usize| quad[i][k].as_f64().unwrap();
    let qsize = (c(1, 0) - c(0, 0)).hypot(c(1, 1) - c(0, 1));
    assert!(qsize < 256.0, "{qsize}");
    let says = format!(
        "astronaut_crop.png: the face's square is {qsize:.0} px, smaller than the 256 px crop"
    );
    assert!(stderr.contains(&says), "{says}: {stderr}");
    assert!(stderr.contains("blurry"), "{stderr}");
    // A crop smaller than the square: no warning.
    let stderr = run(qsize as u32 - 2, &dir.path().join("b"));
    assert!(!stderr.contains("warning"), "{stderr}");
}

fn famsim(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs famsim, which must fail with exit code 2; returns its stderr.
fn input_error(args: &[&std::ffi::OsStr]) -> String {
    let o = famsim(args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `famsim align PHOTO --out OUT --weights WEIGHTS`, which must succeed.
fn align_by_weights(photo: &Path, out: &Path, weights: &Path) {
    let o = famsim(&[
        os("align"),
        photo.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--weights"),
        weights.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn landmarks_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("landmarks.json")).unwrap()).unwrap()
}

#[test]
fn imported_face_models_serve_align_weights() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let seeta = seeta_model();
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights");
    let o = common::import_tiny_networks(
        &weights,
        &[
            os("--landmarks"),
            model.as_os_str(),
            os("--detector"),
            seeta.as_os_str(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in [
        "shape_predictor_68_face_landmarks.dat",
        "seeta_fd_frontal_v1.0.bin",
    ] {
        assert!(weights.join(file).is_file(), "{file} not copied");
    }
    // model.ron records both, with the sources' SHA-256.
    let ron = std::fs::read_to_string(weights.join("model.ron")).unwrap();
    for source in [&model, &seeta] {
        let sum = famsim::model::stylegene::weights::FileRecord::of("x", source)
            .unwrap()
            .sha256;
        assert_eq!(
            ron.matches(&sum).count(),
            2,
            "{sum} (source and copy): {ron}"
        );
    }
    let o = famsim(&[os("weights"), os("info"), weights.as_os_str()]);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        info.contains("landmarks: dlib 68 points, shape_predictor_68_face_landmarks.dat"),
        "{info}"
    );
    assert!(
        info.contains("face detector: SeetaFace, seeta_fd_frontal_v1.0.bin"),
        "{info}"
    );
    let listed = |name: &str| {
        info.lines()
            .any(|l| l.trim_start().starts_with(name) && l.ends_with("ok"))
    };
    assert!(listed("shape_predictor_68_face_landmarks.dat"), "{info}");
    assert!(listed("seeta_fd_frontal_v1.0.bin"), "{info}");

    // `align --weights` alone aligns exactly as with the two files given.
    let photo = Path::new(FIXTURES).join("astronaut_crop.png");
    let by_flags = dir.path().join("by_flags");
    let o = align(&[&photo], &by_flags, &model);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let by_weights = dir.path().join("by_weights");
    align_by_weights(&photo, &by_weights, &weights);
    let (a, b) = (landmarks_json(&by_flags), landmarks_json(&by_weights));
    assert_eq!(a[0]["landmarks"], b[0]["landmarks"]);
    assert_eq!(a[0]["box"], b[0]["box"]);
    assert_eq!(
        std::fs::read(by_flags.join("astronaut_crop.png")).unwrap(),
        std::fs::read(by_weights.join("astronaut_crop.png")).unwrap()
    );

    // An explicit flag wins over the imported file: a broken one fails by name.
    let broken = dir.path().join("broken_detector.bin");
    std::fs::write(&broken, b"not a model").unwrap();
    let out = dir.path().join("unused");
    let err = input_error(&[
        os("align"),
        photo.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--weights"),
        weights.as_os_str(),
        os("--detector"),
        broken.as_os_str(),
    ]);
    assert!(err.contains("broken_detector.bin"), "{err}");
    assert!(!out.exists());

    // Neither a flag nor an imported file: says which import flag to use.
    let err = input_error(&[
        os("align"),
        photo.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--detector"),
        seeta.as_os_str(),
    ]);
    assert!(err.contains("--landmarks FILE"), "{err}");
    assert!(err.contains("famsim weights import"), "{err}");
    let bare = dir.path().join("bare");
    let o = common::import_tiny_networks(&bare, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = famsim(&[os("weights"), os("info"), bare.as_os_str()]);
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("landmarks: none (`famsim align --weights` needs `weights import --landmarks`)"));
    let err = input_error(&[
        os("align"),
        photo.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--weights"),
        bare.as_os_str(),
        os("--landmarks"),
        model.as_os_str(),
    ]);
    assert!(err.contains("no face detector was imported"), "{err}");
    assert!(err.contains("--detector FILE"), "{err}");
    assert!(!out.exists());

    // Re-importing without them drops the old copies, as for e4e.
    let o = common::import_tiny_networks(&weights, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!weights
        .join("shape_predictor_68_face_landmarks.dat")
        .exists());
    assert!(!weights.join("seeta_fd_frontal_v1.0.bin").exists());
}

#[test]
fn a_broken_or_wrong_face_model_is_not_imported() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.dat");
    let bytes = std::fs::read(seeta_model()).unwrap();
    // A truncated detector, and a detector given as the landmark model.
    let cut = dir.path().join("cut_seeta.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(&broken, &bytes).unwrap();
    let out = dir.path().join("weights");
    for (flag, file) in [("--landmarks", &broken), ("--detector", &cut)] {
        let o = common::import_tiny_networks(&out, &[os(flag), file.as_os_str()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(file.file_name().unwrap().to_str().unwrap()),
            "{stderr}"
        );
        assert!(!out.exists(), "{flag}: something was written");
    }
    // The 5-point model is a real dlib file, but alignment needs 68 points.
    let Some(model) = landmarks_model() else {
        return;
    };
    let five = model.with_file_name("shape_predictor_5_face_landmarks.dat");
    if five.is_file() {
        let o = common::import_tiny_networks(&out, &[os("--landmarks"), five.as_os_str()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("68-point"), "{stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn face_k_picks_among_several_faces() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("two.png");
    common::two_faces(&photo);
    let run = |k: &str, out: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
        cmd.arg("align").arg(&photo).arg("--out").arg(out);
        cmd.arg("--landmarks").arg(&model);
        cmd.arg("--detector").arg(seeta_model());
        cmd.args(["--face", k]);
        cmd.output().unwrap()
    };
    let left_of = |v: &serde_json::Value| v["box"]["left"].as_i64().unwrap();
    let width_of = |v: &serde_json::Value| v["box"]["right"].as_i64().unwrap() - left_of(v);

    let first = dir.path().join("first");
    let o = run("1", &first);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("2 faces; aligning face 1"), "{stderr}");
    let r = &landmarks_json(&first)[0];
    let others = r["other_faces"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{r}");
    // Face 1 is the largest: the full-size astronaut on the left.
    assert!(left_of(r) < 220 && left_of(&others[0]) >= 220, "{r}");

    let second = dir.path().join("second");
    let o = run("2", &second);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r2 = &landmarks_json(&second)[0];
    assert!(left_of(r2) >= 220, "{r2}");
    assert_eq!(r2["box"], others[0]["box"]);
    assert!(width_of(r2) < width_of(r), "face 2 is the smaller one");
    assert_ne!(
        std::fs::read(first.join("two.png")).unwrap(),
        std::fs::read(second.join("two.png")).unwrap()
    );

    let third = dir.path().join("third");
    let o = run("3", &third);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("two.png"), "{stderr}");
    assert!(stderr.contains("--face 3 but only 2 face(s)"), "{stderr}");
    for (k, face) in [(1, &r["box"]), (2, &r2["box"])] {
        let listed = format!(
            "{k} at FaceBox {{ left: {}, top: {}",
            face["left"], face["top"]
        );
        assert!(stderr.contains(&listed), "{listed}: {stderr}");
    }
    assert!(!third.exists());
}

#[test]
fn a_bzip2_landmark_model_is_kept_compressed() {
    let Some(model) = landmarks_model() else {
        return;
    };
    // dlib publishes the model as .dat.bz2; the folder keeps it so.
    let dir = tempfile::tempdir().unwrap();
    let bz2 = dir.path().join("shape_predictor_68_face_landmarks.dat.bz2");
    common::bzip2_copy(&model, &bz2);
    let seeta = seeta_model();
    let weights = dir.path().join("weights");
    let o = common::import_tiny_networks(
        &weights,
        &[
            os("--landmarks"),
            bz2.as_os_str(),
            os("--detector"),
            seeta.as_os_str(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept = weights.join("shape_predictor_68_face_landmarks.dat.bz2");
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&bz2).unwrap());
    let info =
        String::from_utf8_lossy(&famsim(&[os("weights"), os("info"), weights.as_os_str()]).stdout)
            .into_owned();
    assert!(
        info.contains("landmarks: dlib 68 points, shape_predictor_68_face_landmarks.dat.bz2"),
        "{info}"
    );

    let photo = Path::new(FIXTURES).join("astronaut_crop.png");
    let (by_flags, by_weights) = (dir.path().join("a"), dir.path().join("b"));
    assert!(align(&[&photo], &by_flags, &model).status.success());
    align_by_weights(&photo, &by_weights, &weights);
    assert_eq!(
        landmarks_json(&by_flags)[0]["landmarks"],
        landmarks_json(&by_weights)[0]["landmarks"]
    );

    // Re-imported uncompressed: the .bz2 copy does not linger beside the .dat.
    let o = common::import_tiny_networks(&weights, &[os("--landmarks"), model.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!kept.exists());
    assert!(weights
        .join("shape_predictor_68_face_landmarks.dat")
        .is_file());
    assert!(!weights.join("seeta_fd_frontal_v1.0.bin").exists());
}
