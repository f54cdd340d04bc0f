//! `famsim eval`: how kin-like are the faces (and the genes) of a run, a
//! famsim dataset or a real Families-in-the-Wild folder?
//!
//! One concept per file, in the order the data flows:
//! - `input/`: the three folder layouts read into one [`EvalSet`] (people,
//!   their images, who is kin to whom with which kinship coefficient);
//! - `protocol.rs`: the pairs and triplets every figure is measured on —
//!   kin pairs with matched non-kin pairs, triplets with swapped children,
//!   sibships — and which part (fit or held out) each belongs to;
//! - `metrics.rs`: the statistics (ROC AUC, held-out threshold and accuracy,
//!   confidence intervals, slope and monotonicity), plain numbers in and out;
//! - `figures.rs`: verification, tri-subject, resemblance by kinship and
//!   diversity for any similarity (the same code for genes and for faces);
//! - `genes.rs`: gene-space figures from the region sources the manifests
//!   record (no face network needed, so the procedural model has them);
//! - `describe.rs` and `cache.rs`: face descriptors in batches, cached per
//!   image by content hash;
//! - `report/`: `metrics.json`, `index.html` with inline SVG plots, and the
//!   terminal summary;
//! - `sweep.rs`: the grid of `--sweep gamma=… eta=…` and what moves along it.

pub mod cache;
pub mod describe;
pub mod figures;
pub mod genes;
pub mod input;
pub mod metrics;
pub mod protocol;
pub mod report;
pub mod sweep;

use crate::attributes::{AgeGroup, Sex};
use crate::dataset::relations::Relation;
use crate::dataset::splits::Split;
use crate::exports::manifest::RegionRecord;
use crate::genetics::CrossoverParams;
use std::path::PathBuf;

/// Which kind of folder was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A `famsim run` folder (`manifest.json` at the top).
    Run,
    /// A `famsim dataset` folder (`families.csv`, `FIDxxxx/manifest.json`).
    Dataset,
    /// Families In the Wild: `F####/MID#/*.jpg` and a relationship matrix per family (`mid.csv`).
    Fiw,
}

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Run => "famsim run",
            Layout::Dataset => "famsim dataset",
            Layout::Fiw => "Families in the Wild",
        }
    }
}

/// One person of the folder.
#[derive(Clone, Debug)]
pub struct EvalPerson {
    pub id: String,
    /// Index into [`EvalSet::families`].
    pub family: usize,
    pub sex: Option<Sex>,
    pub age: Option<AgeGroup>,
    /// Face images (paths as found on disk).
    pub images: Vec<PathBuf>,
    /// Indices into [`EvalSet::people`].
    pub father: Option<usize>,
    pub mother: Option<usize>,
    /// Where each region came from (famsim children only; empty otherwise).
    pub regions: Vec<RegionRecord>,
    /// The crossover parameters the child was made with (famsim children only).
    pub params: Option<CrossoverParams>,
    /// Whether this person's genes are known from the manifest: a famsim
    /// founder (genes of their own) or a child with region records.
    pub genes_known: bool,
}

/// One family.
#[derive(Clone, Debug)]
pub struct EvalFamily {
    pub fid: String,
    /// The dataset's split (famsim datasets only).
    pub split: Option<Split>,
    /// Whether the family's pedigree is complete, so that two members with
    /// no relation are known to be non-kin (famsim folders: yes; FIW: no,
    /// its relationship matrices leave links out).
    pub complete: bool,
}

/// A related pair: `a` is the elder side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kin {
    pub a: usize,
    pub b: usize,
    /// The FIW-style type; None for kin that no type names (FIW's great-grandparents).
    pub relation: Option<Relation>,
    /// Kinship coefficient φ (1/4 parent–child and full siblings, 1/8
    /// grandparents and half-siblings, 1/16 first cousins); relatedness is 2φ.
    pub kinship: f64,
}

/// A folder read for evaluation.
#[derive(Clone, Debug)]
pub struct EvalSet {
    pub root: PathBuf,
    pub layout: Layout,
    pub families: Vec<EvalFamily>,
    pub people: Vec<EvalPerson>,
    pub kin: Vec<Kin>,
}

impl EvalSet {
    /// Every image of every person, in person order.
    pub fn images(&self) -> impl Iterator<Item = &PathBuf> {
        self.people.iter().flat_map(|p| p.images.iter())
    }

    /// (father, mother, child) for everyone with both parents.
    pub fn triplets(&self) -> Vec<(usize, usize, usize)> {
        self.people
            .iter()
            .enumerate()
            .filter_map(|(c, p)| Some((p.father?, p.mother?, c)))
            .collect()
    }
}

/// A stable 64-bit hash of some strings, for choices that must not depend
/// on the order things were read in (folds, matched negatives).
pub fn stable_hash(parts: &[&str]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

// ---------------------------------------------------------------------------
// What an evaluation finds, as written to metrics.json.

use figures::SpaceFigures;
use genes::RegionShares;
use serde::Serialize;
use std::collections::BTreeMap;

/// Gene-space figures of a folder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GeneSpace {
    pub available: bool,
    /// What the figures are, or why there are none.
    pub note: String,
    pub people_with_genes: usize,
    pub region_shares: Option<RegionShares>,
    pub figures: Option<SpaceFigures>,
}

