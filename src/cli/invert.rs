//! `famsim invert`: face photos → their W+ latents through the e4e photo
//! encoder, as StyleGene's demo does to the parents' photos: each photo is
//! aligned first (face detection, dlib's 68 landmarks, the FFHQ crop) unless
//! `--no-align` says it already is, and FairFace's race, gender and age are
//! predicted when the weights folder has it.
//!
//! Every photo is read, aligned and encoded before anything is written, so
//! one bad photo leaves the output untouched.

use super::align::unique_stem;
use super::model_args::ModelArgs;
use crate::attributes::{AttributeReport, AttributeScores};
use crate::error::{Error, Result};
use crate::exports::atomic::write_atomic;
use crate::exports::png::{encode_png, write_png};
use crate::io::npy;
use crate::model::stylegene::face_model::{NeuralFaceModel, Parts};
use crate::model::{Image, Latent};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InvertArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Face photos (PNG or JPEG), or folders of them.
    #[arg(value_name = "PHOTO")]
    pub photos: Vec<PathBuf>,
    /// A photo, as the earlier spelling; the same as a PHOTO argument.
    #[arg(long, value_name = "PHOTO", hide = true)]
    pub photo: Vec<PathBuf>,
    /// With one photo: the W+ latent to write ([1, N, W] float32 .npy), and
    /// its attributes beside it (W.json). Otherwise a folder: <name>.npy,
    /// <name>.png (the aligned crop) and attributes.json.
    #[arg(long, value_name = "W.npy|DIR")]
    pub out: PathBuf,
    /// The photos already are aligned square crops (`famsim align`'s output,
    /// FFHQ images): encode them as they are.
    #[arg(long)]
    pub no_align: bool,
    /// Which face to use when a photo has several, 1 = the largest.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub face: u32,
    /// Also render the latent with the generator (stored noise); one photo only.
    #[arg(long, value_name = "IMG.png")]
    pub render: Option<PathBuf>,
}

/// One photo's outcome.
struct Inverted {
    photo: PathBuf,
    crop: Image,
    latent: Latent,
    attributes: Option<AttributeScores>,
}

#[derive(serde::Serialize)]
struct Record {
    photo: String,
    latent: String,
    /// The aligned crop written beside the latent (none with --no-align).
    aligned: Option<String>,
    /// FairFace's prediction; null when the weights folder has no FairFace.
    attributes: Option<AttributeReport>,
}

pub fn run(args: InvertArgs) -> Result<()> {
    let photos = list_photos(args.photos.iter().chain(&args.photo))?;
    if photos.is_empty() {
        return Err(Error::input(
            "no photo given: name face photos (PNG or JPEG) or folders of them",
        ));
    }
    let single = photos.len() == 1 && args.out.extension().is_some_and(|e| e == "npy");
    if args.render.is_some() && !single {
        return Err(Error::input(
            "--render paints one latent: give one photo and --out W.npy",
        ));
    }
    let parts = match args.render {
        Some(_) => Parts::Generator,
        None => Parts::Attributes,
    };
    let model = args.model.load(parts, false)?;
    // e4e, FairFace and the aligner side by side (a one-photo run is
    // mostly loading).
    model.load_photo_tools(!args.no_align)?;
    if !model.has_attributes() {
        eprintln!(
            "note: {} has no FairFace model, so no race, sex and age are predicted; \
             `famsim weights import ... --fairface res34_fair_align_multi_7_20190809.pt` adds it",
            args.model.weights.display()
        );
    }
    let mut done = Vec::with_capacity(photos.len());
    for path in photos {
        done.push(invert_one(model.as_ref(), &path, &args)?);
    }

    if single {
        let one = &done[0];
        npy::write_latent(&args.out, &one.latent)?;
        if let Some(scores) = &one.attributes {
            write_json(&args.out.with_extension("json"), &scores.report())?;
            eprintln!("{}: {}", one.photo.display(), scores.summary());
        }
        if let Some(path) = &args.render {
            let (mut images, _) = model.render_raw(&[&one.latent])?;
            write_png(path, &images.remove(0))?;
        }
        return Ok(());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let mut names = std::collections::BTreeSet::new();
    let mut records = Vec::with_capacity(done.len());
    for one in &done {
        let stem = unique_stem(&one.photo, &mut names);
        let latent = format!("{stem}.npy");
        npy::write_latent(&args.out.join(&latent), &one.latent)?;
        let aligned = if args.no_align {
            None
        } else {
            let name = format!("{stem}.png");
            write_atomic(&args.out.join(&name), &encode_png(&one.crop)?)?;
            Some(name)
        };
        if let Some(scores) = &one.attributes {
            eprintln!("{}: {}", one.photo.display(), scores.summary());
        }
        records.push(Record {
            photo: one.photo.display().to_string(),
            latent,
            aligned,
            attributes: one.attributes.as_ref().map(AttributeScores::report),
        });
    }
    write_json(&args.out.join("attributes.json"), &records)?;
    eprintln!(
        "inverted {} photo(s) into {}",
        records.len(),
        args.out.display()
    );
    Ok(())
}

/// Aligns (unless `--no-align`), predicts the attributes and encodes one photo.
fn invert_one(model: &dyn NeuralFaceModel, path: &Path, args: &InvertArgs) -> Result<Inverted> {
    let crop = if args.no_align {
        crate::io::photo::read_photo(path)?
    } else {
        let found = model.align_photo(path, args.face)?;
        for warning in &found.warnings {
            eprintln!("warning: {warning}");
        }
        found.aligned.image
    };
    let attributes = if model.has_attributes() {
        let scores = model
            .attributes(&[&crop])
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        scores.into_iter().next()
    } else {
        None
    };
    let latent = model.latent_from_crop(&crop, path)?;
    Ok(Inverted {
        photo: path.to_path_buf(),
        crop,
        latent,
        attributes,
    })
}

/// The photos named, folders replaced by their PNG and JPEG files in name order.
fn list_photos<'a>(given: impl Iterator<Item = &'a PathBuf>) -> Result<Vec<PathBuf>> {
    let mut photos = vec![];
    for path in given {
        if !path.is_dir() {
            photos.push(path.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|e| {
                        let e = e.to_ascii_lowercase();
                        e == "png" || e == "jpg" || e == "jpeg"
                    })
            })
            .collect();
        if inside.is_empty() {
            return Err(Error::input(format!(
                "{}: a folder without PNG or JPEG photos",
                path.display()
            )));
        }
        inside.sort();
        photos.extend(inside);
    }
    Ok(photos)
}

fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    write_atomic(path, format!("{json}\n").as_bytes())
}
