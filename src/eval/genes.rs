//! Gene-space figures, from what the manifests record and no face network:
//!
//! - **region shares**: per child, the share of its regions (background
//!   and pinned regions left out) that came from the father, the mother and
//!   the pool, against the method's expectation: a region is inherited with
//!   probability floor(34·(1−eta))/34, and then its father and mother
//!   weights average (1−gamma)/2 each and the pool's is gamma; otherwise it
//!   is the pool's alone;
//! - **gene similarity**: every region of everyone is written as a mixture
//!   of *origins* — a founder's own region, or one pool draw of one child —
//!   by following the region sources down the pedigree (a blend
//!   w·F + gamma·P + (1−w−gamma)·M mixes the parents' mixtures and a new
//!   pool origin). The similarity of two people is the mean over the 34
//!   regions of the cosine between their mixtures: the share of their genes
//!   identical by descent. If origins were independent random vectors, it is
//!   what the cosine of the real gene vectors tends to; it leaves out what
//!   the manifest does not record — two pool draws that happen to pick the
//!   same pool entry, the per-person Gaussian draw of the concrete gene and,
//!   for the neural model, the encoder's reading of a parent's face.

use super::metrics::{mean_ci, MeanCi};
use super::EvalSet;
use crate::genetics::{Region, RegionOrigin, REGION_COUNT};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// One region as a mixture: (origin, weight), sorted by origin.
type Mixture = Vec<(u32, f64)>;

/// Everyone's regions as mixtures of origins, computed one family at a
/// time: only the family being scored holds its mixtures (so memory
/// follows the largest family, not the folder — a 100k-person dataset
/// would otherwise keep some 5 kB of mixtures a person). A mixture is made
/// of its own family's origins only, so people of two families share none
/// and their similarity is exactly 0; it is never computed.
pub struct GeneMixtures<'s> {
    set: &'s EvalSet,
    /// Whether the manifest tells a person's genes (FIW: no one; a child
    /// without region records, or with a parent whose genes are unknown: no).
    known: Vec<bool>,
    /// The family whose mixtures are held, and those computed so far.
    family: RefCell<(Option<usize>, Memo)>,
}

/// Mixtures computed so far (None: the person's genes are unknown).
type Memo = HashMap<usize, Option<Vec<Mixture>>>;

