//! Runs a pedigree through the genetics and a face model, one generation at a
//! time, and writes every face.
//!
//! Memory follows the widest generation, not the population: a person's
//! genome and latent are kept only until the last of their children is made.
//! Every random draw comes from the person's own streams, so the order in which
//! threads finish never changes a byte of output.

pub mod cluster;
pub mod merge;
pub mod photo_founders;
mod progress;
pub mod reproduce;
pub mod reuse;

use crate::attributes::PoolKey;
use crate::error::{Error, Result};
use crate::exports::manifest::{Manifest, PersonRecord, RegionRecord};
use crate::exports::png::encode_png;
use crate::genetics::rng::{stream, Purpose};
use crate::genetics::{GeneSample, Genome, Region, RegionOrigin};
use crate::io::atomic::{remove_stale_temporaries, write_atomic};
use crate::model::{FaceModel, Latent, Subject};
use crate::pedigree::{FounderGenes, Pedigree, Person};
use petgraph::graph::NodeIndex;
use rand::Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use cluster::{ClusterConfig, ModelFactory, WorkerSlot};
pub use progress::{Progress, ProgressReport};
use reproduce::ChildSpec;
use reuse::Cached;
pub use reuse::{person_keys, GeneCache, PersonKey};

/// Folder (inside the run directory) that holds one PNG per person.
pub const PEOPLE_DIR: &str = "people";

/// Names a person's image file, relative to the run directory.
pub type ImageNamer = Arc<dyn Fn(&Person) -> String + Send + Sync>;

/// The default layout: `people/<id>.png`.
pub fn people_dir_images() -> ImageNamer {
    Arc::new(|p: &Person| format!("{PEOPLE_DIR}/{}.png", p.id))
}

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// The run directory.
    pub out_dir: PathBuf,
    /// Root of every random stream.
    pub seed: u64,
    /// Name recorded in the manifest.
    pub scenario_name: String,
    /// Rendering threads (None: one per core).
    pub threads: Option<usize>,
    /// Skip people whose image already exists (a previous, interrupted run).
    pub resume: bool,
    /// Where to report progress.
    pub progress: ProgressReport,
    /// Where each person's image goes (default [`people_dir_images`]).
    pub image_name: ImageNamer,
    /// Spread the run over several timely workers (threads and/or processes);
    /// None runs on this machine's thread pool alone.
    pub cluster: Option<ClusterConfig>,
}

/// What a run did, besides writing files.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub manifest: Manifest,
    /// People rendered by this run (on a cluster: by all processes on the
    /// leader, by this process elsewhere).
    pub rendered: usize,
    /// People skipped because `--resume` found their image complete.
    pub skipped: usize,
    /// Whether this process holds the whole run's manifest and writes the
    /// run outputs: always on one machine; only process 0 of a cluster.
    pub leader: bool,
}

/// A person's genes before decoding: either a concrete gene or a ready latent.
enum Genes {
    Drawn {
        gene: GeneSample,
        /// Known genome (pool founders); children and seed founders are encoded later.
        genome: Option<Genome>,
    },
    Latent(Latent),
    /// Steps 1–3 were done by an earlier run (see [`reuse`]).
    Reused,
}

/// One person of the current generation on the way through the pipeline.
struct Staged {
    node: NodeIndex,
    genes: Genes,
    origins: Option<[RegionOrigin; crate::genetics::REGION_COUNT]>,
    pool_keys: Vec<PoolKey>,
    warning: Option<String>,
}

/// One generation (or a worker's share of it) after steps 1–3, ready to render.
pub(crate) struct PreparedGeneration {
    generation: usize,
    staged: Vec<Staged>,
    latents: Vec<Latent>,
    /// The genome each person passes on (None for people without children).
    genomes: Vec<Option<Genome>>,
}

impl PreparedGeneration {
    pub(crate) fn len(&self) -> usize {
        self.staged.len()
    }
}

/// What a finished generation leaves for the manifest and the next generations.
pub(crate) struct GenerationOutcome {
    pub people: Vec<PersonOutcome>,
    /// (parent, genome, latent) of everyone with children.
    pub ancestors: Vec<(NodeIndex, Genome, Latent)>,
}

