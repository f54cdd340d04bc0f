//! A run spread over many workers — threads of one process, or processes on
//! many machines — on timely dataflow.
//!
//! The dataflow is small because the pedigree is known to everyone: each
//! worker reads the whole pedigree and computes the same [`Placement`], so
//! the only things that travel are what cannot be recomputed:
//!
//! - **ancestors**: the genome and latent of each person with children, sent
//!   (bincode over timely's channels) to the workers that own those children;
//! - **to the leader** (worker 0): what simulating each person decided
//!   (region origins, pool keys, warnings) so it can write the manifest, and
//!   progress counts so one progress bar covers the whole cluster.
//!
//! The timestamp is the generation. A worker renders generation `g` once its
//! probe shows that no message of an earlier generation is still under way:
//! by then every parent of its generation-`g` people has arrived. All random
//! draws come from per-person streams, so the files are byte-identical to a
//! single-machine run whatever the number of workers.
//!
//! Failure: timely's TCP layer panics in its receive thread when a peer's
//! connection drops. A panic hook notes which process that thread served;
//! the calling thread watches for it, tells local workers to stop, and returns
//! an error naming the lost process within a second or so instead of waiting
//! on workers that may never finish. Every image is written atomically, so
//! rerunning the whole job with `--resume` completes it.

