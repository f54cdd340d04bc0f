//! `famsim run`: simulate a scenario end to end and write the run directory.

use super::cluster::model_factory;
use super::run_folder;
use super::stamp::{add_face_inputs, check_resume, stamp};
use super::RunArgs;
use crate::engine::{simulate, ProgressReport, RunOptions};
use crate::error::{Error, Result};
use crate::exports::{write_exports, write_run_outputs};
use crate::io::atomic::write_atomic;
use crate::model::FaceModel;
use crate::scenario;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// File in the run directory that records what the run was made from, so
/// `--resume` never mixes two different runs in one folder.
const RUN_STAMP: &str = ".famsim-run.json";

pub fn run(args: RunArgs) -> Result<()> {
    let started = Instant::now();
    let photos = crate::engine::photo_founders::FairFacePhotos::default();
    let mut loaded = scenario::load_with(&args.scenario, Some(&photos))?;
    if let Some(size) = args.size {
        crate::model::check_image_size(size).map_err(|e| Error::input(format!("--size: {e}")))?;
        loaded.file.image_size = size;
    }
    if args.threads == Some(0) {
        return Err(Error::input("--threads must be at least 1"));
    }
    let seed = args.seed.unwrap_or(loaded.file.seed);
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&args.scenario));
    // Before the model loads: a wrong --out should not cost the wait.
    let folder = run_folder::inspect(&out_dir, RUN_STAMP, args.resume, args.force)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }

    let model: Arc<dyn FaceModel> =
        crate::model::build(&loaded.file.model, loaded.file.image_size, &args.scenario)?.into();
    let models = model_factory(
        &loaded.file.model,
        loaded.file.image_size,
        &args.scenario,
        Arc::clone(&model),
    );
    let cluster = args.cluster.config(models)?;
    let mut settings = serde_json::json!({
        "seed": seed,
        "image_size": loaded.file.image_size,
        "model": model.describe(),
    });
    add_face_inputs(
        &mut settings,
        &loaded.file.model,
        &args.scenario,
        Some(&loaded.pedigree),
    );
    let stamp = stamp(&args.scenario, "scenario_sha256", settings)?;
    check_resume(
        &out_dir,
        RUN_STAMP,
        &stamp,
        args.resume,
        "scenario, seed, size, model, weights, founder file",
    )?;
    let same_run = std::fs::read_to_string(out_dir.join(RUN_STAMP)).is_ok_and(|s| s == stamp);
    let image_name = crate::engine::people_dir_images();
    let mut files: BTreeSet<String> = run_folder::FIXED_OUTPUTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    files.extend(loaded.pedigree.people().map(|(_, p)| image_name(p)));
    // With several processes in one folder, another's temporary file in
    // flight looks just like a stale one; only a lone process cleans up.
    let alone = args.cluster.processes <= 1;
    run_folder::prepare(&out_dir, folder, args.resume, same_run, alone, &files)?;
    write_atomic(&out_dir.join(RUN_STAMP), stamp.as_bytes())?;

    let opts = RunOptions {
        out_dir: out_dir.clone(),
        seed,
        scenario_name: loaded.file.name.clone(),
        threads: args.threads,
        resume: args.resume,
        progress: if args.quiet {
            ProgressReport::Hidden
        } else {
            ProgressReport::Bar
        },
        image_name,
        cluster,
    };
    let mut report = simulate(&loaded.pedigree, model.as_ref(), &opts)?;
    report
        .manifest
        .warnings
        .splice(0..0, loaded.warnings.iter().cloned());
    for w in report.manifest.warnings.iter().skip(loaded.warnings.len()) {
        eprintln!("warning: {w}");
    }
    if !report.leader {
        if !args.quiet {
            eprintln!(
                "process {}: {} people rendered, {} kept from a previous run; process 0 writes the run files",
                args.cluster.process, report.rendered, report.skipped
            );
        }
        return Ok(());
    }
    write_run_outputs(&report.manifest, &out_dir)?;
    // index.html is part of every run already; --html only asks for it explicitly.
    write_exports(
        &report.manifest,
        &out_dir,
        args.exports.chosen().filter(|e| !e.in_every_run),
    )?;
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} people ({} rendered, {} kept from a previous run) in {:.2}s ({:.0} people/s) → {}",
            report.manifest.people.len(),
            report.rendered,
            report.skipped,
            secs,
            report.manifest.people.len() as f64 / secs.max(1e-9),
            out_dir.join("index.html").display()
        );
    }
    Ok(())
}

/// `runs/<scenario file stem>`.
fn default_out_dir(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("runs").join(stem)
}
