//! `famsim sample`: random faces from seeds through the mapping network.
//!
//! Seed S gives the same latent as a scenario founder with `genes: Seed(S)`
//! at the same truncation, so a face found here can be put into a family.

use super::model_args::ModelArgs;
use crate::attributes::{AgeGroup, Sex};
use crate::error::{Error, Result};
use crate::exports::png::write_png;
use crate::genetics::rng::{stream, Purpose};
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use crate::model::Subject;
use std::path::PathBuf;

/// The stream a face seed draws its z from (shared with the engine's `Seed` founders).
pub const FACE_SEED_STREAM: &str = "founder-seed";

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// First face seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How many faces (seeds S, S+1, …).
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Truncation ψ toward the mean face (1 = none).
    #[arg(long, default_value_t = 0.7)]
    pub truncation: f32,
    /// Folder for seed<S>.npy (W+, [1, N, W]) and seed<S>.png.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: SampleArgs) -> Result<()> {
    if args.count == 0 {
        return Err(Error::input("--count must be at least 1"));
    }
    let model = args
        .model
        .load_with(Parts::Generator, false, args.truncation)?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    // The neural model ignores the subject; the signature needs one.
    let subject = Subject {
        age: AgeGroup::Age20To29,
        sex: Sex::Female,
        ancestry: None,
    };
    for seed in args.seed..args.seed.saturating_add(args.count) {
        let mut rng = stream(seed, FACE_SEED_STREAM, Purpose::Founder);
        let latent = model.latent_from_rng(&mut rng, subject)?;
        let image = model.render(&[&latent], &[subject])?.remove(0);
        npy::write_latent(&args.out.join(format!("seed{seed}.npy")), &latent)?;
        write_png(&args.out.join(format!("seed{seed}.png")), &image)?;
    }
    Ok(())
}
