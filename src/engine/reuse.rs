//! What one run of a family can hand the next, for a caller that runs the
//! same family again and again with small changes (`famsim serve`: a
//! re-roll changes one person's seed, a slider one child's gamma).
//!
//! Every person gets a [`PersonKey`]: a SHA-256 of everything steps 1–3
//! (genes, latent, the genome they pass on) and step 4 (the portrait) read
//! for them — the run's seed, the model (as the caller names it, with its
//! image size), the person's own fields that the engine reads (id, sex, age,
//! ancestry, gamma/eta/lean, pins, founder genes with the content of a
//! founder's file, own seed) and their parents' keys. Name and surname are
//! left out: no draw reads them. Each step is a function of exactly these
//! inputs (every draw comes from the person's own streams, and the engine's
//! contract is that batching and thread count never change a byte), so a
//! person whose key is unchanged gets the same genes, latent, genome and
//! portrait bytes as a full run would give them; [`GeneCache`] keeps the
//! first three, the run folder keeps the portrait.

use crate::attributes::PoolKey;
use crate::genetics::{Genome, RegionOrigin, REGION_COUNT};
use crate::latent::Latent;
use crate::pedigree::{FounderGenes, Pedigree};
use petgraph::graph::NodeIndex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A digest of everything one person's genes and face depend on.
pub type PersonKey = [u8; 32];

/// Every person's key, parents before children. `model` names the face
/// model and everything about it that changes a face (famsim serve passes
/// the scenario's model spec and image size).
pub fn person_keys(pedigree: &Pedigree, seed: u64, model: &str) -> HashMap<NodeIndex, PersonKey> {
    let mut keys: HashMap<NodeIndex, PersonKey> = HashMap::with_capacity(pedigree.len());
    for generation in pedigree.generations() {
        for &node in generation {
            let p = pedigree.person(node);
            let mut h = Sha256::new();
            // Every field is length- or tag-delimited, so two different
            // people can never write the same byte stream.
            let mut field = |tag: &str, bytes: &[u8]| {
                h.update(tag.as_bytes());
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            };
            field("seed", &seed.to_le_bytes());
            field("model", model.as_bytes());
            field("id", p.id.as_bytes());
            field("sex", format!("{:?}", p.sex).as_bytes());
            field("age", format!("{:?}", p.age).as_bytes());
            field("ancestry", format!("{:?}", p.ancestry).as_bytes());
            field("gamma", &p.params.gamma.to_bits().to_le_bytes());
            field("eta", &p.params.eta.to_bits().to_le_bytes());
            field("lean", &p.params.lean.to_bits().to_le_bytes());
            field("pins", format!("{:?}", p.overrides).as_bytes());
            field("founder", format!("{:?}", p.founder_genes).as_bytes());
            if let FounderGenes::Latent(path)
            | FounderGenes::Photo(path)
            | FounderGenes::AlignedPhoto(path) = &p.founder_genes
            {
                // The file's content, not only its name: a file replaced
                // under the same name gives another face. A file that
                // cannot be read fails the run before anything is kept.
                let content = std::fs::read(path)
                    .map(|b| Sha256::digest(&b).to_vec())
                    .unwrap_or_default();
                field("file", &content);
            }
            field("own-seed", format!("{:?}", p.seed).as_bytes());
            for parent in [pedigree.father(node), pedigree.mother(node)] {
                let parent_key = parent.and_then(|n| keys.get(&n)).copied();
                field("parent", parent_key.as_ref().map_or(&[][..], |k| &k[..]));
            }
            keys.insert(node, h.finalize().into());
        }
    }
    keys
}

/// What steps 1–3 made of one person.
#[derive(Clone)]
pub(crate) struct Cached {
    pub latent: Latent,
    /// The genome they pass on, when a run needed it (or, for pool
    /// founders, their pool entry).
    pub genome: Option<Genome>,
    pub origins: Option<[RegionOrigin; REGION_COUNT]>,
    pub pool_keys: Vec<PoolKey>,
    pub warning: Option<String>,
}

/// Steps 1–3's results by [`PersonKey`], from the latest run of a family.
/// A run reads the previous run's entries and leaves only its own people's,
/// so the cache never holds more than one family.
#[derive(Clone, Default)]
pub struct GeneCache {
    pub(crate) people: HashMap<PersonKey, Cached>,
}

impl GeneCache {
    /// People held.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{AgeGroup, Sex};
    use crate::engine::{
        people_dir_images, simulate, simulate_incremental, Incremental, ProgressReport, RunOptions,
    };
    use crate::model::procedural::ProceduralModel;
    use crate::pedigree::{test_person as person, Person};
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Two founders, two children, and (when `grandchild`) a partner for
    /// the daughter and their son.
    fn family(edit: impl Fn(&mut Vec<Person>), grandchild: bool) -> Pedigree {
        let mut people = vec![
            person("dad", Sex::Male, None),
            person("mum", Sex::Female, None),
            person("ann", Sex::Female, Some(("dad", "mum"))),
            person("bob", Sex::Male, Some(("dad", "mum"))),
        ];
        if grandchild {
            people.push(person("tom", Sex::Male, None));
            let mut kid = person("kit", Sex::Male, Some(("tom", "ann")));
            kid.age = AgeGroup::Age0To2;
            people.push(kid);
        }
        edit(&mut people);
        Pedigree::new(people).expect("a valid family").0
    }

    fn keys_by_id(p: &Pedigree, seed: u64, model: &str) -> Vec<(String, PersonKey)> {
        let keys = person_keys(p, seed, model);
        let mut v: Vec<_> = keys
            .into_iter()
            .map(|(n, k)| (p.person(n).id.clone(), k))
            .collect();
        v.sort();
        v
    }