/// What simulating one person decided that the pedigree alone does not say:
/// everything [`Simulation::record`] needs for the person's manifest entry.
pub(crate) struct PersonOutcome {
    pub node: NodeIndex,
    pub generation: usize,
    /// Where each region came from (children only).
    pub origins: Option<[RegionOrigin; crate::genetics::REGION_COUNT]>,
    /// Gene-pool keys the person's pool draws came from.
    pub pool_keys: Vec<String>,
    /// A warning raised while simulating the person, already naming them.
    pub warning: Option<String>,
}

/// A person whose children are not all made yet.
struct Ancestor {
    genome: Genome,
    latent: Latent,
    children_left: usize,
}

/// Simulates `pedigree` with `model` and writes `people/<id>.png` for everyone.
/// Returns the manifest (not yet written; see [`crate::exports::write_run_outputs`]).
///
/// With `opts.cluster` set, the run is spread over timely dataflow workers
/// (see [`cluster`]); each worker builds its own model with the cluster's
/// model factory, and `model` only names the model in the manifest. Only the
/// leader's report (process 0) holds the whole manifest.
pub fn simulate(
    pedigree: &Pedigree,
    model: &dyn FaceModel,
    opts: &RunOptions,
) -> Result<RunReport> {
    if let Some(cluster) = &opts.cluster {
        return cluster::simulate(pedigree, model, cluster, opts);
    }
    let pool = thread_pool(opts.threads)?;
    let (report, _) = pool.install(|| Simulation::new(pedigree, model, opts).run())?;
    report.ok_or_else(|| Error::internal("a run without a stop signal stopped"))
}

/// How [`simulate_incremental`] ended.
pub enum Incremental {
    Finished(RunReport),
    /// `stop` said so; every portrait on disk is whole (written atomically),
    /// the ones not reached are missing.
    Stopped,
}

/// [`simulate`] for a caller that runs the same family again and again
/// (`famsim serve`), with the same steps and the same bytes:
///
/// - it runs on the caller's rayon pool (`pool.install(…)`; `opts.threads`
///   and `opts.cluster` are not read), so a server keeps one bounded pool
///   instead of starting threads per run;
/// - people whose [`PersonKey`] (`keys`, from [`person_keys`] with the
///   run's seed and the caller's name for the model) is in `cache` skip steps
///   1–3 and take the earlier run's results; `cache` then holds this run's
///   people (after a stop, the earlier entries too);
/// - `stop` is asked before each generation and before each batch and each
///   portrait is written: once it says true, the run ends at that person
///   boundary.
///
/// With `opts.resume`, people whose portrait exists are not painted again,
/// as with `famsim run --resume`.
pub fn simulate_incremental(
    pedigree: &Pedigree,
    model: &dyn FaceModel,
    keys: HashMap<NodeIndex, PersonKey>,
    opts: &RunOptions,
    cache: &mut GeneCache,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Incremental> {
    let mut sim = Simulation::new(pedigree, model, opts);
    sim.reuse = Some(Reuse {
        keys,
        previous: cache,
    });
    sim.stop = Some(stop);
    let (report, mut next) = sim.run()?;
    Ok(match report {
        Some(report) => {
            *cache = next;
            Incremental::Finished(report)
        }
        None => {
            // Keep both: the earlier family may come back (an undo).
            for (key, entry) in std::mem::take(&mut cache.people) {
                next.people.entry(key).or_insert(entry);
            }
            *cache = next;
            Incremental::Stopped
        }
    })
}

/// The rendering thread pool (`threads`: None or 0 for one per core).
fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let threads = threads.unwrap_or(0);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::internal(format!("cannot start {threads} threads: {e}")))
}

pub(crate) struct Simulation<'a> {
    pedigree: &'a Pedigree,
    model: &'a dyn FaceModel,
    opts: &'a RunOptions,
    ancestors: HashMap<NodeIndex, Ancestor>,
    /// Keys and an earlier run's results ([`simulate_incremental`] only).
    reuse: Option<Reuse<'a>>,
    /// Asked at person boundaries ([`simulate_incremental`] only).
    stop: Option<&'a (dyn Fn() -> bool + Sync)>,
    /// Set once `stop` said true, so every later check agrees.
    stopped: AtomicBool,
}

