//! `famsim dataset --spec SPEC.ron --out DIR [--families N] [--seed S] [--resume]`:
//! a synthetic kinship dataset in the Families In the Wild layout.

use super::stamp::{add_face_inputs, check_resume, stamp};
use crate::dataset::{generate, DatasetOptions, DatasetSpec};
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use std::path::PathBuf;
use std::time::Instant;

/// File in the dataset folder that records what it is made from, so
/// `--resume` never mixes two different datasets.
const DATASET_STAMP: &str = ".famsim-dataset.json";

#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// Dataset spec (.ron); see docs/dataset.md.
    #[arg(long)]
    pub spec: PathBuf,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Override the spec's number of families.
    #[arg(long)]
    pub families: Option<usize>,
    /// Override the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue an interrupted run into the same folder, keeping its faces.
    #[arg(long)]
    pub resume: bool,
    /// Worker threads for rendering (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or summary.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub cluster: super::cluster::ClusterArgs,
}

pub fn dataset(args: DatasetArgs) -> Result<()> {
    super::run_folder::refuse_file(&args.out)?;
    let mut spec = DatasetSpec::load(&args.spec)?;
    if let Some(n) = args.families {
        if n == 0 {
            return Err(Error::input("--families must be at least 1"));
        }
        spec.families = n;
    }
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    write(spec, &args, false)
}

/// Writes the dataset of a spec already loaded (and overridden): `famsim
/// dataset`, and `famsim eval --sweep`, which sets the spec's gamma and eta
/// and records them in the stamp (`defaults_in_stamp`).
pub fn write(spec: DatasetSpec, args: &DatasetArgs, defaults_in_stamp: bool) -> Result<()> {
    let started = Instant::now();
    if args.threads == Some(0) {
        return Err(Error::input("--threads must be at least 1"));
    }
    let model: std::sync::Arc<dyn crate::model::FaceModel> =
        crate::model::build(&spec.model, spec.image_size, &args.spec)?.into();
    let models = super::cluster::model_factory(
        &spec.model,
        spec.image_size,
        &args.spec,
        std::sync::Arc::clone(&model),
    );
    let cluster = args.cluster.config(models)?;
    let leader = cluster.as_ref().is_none_or(|c| c.process == 0);
    let mut settings = serde_json::json!({
        "families": spec.families,
        "seed": spec.seed,
        "image_size": spec.image_size,
        "model": model.describe(),
    });
    if defaults_in_stamp {
        settings["gamma"] = spec.defaults.gamma.into();
        settings["eta"] = spec.defaults.eta.into();
    }
    add_face_inputs(&mut settings, &spec.model, &args.spec, None);
    let stamp = stamp(&args.spec, "spec_sha256", settings)?;
    let stamp_path = args.out.join(DATASET_STAMP);
    check_resume(
        &args.out,
        DATASET_STAMP,
        &stamp,
        args.resume,
        "spec, family count, seed, model, weights",
    )?;
    // Process 0 alone writes the stamp: two processes writing the same file
    // in a shared folder would race with each other's temporary files.
    if leader {
        write_atomic(&stamp_path, stamp.as_bytes())?;
    }
    let report = generate(
        &spec,
        model.as_ref(),
        &DatasetOptions {
            out_dir: args.out.clone(),
            threads: args.threads,
            resume: args.resume,
            progress: !args.quiet,
            cluster,
        },
    )?;
    if !leader {
        if !args.quiet {
            eprintln!(
                "process {}: {} people rendered, {} kept from a previous run; process 0 writes the tables",
                args.cluster.process, report.rendered, report.skipped
            );
        }
        return Ok(());
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} families, {} people ({} rendered, {} kept), {} kin pairs + {} negatives in {:.1}s ({:.0} people/s) → {}",
            spec.families,
            report.people,
            report.rendered,
            report.skipped,
            report.stats.total_positives(),
            report.stats.total_negatives(),
            secs,
            report.rendered as f64 / secs.max(1e-9),
            args.out.join("DATASET.md").display()
        );
    }
    Ok(())
}
