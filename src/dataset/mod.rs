//! Synthetic kinship datasets: many families drawn from a [`DatasetSpec`],
//! a face for everyone, and the tables researchers train on, in the layout
//! of Families In the Wild.
//!
//! Families are drawn, rendered and tabulated a chunk at a time. The chunk's
//! pedigree goes through [`crate::engine::simulate`] as one graph, so all
//! cores stay busy, while memory follows the chunk, not the population. Every
//! random draw is keyed by family (drawing) or person (faces), so the output
//! does not depend on the chunk size, the thread count or the number of
//! families after a given one.

pub mod card;
pub mod csv;
pub mod draw;
pub mod negatives;
pub mod relations;
pub mod spec;
pub mod splits;
pub mod tables;

use crate::engine::{simulate, ClusterConfig, Progress, ProgressReport, RunOptions};
use crate::error::{Error, Result};
use crate::exports::manifest::{Manifest, PersonRecord};
use crate::io::atomic::{remove_stale_temporaries, write_atomic, AtomicFile};
use crate::model::FaceModel;
use crate::pedigree::{Pedigree, Person};
use card::Stats;
use draw::{draw_family, fid, Family};
use negatives::{NegativePool, PersonRef};
use rayon::prelude::*;
use splits::{assign_splits, Split};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use spec::DatasetSpec;

/// Families rendered per call of the engine: enough people per generation to
/// keep every core busy, few enough to keep memory small.
pub const FAMILIES_PER_CHUNK: usize = 128;

/// How to write a dataset.
#[derive(Clone, Debug)]
pub struct DatasetOptions {
    pub out_dir: PathBuf,
    /// Rendering threads (None: one per core).
    pub threads: Option<usize>,
    /// Keep faces already rendered by an interrupted run.
    pub resume: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Spread the rendering over timely workers (see `docs/distributed.md`);
    /// only process 0 writes the tables, every process writes its faces.
    pub cluster: Option<ClusterConfig>,
}

/// What a dataset run did.
#[derive(Clone, Debug)]
pub struct DatasetReport {
    pub stats: Stats,
    pub people: usize,
    pub rendered: usize,
    pub skipped: usize,
}