    fn changed(a: &[(String, PersonKey)], b: &[(String, PersonKey)]) -> Vec<String> {
        a.iter()
            .zip(b)
            .filter(|(x, y)| x.1 != y.1)
            .map(|(x, _)| x.0.clone())
            .collect()
    }

    #[test]
    fn a_key_changes_with_what_a_face_reads_and_nothing_else() {
        let base = keys_by_id(&family(|_| {}, false), 7, "procedural|64");
        let renamed = family(|p| p[2].name = "Ann Other".into(), false);
        assert!(changed(&base, &keys_by_id(&renamed, 7, "procedural|64")).is_empty());
        let reroll = family(|p| p[2].seed = Some(5), false);
        assert_eq!(
            changed(&base, &keys_by_id(&reroll, 7, "procedural|64")),
            ["ann"]
        );
        let mum = family(|p| p[1].seed = Some(5), false);
        assert_eq!(
            changed(&base, &keys_by_id(&mum, 7, "procedural|64")),
            ["ann", "bob", "mum"]
        );
        let gamma = family(|p| p[3].params.gamma = 0.3, false);
        assert_eq!(
            changed(&base, &keys_by_id(&gamma, 7, "procedural|64")),
            ["bob"]
        );
        let everyone = ["ann", "bob", "dad", "mum"];
        let seed = keys_by_id(&family(|_| {}, false), 8, "procedural|64");
        assert_eq!(changed(&base, &seed), everyone);
        let size = keys_by_id(&family(|_| {}, false), 7, "procedural|128");
        assert_eq!(changed(&base, &size), everyone);
    }

    fn options(dir: &Path) -> RunOptions {
        RunOptions {
            out_dir: dir.to_path_buf(),
            seed: 11,
            scenario_name: "reuse".into(),
            threads: Some(2),
            resume: true,
            progress: ProgressReport::Hidden,
            image_name: people_dir_images(),
            cluster: None,
        }
    }

    /// Every PNG under `dir/people`, by file name.
    fn portraits(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("people"))
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Runs `pedigree` incrementally in `dir` (after removing the portraits
    /// whose key changed, as famsim serve does) and from scratch elsewhere:
    /// the same portraits and the same manifest.
    fn same_as_a_full_run(
        pedigree: &Pedigree,
        dir: &Path,
        cache: &mut GeneCache,
        last: &mut HashMap<String, PersonKey>,
    ) {
        let model = ProceduralModel::new(64).unwrap();
        let keys = person_keys(pedigree, 11, "procedural|64");
        for (&node, key) in &keys {
            let id = &pedigree.person(node).id;
            if last.get(id) != Some(key) {
                let _ = std::fs::remove_file(dir.join(format!("people/{id}.png")));
            }
        }
        *last = keys
            .iter()
            .map(|(&n, k)| (pedigree.person(n).id.clone(), *k))
            .collect();
        let never = || false;
        let Incremental::Finished(report) =
            simulate_incremental(pedigree, &model, keys, &options(dir), cache, &never).unwrap()
        else {
            panic!("stopped without being asked");
        };
        let fresh = tempfile::tempdir().unwrap();
        let full = simulate(pedigree, &model, &options(fresh.path())).unwrap();
        assert_eq!(portraits(dir), portraits(fresh.path()));
        assert_eq!(
            report.manifest.to_json().unwrap(),
            full.manifest.to_json().unwrap()
        );
        assert_eq!(cache.len(), pedigree.len());
    }

    #[test]
    fn reused_genes_give_the_bytes_of_a_full_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = GeneCache::default();
        let mut last = HashMap::new();
        for pedigree in [
            family(|_| {}, false),
            family(|p| p[2].seed = Some(3), false),
            family(|p| p[3].params.eta = 0.1, false),
            // ann has children now: her genome is read from her cached face.
            family(|p| p[2].seed = Some(3), true),
            family(|p| p[1].seed = Some(4), true),
        ] {
            same_as_a_full_run(&pedigree, dir.path(), &mut cache, &mut last);
        }
    }

    #[test]
    fn a_stopped_run_leaves_whole_portraits_that_a_later_run_keeps() {
        let pedigree = family(|_| {}, true);
        let model = ProceduralModel::new(64).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cache = GeneCache::default();
        // Stop once the first generation is painted.
        let asked = AtomicUsize::new(0);
        let stop = || asked.fetch_add(1, Ordering::SeqCst) >= 5;
        let keys = person_keys(&pedigree, 11, "procedural|64");
        let outcome = simulate_incremental(
            &pedigree,
            &model,
            keys.clone(),
            &options(dir.path()),
            &mut cache,
            &stop,
        )
        .unwrap();
        assert!(matches!(outcome, Incremental::Stopped));
        let kept = portraits(dir.path());
        assert!(
            !kept.is_empty() && kept.len() < pedigree.len(),
            "{}",
            kept.len()
        );
        for (name, bytes) in &kept {
            assert!(name.ends_with(".png"), "{name}");
            crate::exports::png::decode_png(bytes).unwrap();
        }
        let never = || false;
        let outcome = simulate_incremental(
            &pedigree,
            &model,
            keys,
            &options(dir.path()),
            &mut cache,
            &never,
        )
        .unwrap();
        let Incremental::Finished(report) = outcome else {
            panic!("stopped without being asked");
        };
        assert_eq!(report.skipped, kept.len());
        let fresh = tempfile::tempdir().unwrap();
        simulate(&pedigree, &model, &options(fresh.path())).unwrap();
        assert_eq!(portraits(dir.path()), portraits(fresh.path()));
    }
}
