//! `famsim align PHOTO... --out DIR`: ordinary face photos → the aligned
//! crops the photo encoder expects, as the official StyleGene demo makes them
//! (detection, dlib's 68 landmarks, FFHQ `image_align`), with the landmarks
//! and a preview of what was cropped.
//!
//! Every photo is read, detected and aligned before anything is written, so
//! one bad photo leaves the output folder untouched.

use crate::align::detect::Detection;
use crate::align::pipeline::PhotoAligner;
use crate::align::preview;
use crate::dlib::FaceBox;
use crate::error::{Error, Result};
use crate::exports::atomic::write_atomic;
use crate::exports::png::encode_png;
use crate::model::stylegene::weights::ModelInfo;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct AlignArgs {
    /// Face photos (PNG or JPEG; JPEG EXIF orientation is honoured).
    #[arg(required = true, value_name = "PHOTO")]
    pub photos: Vec<PathBuf>,
    /// Output folder: <name>.png (aligned), <name>.preview.png, landmarks.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// dlib's shape_predictor_68_face_landmarks.dat or .dat.bz2 (see weights/README.md);
    /// without it, the one imported into --weights.
    #[arg(long, value_name = "FILE")]
    pub landmarks: Option<PathBuf>,
    /// SeetaFace's seeta_fd_frontal_v1.0.bin face detector (see weights/README.md);
    /// without it, the one imported into --weights.
    #[arg(long, value_name = "FILE")]
    pub detector: Option<PathBuf>,
    /// A weights directory whose imported landmark model and detector to use
    /// (`famsim weights import --landmarks FILE --detector FILE`).
    #[arg(long, value_name = "DIR")]
    pub weights: Option<PathBuf>,
    /// Side of the aligned crops in pixels (the encoder's input; 256 officially).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=1024))]
    pub size: u32,
    /// Which face to align when a photo has several, 1 = the largest.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub face: u32,
}

#[derive(serde::Serialize)]
struct Record {
    photo: String,
    aligned: String,
    preview: String,
    width: u32,
    height: u32,
    #[serde(rename = "box")]
    face: FaceBox,
    score: f64,
    /// dlib's 68 points as its Python binding reports them (integer pixels).
    landmarks: Vec<[i64; 2]>,
    /// FFHQ quad corners: top-left, bottom-left, bottom-right, top-right.
    quad: [[f64; 2]; 4],
    other_faces: Vec<Detection>,
}

pub fn run(args: AlignArgs) -> Result<()> {
    let imported = match &args.weights {
        Some(dir) => Some((dir, ModelInfo::read(dir)?)),
        None => None,
    };
    // An explicit flag wins over the imported file.
    let model_file = |given: &Option<PathBuf>, what: &str, flag: &str| -> Result<PathBuf> {
        if let Some(path) = given {
            return Ok(path.clone());
        }
        let Some((dir, info)) = &imported else {
            return Err(Error::input(format!(
                "no {what}: give --{flag} FILE, or --weights DIR of a folder imported with \
                 `famsim weights import ... --{flag} FILE` (see weights/README.md)"
            )));
        };
        let name = if flag == "landmarks" {
            &info.landmarks
        } else {
            &info.detector
        };
        match name {
            Some(name) => Ok(dir.join(name)),
            None => Err(Error::input(format!(
                "{}: no {what} was imported; re-run `famsim weights import` with --{flag} FILE, \
                 or give --{flag} FILE here (see weights/README.md)",
                dir.display()
            ))),
        }
    };
    let landmarks = model_file(&args.landmarks, "landmark model", "landmarks")?;
    let detector = model_file(&args.detector, "face detector", "detector")?;
    let aligner = PhotoAligner::load(&landmarks, &detector)?;
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = vec![];
    let mut records = vec![];
    let mut names = std::collections::BTreeSet::new();
    for path in &args.photos {
        let found = aligner.align_file(path, args.size, args.face)?;
        for warning in &found.warnings {
            eprintln!("warning: {warning}");
        }
        let landmarks: Vec<[f64; 2]> = found
            .landmarks
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect();
        let stem = unique_stem(path, &mut names);
        let (crop_name, preview_name) = (format!("{stem}.png"), format!("{stem}.preview.png"));
        let drawn = preview::draw(
            &found.photo,
            found.chosen.face,
            &landmarks,
            &found.aligned.quad,
        )?;
        outputs.push((args.out.join(&crop_name), encode_png(&found.aligned.image)?));
        outputs.push((args.out.join(&preview_name), encode_png(&drawn)?));
        records.push(Record {
            photo: path.display().to_string(),
            aligned: crop_name,
            preview: preview_name,
            width: found.photo.width,
            height: found.photo.height,
            face: found.chosen.face,
            score: found.chosen.score,
            landmarks: found.landmarks,
            quad: found.aligned.quad,
            other_faces: found.others,
        });
    }
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    for (path, bytes) in &outputs {
        write_atomic(path, bytes)?;
    }
    let json = serde_json::to_string_pretty(&records)
        .map_err(|e| Error::internal(format!("landmarks.json: {e}")))?;
    write_atomic(
        &args.out.join("landmarks.json"),
        format!("{json}\n").as_bytes(),
    )?;
    eprintln!(
        "aligned {} photo(s) into {}",
        records.len(),
        args.out.display()
    );
    Ok(())
}

/// The photo's file stem, numbered when two photos share one.
pub(crate) fn unique_stem(path: &Path, taken: &mut std::collections::BTreeSet<String>) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "photo".into());
    let mut name = stem.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}
