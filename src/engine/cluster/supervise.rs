//! Starting the workers of this process (and connecting to the other
//! processes), then watching them: collect each worker's result, and stop
//! early — with one error naming the cause — when a worker fails or a peer
//! process is lost.

use super::connect::connect_processes;
use super::failure::{annotate, lost_peer, lost_peer_error, panic_message, watch_peers};
use super::placement::Placement;
use super::worker::{self, Job};
use super::ClusterConfig;
use crate::engine::{RunOptions, RunReport, Simulation};
use crate::error::{Error, Result};
use crate::model::FaceModel;
use crate::pedigree::Pedigree;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::worker::Worker;

/// How long to wait for local workers after a failure before returning
/// anyway: they stop at their next check, unless stuck in a render or on a
/// dead connection.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs `pedigree` on the timely workers `cluster` describes. See the
/// package documentation for the dataflow and for what happens when a
/// process dies.
pub fn simulate(
    pedigree: &Pedigree,
    model: &dyn FaceModel,
    cluster: &ClusterConfig,
    opts: &RunOptions,
) -> Result<RunReport> {
    let mut opts = opts.clone();
    opts.cluster = None;
    let job = Arc::new(Job {
        placement: Placement::new(pedigree, cluster.peers()),
        pedigree: pedigree.clone(),
        pool: crate::engine::thread_pool(opts.threads)?,
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

    let outputs = execute(cluster, Arc::clone(&job.abort), {
        let job = Arc::clone(&job);
        move |worker: &mut Worker| worker::run(worker, &job)
    })?;
    let (mut rendered_here, mut skipped_here) = (0, 0);
    let mut report = None;
    for output in outputs {
        rendered_here += output.rendered;
        skipped_here += output.skipped;
        if output.leader_report.is_some() {
            report = output.leader_report;
        }
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

/// Runs `work` on every worker of this process, connected to the other
/// processes of `cluster`, and watches them: a worker's error or panic, or
/// a lost peer process, sets `abort` (which workers check between steps)
/// and comes back as one error naming its cause. Returns the local
/// workers' outputs in worker order. `famsim run`/`dataset` (through
/// [`simulate`]) and `famsim eval` all start their workers here.
pub fn execute<T, F>(cluster: &ClusterConfig, abort: Arc<AtomicBool>, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> Result<T> + Send + Sync + 'static,
{
    watch_peers();
    let (results_tx, results_rx) = mpsc::channel::<(usize, Result<T>)>();
    let results_tx = Mutex::new(results_tx);
    let worker_abort = Arc::clone(&abort);
    let worker_logic = move |worker: &mut Worker| {
        let index = worker.index();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(worker)))
            .unwrap_or_else(|panic| Err(Error::internal(panic_message(&*panic))));
        let failed = result.is_err();
        // Report first, then stop the others: the first error the caller
        // reads is then the cause, not a "stopped" echo.
        if let Ok(tx) = results_tx.lock() {
            let _ = tx.send((index, result));
        }
        if failed {
            worker_abort.store(true, Ordering::SeqCst);
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

    let mut outputs: Vec<(usize, T)> = Vec::new();
    let mut finished = 0;
    let mut failure: Option<Error> = None;
    let mut aborted_at: Option<Instant> = None;
    loop {
        if let Some(lost) = lost_peer() {
            failure = Some(lost_peer_error(cluster, lost));
            abort.store(true, Ordering::SeqCst);
        }
        if failure.is_some() {
            let since = *aborted_at.get_or_insert_with(Instant::now);
            if finished == cluster.workers || since.elapsed() > STOP_GRACE {
                break;
            }
        }
        match results_rx.recv_timeout(Duration::from_millis(100)) {
            Ok((index, Ok(output))) => {
                finished += 1;
                outputs.push((index, output));
            }
            Ok((index, Err(e))) => {
                finished += 1;
                abort.store(true, Ordering::SeqCst);
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
        if finished == cluster.workers && failure.is_none() {
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
    // the session is complete: note it and go on.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(guards)));
    if joined.is_err() {
        let who = lost_peer().map_or("a peer".to_string(), |p| format!("process {p}"));
        eprintln!("warning: {who} closed its connection early while the run was shutting down");
    }
    if outputs.len() != cluster.workers {
        return Err(Error::internal(format!(
            "process {}: {} of its {} workers reported",
            cluster.process,
            outputs.len(),
            cluster.workers
        )));
    }
    outputs.sort_by_key(|(index, _)| *index);
    Ok(outputs.into_iter().map(|(_, output)| output).collect())
}
