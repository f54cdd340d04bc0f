//! The dataset's labels against brute force: on small random pedigrees, the
//! kin pairs famsim lists are exactly the relations found by enumerating
//! ancestry paths in the graph, with kinship coefficients from Wright's path
//! formula (an independent computation from the recursion famsim uses).

use famsim::attributes::{AgeGroup, Ancestry, Sex};
use famsim::dataset::draw::draw_family;
use famsim::dataset::relations::{kin_pairs, Relation};
use famsim::dataset::{pedigree_of, DatasetSpec};
use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::CrossoverParams;
use famsim::pedigree::{Pedigree, Person};
use famsim::scenario::format::FounderGenes;
use petgraph::graph::NodeIndex;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Every upward path from `n` (n first, the ancestor last), including [n].
fn paths_up(p: &Pedigree, n: NodeIndex) -> Vec<Vec<NodeIndex>> {
    let mut out = vec![vec![n]];
    for parent in [p.father(n), p.mother(n)].into_iter().flatten() {
        for mut path in paths_up(p, parent) {
            path.insert(0, n);
            out.push(path);
        }
    }
    out
}

/// Wright: φ(a,b) = Σ over common ancestors A and pairs of paths meeting only at A
/// of (1/2)^(edges + 1) (1 + F_A), with F_A = φ(father_A, mother_A).
fn kinship_by_paths(p: &Pedigree, a: NodeIndex, b: NodeIndex) -> f64 {
    if a == b {
        let inbreeding = p
            .father(a)
            .zip(p.mother(a))
            .map_or(0.0, |(f, m)| kinship_by_paths(p, f, m));
        return 0.5 * (1.0 + inbreeding);
    }
    let (pa, pb) = (paths_up(p, a), paths_up(p, b));
    let mut phi = 0.0;
    for x in &pa {
        for y in &pb {
            let top = *x.last().unwrap();
            if top != *y.last().unwrap() {
                continue;
            }
            let xs: BTreeSet<_> = x[..x.len() - 1].iter().collect();
            if y[..y.len() - 1].iter().any(|n| xs.contains(n)) {
                continue;
            }
            let edges = (x.len() - 1) + (y.len() - 1);
            let f_top = p
                .father(top)
                .zip(p.mother(top))
                .map_or(0.0, |(f, m)| kinship_by_paths(p, f, m));
            phi += 0.5f64.powi(edges as i32 + 1) * (1.0 + f_top);
        }
    }
    phi
}

/// Ancestors of `n` at exactly `d` steps up (with multiplicity removed).
fn ancestors_at(p: &Pedigree, n: NodeIndex, d: usize) -> BTreeSet<NodeIndex> {
    paths_up(p, n)
        .into_iter()
        .filter(|path| path.len() == d + 1)
        .map(|path| *path.last().unwrap())
        .collect()
}

/// The relation of (x, y) from ancestry paths alone, closest first, ordered like famsim's pairs.
fn relation_by_paths(
    p: &Pedigree,
    x: NodeIndex,
    y: NodeIndex,
) -> Option<(NodeIndex, NodeIndex, &'static str)> {
    let sex = |n: NodeIndex| p.person(n).sex;
    let male = |n| sex(n) == Sex::Male;
    for d in [1, 2] {
        for (e, c) in [(x, y), (y, x)] {
            if ancestors_at(p, c, d).contains(&e) {
                let label = match (d, male(e), male(c)) {
                    (1, true, true) => "fs",
                    (1, true, false) => "fd",
                    (1, false, true) => "ms",
                    (1, false, false) => "md",
                    (_, true, true) => "gfgs",
                    (_, true, false) => "gfgd",
                    (_, false, true) => "gmgs",
                    (_, false, false) => "gmgd",
                };
                return Some((e, c, label));
            }
        }
    }
    let shared: BTreeSet<_> = ancestors_at(p, x, 1)
        .intersection(&ancestors_at(p, y, 1))
        .copied()
        .collect();
    if shared.len() == 2 {
        return Some(match (male(x), male(y)) {
            (true, true) => (x, y, "bb"),
            (false, false) => (x, y, "ss"),
            (true, false) => (x, y, "sibs"),
            (false, true) => (y, x, "sibs"),
        });
    }
    if shared.len() == 1 {
        return Some((x, y, "hsibs"));
    }
    // First cousins: a parent of x and a different parent of y whose two parents are the same couple.
    for px in ancestors_at(p, x, 1) {
        for py in ancestors_at(p, y, 1) {
            let (gx, gy) = (ancestors_at(p, px, 1), ancestors_at(p, py, 1));
            if px != py && gx.len() == 2 && gx == gy {
                return Some((x, y, "cousins"));
            }
        }
    }
    None
}