use super::connect::connect_processes;
use super::placement::Placement;
use super::{Progress, RunOptions, RunReport, Simulation};
use crate::error::{Error, Result};
use crate::genetics::{Genome, RegionOrigin, REGION_COUNT};
use crate::model::{FaceModel, Latent};
use crate::pedigree::Pedigree;
use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Input, Operator, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Stream};
use timely::worker::Worker;
use timely::ExchangeData;

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

    /// Number of workers in the whole cluster.
    pub fn peers(&self) -> usize {
        self.workers * self.processes
    }

    /// timely's configuration for one process (several processes connect
    /// through [`connect_processes`] instead).
    fn timely_config(&self) -> timely::Config {
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

/// A parent's genome and latent on the way to a worker that owns some of
/// their children.
#[derive(Clone, Serialize, Deserialize)]
struct AncestorMsg {
    to: u32,
    parent: u32,
    genome: Genome,
    latent: Latent,
}

/// News for the leader (worker 0).
#[derive(Clone, Serialize, Deserialize)]
enum LeaderMsg {
    /// What simulating one person decided.
    Person {
        node: u32,
        generation: u32,
        /// Place in its generation, to order warnings as one machine would.
        position: u32,
        origins: Option<Vec<OriginWire>>,
        pool_keys: Vec<String>,
        warning: Option<String>,
    },
    /// People finished (rendered or kept) since the last count.
    Done(u64),
    /// A worker's totals, sent once at the end.
    Tally { rendered: u64, skipped: u64 },
}

/// [`RegionOrigin`] in a form bincode can carry (the manifest's form is an
/// internally tagged enum, which needs a self-describing format).
#[derive(Clone, Copy, Serialize, Deserialize)]
enum OriginWire {
    Father,
    Mother,
    Pool,
    Blend { father: f32, pool: f32, mother: f32 },
}

impl From<RegionOrigin> for OriginWire {
    fn from(o: RegionOrigin) -> Self {
        match o {
            RegionOrigin::Father => OriginWire::Father,
            RegionOrigin::Mother => OriginWire::Mother,
            RegionOrigin::Pool => OriginWire::Pool,
            RegionOrigin::Blend {
                father,
                pool,
                mother,
            } => OriginWire::Blend {
                father,
                pool,
                mother,
            },
        }
    }
}

impl From<OriginWire> for RegionOrigin {
    fn from(o: OriginWire) -> Self {
        match o {
            OriginWire::Father => RegionOrigin::Father,
            OriginWire::Mother => RegionOrigin::Mother,
            OriginWire::Pool => RegionOrigin::Pool,
            OriginWire::Blend {
                father,
                pool,
                mother,
            } => RegionOrigin::Blend {
                father,
                pool,
                mother,
            },
        }
    }
}

/// Everything a worker thread needs; shared by the process's workers.
struct Job {
    pedigree: Pedigree,
    opts: RunOptions,
    placement: Placement,
    models: ModelFactory,
    workers: usize,
    process: usize,
    /// Set when any local worker failed or a peer process was lost.
    abort: Arc<AtomicBool>,
    pool: rayon::ThreadPool,
}

/// What a worker hands back: its own counts, and on the leader the report
/// for the whole cluster.
struct WorkerOutput {
    rendered: usize,
    skipped: usize,
    leader_report: Option<RunReport>,
}

/// Runs `pedigree` on the timely workers `cluster` describes. See the module
/// documentation for the dataflow and for what happens when a process dies.
pub fn simulate(
    pedigree: &Pedigree,
    model: &dyn FaceModel,
    cluster: &ClusterConfig,
    opts: &RunOptions,
) -> Result<RunReport> {
    install_panic_hook();
    lost_peer_slot()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();

    let peers = cluster.peers();
    let mut opts = opts.clone();
    opts.cluster = None;
    let job = Arc::new(Job {
        placement: Placement::new(pedigree, peers),
        pedigree: pedigree.clone(),
        pool: super::thread_pool(opts.threads)?,
        opts,
        models: cluster.models.clone(),
        workers: cluster.workers,
        process: cluster.process,
        abort: Arc::new(AtomicBool::new(false)),
    });

    // Every process clears stale temporaries before it connects; no process
    // writes an image before all have connected, so none removes another's
    // file in flight.
    let here = Simulation::new(&job.pedigree, model, &job.opts);
    here.prepare_folders()?;
    let follower_manifest = here.manifest(Vec::new(), Vec::new());

    let (results_tx, results_rx) = mpsc::channel::<(usize, Result<WorkerOutput>)>();
    let results_tx = Mutex::new(results_tx);
    let worker_job = Arc::clone(&job);
    let worker_logic = move |worker: &mut Worker| {
        let index = worker.index();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_worker(worker, &worker_job)
        }))
        .unwrap_or_else(|panic| Err(Error::internal(panic_message(&*panic))));
        let failed = result.is_err();
        // Report first, then stop the others: the first error the caller
        // reads is then the cause, not a "stopped" echo.
        if let Ok(tx) = results_tx.lock() {
            let _ = tx.send((index, result));
        }
        if failed {
            worker_job.abort.store(true, Ordering::SeqCst);
        }
    };
    let started = if cluster.processes > 1 {
        // Our own connection set-up (see `connect`), then timely's TCP layer.
        let sockets = connect_processes(&cluster.hosts, cluster.process, cluster.connect_timeout)?;
        let hooks = timely::communication::Hooks::default();
        let local = ProcessBuilder::new_typed_vector(
            cluster.workers,
            hooks.refill.clone(),
            hooks.spill.clone(),
        );
        let (builders, network) = initialize_networking_from_sockets(
            local,
            sockets,
            cluster.process,
            cluster.workers,
            hooks,
        )
        .map_err(|e| {
            Error::internal(format!("process {}: network set-up: {e}", cluster.process))
        })?;
        timely::execute::execute_from(
            builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
            Box::new(network),
            timely::WorkerConfig::default(),
            worker_logic,
        )
    } else {
        timely::execute(cluster.timely_config(), worker_logic)
    };
    let guards = started.map_err(|e| {
        Error::internal(format!(
            "process {}: cannot start the workers: {e}",
            cluster.process
        ))
    })?;

    let local_workers = cluster.workers;
    let mut finished = 0;
    let mut report = None;
    let (mut rendered_here, mut skipped_here) = (0, 0);
    let mut failure: Option<Error> = None;
    let mut aborted_at: Option<Instant> = None;
    loop {
        if let Some(lost) = lost_peer() {
            failure = Some(lost_peer_error(cluster, lost));
            job.abort.store(true, Ordering::SeqCst);
        }
        if failure.is_some() {
            let since = *aborted_at.get_or_insert_with(Instant::now);
            // Local workers stop at their next check; don't wait on ones
            // stuck in a render or a dead connection.
            if finished == local_workers || since.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        match results_rx.recv_timeout(Duration::from_millis(100)) {
            Ok((_, Ok(output))) => {
                finished += 1;
                rendered_here += output.rendered;
                skipped_here += output.skipped;
                if output.leader_report.is_some() {
                    report = output.leader_report;
                }
            }
            Ok((index, Err(e))) => {
                finished += 1;
                job.abort.store(true, Ordering::SeqCst);
                if failure.is_none() {
                    // A communication panic is explained better by the lost peer.
                    std::thread::sleep(Duration::from_millis(200));
                    failure = Some(match lost_peer() {
                        Some(lost) => lost_peer_error(cluster, lost),
                        None => annotate(e, cluster, index),
                    });
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if finished == local_workers && failure.is_none() {
            break;
        }
    }

    if let Some(err) = failure {
        // Worker and network threads may be blocked on a dead peer; joining
        // them could hang. Everything they use is owned (`Arc`), so leaving
        // them to the process's exit is safe.
        std::mem::forget(guards);
        return Err(err);
    }
    // Joining also joins timely's network threads, which panic if a peer
    // vanished after its last message but before saying goodbye. Every
    // local worker finished by then and the leader heard from everyone, so
    // the run is complete: note it and go on.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(guards)));
    if joined.is_err() {
        let who = lost_peer().map_or("a peer".to_string(), |p| format!("process {p}"));
        eprintln!("warning: {who} closed its connection early while the run was shutting down");
    }
    match report {
        Some(report) => Ok(report),
        // Followers know the run but not its people; the leader writes the outputs.
        None if cluster.process != 0 => Ok(RunReport {
            manifest: follower_manifest,
            rendered: rendered_here,
            skipped: skipped_here,
            leader: false,
        }),
        None => Err(Error::internal("the leading worker returned no manifest")),
    }
}

/// Prefixes a worker's error with where it happened (on a cluster).
fn annotate(e: Error, cluster: &ClusterConfig, worker: usize) -> Error {
    if cluster.processes == 1 {
        return e;
    }
    let whence = format!("process {} (worker {worker})", cluster.process);
    match e {
        Error::Input(m) => Error::Input(format!("{whence}: {m}")),
        Error::Internal(m) => Error::Internal(format!("{whence}: {m}")),
        other => other,
    }
}

fn lost_peer_error(cluster: &ClusterConfig, lost: usize) -> Error {
    let host = cluster
        .hosts
        .get(lost)
        .map(String::as_str)
        .unwrap_or("unknown address");
    Error::internal(format!(
        "process {lost} ({host}) stopped or became unreachable; process {} stops too. \
         Images written so far are complete: rerun the whole job with --resume to finish it",
        cluster.process
    ))
}

/// One worker: build the dataflow, then walk the generations.
fn run_worker(worker: &mut Worker, job: &Job) -> Result<WorkerOutput> {
    let me = worker.index();
    let peers = worker.peers();
    let slot = WorkerSlot {
        index: me,
        peers,
        process: job.process,
        local: me - job.process * job.workers,
    };
    let model = (job.models)(&slot)?;
    let pedigree = &job.pedigree;
    let mut sim = Simulation::new(pedigree, model.as_ref(), &job.opts);
    let leader = me == 0;

    let mut ancestors_in = InputHandle::<u64, CapacityContainerBuilder<Vec<AncestorMsg>>>::new();
    let mut leader_in = InputHandle::<u64, CapacityContainerBuilder<Vec<LeaderMsg>>>::new();
    let arrived: Rc<RefCell<Vec<AncestorMsg>>> = Rc::default();
    let news: Rc<RefCell<Vec<LeaderMsg>>> = Rc::default();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let ancestors = scope.input_from(&mut ancestors_in);
        collect(
            ancestors,
            |m: &AncestorMsg| u64::from(m.to),
            arrived.clone(),
        )
        .probe_with(&probe);
        let to_leader = scope.input_from(&mut leader_in);
        collect(to_leader, |_: &LeaderMsg| 0, news.clone()).probe_with(&probe);
    });

    let progress = job.opts.progress.start(pedigree.len() as u64, leader);
    let mut people = Vec::new();
    let mut warnings = Vec::new();
    let (mut rendered, mut skipped) = (0u64, 0u64);
    let mut tally = (0u64, 0u64);
    let mut read_news = |progress: &Progress| {
        for msg in news.borrow_mut().drain(..) {
            match msg {
                LeaderMsg::Done(n) => progress.inc(n),
                LeaderMsg::Tally {
                    rendered: r,
                    skipped: s,
                } => {
                    tally.0 += r;
                    tally.1 += s;
                }
                person => people.push(person),
            }
        }
    };

    // Render in slices so that the worker keeps talking (progress, failure
    // checks) during a long generation.
    let slice = model.preferred_batch().max(1) * job.pool.current_num_threads().max(1) * 2;
    let generations = pedigree.generations();
    for (generation, everyone) in generations.iter().enumerate() {
        let time = generation as u64;
        ancestors_in.advance_to(time);
        leader_in.advance_to(time);
        // Wait until every message of earlier generations has arrived: all
        // parents of this generation are then here.
        while probe.less_than(&time) {
            worker.step_or_park(Some(Duration::from_millis(20)));
            check_abort(job)?;
            read_news(&progress);
        }
        for m in arrived.borrow_mut().drain(..) {
            let parent = NodeIndex::new(m.parent as usize);
            let mine = job.placement.children_owned(pedigree, parent, me);
            sim.adopt(parent, m.genome, m.latent, mine);
        }

        let share = job.placement.share(everyone, me);
        let prepared = job.pool.install(|| sim.prepare(generation, &share))?;
        let mut start = 0;
        while start < prepared.len() {
            let end = (start + slice).min(prepared.len());
            let local = Progress::new(0, false);
            let (r, s) = job
                .pool
                .install(|| sim.render(&prepared, start..end, &local))?;
            rendered += r as u64;
            skipped += s as u64;
            let done = (r + s) as u64;
            if leader {
                progress.inc(done);
            } else {
                leader_in.send(LeaderMsg::Done(done));
                leader_in.flush();
            }
            worker.step();
            check_abort(job)?;
            read_news(&progress);
            start = end;
        }

        let positions: std::collections::HashMap<NodeIndex, usize> =
            everyone.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let outcome = sim.finish(prepared);
        for person in outcome.people {
            leader_in.send(LeaderMsg::Person {
                node: person.node.index() as u32,
                generation: generation as u32,
                position: positions[&person.node] as u32,
                origins: person
                    .origins
                    .map(|o| o.iter().map(|&r| OriginWire::from(r)).collect()),
                pool_keys: person.pool_keys,
                warning: person.warning,
            });
        }
        for (parent, genome, latent) in outcome.ancestors {
            let targets = job.placement.child_owners(pedigree, parent);
            let last = targets.len().saturating_sub(1);
            let mut payload = Some((genome, latent));
            for (i, to) in targets.into_iter().enumerate() {
                let (genome, latent) = if i == last {
                    payload
                        .take()
                        .expect("the payload is taken once, by the last target")
                } else {
                    payload
                        .clone()
                        .expect("the payload is kept until the last target")
                };
                ancestors_in.send(AncestorMsg {
                    to: to as u32,
                    parent: parent.index() as u32,
                    genome,
                    latent,
                });
            }
        }
    }
    leader_in.send(LeaderMsg::Tally { rendered, skipped });
    drop(ancestors_in);
    drop(leader_in);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(20)));
        check_abort(job)?;
        read_news(&progress);
    }
    read_news(&progress);
    job.opts.progress.end(&progress);
    if !leader {
        return Ok(WorkerOutput {
            rendered: rendered as usize,
            skipped: skipped as usize,
            leader_report: None,
        });
    }

    // The leader writes the manifest exactly as one machine would: records
    // in pedigree order, warnings in generation order.
    let mut outcomes = Vec::with_capacity(people.len());
    for msg in people {
        let LeaderMsg::Person {
            node,
            generation,
            position,
            origins,
            pool_keys,
            warning,
        } = msg
        else {
            continue;
        };
        let origins = match origins {
            Some(o) => Some(
                <[OriginWire; REGION_COUNT]>::try_from(o)
                    .map_err(|o| {
                        Error::internal(format!(
                            "a worker sent {} region origins, expected {REGION_COUNT}",
                            o.len()
                        ))
                    })?
                    .map(RegionOrigin::from),
            ),
            None => None,
        };
        outcomes.push((
            (generation, position),
            super::PersonOutcome {
                node: NodeIndex::new(node as usize),
                generation: generation as usize,
                origins,
                pool_keys,
                warning,
            },
        ));
    }
    if outcomes.len() != pedigree.len() {
        return Err(Error::internal(format!(
            "the leader heard of {} people, the pedigree has {}",
            outcomes.len(),
            pedigree.len()
        )));
    }
    outcomes.sort_by_key(|(order, _)| *order);
    for (_, o) in &mut outcomes {
        warnings.extend(o.warning.take());
    }
    outcomes.sort_by_key(|(_, o)| o.node);
    let records = outcomes.iter().map(|(_, o)| sim.record(o)).collect();
    Ok(WorkerOutput {
        rendered: rendered as usize,
        skipped: skipped as usize,
        leader_report: Some(RunReport {
            manifest: sim.manifest(records, warnings),
            rendered: tally.0 as usize,
            skipped: tally.1 as usize,
            leader: true,
        }),
    })
}

