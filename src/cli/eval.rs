//! `famsim eval DIR [--out REPORT_DIR] [--compare OTHER_DIR]` and
//! `famsim eval --sweep gamma=… eta=… --spec SPEC.ron [--families N]`:
//! measure how kin-like a folder's families are and write the report.

use crate::dataset::DatasetSpec;
use crate::describe::resnet::DESCRIPTOR_LEN;
use crate::describe::DescriberFiles;
use crate::error::{Error, Result};
use crate::eval::describe::{DescribeOptions, Describer};
use crate::eval::sweep::{parse_grid, point_name, summarize, Sweep};
use crate::eval::{evaluate, follow, report, EvalOptions, Report};
use crate::image::Image;
use crate::model::backend::ModelBackend;
use crate::model::stylegene::device::{device_name, parse_device, run_on, OnDevice};
use crate::model_spec::DeviceSpec;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Face network: a weights folder holding dlib's face descriptor, its
    /// 5-point landmark model and the face detector (imported with `famsim
    /// weights import --descriptor F --landmarks5 F --detector F`).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Face network: dlib_face_recognition_resnet_model_v1.dat[.bz2] (with
    /// --landmarks5 and --detector; overrides the one in --weights).
    #[arg(long)]
    pub descriptor: Option<PathBuf>,
    /// Face network: shape_predictor_5_face_landmarks.dat[.bz2].
    #[arg(long)]
    pub landmarks5: Option<PathBuf>,
    /// Face network: the face detector, seeta_fd_frontal_v1.0.bin.
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// Where the face descriptor's network runs: cpu, cuda[:N] or wgpu[:N]
    /// (builds with `--features cuda` or `--features wgpu`; `famsim devices`
    /// lists them).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceSpec,
    /// Images per face-descriptor batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Face-descriptor cache folder (default: REPORT_DIR/descriptor-cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Spread the face descriptors over timely workers and processes (every
    /// process reads the folder and the face network at the same paths).
    #[command(flatten)]
    pub cluster: super::cluster::ClusterArgs,
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

/// dlib's face descriptor (`crate::describe`) as the evaluation's face
/// network, its ResNet on backend `B` (`--device`).
struct DlibNetwork<B: ModelBackend> {
    inner: crate::describe::Describer<B>,
    fingerprint: String,
    device: DeviceSpec,
}

impl<B: ModelBackend> Describer for DlibNetwork<B> {
    fn name(&self) -> String {
        let name =
            "dlib_face_recognition_resnet_model_v1, 128-D, SeetaFace detection, dlib 5-point chip";
        match self.device {
            DeviceSpec::Cpu => name.into(),
            other => format!("{name}, on {}", device_name(other)),
        }
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn dimension(&self) -> usize {
        DESCRIPTOR_LEN
    }
    fn describe_batch(&self, images: &[Image]) -> Result<Vec<Option<Vec<f32>>>> {
        Ok(self
            .inner
            .describe_batch(images)?
            .into_iter()
            .map(|d| d.map(|d| d.as_slice().to_vec()))
            .collect())
    }
}

/// The face network the flags name, if any: `--weights DIR`, with any of
/// `--descriptor`, `--landmarks5`, `--detector` overriding its files (all
/// three without `--weights`).
fn describer(args: &EvalArgs) -> Result<Option<Arc<dyn Describer>>> {
    let given = [&args.descriptor, &args.landmarks5, &args.detector];
    if args.weights.is_none() && given.iter().all(|f| f.is_none()) {
        return Ok(None);
    }
    let mut files = match &args.weights {
        Some(dir) => DescriberFiles::in_weights_dir(dir)?,
        None => {
            let need = |f: &Option<PathBuf>, flag: &str| {
                f.clone().ok_or_else(|| {
                    Error::input(format!(
                        "the face network needs --descriptor, --landmarks5 and --detector \
                         (or --weights DIR); {flag} is missing"
                    ))
                })
            };
            DescriberFiles {
                descriptor: need(&args.descriptor, "--descriptor")?,
                landmarks5: need(&args.landmarks5, "--landmarks5")?,
                detector: need(&args.detector, "--detector")?,
            }
        }
    };
    if let Some(f) = &args.descriptor {
        files.descriptor = f.clone();
    }
    if let Some(f) = &args.landmarks5 {
        files.landmarks5 = f.clone();
    }
    if let Some(f) = &args.detector {
        files.detector = f.clone();
    }
    for (f, flag) in [
        (&files.descriptor, "--descriptor"),
        (&files.landmarks5, "--landmarks5"),
        (&files.detector, "--detector"),
    ] {
        if !f.is_file() {
            return Err(Error::input(format!(
                "{flag} {}: no such file",
                f.display()
            )));
        }
    }
    // Loading first (in `LoadNetwork`): a broken file, or a device that
    // cannot run, is reported before anything is read.
    run_on(
        args.device,
        LoadNetwork {
            files: &files,
            device: args.device,
        },
    )
    .map(Some)
}

/// Loads the describer on the backend of `--device`.
struct LoadNetwork<'a> {
    files: &'a DescriberFiles,
    device: DeviceSpec,
}

impl OnDevice for LoadNetwork<'_> {
    type Output = Arc<dyn Describer>;

    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Self::Output> {
        let files = self.files;
        let inner = crate::describe::Describer::<B>::load_on(files, &device)?;
        // The cache key: the three files' bytes, so other weights never reuse
        // these descriptors; and the device where it is not the CPU, because
        // another backend rounds differently in the last bits and the cache
        // must not mix the two (the CPU's key is the one it always was).
        let mut h = Sha256::new();
        for f in [&files.descriptor, &files.landmarks5, &files.detector] {
            h.update(std::fs::read(f).map_err(|e| Error::io(f, e))?);
        }
        let mut fingerprint = format!("dlib-descriptor {}", hex::encode(h.finalize()));
        if self.device != DeviceSpec::Cpu {
            fingerprint.push_str(&format!(" on {}", device_name(self.device)));
        }
        Ok(Arc::new(DlibNetwork {
            inner,
            fingerprint,
            device: self.device,
        }))
    }
}

const NO_FACE_NETWORK: &str = "not computed: no face network given (--weights DIR, or \
     --descriptor, --landmarks5 and --detector); gene-space figures only";

fn options(
    args: &EvalArgs,
    out: &Path,
    describer: Option<Arc<dyn Describer>>,
) -> Result<EvalOptions> {
    let cluster = args.cluster.config_without_model()?;
    Ok(EvalOptions {
        describe: describer.map(|describer| DescribeOptions {
            describer,
            cache_dir: args
                .cache
                .clone()
                .unwrap_or_else(|| out.join("descriptor-cache")),
            batch: args.batch,
            progress: !args.quiet,
            cluster,
        }),
        no_faces_because: NO_FACE_NETWORK.into(),
    })
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
    let opts = options(args, &out, describer(args)?)?;
    if args.cluster.process != 0 {
        // Describe this process's share of each folder; process 0 reports.
        follow(dir, &opts)?;
        if let Some(other) = &args.compare {
            follow(other, &opts)?;
        }
        return Ok(());
    }
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
    let opts = options(args, &out, describer(args)?)?;
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
                cluster: args.cluster.clone(),
            },
            true,
        )?;
        if args.cluster.process != 0 {
            follow(&dir, &opts)?;
            continue;
        }
        let metrics = evaluate(&dir, &opts)?;
        points.push(summarize(gamma, eta, &metrics));
        folders.push(metrics);
    }
    if args.cluster.process != 0 {
        return Ok(());
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
