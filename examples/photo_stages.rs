//! The photo pipeline's three stages timed one by one inside one process,
//! for `tools/bench_vs_torch.py --photo` (which times PyTorch and dlib the
//! same way on the same machine):
//!
//!     cargo run --release --example photo_stages -- WEIGHTS PHOTO [REPEAT [CROP.png]]
//!
//! WEIGHTS is a folder from `famsim weights import` with `--landmarks`,
//! `--detector`, `--fairface` and `--e4e`. For each stage, as `famsim
//! invert PHOTO` runs it (the same `NeuralFaceModel` calls, CPU):
//!
//! - `align`: read the photo, detect, 68 landmarks, FFHQ crop at 256 px;
//! - `attributes`: FairFace on the crop;
//! - `invert`: e4e on the crop;
//!
//! it prints `cold` (the first call, which loads the stage's models, as a
//! one-photo run pays) and `warm` (the best of REPEAT further calls, the
//! cost of each photo after the first), in seconds, as one JSON object; and
//! the crop's attributes and latent, for the numbers' comparison (and the
//! crop itself into CROP.png when given, for the reference to read).

use famsim::model::stylegene::face_model::{load, LoadOptions, Parts};
use famsim::model_spec::DeviceSpec;
use std::path::PathBuf;
use std::time::Instant;

fn timed<T>(
    repeat: usize,
    mut f: impl FnMut() -> famsim::Result<T>,
) -> famsim::Result<(f64, f64, T)> {
    let start = Instant::now();
    let first = f()?;
    let cold = start.elapsed().as_secs_f64();
    let mut warm = f64::INFINITY;
    for _ in 0..repeat {
        let start = Instant::now();
        f()?;
        warm = warm.min(start.elapsed().as_secs_f64());
    }
    Ok((cold, warm, first))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(weights), Some(photo)) = (args.first(), args.get(1)) else {
        return Err("usage: photo_stages WEIGHTS PHOTO [REPEAT [CROP.png]]".into());
    };
    let repeat: usize = args.get(2).map_or(Ok(3), |r| r.parse())?;
    let photo = PathBuf::from(photo);
    let start = Instant::now();
    // Nothing up front: each stage loads its models on its first call.
    let model = load(
        &PathBuf::from(weights),
        LoadOptions {
            device: DeviceSpec::Cpu,
            batch: 1,
            truncation: 1.0,
            with_pool: false,
            image_size: None,
            parts: Parts::Attributes,
        },
    )?;
    let open = start.elapsed().as_secs_f64();
    let (align_cold, align_warm, aligned) = timed(repeat, || {
        model.align_photo(&photo, 1).map(|a| a.aligned.image)
    })?;
    let (attr_cold, attr_warm, scores) = timed(repeat, || model.attributes(&[&aligned]))?;
    let (inv_cold, inv_warm, latent) = timed(repeat, || model.latent_from_crop(&aligned, &photo))?;
    if let Some(crop) = args.get(3) {
        famsim::exports::png::write_png(&PathBuf::from(crop), &aligned)?;
    }
    let line = serde_json::json!({
        "open": open,
        "align": {"cold": align_cold, "warm": align_warm},
        "attributes": {"cold": attr_cold, "warm": attr_warm},
        "invert": {"cold": inv_cold, "warm": inv_warm},
        // FairFace's order: race (7), gender (2), age (9).
        "scores": scores.first().map(|s| [&s.ancestry[..], &s.sex, &s.age].concat()),
        "latent": latent.data,
    });
    println!("{line}");
    Ok(())
}