fn check(p: &Pedigree) {
    let listed: BTreeMap<(NodeIndex, NodeIndex), (&str, f64)> = kin_pairs(p)
        .into_iter()
        .map(|k| ((k.a, k.b), (k.relation.label(), k.kinship)))
        .collect();
    let people: Vec<NodeIndex> = p.people().map(|(n, _)| n).collect();
    let mut expected = BTreeMap::new();
    for (i, &x) in people.iter().enumerate() {
        for &y in &people[i + 1..] {
            if let Some((a, b, label)) = relation_by_paths(p, x, y) {
                expected.insert((a, b), label);
            }
        }
    }
    let listed_labels: BTreeMap<_, _> = listed.iter().map(|(k, v)| (*k, v.0)).collect();
    assert_eq!(listed_labels, expected);
    for ((a, b), (label, phi)) in &listed {
        let want = kinship_by_paths(p, *a, *b);
        assert!(
            (phi - want).abs() < 1e-12,
            "{label} {a:?} {b:?}: {phi} vs {want}"
        );
    }
    // Spot-check unrelated pairs too: anyone not listed with a positive path kinship must be a
    // relation outside the labelled types (e.g. aunt–nephew), never a missed one.
    for ((a, b), label) in &expected {
        assert!(kinship_by_paths(p, *a, *b) > 0.0, "{label} without kinship");
    }
}

fn spec(generations: usize, half: f64, mixed: f64) -> DatasetSpec {
    let ages = ["70+", "50-59", "30-39", "20-29", "3-9"];
    let text = format!(
        r#"DatasetSpec(name: "t", families: 1, generations: {generations},
            children: {{1: 1.0, 2: 1.0, 3: 1.0, 4: 0.5}},
            age_groups: [{}],
            ancestry: {{White: 1.0, Black: 1.0, Indian: 1.0}},
            mixed_couples: {mixed}, half_siblings: {half}, partnered: 0.6,
            splits: (train: 1.0, val: 0.0, test: 0.0))"#,
        ages[5 - generations..]
            .iter()
            .map(|a| format!("[\"{a}\"]"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let s: DatasetSpec = ron::from_str(&text).unwrap();
    s.validate().unwrap();
    s
}

#[test]
fn drawn_families_are_labelled_exactly_as_their_graph_says() {
    let mut seen = BTreeSet::new();
    for generations in 1..=4 {
        for seed in 0..12u64 {
            let s = spec(generations, 0.5, 0.3);
            let family = draw_family(&s, seed, 1 + seed as usize);
            let p = pedigree_of(&[family]).unwrap();
            for k in kin_pairs(&p) {
                seen.insert(k.relation);
            }
            check(&p);
        }
    }
    // The draws above are rich enough to exercise every relation type.
    assert_eq!(seen.len(), Relation::ALL.len(), "saw only {seen:?}");
}

/// Arbitrary pedigrees, inbreeding included: each person's parents are any
/// earlier man and woman, so no family shape is assumed.
fn random_pedigree(seed: u64) -> Pedigree {
    let mut rng = stream(seed, "random-pedigree", Purpose::Pedigree);
    let n = rng.random_range(4..14);
    let mut people: Vec<Person> = Vec::new();
    for i in 0..n {
        let sex = if rng.random_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let men: Vec<String> = people
            .iter()
            .filter(|p| p.sex == Sex::Male)
            .map(|p| p.id.clone())
            .collect();
        let women: Vec<String> = people
            .iter()
            .filter(|p| p.sex == Sex::Female)
            .map(|p| p.id.clone())
            .collect();
        let parents = (i >= 2 && !men.is_empty() && !women.is_empty() && rng.random_bool(0.75))
            .then(|| {
                (
                    men[rng.random_range(0..men.len())].clone(),
                    women[rng.random_range(0..women.len())].clone(),
                )
            });
        people.push(Person {
            id: format!("p{i}"),
            name: format!("p{i}"),
            surname: None,
            sex,
            age: AgeGroup::Age30To39,
            ancestry: if parents.is_none() {
                vec![Ancestry::White]
            } else {
                vec![]
            },
            father: parents.as_ref().map(|p| p.0.clone()),
            mother: parents.as_ref().map(|p| p.1.clone()),
            params: CrossoverParams {
                gamma: 0.47,
                eta: 0.4,
                lean: 0.0,
            },
            overrides: BTreeMap::new(),
            founder_genes: FounderGenes::Pool,
            seed: None,
        });
    }
    Pedigree::new(people).unwrap().0
}

#[test]
fn arbitrary_pedigrees_with_inbreeding_are_labelled_as_their_graph_says() {
    for seed in 0..60 {
        check(&random_pedigree(seed));
    }
}
