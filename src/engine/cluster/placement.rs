//! Which timely worker owns which person.
//!
//! Every worker holds the whole pedigree, so every worker computes the same
//! placement on its own and nobody has to announce it. A person is owned by
//! the hash of (family, person) modulo the number of workers; "family" is the
//! connected part of the pedigree the person belongs to, named by its first
//! member in input order.
//!
//! When there are many families (a dataset), the person part of the key is
//! left out so a whole family lands on one worker: parents' genomes (2.5 MB
//! each at 1024 px) then never cross the network, and the hash still spreads
//! families evenly. A single large family tree (a scenario) is split person by
//! person instead, or it would run on one worker alone.

use crate::pedigree::Pedigree;
use petgraph::graph::NodeIndex;
use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;
use sha2::{Digest, Sha256};

/// Families per worker above which whole families are kept together.
const FAMILIES_PER_WORKER_TO_GROUP: usize = 4;

/// The owner of every person, by node index.
#[derive(Clone, Debug)]
pub struct Placement {
    owners: Vec<usize>,
}

impl Placement {
    /// Places every person of `pedigree` on one of `peers` workers.
    pub fn new(pedigree: &Pedigree, peers: usize) -> Placement {
        let peers = peers.max(1);
        let graph = pedigree.graph();
        let mut families = UnionFind::<usize>::new(graph.node_count());
        for edge in graph.edge_references() {
            families.union(edge.source().index(), edge.target().index());
        }
        // Name each family by its first member (node indices follow input order).
        let mut first_member = vec![usize::MAX; graph.node_count()];
        for n in 0..graph.node_count() {
            let root = families.find(n);
            first_member[root] = first_member[root].min(n);
        }
        let family_of = |n: usize| first_member[families.find(n)];
        let family_count = (0..graph.node_count())
            .filter(|&n| family_of(n) == n)
            .count();
        let by_family = family_count >= FAMILIES_PER_WORKER_TO_GROUP * peers;

        let owners = (0..graph.node_count())
            .map(|n| {
                let family = &pedigree.person(NodeIndex::new(family_of(n))).id;
                let person = &pedigree.person(NodeIndex::new(n)).id;
                let key = if by_family {
                    hash_key(&[family])
                } else {
                    hash_key(&[family, person])
                };
                (key % peers as u64) as usize
            })
            .collect();
        Placement { owners }
    }

    /// The worker that simulates and renders `person`.
    pub fn owner(&self, person: NodeIndex) -> usize {
        self.owners[person.index()]
    }

    /// `worker`'s people among `people`, in the same order.
    pub fn share(&self, people: &[NodeIndex], worker: usize) -> Vec<NodeIndex> {
        people
            .iter()
            .copied()
            .filter(|&n| self.owner(n) == worker)
            .collect()
    }

    /// The workers that own at least one child of `parent`, ascending.
    pub fn child_owners(&self, pedigree: &Pedigree, parent: NodeIndex) -> Vec<usize> {
        let mut owners: Vec<usize> = pedigree
            .children(parent)
            .into_iter()
            .map(|c| self.owner(c))
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    /// How many children of `parent` `worker` owns.
    pub fn children_owned(&self, pedigree: &Pedigree, parent: NodeIndex, worker: usize) -> usize {
        pedigree
            .children(parent)
            .into_iter()
            .filter(|&c| self.owner(c) == worker)
            .count()
    }
}

/// A platform-independent hash: every process, whatever its machine, must
/// place people the same way (std's hasher makes no such promise).
fn hash_key(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    h.update(b"famsim-placement-v1\0");
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    u64::from_le_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::Sex;
    use crate::pedigree::test_person as person;

    /// `families` couples with `kids` children each.
    fn families(families: usize, kids: usize) -> Pedigree {
        let mut people = Vec::new();
        for f in 0..families {
            let (dad, mum) = (format!("f{f}_dad"), format!("f{f}_mum"));
            people.push(person(&dad, Sex::Male, None));
            people.push(person(&mum, Sex::Female, None));
            for k in 0..kids {
                people.push(person(
                    &format!("f{f}_kid{k}"),
                    Sex::Female,
                    Some((&dad, &mum)),
                ));
            }
        }
        Pedigree::new(people).unwrap().0
    }

    #[test]
    fn many_families_stay_whole_and_spread_over_every_worker() {
        let pedigree = families(64, 3);
        let placement = Placement::new(&pedigree, 4);
        let mut per_worker = [0usize; 4];
        for f in 0..64 {
            let dad = pedigree.node(&format!("f{f}_dad")).unwrap();
            for k in 0..3 {
                let kid = pedigree.node(&format!("f{f}_kid{k}")).unwrap();
                assert_eq!(placement.owner(kid), placement.owner(dad));
            }
            assert_eq!(
                placement.child_owners(&pedigree, dad),
                vec![placement.owner(dad)]
            );
            per_worker[placement.owner(dad)] += 1;
        }
        assert!(per_worker.iter().all(|&n| n >= 4), "{per_worker:?}");
    }

    #[test]
    fn one_family_is_split_person_by_person() {
        let pedigree = families(1, 40);
        let placement = Placement::new(&pedigree, 4);
        let dad = pedigree.node("f0_dad").unwrap();
        let owners = placement.child_owners(&pedigree, dad);
        assert_eq!(
            owners,
            vec![0, 1, 2, 3],
            "40 children should reach all 4 workers"
        );
        let owned: usize = (0..4)
            .map(|w| placement.children_owned(&pedigree, dad, w))
            .sum();
        assert_eq!(owned, 40);
        let everyone: Vec<NodeIndex> = pedigree.people().map(|(n, _)| n).collect();
        let shares: usize = (0..4).map(|w| placement.share(&everyone, w).len()).sum();
        assert_eq!(shares, pedigree.len());
    }

    #[test]
    fn placement_depends_only_on_the_pedigree_and_worker_count() {
        let pedigree = families(10, 2);
        let a = Placement::new(&pedigree, 3);
        let b = Placement::new(&pedigree.clone(), 3);
        assert_eq!(a.owners, b.owners);
        assert!(Placement::new(&pedigree, 1).owners.iter().all(|&w| w == 0));
    }
}