/// Builds the pedigree of several families (ids are unique across families).
pub fn pedigree_of(families: &[Family]) -> Result<Pedigree> {
    let people: Vec<Person> = families.iter().flat_map(|f| f.people()).collect();
    Pedigree::new(people).map(|(p, _)| p).map_err(|issues| {
        Error::internal(format!(
            "drawn families do not form a valid pedigree: {}",
            issues
                .iter()
                .map(|i| format!("`{}` {}", i.person, i.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })
}

/// Draws, renders and tabulates the whole dataset into `opts.out_dir`.
pub fn generate(
    spec: &DatasetSpec,
    model: &dyn FaceModel,
    opts: &DatasetOptions,
) -> Result<DatasetReport> {
    let seed = spec.seed;
    let out = &opts.out_dir;
    // On a cluster, process 0 writes the tables and family manifests; the
    // others only render. Only the leader clears the top folder, or a late
    // follower could remove the leader's tables in flight.
    let leader = opts.cluster.as_ref().is_none_or(|c| c.process == 0);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    if leader {
        remove_stale_temporaries(out)?;
    }
    let splits = assign_splits(spec.families, spec.splits, seed);

    // Pass 1 (drawing only, cheap): everyone, for negatives and the progress bar.
    let mut pool = NegativePool::default();
    let mut total_people = 0usize;
    for n in 1..=spec.families {
        let family = draw_family(spec, seed, n);
        for m in &family.members {
            pool.add(
                splits[n - 1],
                m.person.sex,
                m.person.age,
                PersonRef {
                    family: (n - 1) as u32,
                    mid: m.mid as u32,
                },
            );
        }
        total_people += family.members.len();
    }

    // Pass 2: draw again, render and write, a chunk of families at a time.
    let progress = Progress::new(total_people as u64, opts.progress && leader);
    let mut writer = if leader {
        Some(TableWriter::create(out)?)
    } else {
        None
    };
    let run = RunOptions {
        out_dir: out.clone(),
        seed,
        scenario_name: spec.name.clone(),
        threads: opts.threads,
        resume: opts.resume,
        // Every chunk advances the dataset's bar, person by person.
        progress: ProgressReport::Shared(progress.clone()),
        image_name: Arc::new(|p: &Person| {
            draw::image_name(&p.id).unwrap_or_else(|| format!("{}.png", p.id))
        }),
        cluster: opts.cluster.clone(),
    };
    // A chunk's worth of families per worker keeps every worker as busy as
    // one machine is; each chunk is one cluster session.
    let per_chunk = FAMILIES_PER_CHUNK * opts.cluster.as_ref().map_or(1, |c| c.peers());
    let (mut rendered, mut skipped) = (0, 0);
    let numbers: Vec<usize> = (1..=spec.families).collect();
    for chunk in numbers.chunks(per_chunk) {
        let families: Vec<Family> = chunk
            .par_iter()
            .map(|&n| draw_family(spec, seed, n))
            .collect();
        let pedigree = pedigree_of(&families)?;
        let report = simulate(&pedigree, model, &run)?;
        rendered += report.rendered;
        skipped += report.skipped;
        let Some(writer) = writer.as_mut() else {
            continue;
        };
        let mut records: BTreeMap<&str, Vec<&PersonRecord>> = BTreeMap::new();
        for r in &report.manifest.people {
            records
                .entry(r.id.split('_').next().unwrap_or(""))
                .or_default()
                .push(r);
        }
        for family in &families {
            let split = splits[family.number - 1];
            let people = records
                .get(family.fid.as_str())
                .cloned()
                .unwrap_or_default();
            write_family_manifest(out, family, &report.manifest, &people)?;
            writer.add_family(spec, family, split, &pool)?;
        }
    }
    progress.finish();
    let stats = match writer {
        Some(writer) => writer.finish(spec, &model.describe())?,
        None => Stats::default(),
    };
    Ok(DatasetReport {
        stats,
        people: total_people,
        rendered,
        skipped,
    })
}

/// `FIDxxxx/manifest.json`: the engine's records of this family, with image
/// paths relative to the family folder so that the folder is a run directory
/// of its own (`famsim export FIDxxxx`).
fn write_family_manifest(
    out: &std::path::Path,
    family: &Family,
    chunk: &Manifest,
    people: &[&PersonRecord],
) -> Result<()> {
    let prefix = format!("{}/", family.fid);
    let person_prefix = format!("`{}_", family.fid);
    let manifest = Manifest {
        scenario: format!("{} {}", chunk.scenario, family.fid),
        generations: people.iter().map(|p| p.generation + 1).max().unwrap_or(0),
        warnings: chunk
            .warnings
            .iter()
            .filter(|w| w.contains(&person_prefix))
            .cloned()
            .collect(),
        people: people
            .iter()
            .map(|&p| {
                let mut p = p.clone();
                if let Some(rel) = p.image.strip_prefix(&prefix) {
                    p.image = rel.to_string();
                }
                p
            })
            .collect(),
        ..header_of(chunk)
    };
    let dir = out.join(&family.fid);
    remove_stale_temporaries(&dir)?;
    write_atomic(&dir.join("manifest.json"), &manifest.to_json()?)
}

/// A manifest's header without its people (cheap to copy).
fn header_of(m: &Manifest) -> Manifest {
    Manifest {
        schema_version: m.schema_version,
        famsim_version: m.famsim_version.clone(),
        scenario: m.scenario.clone(),
        seed: m.seed,
        model: m.model.clone(),
        image_size: m.image_size,
        generations: m.generations,
        warnings: Vec::new(),
        people: Vec::new(),
    }
}

/// The dataset-wide tables, streamed to temporary files and renamed into
/// place at the end, and the counts for the card.
struct TableWriter {
    out: PathBuf,
    pairs: AtomicFile,
    triplets: AtomicFile,
    families: AtomicFile,
    stats: Stats,
}

impl TableWriter {
    fn create(out: &std::path::Path) -> Result<TableWriter> {
        let open = |name: &str, header: &[&str]| -> Result<AtomicFile> {
            let mut f = AtomicFile::create(&out.join(name))?;
            f.write(csv::row(header).as_bytes())?;
            Ok(f)
        };
        Ok(TableWriter {
            out: out.to_path_buf(),
            pairs: open("pairs.csv", tables::PAIRS_HEADER)?,
            triplets: open("triplets.csv", tables::TRIPLETS_HEADER)?,
            families: open("families.csv", tables::FAMILIES_HEADER)?,
            stats: Stats::default(),
        })
    }

    fn add_family(
        &mut self,
        spec: &DatasetSpec,
        family: &Family,
        split: Split,
        pool: &NegativePool,
    ) -> Result<()> {
        let pedigree = pedigree_of(std::slice::from_ref(family))?;
        let ancestry: Vec<Vec<_>> = family
            .members
            .iter()
            .map(|m| {
                pedigree
                    .node(&m.person.id)
                    .map(|n| pedigree.ancestry(n).to_vec())
                    .unwrap_or_default()
            })
            .collect();
        write_atomic(
            &self.out.join(&family.fid).join("mid.csv"),
            tables::members_table(family, &ancestry).as_bytes(),
        )?;

        let s = &mut self.stats;
        *s.families.entry(split).or_default() += 1;
        for (m, anc) in family.members.iter().zip(&ancestry) {
            *s.people.entry(split).or_default() += 1;
            *s.sex.entry((m.person.sex, split)).or_default() += 1;
            *s.age.entry((m.person.age, split)).or_default() += 1;
            *s.ancestry
                .entry((tables::ancestry_label(anc), split))
                .or_default() += 1;
        }

        let mut lines = String::new();
        for (k, pair) in relations::kin_pairs(&pedigree).iter().enumerate() {
            let (a, b) = (pedigree.person(pair.a), pedigree.person(pair.b));
            let label = pair.relation.label();
            lines.push_str(&tables::pair_row(
                label,
                Some(pair.kinship),
                (&a.id, &family.fid),
                (&b.id, &family.fid),
                split,
            ));
            *s.positives.entry((pair.relation, split)).or_default() += 1;
            s.note_kinship(pair.relation, pair.kinship);
            let key = format!("negative/{}/{k}", family.fid);
            match pool.draw(
                spec.seed,
                &key,
                (split, b.sex, b.age),
                (family.number - 1) as u32,
            ) {
                Some(c) => {
                    let c_fid = fid(c.family as usize + 1);
                    let c_id = draw::person_id(&c_fid, c.mid as usize);
                    lines.push_str(&tables::pair_row(
                        label,
                        None,
                        (&a.id, &family.fid),
                        (&c_id, &c_fid),
                        split,
                    ));
                    *s.negatives.entry((pair.relation, split)).or_default() += 1;
                }
                None => s.unmatched += 1,
            }
        }
        self.pairs.write(lines.as_bytes())?;

        let triplets = tables::triplet_rows(family, split);
        *s.triplets.entry(split).or_default() += triplets.lines().count();
        self.triplets.write(triplets.as_bytes())?;

        let founders: Vec<_> = family
            .members
            .iter()
            .zip(&ancestry)
            .filter(|(m, _)| m.generation == 0 && m.mid <= 2)
            .flat_map(|(_, a)| a.iter().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let generations = family
            .members
            .iter()
            .map(|m| m.generation + 1)
            .max()
            .unwrap_or(0);
        self.families.write(
            csv::row(&[
                family.fid.clone(),
                split.label().to_string(),
                family.members.len().to_string(),
                generations.to_string(),
                tables::ancestry_label(&founders),
            ])
            .as_bytes(),
        )?;
        Ok(())
    }

    /// Renames the tables into place and writes the card last, so a
    /// `DATASET.md` means a finished dataset.
    fn finish(self, spec: &DatasetSpec, model: &str) -> Result<Stats> {
        self.pairs.commit()?;
        self.triplets.commit()?;
        self.families.commit()?;
        write_atomic(
            &self.out.join("DATASET.md"),
            card::render_card(spec, model, &self.stats).as_bytes(),
        )?;
        Ok(self.stats)
    }
}
