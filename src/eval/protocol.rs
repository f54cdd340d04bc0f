//! What every figure is measured on, fixed before any score is computed so
//! that genes and faces are judged on the same items:
//! - every kin pair, each followed by a matched non-kin pair: the elder
//!   with someone of the younger's sex (and age group, where known) to whom
//!   the elder is not kin — from another family, or from the same family
//!   when its pedigree is complete and they share no ancestor;
//! - every father–mother–child triplet, each followed by the same parents
//!   with a swapped child (not kin to either parent, same sex and age group);
//! - sibships, the children of one couple (two or more).
//!
//! Held-out threshold (RFIW): with a dataset's splits the threshold is chosen
//! on `val` (on `train` when `val` lacks kin or non-kin items) and the
//! accuracy measured on `test`. Without splits the families are dealt into
//! two folds (a single family: its pairs are), the threshold chosen on one
//! and the accuracy measured on the other, both ways round. Every choice
//! (folds, which non-kin person) comes from a hash of names, never from the
//! order the folder was read in.

use super::{stable_hash, EvalSet};
use crate::attributes::{AgeGroup, Sex};
use crate::dataset::relations::Relation;
use crate::dataset::splits::Split;
use crate::genetics::CrossoverParams;
use std::collections::{BTreeSet, HashMap};

/// Which held-out part an item belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Train,
    Val,
    Test,
    FoldA,
    FoldB,
}

/// How items were held out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldOut {
    /// The dataset's family-disjoint splits: fit on val (or train), measure on test.
    Splits,
    /// Families dealt into two folds, each measured with the other's threshold.
    FamilyFolds,
    /// One family: its pairs dealt into two folds.
    PairFolds,
}

impl HeldOut {
    pub fn describe(self) -> &'static str {
        match self {
            HeldOut::Splits => {
                "threshold chosen on the val split (train when val lacks a class), accuracy on test"
            }
            HeldOut::FamilyFolds => {
                "families dealt into two folds; threshold chosen on one, accuracy on the other, both ways"
            }
            HeldOut::PairFolds => {
                "one family: its pairs dealt into two folds; threshold chosen on one, accuracy on the other, both ways"
            }
        }
    }
}

/// A scored pair, kin or its matched non-kin partner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairItem {
    pub a: usize,
    pub b: usize,
    /// The kin pair's type (a non-kin item carries its positive's).
    pub relation: Option<Relation>,
    /// The kinship coefficient (0 for non-kin).
    pub kinship: f64,
    pub kin: bool,
    pub part: Part,
}

/// A father–mother–child triplet or its swapped-child partner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletItem {
    pub father: usize,
    pub mother: usize,
    pub child: usize,
    pub kin: bool,
    pub part: Part,
}

/// Children of one couple.
#[derive(Clone, Debug, PartialEq)]
pub struct Sibship {
    pub children: Vec<usize>,
    /// Their crossover parameters, when all of them share the same.
    pub params: Option<CrossoverParams>,
}

#[derive(Clone, Debug)]
pub struct Protocol {
    pub held_out: HeldOut,
    pub pairs: Vec<PairItem>,
    pub triplets: Vec<TripletItem>,
    pub sibships: Vec<Sibship>,
    /// Kin pairs and triplets for which no non-kin partner could be found.
    pub unmatched_pairs: usize,
    pub unmatched_triplets: usize,
}

