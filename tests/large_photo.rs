//! A 12000 × 9000 photo through `famsim align` in bounded memory (issue 11,
//! item 1): the detector looks at a shrunk copy, the landmarks and the FFHQ
//! crop read only the face's region (or the photo shrunk row by row), so the
//! one full-size buffer is the decoded photo, 3 bytes a pixel.
//!
//! The photo is the astronaut crop (a real photo from scikit-image, committed
//! in tests/fixtures/photo) blown up 12 times, nearest pixel, on a grey
//! 12000 × 9000 canvas, so its face is about 1300 px wide and the official
//! alignment shrinks the photo 3 times before cropping. Peak memory is the
//! child's own `ru_maxrss` from `wait4`, so other tests running beside this
//! one (in their own test binaries) do not count. This file holds one test:
//! the 324 MB canvas is made once.

mod common;

use common::{landmarks_model, mean_abs, run_measured, seeta_model};
use std::path::Path;
use std::process::{Command, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo");
const W: u32 = 12000;
const H: u32 = 9000;
const ZOOM: u32 = 12;
const AT: (u32, u32) = (5000, 3000);
/// What `famsim align` may hold at its peak, beyond the decoded photo's 3
/// bytes a pixel: the model files, the detection copy, the face region, the
/// shrunk photo and its intermediate, the padded crop in floats.
const OVERHEAD_MB: u64 = 400;

fn read(path: &Path) -> famsim::model::Image {
    famsim::io::photo::read_photo(path).unwrap()
}

/// The canvas written row by row, so this test never holds it whole either.
fn write_large_photo(path: &Path, face: &famsim::model::Image) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, W, H);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let mut row = vec![0u8; W as usize * 3];
    for y in 0..H {
        row.iter_mut().for_each(|v| *v = 120);
        if (AT.1..AT.1 + face.height * ZOOM).contains(&y) {
            let sy = (y - AT.1) / ZOOM;
            for x in AT.0..AT.0 + face.width * ZOOM {
                let s = ((sy * face.width + (x - AT.0) / ZOOM) * 3) as usize;
                let d = x as usize * 3;
                row[d..d + 3].copy_from_slice(&face.rgb[s..s + 3]);
            }
        }
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
}

#[test]
fn a_12000_by_9000_photo_aligns_within_its_memory_bound() {
    let Some(model) = landmarks_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let small = Path::new(FIXTURES).join("astronaut_crop.png");
    let face = read(&small);
    let big = dir.path().join("big.png");
    write_large_photo(&big, &face);

    let out = dir.path().join("out");
    let log = dir.path().join("stderr.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_famsim"));
    cmd.arg("align")
        .arg(&big)
        .arg(&small)
        .arg("--out")
        .arg(&out);
    cmd.arg("--landmarks").arg(&model);
    cmd.arg("--detector").arg(seeta_model());
    cmd.stdout(Stdio::null());
    cmd.stderr(std::fs::File::create(&log).unwrap());
    let (code, peak) = run_measured(cmd);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "{stderr}");

    let pixels = W as u64 * H as u64;
    let bound = 3 * pixels + OVERHEAD_MB * 1_000_000;
    eprintln!(
        "peak RSS {:.0} MB for a {W} × {H} photo (bound {:.0} MB)",
        peak as f64 / 1e6,
        bound as f64 / 1e6
    );
    assert!(
        peak <= bound,
        "peak RSS {peak} bytes over the bound {bound}"
    );

    // The face is found where it was put, and its landmarks are the small
    // photo's, blown up: within 2 px of the small photo's scale.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("landmarks.json")).unwrap()).unwrap();
    let (large, small_r) = (&json[0], &json[1]);
    assert_eq!(
        (large["width"].as_u64(), large["height"].as_u64()),
        (Some(W as u64), Some(H as u64))
    );
    let point = |r: &serde_json::Value, i: usize| {
        let p = &r["landmarks"][i];
        [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]
    };
    let mean = (0..68)
        .map(|i| {
            let (a, b) = (point(large, i), point(small_r, i));
            // Pixel centres: small pixel x covers large x·ZOOM .. x·ZOOM + ZOOM.
            let z = ZOOM as f64;
            let back = |v: f64, at: u32| (v - at as f64 + 0.5) / z - 0.5;
            (back(a[0], AT.0) - b[0]).hypot(back(a[1], AT.1) - b[1])
        })
        .sum::<f64>()
        / 68.0;
    eprintln!("landmarks vs the small photo's: {mean:.2} px (small-photo pixels)");
    assert!(mean < 2.0, "{mean} px");

    // And the aligned crops agree: same face, one shrunk by the alignment.
    let a = read(&out.join("big.png"));
    let b = read(&out.join("astronaut_crop.png"));
    let diff = mean_abs(&a, &b);
    eprintln!("aligned crops differ by {diff:.2}/255");
    assert!(diff < 12.0, "{diff}");
    let preview = read(&out.join("big.preview.png"));
    assert!(preview.width.max(preview.height) <= 1024);
}
