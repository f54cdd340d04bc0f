//! The flags that spread `famsim run`, `famsim dataset` and `famsim eval` over timely workers,
//! and the per-worker model factory the CLI gives the engine.

use crate::engine::cluster::{read_hostfile, DEFAULT_CONNECT_TIMEOUT};
use crate::engine::{ClusterConfig, ModelFactory, WorkerSlot};
use crate::error::{Error, Result};
use crate::model::FaceModel;
use crate::scenario::format::{DeviceSpec, ModelSpec};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Cluster flags (see `docs/distributed.md`).
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Timely worker threads in this process; each renders (eval: describes)
    /// its own share (with a CUDA model, worker K of a process uses the
    /// scenario's GPU + K).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Number of processes (machines) of a cluster run.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// This process's index, 0 to --processes − 1; process 0 writes the
    /// manifest (eval: the report).
    #[arg(long, default_value_t = 0)]
    pub process: usize,
    /// Host file: one host:port per process, in process order.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// Seconds to wait for every process to start and connect.
    #[arg(long, default_value_t = DEFAULT_CONNECT_TIMEOUT.as_secs())]
    pub connect_timeout: u64,
}

impl ClusterArgs {
    /// None for a plain one-worker run; the cluster otherwise.
    pub fn config(&self, models: ModelFactory) -> Result<Option<ClusterConfig>> {
        if self.workers == 1 && self.processes == 1 {
            if self.process != 0 {
                return Err(Error::input("--process needs --processes"));
            }
            return Ok(None);
        }
        let hosts = match (&self.hostfile, self.processes) {
            (_, 1) => Vec::new(),
            (Some(file), p) => read_hostfile(file, p)?,
            (None, p) => {
                return Err(Error::input(format!(
                    "--processes {p} needs --hostfile (one host:port per process)"
                )))
            }
        };
        let mut config =
            ClusterConfig::new(self.workers, self.processes, self.process, hosts, models)?;
        config.connect_timeout = Duration::from_secs(self.connect_timeout.max(1));
        Ok(Some(config))
    }

    /// The cluster of a command whose workers make no faces (`famsim eval`).
    pub fn config_without_model(&self) -> Result<Option<ClusterConfig>> {
        self.config(ClusterConfig::no_model())
    }
}

/// The model each worker renders with. A CPU model is built once and shared
/// by the process's workers; a CUDA model is built per worker, worker K of a
/// process on the scenario's GPU + K, so each GPU of a machine gets a worker.
pub fn model_factory(
    spec: &ModelSpec,
    image_size: u32,
    scenario: &Path,
    shared: Arc<dyn FaceModel>,
) -> ModelFactory {
    match spec {
        ModelSpec::StyleGene(s) if matches!(s.device, DeviceSpec::Cuda(_)) => {
            let (spec, scenario) = (s.clone(), scenario.to_path_buf());
            Arc::new(move |slot: &WorkerSlot| {
                // The model already built on the first GPU serves worker 0.
                if slot.local == 0 {
                    return Ok(Arc::clone(&shared));
                }
                let DeviceSpec::Cuda(first) = spec.device else {
                    unreachable!("matched a CUDA device above")
                };
                let mut mine = spec.clone();
                mine.device = DeviceSpec::Cuda(first + slot.local);
                crate::model::build(&ModelSpec::StyleGene(mine), image_size, &scenario)
                    .map(Arc::from)
            })
        }
        _ => Arc::new(move |_: &WorkerSlot| Ok(Arc::clone(&shared))),
    }
}