/// Builds the protocol of a folder.
pub fn build(set: &EvalSet) -> Protocol {
    let lineage = lineages(set);
    let held_out = if set.families.iter().any(|f| f.split.is_some()) {
        HeldOut::Splits
    } else if set.families.len() >= 2 {
        HeldOut::FamilyFolds
    } else {
        HeldOut::PairFolds
    };
    let family_part = family_parts(set, held_out);
    let part_of = |person: usize| family_part[set.people[person].family];
    // Candidates for non-kin partners, by (part, sex, age group); the part
    // is only a key when parts are families.
    let keyed_by_part = held_out != HeldOut::PairFolds;
    let key = |p: usize, age: bool| {
        let person = &set.people[p];
        (
            keyed_by_part.then(|| part_of(p)),
            person.sex,
            if age { person.age } else { None },
        )
    };
    type Key = (Option<Part>, Option<Sex>, Option<AgeGroup>);
    let mut candidates: HashMap<Key, Vec<usize>> = HashMap::new();
    for p in 0..set.people.len() {
        candidates.entry(key(p, true)).or_default().push(p);
        if set.people[p].age.is_some() {
            candidates.entry(key(p, false)).or_default().push(p);
        }
    }
    // Someone not kin to any of `elders`, like `like` in sex and age group.
    let unrelated = |elders: &[usize], like: usize, salt: &str| -> Option<usize> {
        let names: Vec<&str> = elders
            .iter()
            .chain(std::iter::once(&like))
            .map(|&p| set.people[p].id.as_str())
            .chain(std::iter::once(salt))
            .collect();
        let h = stable_hash(&names);
        let mut with_part = key(like, true);
        if keyed_by_part {
            with_part.0 = Some(part_of(elders[0]));
        }
        let mut without_age = with_part;
        without_age.2 = None;
        for k in [with_part, without_age] {
            let Some(list) = candidates.get(&k) else {
                continue;
            };
            let start = (h % list.len() as u64) as usize;
            let found = (0..list.len())
                .map(|i| list[(start + i) % list.len()])
                .find(|&c| {
                    c != like
                        && elders
                            .iter()
                            .all(|&e| c != e && not_kin(set, &lineage, e, c))
                });
            if found.is_some() {
                return found;
            }
        }
        None
    };

    // Pair folds: the family's kin pairs dealt alternately in hash order.
    let mut pair_part: HashMap<(usize, usize), Part> = HashMap::new();
    if held_out == HeldOut::PairFolds {
        let mut order: Vec<(u64, usize, usize)> = set
            .kin
            .iter()
            .map(|k| {
                let (a, b) = (&set.people[k.a].id, &set.people[k.b].id);
                (stable_hash(&[a, b, "fold"]), k.a, k.b)
            })
            .collect();
        order.sort();
        for (i, &(_, a, b)) in order.iter().enumerate() {
            pair_part.insert((a, b), if i % 2 == 0 { Part::FoldA } else { Part::FoldB });
        }
    }

    let mut pairs = Vec::new();
    let mut unmatched_pairs = 0;
    for k in &set.kin {
        let part = pair_part
            .get(&(k.a, k.b))
            .copied()
            .unwrap_or_else(|| part_of(k.a));
        pairs.push(PairItem {
            a: k.a,
            b: k.b,
            relation: k.relation,
            kinship: k.kinship,
            kin: true,
            part,
        });
        match unrelated(&[k.a], k.b, "negative") {
            Some(c) => pairs.push(PairItem {
                a: k.a,
                b: c,
                relation: k.relation,
                kinship: 0.0,
                kin: false,
                part,
            }),
            None => unmatched_pairs += 1,
        }
    }

    let mut triplets = Vec::new();
    let mut unmatched_triplets = 0;
    let mut triplet_order: Vec<(u64, (usize, usize, usize))> = set
        .triplets()
        .into_iter()
        .map(|t| (stable_hash(&[&set.people[t.2].id, "fold"]), t))
        .collect();
    if held_out == HeldOut::PairFolds {
        triplet_order.sort();
    }
    for (i, &(_, (father, mother, child))) in triplet_order.iter().enumerate() {
        let part = match held_out {
            HeldOut::PairFolds if i % 2 == 0 => Part::FoldA,
            HeldOut::PairFolds => Part::FoldB,
            _ => part_of(child),
        };
        triplets.push(TripletItem {
            father,
            mother,
            child,
            kin: true,
            part,
        });
        match unrelated(&[father, mother], child, "swap") {
            Some(c) => triplets.push(TripletItem {
                father,
                mother,
                child: c,
                kin: false,
                part,
            }),
            None => unmatched_triplets += 1,
        }
    }

    Protocol {
        held_out,
        pairs,
        triplets,
        sibships: sibships(set),
        unmatched_pairs,
        unmatched_triplets,
    }
}