/// Face-space figures of a folder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaceSpace {
    pub available: bool,
    pub note: String,
    /// The face network, when one was used.
    pub network: Option<String>,
    pub images: usize,
    pub people_with_face: usize,
    /// Images in which no face was found (relative to the folder).
    pub no_face: Vec<String>,
    /// Files that could not be read as images.
    pub unreadable: Vec<String>,
    /// Images read from the descriptor cache / described in this run (not
    /// in metrics.json, which must not change from one run to the next).
    #[serde(skip)]
    pub from_cache: usize,
    #[serde(skip)]
    pub computed: usize,
    pub figures: Option<SpaceFigures>,
}

/// Everything measured on one folder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FolderMetrics {
    /// The folder as given on the command line.
    pub folder: String,
    pub layout: String,
    pub families: usize,
    pub people: usize,
    pub images: usize,
    /// Kin pairs per relation type (`other`: kin no type names).
    pub kin_pairs: BTreeMap<String, usize>,
    pub triplets: usize,
    pub sibships: usize,
    /// How the accuracy's threshold was held out.
    pub held_out: String,
    pub unmatched_pairs: usize,
    pub unmatched_triplets: usize,
    pub genes: GeneSpace,
    pub faces: FaceSpace,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub famsim_version: String,
    pub folders: Vec<FolderMetrics>,
    pub sweep: Option<sweep::Sweep>,
}

/// How to evaluate a folder.
pub struct EvalOptions {
    /// The face network, its cache and the workers that run it; None: no
    /// face-space figures.
    pub describe: Option<describe::DescribeOptions>,
    /// Why there is no face network, for the report (when `describe` is None).
    pub no_faces_because: String,
}

/// A cluster's process other than 0 (`--process N`): reads `dir` and
/// describes its share of the images for process 0, which measures and
/// reports.
pub fn follow(dir: &std::path::Path, opts: &EvalOptions) -> crate::Result<()> {
    let set = input::read(dir)?;
    if let Some(d) = &opts.describe {
        describe::describe(&set, d)?;
    }
    Ok(())
}

/// Reads `dir` and measures everything measurable on it (on a cluster:
/// process 0, while the others [`follow`]).
pub fn evaluate(dir: &std::path::Path, opts: &EvalOptions) -> crate::Result<FolderMetrics> {
    let set = input::read(dir)?;
    let protocol = protocol::build(&set);

    let mixtures = genes::GeneMixtures::new(&set);
    let people_with_genes = (0..set.people.len()).filter(|&p| mixtures.known(p)).count();
    let genes = if people_with_genes > 0 {
        GeneSpace {
            available: true,
            note: "identity by descent: each region as a mixture of founders' regions and pool \
                   draws, followed down the pedigree from the region sources in the manifest; \
                   similarity = mean over the 34 regions of the cosine of two mixtures (non-kin \
                   share nothing, so verification is perfect by construction; resemblance and \
                   diversity are the informative figures)"
                .into(),
            people_with_genes,
            region_shares: genes::region_shares(&set),
            figures: Some(figures::figures(
                &protocol,
                &|a, b| mixtures.similarity(a, b),
                &|a, b| mixtures.similarity(a, b).map(|s| 1.0 - s),
                "1 − gene similarity",
            )),
        }
    } else {
        GeneSpace {
            available: false,
            note: format!(
                "not available: a {} folder records no region sources",
                set.layout.label()
            ),
            people_with_genes: 0,
            region_shares: None,
            figures: None,
        }
    };

    let images = {
        let mut all: Vec<&PathBuf> = set.images().collect();
        all.sort();
        all.dedup();
        all.len()
    };
    let faces = match &opts.describe {
        None => FaceSpace {
            available: false,
            note: opts.no_faces_because.clone(),
            network: None,
            images,
            people_with_face: 0,
            no_face: Vec::new(),
            unreadable: Vec::new(),
            from_cache: 0,
            computed: 0,
            figures: None,
        },
        Some(d) => {
            let found = describe::describe(&set, d)?.ok_or_else(|| {
                crate::Error::internal("only process 0 of a cluster measures a folder")
            })?;
            let people = &found.people;
            let with_face = people.iter().filter(|p| p.is_some()).count();
            FaceSpace {
                available: with_face > 0,
                note: format!(
                    "cosine similarity of face descriptors ({}); a person with several images \
                     is the mean of their descriptors",
                    d.describer.name()
                ),
                network: Some(d.describer.name()),
                images: found.images,
                people_with_face: with_face,
                no_face: found.no_face,
                unreadable: found.unreadable,
                from_cache: found.from_cache,
                computed: found.computed,
                figures: (with_face > 0).then(|| {
                    figures::figures(
                        &protocol,
                        &|a, b| metrics::cosine(people[a].as_ref()?, people[b].as_ref()?),
                        &|a, b| Some(metrics::euclidean(people[a].as_ref()?, people[b].as_ref()?)),
                        "Euclidean descriptor distance",
                    )
                }),
            }
        }
    };

    let mut kin_pairs = BTreeMap::new();
    for k in &set.kin {
        let label = k.relation.map_or("other", |r| r.label());
        *kin_pairs.entry(label.to_string()).or_insert(0) += 1;
    }
    Ok(FolderMetrics {
        folder: dir.display().to_string(),
        layout: set.layout.label().to_string(),
        families: set.families.len(),
        people: set.people.len(),
        images,
        kin_pairs,
        triplets: protocol.triplets.iter().filter(|t| t.kin).count(),
        sibships: protocol.sibships.len(),
        held_out: protocol.held_out.describe().to_string(),
        unmatched_pairs: protocol.unmatched_pairs,
        unmatched_triplets: protocol.unmatched_triplets,
        genes,
        faces,
    })
}