impl<'s> GeneMixtures<'s> {
    pub fn new(set: &'s EvalSet) -> GeneMixtures<'s> {
        let mut known = vec![None; set.people.len()];
        for p in 0..set.people.len() {
            known_of(set, p, &mut known);
        }
        GeneMixtures {
            set,
            known: known.into_iter().map(|k| k == Some(true)).collect(),
            family: RefCell::new((None, HashMap::new())),
        }
    }

    pub fn known(&self, p: usize) -> bool {
        self.known[p]
    }

    /// Mean over regions of the cosine of the two mixtures.
    pub fn similarity(&self, a: usize, b: usize) -> Option<f64> {
        if !self.known[a] || !self.known[b] {
            return None;
        }
        let family = self.set.people[a].family;
        if self.set.people[b].family != family {
            // No origin in common: every region's cosine is 0 (as
            // `sparse_cosine` finds, to the bit).
            return Some(0.0);
        }
        let mut held = self.family.borrow_mut();
        if held.0 != Some(family) {
            *held = (Some(family), HashMap::new());
        }
        let memo = &mut held.1;
        let ma = mixture_of(self.set, a, memo)?;
        let mb = mixture_of(self.set, b, memo)?;
        Some(similarity_of(&ma, &mb))
    }
}

/// Mean over the regions of the cosine of two people's mixtures.
fn similarity_of(ma: &[Mixture], mb: &[Mixture]) -> f64 {
    let total: f64 = ma.iter().zip(mb).map(|(x, y)| sparse_cosine(x, y)).sum();
    total / REGION_COUNT as f64
}

/// Origin ids: a founder's own regions and a child's pool draws.
fn founder_origin(p: usize) -> u32 {
    (2 * p) as u32
}
fn pool_origin(p: usize) -> u32 {
    (2 * p + 1) as u32
}

/// Whether `mixture_of` finds a mixture for `p`, without making it.
fn known_of(set: &EvalSet, p: usize, memo: &mut Vec<Option<bool>>) -> bool {
    if let Some(done) = memo[p] {
        return done;
    }
    let person = &set.people[p];
    let result = person.genes_known
        && match (person.father, person.mother) {
            (None, None) => true,
            (Some(f), Some(m)) if person.regions.len() == REGION_COUNT => {
                known_of(set, f, memo) && known_of(set, m, memo)
            }
            _ => false,
        };
    memo[p] = Some(result);
    result
}

fn mixture_of(set: &EvalSet, p: usize, memo: &mut Memo) -> Option<Vec<Mixture>> {
    if let Some(done) = memo.get(&p) {
        return done.clone();
    }
    let person = &set.people[p];
    let result = if !person.genes_known {
        None
    } else {
        match (person.father, person.mother) {
            (None, None) => Some(vec![vec![(founder_origin(p), 1.0)]; REGION_COUNT]),
            (Some(f), Some(m)) if person.regions.len() == REGION_COUNT => {
                match (mixture_of(set, f, memo), mixture_of(set, m, memo)) {
                    (Some(father), Some(mother)) => Some(
                        person
                            .regions
                            .iter()
                            .map(|r| {
                                let i = r.region.index();
                                let (wf, wp, wm) = weights(&r.origin);
                                let mut mix = Vec::new();
                                add(&mut mix, &father[i], wf);
                                add(&mut mix, &mother[i], wm);
                                add(&mut mix, &[(pool_origin(p), 1.0)], wp);
                                mix
                            })
                            .collect(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    memo.insert(p, result.clone());
    result
}

/// (father, pool, mother) weights of a region source.
fn weights(origin: &RegionOrigin) -> (f64, f64, f64) {
    match *origin {
        RegionOrigin::Father => (1.0, 0.0, 0.0),
        RegionOrigin::Mother => (0.0, 0.0, 1.0),
        RegionOrigin::Pool => (0.0, 1.0, 0.0),
        RegionOrigin::Blend {
            father,
            pool,
            mother,
        } => (father as f64, pool as f64, mother as f64),
    }
}

/// `mix += w · other`, keeping origins sorted and merged.
fn add(mix: &mut Mixture, other: &[(u32, f64)], w: f64) {
    if w == 0.0 {
        return;
    }
    for &(origin, x) in other {
        match mix.binary_search_by_key(&origin, |e| e.0) {
            Ok(i) => mix[i].1 += w * x,
            Err(i) => mix.insert(i, (origin, w * x)),
        }
    }
}

fn sparse_cosine(a: &[(u32, f64)], b: &[(u32, f64)]) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    let norm = |v: &[(u32, f64)]| v.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
    let n = norm(a) * norm(b);
    if n > 0.0 {
        dot / n
    } else {
        0.0
    }
}

/// Observed share (mean over children, with its interval) and expected share.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    pub observed: MeanCi,
    pub expected: f64,
}

/// Where the children's regions came from, against the expectation from
/// their gamma and eta.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionShares {
    /// Children with region records and crossover parameters.
    pub children: usize,
    pub father: Share,
    pub mother: Share,
    pub pool: Share,
    /// Share of regions inherited by blending (the rest mutated).
    pub inherited: Share,
    /// Share of children whose background is the father's (the method: all).
    pub background_from_father: f64,
}

/// The region shares of a folder's children; None without any child that
/// has region records.
pub fn region_shares(set: &EvalSet) -> Option<RegionShares> {
    let (mut father, mut mother, mut pool, mut inherited) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut expected = [0.0f64; 4];
    let mut background = 0usize;
    for person in &set.people {
        let Some(params) = person.params else {
            continue;
        };
        if person.regions.len() != REGION_COUNT {
            continue;
        }
        let counted: Vec<_> = person
            .regions
            .iter()
            .filter(|r| r.region != Region::Background && !r.pinned)
            .collect();
        if counted.is_empty() {
            continue;
        }
        let n = counted.len() as f64;
        let mut sums = [0.0f64; 4];
        for r in &counted {
            let (f, p, m) = weights(&r.origin);
            sums[0] += f;
            sums[1] += m;
            sums[2] += p;
            sums[3] += f64::from(u8::from(matches!(r.origin, RegionOrigin::Blend { .. })));
        }
        father.push(sums[0] / n);
        mother.push(sums[1] / n);
        pool.push(sums[2] / n);
        inherited.push(sums[3] / n);
        let p_inherit = params.inherited_count() as f64 / REGION_COUNT as f64;
        let gamma = params.gamma as f64;
        // The father's weight w' (crossover's `lean` L moved w ~ U(0, 1−γ)
        // toward 1−γ or 0) has mean (1−γ)(1+L)/2 for either sign of L; the
        // mother has the rest of 1−γ.
        let lean = params.lean as f64;
        expected[0] += p_inherit * (1.0 - gamma) * (1.0 + lean) / 2.0;
        expected[1] += p_inherit * (1.0 - gamma) * (1.0 - lean) / 2.0;
        expected[2] += p_inherit * gamma + (1.0 - p_inherit);
        expected[3] += p_inherit;
        if person
            .regions
            .iter()
            .any(|r| r.region == Region::Background && r.origin == RegionOrigin::Father)
        {
            background += 1;
        }
    }
    let children = father.len();
    if children == 0 {
        return None;
    }
    let share = |values: &[f64], e: f64| Share {
        observed: mean_ci(values).expect("at least one child"),
        expected: e / children as f64,
    };
    Some(RegionShares {
        children,
        father: share(&father, expected[0]),
        mother: share(&mother, expected[1]),
        pool: share(&pool, expected[2]),
        inherited: share(&inherited, expected[3]),
        background_from_father: background as f64 / children as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalFamily, EvalPerson, Layout};
    use crate::exports::manifest::RegionRecord;

    /// Two three-generation families (founders 0, 1 → children 2, 3; child
    /// 2 and in-law 4 → grandchild 5), whose regions come from every kind
    /// of source, and a person whose genes are unknown (6, no records).
    fn two_families() -> EvalSet {
        let founder = |family| EvalPerson {
            id: String::new(),
            family,
            sex: None,
            age: None,
            images: Vec::new(),
            father: None,
            mother: None,
            regions: Vec::new(),
            params: None,
            genes_known: true,
        };
        let child = |family, father, mother, salt: usize| EvalPerson {
            father: Some(father),
            mother: Some(mother),
            regions: Region::ALL
                .iter()
                .enumerate()
                .map(|(i, &region)| RegionRecord {
                    region,
                    origin: match (i + salt) % 4 {
                        0 => RegionOrigin::Father,
                        1 => RegionOrigin::Mother,
                        2 => RegionOrigin::Pool,
                        _ => RegionOrigin::Blend {
                            father: 0.1 + 0.01 * i as f32,
                            pool: 0.47,
                            mother: 0.43 - 0.01 * i as f32,
                        },
                    },
                    pinned: false,
                })
                .collect(),
            ..founder(family)
        };
        let mut people = Vec::new();
        for family in 0..2 {
            let o = people.len();
            people.push(founder(family));
            people.push(founder(family));
            people.push(child(family, o, o + 1, family));
            people.push(child(family, o, o + 1, family + 3));
            people.push(founder(family));
            people.push(child(family, o + 2, o + 4, family + 1));
            people.push(EvalPerson {
                regions: Vec::new(),
                ..child(family, o + 2, o + 4, 0)
            });
        }
        EvalSet {
            root: "x".into(),
            layout: Layout::Dataset,
            families: (0..2)
                .map(|f| EvalFamily {
                    fid: format!("F{f}"),
                    split: None,
                    complete: true,
                })
                .collect(),
            people,
            kin: Vec::new(),
        }
    }

    /// Family by family, with cross-family pairs never computed, every
    /// similarity is to the bit what every mixture made at once gives (the
    /// figures must not move), in an order that keeps switching families.
    #[test]
    fn family_by_family_is_every_mixture_at_once() {
        let set = two_families();
        let mut all = Memo::new();
        let reference: Vec<Option<Vec<Mixture>>> = (0..set.people.len())
            .map(|p| mixture_of(&set, p, &mut all))
            .collect();
        let mixtures = GeneMixtures::new(&set);
        let n = set.people.len();
        for step in 0..n * n {
            let (a, b) = (step % n, (step * 5 + step / n) % n);
            let want = match (&reference[a], &reference[b]) {
                (Some(x), Some(y)) => Some(similarity_of(x, y)),
                _ => None,
            };
            let got = mixtures.similarity(a, b);
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{a} {b}");
            assert_eq!(mixtures.known(a), reference[a].is_some(), "{a}");
        }
        // Kin within a family score above 0, and the unknown ones have none.
        assert!(mixtures.similarity(0, 5).unwrap() > 0.0);
        assert_eq!(mixtures.similarity(0, 6), None);
        assert_eq!(mixtures.similarity(0, 7), Some(0.0));
    }

    #[test]
    fn sparse_cosine_by_hand() {
        // (0.5 F + 0.5 P) against F alone: 0.5 / (√0.5 · 1) = √0.5.
        let a = vec![(0, 0.5), (1, 0.5)];
        let b = vec![(0, 1.0)];
        assert!((sparse_cosine(&a, &b) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(sparse_cosine(&b, &[(2, 1.0)]), 0.0);
        let mut m = vec![(0, 0.5)];
        add(&mut m, &[(0, 1.0), (3, 1.0)], 0.5);
        assert_eq!(m, vec![(0, 1.0), (3, 0.5)]);
    }
}
