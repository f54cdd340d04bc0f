//! `famsim eval DIR [--out REPORT_DIR] [--compare OTHER_DIR]` and
//! `famsim eval --sweep gamma=… eta=… --spec SPEC.ron [--families N]`:
//! measure how kin-like a folder's families are and write the report.

use crate::dataset::DatasetSpec;
use crate::error::{Error, Result};
use crate::eval::describe::{DescribeOptions, Describer};
use crate::eval::sweep::{parse_grid, point_name, summarize, Sweep};
use crate::eval::{evaluate, report, EvalOptions, Report};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A `famsim run` folder, a `famsim dataset` folder, or a
    /// Families-in-the-Wild folder (F####/MID#/*.jpg with mid.csv).
    #[arg(required_unless_present = "sweep", conflicts_with = "sweep")]
    pub dir: Option<PathBuf>,
    /// Report folder (default: DIR/report). With --sweep: the folder for the
    /// datasets, with the report in its report/ (default: sweeps/<spec file name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A second folder, measured the same way and shown beside DIR.
    #[arg(long, conflicts_with = "sweep")]
    pub compare: Option<PathBuf>,
    /// Make a small dataset per point of a grid and report how resemblance and
    /// diversity move: gamma=V,V,… and/or eta=V,V,… (needs --spec).
    #[arg(long, num_args = 1.., value_name = "NAME=V,V,...", requires = "spec")]
    pub sweep: Vec<String>,
    /// The dataset spec each sweep point starts from.
    #[arg(long, requires = "sweep")]
    pub spec: Option<PathBuf>,
    /// Families per sweep point (default: the spec's).
    #[arg(long, requires = "sweep")]
    pub families: Option<usize>,
    /// Images per face-descriptor batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Face-descriptor cache folder (default: REPORT_DIR/descriptor-cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    if args.threads == Some(0) {
        return Err(Error::input("--threads must be at least 1"));
    }
    if args.batch == 0 {
        return Err(Error::input("--batch must be at least 1"));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::internal(format!("thread pool: {e}")))?;
    pool.install(|| {
        if args.sweep.is_empty() {
            eval_folders(&args)
        } else {
            sweep(&args)
        }
    })
}

/// The face network, when this build has one.
fn describer() -> Option<Box<dyn Describer>> {
    None
}

const NO_FACE_NETWORK: &str =
    "not computed: this famsim has no face-descriptor network yet (gene-space figures only)";

fn options<'a>(
    args: &EvalArgs,
    out: &Path,
    describer: Option<&'a dyn Describer>,
) -> EvalOptions<'a> {
    EvalOptions {
        describe: describer.map(|d| DescribeOptions {
            describer: d,
            cache_dir: args
                .cache
                .clone()
                .unwrap_or_else(|| out.join("descriptor-cache")),
            batch: args.batch,
            progress: !args.quiet,
        }),
        no_faces_because: NO_FACE_NETWORK.into(),
    }
}

fn finish(report: &Report, out: &Path) -> Result<()> {
    super::run_folder::refuse_file(out)?;
    report::write(out, report)?;
    print!("{}", report::summary::summary(report, out));
    Ok(())
}

fn eval_folders(args: &EvalArgs) -> Result<()> {
    let dir = args
        .dir
        .as_ref()
        .ok_or_else(|| Error::input("famsim eval needs a folder (or --sweep)"))?;
    let out = args.out.clone().unwrap_or_else(|| dir.join("report"));
    let net = describer();
    let opts = options(args, &out, net.as_deref());
    let mut folders = vec![evaluate(dir, &opts)?];
    if let Some(other) = &args.compare {
        folders.push(evaluate(other, &opts)?);
    }
    finish(
        &Report {
            famsim_version: env!("CARGO_PKG_VERSION").to_string(),
            folders,
            sweep: None,
        },
        &out,
    )
}

fn sweep(args: &EvalArgs) -> Result<()> {
    let grid = parse_grid(&args.sweep)?;
    let spec_path = args
        .spec
        .as_ref()
        .ok_or_else(|| Error::input("--sweep needs --spec SPEC.ron"))?;
    let mut base = DatasetSpec::load(spec_path)?;
    if let Some(n) = args.families {
        if n == 0 {
            return Err(Error::input("--families must be at least 1"));
        }
        base.families = n;
    }
    let root = args.out.clone().unwrap_or_else(|| {
        let stem = spec_path
            .file_stem()
            .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("sweeps").join(stem)
    });
    let out = root.join("report");
    let net = describer();
    let opts = options(args, &out, net.as_deref());
    let mut folders = Vec::new();
    let mut points = Vec::new();
    for (gamma, eta) in grid.points((base.defaults.gamma, base.defaults.eta)) {
        let mut spec = base.clone();
        spec.defaults.gamma = gamma;
        spec.defaults.eta = eta;
        spec.validate()
            .map_err(|e| Error::input(format!("--sweep gamma={gamma} eta={eta}: {e}")))?;
        let dir = root.join(point_name(gamma, eta));
        if !args.quiet {
            eprintln!("sweep: gamma {gamma}, eta {eta} → {}", dir.display());
        }
        // The very code `famsim dataset` runs, into a fresh dataset.
        super::dataset::write(
            spec,
            &super::dataset::DatasetArgs {
                spec: spec_path.clone(),
                out: dir.clone(),
                families: None,
                seed: None,
                resume: false,
                threads: args.threads,
                quiet: args.quiet,
                cluster: super::cluster::ClusterArgs {
                    workers: 1,
                    processes: 1,
                    process: 0,
                    hostfile: None,
                    connect_timeout: crate::engine::cluster::DEFAULT_CONNECT_TIMEOUT.as_secs(),
                },
            },
            true,
        )?;
        let metrics = evaluate(&dir, &opts)?;
        points.push(summarize(gamma, eta, &metrics));
        folders.push(metrics);
    }
    finish(
        &Report {
            famsim_version: env!("CARGO_PKG_VERSION").to_string(),
            folders,
            sweep: Some(Sweep {
                spec: spec_path.display().to_string(),
                families: base.families,
                points,
            }),
        },
        &out,
    )
}
