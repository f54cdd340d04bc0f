//! The shape of a cluster: how many workers and processes, where each process
//! listens (the host file), and how each worker gets its face model.

use crate::error::{Error, Result};
use crate::model::FaceModel;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Builds the face model a worker renders with. Called once per worker, on
/// that worker's thread; a model that can be shared (procedural, CPU) may
/// hand out clones of one `Arc`, a GPU model builds one per device.
pub type ModelFactory = Arc<dyn Fn(&WorkerSlot) -> Result<Arc<dyn FaceModel>> + Send + Sync>;

/// Where a worker sits in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerSlot {
    /// Index among all workers of all processes.
    pub index: usize,
    /// Number of workers of all processes.
    pub peers: usize,
    /// Index of this worker's process.
    pub process: usize,
    /// Index of this worker among its process's threads (picks its GPU).
    pub local: usize,
}

/// How to spread a run: `workers` threads in each of `processes` processes.
#[derive(Clone)]
pub struct ClusterConfig {
    /// Timely worker threads per process.
    pub workers: usize,
    /// Number of processes (1: threads of this process only).
    pub processes: usize,
    /// This process's index, `0..processes`; process 0 leads.
    pub process: usize,
    /// `host:port` of every process, in process order (empty for one process).
    pub hosts: Vec<String>,
    /// Builds each worker's face model.
    pub models: ModelFactory,
    /// How long to wait for every process to connect before giving up.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("workers", &self.workers)
            .field("processes", &self.processes)
            .field("process", &self.process)
            .field("hosts", &self.hosts)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Default wait for the other processes of a cluster to start and connect.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

impl ClusterConfig {
    /// Checks the shape of a cluster. `hosts` must name every process when
    /// there are several (see [`read_hostfile`]).
    pub fn new(
        workers: usize,
        processes: usize,
        process: usize,
        hosts: Vec<String>,
        models: ModelFactory,
    ) -> Result<ClusterConfig> {
        if workers == 0 {
            return Err(Error::input("--workers must be at least 1"));
        }
        if processes == 0 {
            return Err(Error::input("--processes must be at least 1"));
        }
        if process >= processes {
            return Err(Error::input(format!(
                "--process {process} is out of range: with --processes {processes} it must be 0 to {}",
                processes - 1
            )));
        }
        if processes > 1 && hosts.len() != processes {
            return Err(Error::input(format!(
                "--processes {processes} needs {processes} host:port addresses, got {}",
                hosts.len()
            )));
        }
        Ok(ClusterConfig {
            workers,
            processes,
            process,
            hosts,
            models,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        })
    }

    /// The model factory of a session whose workers make no faces
    /// (`famsim eval` describes images): never called, and an error if it is.
    pub fn no_model() -> ModelFactory {
        Arc::new(|_: &WorkerSlot| {
            Err(Error::internal(
                "a worker asked for a face model in a session that makes no faces",
            ))
        })
    }

    /// One worker thread in this process, making no faces.
    pub fn single() -> ClusterConfig {
        ClusterConfig::new(1, 1, 0, Vec::new(), ClusterConfig::no_model())
            .expect("one worker of one process is a valid cluster")
    }

    /// Number of workers in the whole cluster.
    pub fn peers(&self) -> usize {
        self.workers * self.processes
    }

    /// timely's configuration for one process (several processes connect
    /// through [`super::connect::connect_processes`] instead).
    pub(super) fn timely_config(&self) -> timely::Config {
        let communication = if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// Reads a host file: one `host:port` per process, in process order. Blank
/// lines and lines starting with `#` are skipped; extra lines are ignored.
pub fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read host file {}: {e}", path.display())))?;
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid {
            return Err(Error::input(format!(
                "{}:{}: `{line}` is not host:port",
                path.display(),
                n + 1
            )));
        }
        hosts.push(line.to_string());
    }
    if hosts.len() < processes {
        return Err(Error::input(format!(
            "host file {} names {} processes, but --processes is {processes}",
            path.display(),
            hosts.len()
        )));
    }
    hosts.truncate(processes);
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_files_skip_comments_and_check_each_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(
            &path,
            "# cluster\nnode-a:7700\n\n  node-b:7701 \nnode-c:7702\n",
        )
        .unwrap();
        assert_eq!(
            read_hostfile(&path, 2).unwrap(),
            vec!["node-a:7700".to_string(), "node-b:7701".to_string()]
        );
        let err = read_hostfile(&path, 4).unwrap_err().to_string();
        assert!(err.contains("names 3 processes"), "{err}");
        std::fs::write(&path, "node-a:7700\nnode-b\n").unwrap();
        let err = read_hostfile(&path, 2).unwrap_err().to_string();
        assert!(err.contains("hosts:2: `node-b` is not host:port"), "{err}");
    }
}