struct Reuse<'a> {
    keys: HashMap<NodeIndex, PersonKey>,
    previous: &'a GeneCache,
}

impl<'a> Simulation<'a> {
    pub(crate) fn new(
        pedigree: &'a Pedigree,
        model: &'a dyn FaceModel,
        opts: &'a RunOptions,
    ) -> Self {
        Simulation {
            pedigree,
            model,
            opts,
            ancestors: HashMap::new(),
            reuse: None,
            stop: None,
            stopped: AtomicBool::new(false),
        }
    }

    /// Whether the caller asked the run to stop (sticky).
    fn stopping(&self) -> bool {
        if self.stopped.load(Ordering::SeqCst) {
            return true;
        }
        let stop = self.stop.is_some_and(|stop| stop());
        if stop {
            self.stopped.store(true, Ordering::SeqCst);
        }
        stop
    }

    /// The whole run; None when `stop` ended it early. The cache holds
    /// steps 1–3 of everyone this run prepared (when keys were given).
    fn run(mut self) -> Result<(Option<RunReport>, GeneCache)> {
        self.prepare_folders()?;
        let progress = self.opts.progress.start(self.pedigree.len() as u64, true);
        let mut outcomes = Vec::with_capacity(self.pedigree.len());
        let (mut rendered, mut skipped) = (0, 0);
        let mut next = GeneCache::default();

        for (generation, people) in self.pedigree.generations().iter().enumerate() {
            if self.stopping() {
                self.opts.progress.end(&progress);
                return Ok((None, next));
            }
            let prepared = self.prepare(generation, people)?;
            self.keep(&prepared, &mut next);
            let (r, s) = self.render(&prepared, 0..prepared.len(), &progress)?;
            if self.stopping() {
                self.opts.progress.end(&progress);
                return Ok((None, next));
            }
            rendered += r;
            skipped += s;
            let outcome = self.finish(prepared);
            outcomes.extend(outcome.people);
            for (node, genome, latent) in outcome.ancestors {
                let children_left = self.pedigree.children(node).len();
                self.adopt(node, genome, latent, children_left);
            }
        }
        self.opts.progress.end(&progress);

        let report = RunReport {
            manifest: self.assemble(outcomes),
            rendered,
            skipped,
            leader: true,
        };
        Ok((Some(report), next))
    }

    /// Puts steps 1–3 of a prepared generation into `next`, under each
    /// person's key (nothing without keys).
    fn keep(&self, prepared: &PreparedGeneration, next: &mut GeneCache) {
        let Some(reuse) = &self.reuse else {
            return;
        };
        for ((st, latent), genome) in prepared
            .staged
            .iter()
            .zip(&prepared.latents)
            .zip(&prepared.genomes)
        {
            let Some(key) = reuse.keys.get(&st.node) else {
                continue;
            };
            let known = match &st.genes {
                Genes::Drawn {
                    genome: Some(g), ..
                } => Some(g),
                _ => None,
            };
            let genome = genome
                .as_ref()
                .or(known)
                .or_else(|| reuse.previous.people.get(key)?.genome.as_ref())
                .cloned();
            next.people.insert(
                *key,
                Cached {
                    latent: latent.clone(),
                    genome,
                    origins: st.origins,
                    pool_keys: st.pool_keys.clone(),
                    warning: st.warning.clone(),
                },
            );
        }
    }

