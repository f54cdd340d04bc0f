//! The `famsim` command line: argument definitions and dispatch to the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// famsim — simulate families and paint a face for every person.
#[derive(Debug, Parser)]
#[command(name = "famsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario: genes for everyone, a face for everyone, a family tree page.
    Run(RunArgs),
    /// Validate a scenario and print a summary, writing nothing.
    Check {
        /// Scenario file (.ron).
        scenario: PathBuf,
    },
    /// Make a synthetic kinship dataset (Families In the Wild layout) from a dataset spec.
    Dataset(dataset::DatasetArgs),
    /// Write GEDCOM, Graphviz and HTML views of a run directory.
    Export(export::ExportArgs),
    /// Import the official StyleGene checkpoints, or show a weights directory.
    Weights {
        #[command(subcommand)]
        command: weights::WeightsCommand,
    },
    /// Render a W+ latent with the neural model (stored noise: deterministic).
    Render(render::RenderArgs),
    /// StyleGene's gene encoder and decoder on .npy files.
    Genes {
        #[command(subcommand)]
        command: genes::GenesCommand,
    },
    /// Random faces from seeds through the mapping network.
    Sample(sample::SampleArgs),
    /// A face photo's W+ latent, through the e4e photo encoder.
    Invert(invert::InvertArgs),
    /// One child of two W+ latents (the StyleGene demo's operation).
    Child(child::ChildArgs),
    /// Build a gene pool from labelled W+ latents.
    Pool {
        #[command(subcommand)]
        command: pool::PoolCommand,
    },
    /// Join the run directories that the processes of a cluster run wrote.
    Merge(MergeArgs),
    /// Face photos → aligned encoder crops (detection, dlib landmarks, FFHQ alignment).
    Align(align::AlignArgs),
    /// Measure how kin-like a run, a dataset or a Families-in-the-Wild folder is; write a report.
    Eval(eval::EvalArgs),
    /// List the devices the neural model can run on (CPU, CUDA GPUs, wgpu adapters).
    Devices,
    /// The family designer in the browser (a local web server).
    Serve(serve::ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Run directories, one per process (process 0's holds the manifest).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged run directory (may be one of the inputs).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Output directory (default: runs/<scenario file name>): new, empty, or
    /// an earlier run's, whose files are replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the image size in pixels (64 to 1024).
    #[arg(long)]
    pub size: Option<u32>,
    /// Worker threads for rendering (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep people whose outputs are already complete in --out.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar or summary.
    #[arg(long)]
    pub quiet: bool,
    /// Write into a non-empty --out that `famsim run` did not make (files
    /// with the names the run writes are replaced; nothing else is touched).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub exports: export::ExportFlags,
    #[command(flatten)]
    pub cluster: cluster::ClusterArgs,
}

pub mod align;
pub mod check;
pub mod child;
pub mod cluster;
pub mod dataset;
pub mod devices;
pub mod eval;
pub mod export;
pub mod genes;
pub mod invert;
pub mod merge;
pub mod model_args;
pub mod pool;
pub mod render;
pub mod run;
pub mod run_folder;
pub mod sample;
pub mod serve;
pub mod stamp;
pub mod weights;

/// Formats an error for stderr. Scenario reports are already complete
/// diagnostics; everything else gets an `error:` prefix.
pub fn render_error(err: &crate::Error) -> String {
    match err {
        crate::Error::Scenario(report) => report.clone(),
        other => format!("error: {other}"),
    }
}
