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

/// One region as a mixture: (origin, weight), sorted by origin.
type Mixture = Vec<(u32, f64)>;

/// Every person's regions as mixtures of origins (None where the manifest
/// does not tell: FIW, or a child without region records).
pub struct GeneMixtures {
    people: Vec<Option<Vec<Mixture>>>,
}

impl GeneMixtures {
    pub fn new(set: &EvalSet) -> GeneMixtures {
        let mut people: Vec<Option<Option<Vec<Mixture>>>> = vec![None; set.people.len()];
        for p in 0..set.people.len() {
            mixture_of(set, p, &mut people);
        }
        GeneMixtures {
            people: people.into_iter().map(Option::flatten).collect(),
        }
    }

    pub fn known(&self, p: usize) -> bool {
        self.people[p].is_some()
    }

    /// Mean over regions of the cosine of the two mixtures.
    pub fn similarity(&self, a: usize, b: usize) -> Option<f64> {
        let (ma, mb) = (self.people[a].as_ref()?, self.people[b].as_ref()?);
        let total: f64 = ma.iter().zip(mb).map(|(x, y)| sparse_cosine(x, y)).sum();
        Some(total / REGION_COUNT as f64)
    }
}

/// Origin ids: a founder's own regions and a child's pool draws.
fn founder_origin(p: usize) -> u32 {
    (2 * p) as u32
}
fn pool_origin(p: usize) -> u32 {
    (2 * p + 1) as u32
}

fn mixture_of(
    set: &EvalSet,
    p: usize,
    memo: &mut Vec<Option<Option<Vec<Mixture>>>>,
) -> Option<Vec<Mixture>> {
    if let Some(done) = &memo[p] {
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
    memo[p] = Some(result.clone());
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