    /// An earlier run's steps 1–3 for this person, if their key is cached.
    fn cached(&self, node: NodeIndex) -> Option<&'a Cached> {
        let reuse = self.reuse.as_ref()?;
        let previous: &'a GeneCache = reuse.previous;
        previous.people.get(reuse.keys.get(&node)?)
    }

    /// The run's manifest from every person's outcome, given in the order
    /// one machine simulates them (generation by generation): warnings keep
    /// that order, records follow the pedigree's. A cluster's leader puts
    /// what it heard in that order and comes here too.
    pub(crate) fn assemble(&self, mut outcomes: Vec<PersonOutcome>) -> Manifest {
        let warnings = outcomes
            .iter_mut()
            .filter_map(|o| o.warning.take())
            .collect();
        outcomes.sort_by_key(|o| o.node);
        let records = outcomes.iter().map(|o| self.record(o)).collect();
        self.manifest(records, warnings)
    }

    /// The run's manifest from every person's record (in pedigree order) and
    /// the simulation's warnings (in generation order).
    pub(crate) fn manifest(&self, people: Vec<PersonRecord>, warnings: Vec<String>) -> Manifest {
        Manifest {
            schema_version: crate::exports::manifest::SCHEMA_VERSION,
            famsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: self.opts.scenario_name.clone(),
            seed: self.opts.seed,
            model: self.model.describe(),
            image_size: self.model.image_size(),
            generations: self.pedigree.generations().len(),
            warnings,
            people,
        }
    }

    /// Steps 1–3 for `people` (all of one generation, or one worker's share
    /// of it): genes, latents, and the genomes future parents pass on.
    pub(crate) fn prepare(
        &self,
        generation: usize,
        people: &[NodeIndex],
    ) -> Result<PreparedGeneration> {
        let cached: Vec<Option<&Cached>> = people.iter().map(|&n| self.cached(n)).collect();
        let fresh: Vec<NodeIndex> = people
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(&n, _)| n)
            .collect();
        let staged = fresh
            .par_iter()
            .map(|&n| self.draw_genes(n))
            .collect::<Result<Vec<Staged>>>()?;
        let latents = self.decode(&staged)?;
        let genomes = self.genomes_for_ancestors(&staged, &latents)?;
        if fresh.len() == people.len() {
            return Ok(PreparedGeneration {
                generation,
                staged,
                latents,
                genomes,
            });
        }
        self.with_reused(generation, people, &cached, (staged, latents, genomes))
    }

    /// A generation in `people`'s order from the freshly prepared people
    /// (in order, without the cached ones) and the cached ones. A cached
    /// person who now has children but whose genome no run needed before
    /// has it read from their face, as step 3 does.
    fn with_reused(
        &self,
        generation: usize,
        people: &[NodeIndex],
        cached: &[Option<&Cached>],
        fresh: (Vec<Staged>, Vec<Latent>, Vec<Option<Genome>>),
    ) -> Result<PreparedGeneration> {
        let mut fresh = fresh.0.into_iter().zip(fresh.1).zip(fresh.2);
        let mut prepared = PreparedGeneration {
            generation,
            staged: Vec::with_capacity(people.len()),
            latents: Vec::with_capacity(people.len()),
            genomes: Vec::with_capacity(people.len()),
        };
        let mut to_encode = Vec::new();
        for (&node, cached) in people.iter().zip(cached) {
            let (st, latent, genome) = match cached {
                Some(c) => {
                    let parent = !self.pedigree.children(node).is_empty();
                    if parent && c.genome.is_none() {
                        to_encode.push(prepared.staged.len());
                    }
                    let st = Staged {
                        node,
                        genes: Genes::Reused,
                        origins: c.origins,
                        pool_keys: c.pool_keys.clone(),
                        warning: c.warning.clone(),
                    };
                    (st, c.latent.clone(), c.genome.clone().filter(|_| parent))
                }
                None => {
                    let ((st, latent), genome) = fresh
                        .next()
                        .ok_or_else(|| Error::internal("fewer people prepared than asked"))?;
                    (st, latent, genome)
                }
            };
            prepared.staged.push(st);
            prepared.latents.push(latent);
            prepared.genomes.push(genome);
        }
        let batch = self.model.preferred_batch().max(1);
        let encoded: Vec<Genome> = to_encode
            .par_chunks(batch)
            .map(|chunk| {
                let batch: Vec<&Latent> = chunk.iter().map(|&i| &prepared.latents[i]).collect();
                self.model.encode(&batch)
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if encoded.len() != to_encode.len() {
            return Err(Error::internal(
                "the model encoded fewer latents than it was given",
            ));
        }
        for (i, genome) in to_encode.into_iter().zip(encoded) {
            prepared.genomes[i] = Some(genome);
        }
        Ok(prepared)
    }

    /// Records every person of a prepared generation, hands back the genomes
    /// and latents their children will need, and forgets parents whose last
    /// child this generation made.
    pub(crate) fn finish(&mut self, prepared: PreparedGeneration) -> GenerationOutcome {
        let PreparedGeneration {
            generation,
            staged,
            latents,
            genomes,
        } = prepared;
        let mut outcome = GenerationOutcome {
            people: Vec::with_capacity(staged.len()),
            ancestors: Vec::new(),
        };
        for ((st, latent), genome) in staged.iter().zip(latents).zip(genomes) {
            let person = self.pedigree.person(st.node);
            outcome.people.push(PersonOutcome {
                node: st.node,
                generation,
                origins: st.origins,
                pool_keys: st.pool_keys.iter().map(|k| k.to_string()).collect(),
                warning: st
                    .warning
                    .as_ref()
                    .map(|w| format!("person `{}`: {w}", person.id)),
            });
            if let Some(genome) = genome {
                outcome.ancestors.push((st.node, genome, latent));
            }
        }
        // Parents whose last child is now made are no longer needed.
        for st in &staged {
            for parent in [self.pedigree.father(st.node), self.pedigree.mother(st.node)]
                .into_iter()
                .flatten()
            {
                if let Some(a) = self.ancestors.get_mut(&parent) {
                    a.children_left -= 1;
                    if a.children_left == 0 {
                        self.ancestors.remove(&parent);
                    }
                }
            }
        }
        outcome
    }

    /// Keeps a parent's genome and latent until `children_left` of their
    /// children have been made here.
    pub(crate) fn adopt(
        &mut self,
        node: NodeIndex,
        genome: Genome,
        latent: Latent,
        children_left: usize,
    ) {
        if children_left > 0 {
            self.ancestors.insert(
                node,
                Ancestor {
                    genome,
                    latent,
                    children_left,
                },
            );
        }
    }

    /// Step 1: a founder's genes from the pool or a seed; a child's by crossover.
    fn draw_genes(&self, node: NodeIndex) -> Result<Staged> {
        let person = self.pedigree.person(node);
        // A person's own seed (a re-roll) replaces the run's for their
        // streams only; everyone else's draws are untouched.
        let seed = person.seed.unwrap_or(self.opts.seed);
        let ancestry = self.pedigree.ancestry(node);
        let subject = self.subject(node);
        let mut staged = Staged {
            node,
            genes: Genes::Latent(Latent::zeros(0, 0)),
            origins: None,
            pool_keys: Vec::new(),
            warning: None,
        };
        let (father, mother) = (self.pedigree.father(node), self.pedigree.mother(node));
        if let (Some(f), Some(m)) = (father, mother) {
            let parent = |n: NodeIndex| {
                self.ancestors.get(&n).map(|a| &a.genome).ok_or_else(|| {
                    Error::internal(format!(
                        "genome of a parent of `{}` was dropped too early",
                        person.id
                    ))
                })
            };
            let child = ChildSpec {
                id: &person.id,
                age: person.age,
                sex: person.sex,
                ancestries: ancestry,
                params: person.params,
                pins: &person.overrides,
            };
            let conception = reproduce::conceive(self.model, parent(f)?, parent(m)?, &child, seed)
                .map_err(|e| Error::input(format!("person `{}`: {e}", person.id)))?;
            staged.genes = Genes::Drawn {
                gene: conception.gene,
                genome: None,
            };
            staged.origins = Some(conception.genes.origins);
            staged.pool_keys = conception.pool_keys;
            staged.warning = conception.warning;
            return Ok(staged);
        }
        match &person.founder_genes {
            FounderGenes::Pool => {
                let pool = self
                    .model
                    .gene_pool()
                    .candidates(person.age, person.sex, ancestry)
                    .map_err(|e| Error::input(format!("person `{}`: {e}", person.id)))?;
                let mut rng = stream(seed, &person.id, Purpose::Founder);
                let genome = pool.entries[rng.random_range(0..pool.entries.len())].clone();
                staged.genes = Genes::Drawn {
                    gene: genome.sample(&mut stream(seed, &person.id, Purpose::GeneSample)),
                    genome: Some(genome),
                };
                staged.pool_keys = pool.keys;
                staged.warning = pool.warning;
            }
            FounderGenes::Seed(face_seed) => {
                // A face seed names a face on its own, like StyleGAN's seeds:
                // the same seed gives the same founder in any scenario.
                let mut rng = stream(*face_seed, "founder-seed", Purpose::Founder);
                staged.genes = Genes::Latent(self.model.latent_from_rng(&mut rng, subject)?);
            }
            FounderGenes::Latent(path) => {
                staged.genes = Genes::Latent(
                    self.model
                        .load_latent(Path::new(path))
                        .map_err(|e| Error::input(format!("person `{}`: {e}", person.id)))?,
                );
            }
            FounderGenes::Photo(path) => {
                staged.genes = Genes::Latent(
                    self.model
                        .latent_from_photo(Path::new(path))
                        .map_err(|e| Error::input(format!("person `{}`: {e}", person.id)))?,
                );
            }
            FounderGenes::AlignedPhoto(path) => {
                staged.genes = Genes::Latent(
                    self.model
                        .latent_from_aligned_photo(Path::new(path))
                        .map_err(|e| Error::input(format!("person `{}`: {e}", person.id)))?,
                );
            }
        }
        Ok(staged)
    }

    /// Step 2: genes → latents in model batches; children then take the
    /// average of their parents' fine layers (the method's colour step).
    fn decode(&self, staged: &[Staged]) -> Result<Vec<Latent>> {
        let batch = self.model.preferred_batch().max(1);
        let drawn: Vec<&GeneSample> = staged
            .iter()
            .filter_map(|s| match &s.genes {
                Genes::Drawn { gene, .. } => Some(gene),
                Genes::Latent(_) | Genes::Reused => None,
            })
            .collect();
        let decoded: Vec<Latent> = drawn
            .par_chunks(batch)
            .map(|chunk| self.model.decode(chunk))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let mut decoded = decoded.into_iter();
        staged
            .iter()
            .map(|s| {
                let mut latent = match &s.genes {
                    Genes::Drawn { .. } => decoded.next().ok_or_else(|| {
                        Error::internal("the model decoded fewer genes than it was given")
                    })?,
                    Genes::Latent(l) => l.clone(),
                    Genes::Reused => {
                        return Err(Error::internal("a cached person reached the decoder"))
                    }
                };
                if let (Some(f), Some(m)) =
                    (self.pedigree.father(s.node), self.pedigree.mother(s.node))
                {
                    reproduce::inherit_colour(
                        self.model,
                        &mut latent,
                        &self.ancestors[&f].latent,
                        &self.ancestors[&m].latent,
                        &self.pedigree.person(s.node).overrides,
                    );
                }
                Ok(latent)
            })
            .collect()
    }

    /// Step 3: the genome each future parent passes on. Pool founders keep
    /// their pool entry; everyone else's genes are read from their face by the
    /// model's encoder, as the method does for a photographed parent.
    fn genomes_for_ancestors(
        &self,
        staged: &[Staged],
        latents: &[Latent],
    ) -> Result<Vec<Option<Genome>>> {
        let needs: Vec<usize> = staged
            .iter()
            .enumerate()
            .filter(|(_, s)| !self.pedigree.children(s.node).is_empty())
            .filter(|(_, s)| {
                !matches!(
                    &s.genes,
                    Genes::Drawn {
                        genome: Some(_),
                        ..
                    }
                )
            })
            .map(|(i, _)| i)
            .collect();
        let batch = self.model.preferred_batch().max(1);
        let encoded: Vec<Genome> = needs
            .par_chunks(batch)
            .map(|chunk| {
                let batch: Vec<&Latent> = chunk.iter().map(|&i| &latents[i]).collect();
                self.model.encode(&batch)
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let mut encoded = needs
            .into_iter()
            .zip(encoded)
            .collect::<HashMap<usize, Genome>>();
        Ok(staged
            .iter()
            .enumerate()
            .map(|(i, s)| match &s.genes {
                Genes::Drawn {
                    genome: Some(g), ..
                } if !self.pedigree.children(s.node).is_empty() => Some(g.clone()),
                _ => encoded.remove(&i),
            })
            .collect())
    }

    /// Step 4: render `range` of a prepared generation in batches on the
    /// thread pool and write each PNG atomically. Returns (rendered, skipped).
    pub(crate) fn render(
        &self,
        prepared: &PreparedGeneration,
        range: Range<usize>,
        progress: &Progress,
    ) -> Result<(usize, usize)> {
        let (staged, latents) = (&prepared.staged, &prepared.latents);
        let todo: Vec<usize> = range
            .clone()
            .filter(|&i| !(self.opts.resume && self.image_path(staged[i].node).is_file()))
            .collect();
        let skipped = range.len() - todo.len();
        progress.inc(skipped as u64);
        let batch = self.model.preferred_batch().max(1);
        todo.par_chunks(batch).try_for_each(|chunk| -> Result<()> {
            // A stop is honoured between people: what is written is whole.
            if self.stopping() {
                return Ok(());
            }
            let lat: Vec<&Latent> = chunk.iter().map(|&i| &latents[i]).collect();
            let subjects: Vec<Subject> = chunk
                .iter()
                .map(|&i| self.subject(staged[i].node))
                .collect();
            let images = self.model.render(&lat, &subjects)?;
            for (&i, image) in chunk.iter().zip(&images) {
                if self.stopping() {
                    return Ok(());
                }
                write_atomic(&self.image_path(staged[i].node), &encode_png(image)?)?;
                progress.inc(1);
            }
            Ok(())
        })?;
        Ok((todo.len(), skipped))
    }

    fn subject(&self, node: NodeIndex) -> Subject {
        let person = self.pedigree.person(node);
        let ancestry = match self.pedigree.ancestry(node) {
            [single] => Some(*single),
            _ => None,
        };
        Subject {
            age: person.age,
            sex: person.sex,
            ancestry,
        }
    }

    fn image_name(&self, node: NodeIndex) -> String {
        (self.opts.image_name)(self.pedigree.person(node))
    }

    fn image_path(&self, node: NodeIndex) -> PathBuf {
        self.opts.out_dir.join(self.image_name(node))
    }

    /// Creates every image folder once and clears temporaries a killed run
    /// left there (single-process runs only).
    pub(crate) fn prepare_folders(&self) -> Result<()> {
        let mut folders: Vec<PathBuf> = self
            .pedigree
            .people()
            .filter_map(|(n, _)| self.image_path(n).parent().map(Path::to_path_buf))
            .collect();
        folders.sort();
        folders.dedup();
        // With several processes sharing a folder, another process's file in
        // flight looks just like a stale one, so only a lone process cleans up.
        let alone = self.opts.cluster.as_ref().is_none_or(|c| c.processes <= 1);
        for dir in folders {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            if alone {
                remove_stale_temporaries(&dir)?;
            }
        }
        Ok(())
    }

    /// A person's manifest entry.
    pub(crate) fn record(&self, st: &PersonOutcome) -> PersonRecord {
        let p = self.pedigree.person(st.node);
        let generation = st.generation;
        let founder_genes = p.is_founder().then(|| match &p.founder_genes {
            FounderGenes::Pool => "pool".to_string(),
            FounderGenes::Seed(s) => format!("seed:{s}"),
            FounderGenes::Latent(path) => format!("latent:{path}"),
            FounderGenes::Photo(path) => format!("photo:{path}"),
            FounderGenes::AlignedPhoto(path) => format!("photo:{path} (aligned)"),
        });
        let regions = st
            .origins
            .map(|origins| {
                Region::ALL
                    .iter()
                    .map(|&r| RegionRecord {
                        region: r,
                        origin: origins[r.index()],
                        pinned: p.overrides.contains_key(&r),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let child = !p.is_founder();
        PersonRecord {
            id: p.id.clone(),
            name: p.name.clone(),
            surname: p.surname.clone(),
            sex: p.sex,
            age_group: p.age,
            ancestry: self.pedigree.ancestry(st.node).to_vec(),
            father: p.father.clone(),
            mother: p.mother.clone(),
            generation,
            image: self.image_name(st.node),
            founder_genes,
            pool_keys: st.pool_keys.clone(),
            gamma: child.then_some(p.params.gamma),
            eta: child.then_some(p.params.eta),
            lean: child.then_some(p.params.lean).filter(|lean| *lean != 0.0),
            regions,
        }
    }
}