/// Each family's part: its split, or a fold (families sorted by a hash of
/// their name and dealt alternately, so the folds are even).
fn family_parts(set: &EvalSet, held_out: HeldOut) -> Vec<Part> {
    match held_out {
        HeldOut::Splits => set
            .families
            .iter()
            .map(|f| match f.split {
                Some(Split::Train) => Part::Train,
                Some(Split::Val) => Part::Val,
                // A family without a split is only measured, never fitted on.
                Some(Split::Test) | None => Part::Test,
            })
            .collect(),
        HeldOut::FamilyFolds | HeldOut::PairFolds => {
            let mut order: Vec<(u64, usize)> = set
                .families
                .iter()
                .enumerate()
                .map(|(i, f)| (stable_hash(&[&f.fid, "fold"]), i))
                .collect();
            order.sort();
            let mut parts = vec![Part::FoldA; set.families.len()];
            for (k, &(_, i)) in order.iter().enumerate() {
                parts[i] = if k % 2 == 0 { Part::FoldA } else { Part::FoldB };
            }
            parts
        }
    }
}

/// The founders each person descends from (themselves for a founder), in
/// families whose pedigree is complete; two people who share none have
/// kinship 0. Empty for people of incomplete families.
fn lineages(set: &EvalSet) -> Vec<BTreeSet<usize>> {
    let mut memo: Vec<Option<BTreeSet<usize>>> = vec![None; set.people.len()];
    fn walk(set: &EvalSet, p: usize, memo: &mut Vec<Option<BTreeSet<usize>>>) -> BTreeSet<usize> {
        if let Some(done) = &memo[p] {
            return done.clone();
        }
        let person = &set.people[p];
        let result = match (person.father, person.mother) {
            (None, None) => BTreeSet::from([p]),
            (f, m) => {
                let mut s = BTreeSet::new();
                for parent in [f, m].into_iter().flatten() {
                    s.extend(walk(set, parent, memo));
                }
                s
            }
        };
        memo[p] = Some(result.clone());
        result
    }
    (0..set.people.len())
        .map(|p| {
            if set.families[set.people[p].family].complete {
                walk(set, p, &mut memo)
            } else {
                BTreeSet::new()
            }
        })
        .collect()
}

/// Whether `a` and `c` are known not to be kin: different families, or the
/// same complete family with no founder in common.
fn not_kin(set: &EvalSet, lineage: &[BTreeSet<usize>], a: usize, c: usize) -> bool {
    let (fa, fc) = (set.people[a].family, set.people[c].family);
    if fa != fc {
        return true;
    }
    set.families[fa].complete && lineage[a].is_disjoint(&lineage[c])
}

/// Children of each couple with two or more, in the order the couples'
/// first children were read.
fn sibships(set: &EvalSet) -> Vec<Sibship> {
    let mut by_couple: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    let mut index: HashMap<(usize, usize), usize> = HashMap::new();
    for (f, m, c) in set.triplets() {
        let i = *index.entry((f, m)).or_insert_with(|| {
            by_couple.push(((f, m), Vec::new()));
            by_couple.len() - 1
        });
        by_couple[i].1.push(c);
    }
    by_couple
        .into_iter()
        .filter(|(_, children)| children.len() >= 2)
        .map(|(_, children)| {
            let first = set.people[children[0]].params;
            let shared = children.iter().all(|&c| set.people[c].params == first);
            Sibship {
                params: if shared { first } else { None },
                children,
            }
        })
        .collect()
}
