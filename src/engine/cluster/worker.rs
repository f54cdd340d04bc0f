//! One timely worker: build the dataflow, walk the generations, and on the
//! leader put the manifest together.
//!
//! The dataflow is two inputs, each routed to the worker its messages are
//! for and collected there, and one probe: ancestors go to the owners of
//! their children, news (people, progress, totals) goes to worker 0. The
//! timestamp is the generation, so once the probe has passed generation
//! `g - 1`, every parent of a generation-`g` person has arrived.

use super::failure::check_abort;
use super::gather::{collect, Feed};
use super::placement::Placement;
use super::wire::{AncestorMsg, LeaderMsg};
use super::{ModelFactory, WorkerSlot};
use crate::engine::{PersonOutcome, Progress, RunOptions, RunReport, Simulation};
use crate::error::{Error, Result};
use crate::pedigree::Pedigree;
use petgraph::graph::NodeIndex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

/// Everything a worker thread needs; shared by the process's workers.
pub(super) struct Job {
    pub pedigree: Pedigree,
    pub opts: RunOptions,
    pub placement: Placement,
    pub models: ModelFactory,
    pub workers: usize,
    pub process: usize,
    /// Set when any local worker failed or a peer process was lost.
    pub abort: Arc<AtomicBool>,
    pub pool: rayon::ThreadPool,
}

/// What a worker hands back: its own counts, and on the leader the report
/// for the whole cluster.
pub(super) struct WorkerOutput {
    pub rendered: usize,
    pub skipped: usize,
    pub leader_report: Option<RunReport>,
}

/// One worker, from its model to its output.
pub(super) fn run(worker: &mut Worker, job: &Job) -> Result<WorkerOutput> {
    let me = worker.index();
    let slot = WorkerSlot {
        index: me,
        peers: worker.peers(),
        process: job.process,
        local: me - job.process * job.workers,
    };
    let model = (job.models)(&slot)?;
    let pedigree = &job.pedigree;
    let mut sim = Simulation::new(pedigree, model.as_ref(), &job.opts);
    let leader = me == 0;

    // The dataflow.
    let mut ancestors = Feed::<AncestorMsg>::new();
    let mut to_leader = Feed::<LeaderMsg>::new();
    let arrived: Rc<RefCell<Vec<AncestorMsg>>> = Rc::default();
    let news: Rc<RefCell<Vec<LeaderMsg>>> = Rc::default();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let stream = scope.input_from(&mut ancestors);
        collect(stream, |m| u64::from(m.to), arrived.clone()).probe_with(&probe);
        let stream = scope.input_from(&mut to_leader);
        collect(stream, |_| 0, news.clone()).probe_with(&probe);
    });

    // The generations.
    let progress = job.opts.progress.start(pedigree.len() as u64, leader);
    let mut heard = LeaderLog::default();
    let (mut rendered, mut skipped) = (0u64, 0u64);
    // Render in slices so that the worker keeps talking (progress, failure
    // checks) during a long generation.
    let slice = model.preferred_batch().max(1) * job.pool.current_num_threads().max(1) * 2;
    for (generation, everyone) in pedigree.generations().iter().enumerate() {
        let time = generation as u64;
        ancestors.advance_to(time);
        to_leader.advance_to(time);
        // Every message of earlier generations, all parents of this one
        // among them, arrives before the probe passes them.
        while probe.less_than(&time) {
            worker.step_or_park(Some(Duration::from_millis(20)));
            check_abort(&job.abort)?;
            heard.read(&news, &progress);
        }
        for m in arrived.borrow_mut().drain(..) {
            let parent = NodeIndex::new(m.parent as usize);
            let mine = job.placement.children_owned(pedigree, parent, me);
            sim.adopt(parent, m.genome, m.latent, mine);
        }

        let share = job.placement.share(everyone, me);
        let prepared = job.pool.install(|| sim.prepare(generation, &share))?;
        for start in (0..prepared.len()).step_by(slice) {
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
                to_leader.send(LeaderMsg::Done(done));
                to_leader.flush();
            }
            worker.step();
            check_abort(&job.abort)?;
            heard.read(&news, &progress);
        }

        let outcome = sim.finish(prepared);
        tell_leader(&mut to_leader, everyone, generation, outcome.people);
        for (parent, genome, latent) in outcome.ancestors {
            let owners = job.placement.child_owners(pedigree, parent);
            send_to_owners(&mut ancestors, owners, parent, genome, latent);
        }
    }

    // The end: close both inputs and wait for everything to arrive.
    to_leader.send(LeaderMsg::Tally { rendered, skipped });
    drop(ancestors);
    drop(to_leader);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(20)));
        check_abort(&job.abort)?;
        heard.read(&news, &progress);
    }
    heard.read(&news, &progress);
    job.opts.progress.end(&progress);
    let leader_report = if leader {
        Some(heard.report(&sim, pedigree)?)
    } else {
        None
    };
    Ok(WorkerOutput {
        rendered: rendered as usize,
        skipped: skipped as usize,
        leader_report,
    })
}

