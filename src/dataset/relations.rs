//! Kin relations read off the pedigree graph: every pair of people is
//! classified by how the graph connects them (parents, shared parents,
//! grandparents, parents who are siblings), and its kinship coefficient is
//! computed by the standard recursion over the graph — nothing assumes the
//! family was drawn in a particular shape.

use crate::attributes::Sex;
use crate::pedigree::Pedigree;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;

/// The relation types of Families In the Wild, plus half-siblings and first cousins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    /// father–son
    Fs,
    /// father–daughter
    Fd,
    /// mother–son
    Ms,
    /// mother–daughter
    Md,
    /// brother–brother (full siblings)
    Bb,
    /// sister–sister (full siblings)
    Ss,
    /// brother–sister (full siblings)
    Sibs,
    /// grandfather–grandson
    Gfgs,
    /// grandfather–granddaughter
    Gfgd,
    /// grandmother–grandson
    Gmgs,
    /// grandmother–granddaughter
    Gmgd,
    /// half-siblings (exactly one parent in common), any sexes
    HalfSibs,
    /// first cousins (a parent of one is a full sibling of a parent of the other), any sexes
    FirstCousins,
}

impl Relation {
    pub const ALL: [Relation; 13] = [
        Relation::Fs,
        Relation::Fd,
        Relation::Ms,
        Relation::Md,
        Relation::Bb,
        Relation::Ss,
        Relation::Sibs,
        Relation::Gfgs,
        Relation::Gfgd,
        Relation::Gmgs,
        Relation::Gmgd,
        Relation::HalfSibs,
        Relation::FirstCousins,
    ];

    /// The label in `pairs.csv` (FIW's for its eleven types).
    pub fn label(self) -> &'static str {
        match self {
            Relation::Fs => "fs",
            Relation::Fd => "fd",
            Relation::Ms => "ms",
            Relation::Md => "md",
            Relation::Bb => "bb",
            Relation::Ss => "ss",
            Relation::Sibs => "sibs",
            Relation::Gfgs => "gfgs",
            Relation::Gfgd => "gfgd",
            Relation::Gmgs => "gmgs",
            Relation::Gmgd => "gmgd",
            Relation::HalfSibs => "hsibs",
            Relation::FirstCousins => "cousins",
        }
    }

    /// What the label means, for the dataset card.
    pub fn description(self) -> &'static str {
        match self {
            Relation::Fs => "father–son",
            Relation::Fd => "father–daughter",
            Relation::Ms => "mother–son",
            Relation::Md => "mother–daughter",
            Relation::Bb => "brothers",
            Relation::Ss => "sisters",
            Relation::Sibs => "brother–sister",
            Relation::Gfgs => "grandfather–grandson",
            Relation::Gfgd => "grandfather–granddaughter",
            Relation::Gmgs => "grandmother–grandson",
            Relation::Gmgd => "grandmother–granddaughter",
            Relation::HalfSibs => "half-siblings (one parent in common)",
            Relation::FirstCousins => "first cousins",
        }
    }
}

/// A related pair: `a` is the elder side (parent, grandparent; the brother in
/// `sibs`; otherwise the one drawn first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KinPair {
    pub a: NodeIndex,
    pub b: NodeIndex,
    pub relation: Relation,
    /// Probability that an allele drawn from each is identical by descent.
    pub kinship: f64,
}

/// Kinship coefficients of every pair in a pedigree, by the recursion
/// φ(i,i) = ½(1 + φ(father, mother)), φ(i,j) = ½(φ(i, father_j) + φ(i, mother_j))
/// for j not an ancestor of i (0 between founders).
pub struct KinshipMatrix {
    position: HashMap<NodeIndex, usize>,
    n: usize,
    phi: Vec<f64>,
}