/// Routes every message to the worker `route` names and appends it to
/// `into` there. The returned stream carries nothing; its frontier tells a
/// probe when every message up to a time has been appended.
fn collect<'scope, D, R>(
    stream: Stream<'scope, u64, Vec<D>>,
    route: R,
    into: Rc<RefCell<Vec<D>>>,
) -> Stream<'scope, u64, Vec<()>>
where
    D: ExchangeData + Clone,
    R: FnMut(&D) -> u64 + 'static,
{
    stream.unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Exchange::new(route),
        "Collect",
        move |_, _| {
            move |input, _output| {
                input.for_each(|_, data| into.borrow_mut().append(data));
            }
        },
    )
}

fn check_abort(job: &Job) -> Result<()> {
    if job.abort.load(Ordering::SeqCst) {
        Err(Error::internal("stopped because another worker failed"))
    } else {
        Ok(())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("a worker panicked: {text}")
}

/// The process whose connection timely lost, if any.
fn lost_peer_slot() -> &'static Mutex<Option<usize>> {
    static LOST: Mutex<Option<usize>> = Mutex::new(None);
    &LOST
}

fn lost_peer() -> Option<usize> {
    *lost_peer_slot().lock().unwrap_or_else(|e| e.into_inner())
}

/// Notes which peer a timely network thread (`timely:recv-P` /
/// `timely:send-P`) lost, and keeps the cascade of communication panics that
/// follows off stderr: famsim reports the lost process once, in words.
fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            let peer = name
                .strip_prefix("timely:recv-")
                .or_else(|| name.strip_prefix("timely:send-"))
                .and_then(|p| p.parse::<usize>().ok());
            if let Some(peer) = peer {
                lost_peer_slot()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(peer);
                return;
            }
            if name.starts_with("timely:work-") && lost_peer().is_some() {
                return;
            }
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genetics::GeneShape;

    /// timely sends exchanged data with bincode: a genome, a latent and a
    /// person's region origins must come back bit for bit, or remote
    /// children would differ from local ones.
    #[test]
    fn messages_survive_bincode_bit_for_bit() {
        let shape = GeneShape {
            layers: 2,
            width: 3,
        };
        let mut genome = Genome::zeros(shape);
        for (i, v) in genome.mean.iter_mut().enumerate() {
            *v = (i as f32 * 0.1).sin() / 3.0;
        }
        genome.logvar[5] = f32::MIN_POSITIVE;
        let msg = AncestorMsg {
            to: 3,
            parent: 17,
            genome: genome.clone(),
            latent: Latent {
                layers: 2,
                width: 2,
                data: vec![0.1, -2.5e-7, 1.0 / 3.0, 7.0],
            },
        };
        let back: AncestorMsg = bincode::deserialize(&bincode::serialize(&msg).unwrap()).unwrap();
        assert_eq!((back.to, back.parent), (3, 17));
        assert_eq!(back.genome, genome);
        assert_eq!(back.latent, msg.latent);

        let blend = RegionOrigin::Blend {
            father: 0.1,
            pool: 0.47,
            mother: 1.0 - 0.1 - 0.47,
        };
        let person = LeaderMsg::Person {
            node: 4,
            generation: 1,
            position: 2,
            origins: Some(vec![blend.into(), RegionOrigin::Pool.into()]),
            pool_keys: vec!["20-29-female-White".into()],
            warning: Some("w".into()),
        };
        let back: LeaderMsg = bincode::deserialize(&bincode::serialize(&person).unwrap()).unwrap();
        let LeaderMsg::Person { origins, .. } = back else {
            panic!("a person message came back as another kind")
        };
        let origins: Vec<RegionOrigin> = origins.unwrap().into_iter().map(Into::into).collect();
        assert_eq!(origins, vec![blend, RegionOrigin::Pool]);
    }

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