/// Sends the leader what simulating each of `people` decided.
fn tell_leader(
    to_leader: &mut Feed<LeaderMsg>,
    everyone: &[NodeIndex],
    generation: usize,
    people: Vec<PersonOutcome>,
) {
    let positions: HashMap<NodeIndex, usize> =
        everyone.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    for person in people {
        to_leader.send(LeaderMsg::Person {
            node: person.node.index() as u32,
            generation: generation as u32,
            position: positions[&person.node] as u32,
            origins: person.origins,
            pool_keys: person.pool_keys,
            warning: person.warning,
        });
    }
}

/// Sends a parent's genome and latent to every worker that owns some of
/// their children (the last one gets the original, the others copies).
fn send_to_owners(
    ancestors: &mut Feed<AncestorMsg>,
    owners: Vec<usize>,
    parent: NodeIndex,
    genome: crate::genetics::Genome,
    latent: crate::model::Latent,
) {
    let Some((&last, others)) = owners.split_last() else {
        return;
    };
    let message = |to: usize, genome, latent| AncestorMsg {
        to: to as u32,
        parent: parent.index() as u32,
        genome,
        latent,
    };
    for &to in others {
        ancestors.send(message(to, genome.clone(), latent.clone()));
    }
    ancestors.send(message(last, genome, latent));
}

/// What the leader hears: every person's outcome, keyed by (generation,
/// place in it), and the workers' totals. Other workers read only progress.
#[derive(Default)]
struct LeaderLog {
    people: Vec<((u32, u32), PersonOutcome)>,
    rendered: u64,
    skipped: u64,
}

impl LeaderLog {
    fn read(&mut self, news: &RefCell<Vec<LeaderMsg>>, progress: &Progress) {
        for msg in news.borrow_mut().drain(..) {
            match msg {
                LeaderMsg::Done(n) => progress.inc(n),
                LeaderMsg::Tally { rendered, skipped } => {
                    self.rendered += rendered;
                    self.skipped += skipped;
                }
                LeaderMsg::Person {
                    node,
                    generation,
                    position,
                    origins,
                    pool_keys,
                    warning,
                } => self.people.push((
                    (generation, position),
                    PersonOutcome {
                        node: NodeIndex::new(node as usize),
                        generation: generation as usize,
                        origins,
                        pool_keys,
                        warning,
                    },
                )),
            }
        }
    }

    /// The whole run's report, with the manifest one machine would write.
    fn report(self, sim: &Simulation, pedigree: &Pedigree) -> Result<RunReport> {
        if self.people.len() != pedigree.len() {
            return Err(Error::internal(format!(
                "the leader heard of {} people, the pedigree has {}",
                self.people.len(),
                pedigree.len()
            )));
        }
        let mut people = self.people;
        people.sort_by_key(|(order, _)| *order);
        Ok(RunReport {
            manifest: sim.assemble(people.into_iter().map(|(_, o)| o).collect()),
            rendered: self.rendered as usize,
            skipped: self.skipped as usize,
            leader: true,
        })
    }
}