impl KinshipMatrix {
    /// Quadratic in the number of people: call it per family.
    pub fn new(pedigree: &Pedigree) -> KinshipMatrix {
        // Generations put every parent before its children.
        let order: Vec<NodeIndex> = pedigree.generations().iter().flatten().copied().collect();
        let n = order.len();
        let position: HashMap<NodeIndex, usize> =
            order.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let mut phi = vec![0.0; n * n];
        let parents = |v: NodeIndex| {
            pedigree
                .father(v)
                .zip(pedigree.mother(v))
                .map(|(f, m)| (position[&f], position[&m]))
        };
        for (j, &vj) in order.iter().enumerate() {
            let pj = parents(vj);
            for i in 0..j {
                let value = match pj {
                    Some((f, m)) => 0.5 * (phi[i * n + f] + phi[i * n + m]),
                    None => 0.0,
                };
                phi[i * n + j] = value;
                phi[j * n + i] = value;
            }
            phi[j * n + j] = 0.5 * (1.0 + pj.map_or(0.0, |(f, m)| phi[f * n + m]));
        }
        KinshipMatrix { position, n, phi }
    }

    pub fn get(&self, a: NodeIndex, b: NodeIndex) -> f64 {
        self.phi[self.position[&a] * self.n + self.position[&b]]
    }
}

/// Every labelled kin pair of a pedigree, in a stable order (by the first
/// person's, then the second person's place in the input).
pub fn kin_pairs(pedigree: &Pedigree) -> Vec<KinPair> {
    let kinship = KinshipMatrix::new(pedigree);
    let people: Vec<NodeIndex> = pedigree.people().map(|(n, _)| n).collect();
    let mut pairs = Vec::new();
    for (i, &x) in people.iter().enumerate() {
        for &y in &people[i + 1..] {
            if let Some((a, b, relation)) = classify(pedigree, x, y) {
                pairs.push(KinPair {
                    a,
                    b,
                    relation,
                    kinship: kinship.get(a, b),
                });
            }
        }
    }
    pairs
}

/// How the graph relates `x` and `y`, the closer relation first; returns the
/// pair ordered as [`KinPair`] documents.
pub fn classify(
    pedigree: &Pedigree,
    x: NodeIndex,
    y: NodeIndex,
) -> Option<(NodeIndex, NodeIndex, Relation)> {
    let sex = |n: NodeIndex| pedigree.person(n).sex;
    let parents = |n: NodeIndex| -> Vec<NodeIndex> {
        [pedigree.father(n), pedigree.mother(n)]
            .into_iter()
            .flatten()
            .collect()
    };
    let lineal = |elder: NodeIndex, young: NodeIndex, generations: usize| {
        let mut level = vec![young];
        for _ in 0..generations {
            level = level.iter().flat_map(|&n| parents(n)).collect();
        }
        level.contains(&elder)
    };
    let full_siblings = |p: NodeIndex, q: NodeIndex| {
        p != q
            && pedigree.father(p).is_some()
            && pedigree.father(p) == pedigree.father(q)
            && pedigree.mother(p).is_some()
            && pedigree.mother(p) == pedigree.mother(q)
    };
    let by_sex = |elder: NodeIndex, young: NodeIndex, table: [Relation; 4]| {
        let i = match (sex(elder), sex(young)) {
            (Sex::Male, Sex::Male) => 0,
            (Sex::Male, Sex::Female) => 1,
            (Sex::Female, Sex::Male) => 2,
            (Sex::Female, Sex::Female) => 3,
        };
        Some((elder, young, table[i]))
    };
    use Relation::*;
    for (elder, young) in [(x, y), (y, x)] {
        if lineal(elder, young, 1) {
            return by_sex(elder, young, [Fs, Fd, Ms, Md]);
        }
    }
    for (elder, young) in [(x, y), (y, x)] {
        if lineal(elder, young, 2) {
            return by_sex(elder, young, [Gfgs, Gfgd, Gmgs, Gmgd]);
        }
    }
    if full_siblings(x, y) {
        return Some(match (sex(x), sex(y)) {
            (Sex::Male, Sex::Male) => (x, y, Bb),
            (Sex::Female, Sex::Female) => (x, y, Ss),
            (Sex::Male, Sex::Female) => (x, y, Sibs),
            (Sex::Female, Sex::Male) => (y, x, Sibs),
        });
    }
    let (px, py) = (parents(x), parents(y));
    if px.iter().any(|p| py.contains(p)) {
        return Some((x, y, HalfSibs));
    }
    if px.iter().any(|&p| py.iter().any(|&q| full_siblings(p, q))) {
        return Some((x, y, FirstCousins));
    }
    None
}
