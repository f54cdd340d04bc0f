//! The four figures of a space (genes or faces), from any similarity and
//! distance between two people: kinship verification per relation type
//! (RFIW task 1), tri-subject verification (task 2), resemblance by kinship
//! coefficient, and diversity among the children of one couple. A pair in
//! which either person has no score (no face found, genes unknown) is left
//! out and counted.

use super::metrics::{
    auc, auc_interval, best_threshold, correct_at, mean_ci, roc_curve, slope, strictly_decreasing,
    wilson, MeanCi,
};
use super::protocol::{HeldOut, Part, Protocol};
use crate::dataset::relations::Relation;
use serde::Serialize;
use std::collections::BTreeMap;

/// Points kept per ROC curve in the report.
const ROC_POINTS: usize = 200;

/// Accuracy at a threshold chosen on other items.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldOutAccuracy {
    pub accuracy: f64,
    pub ci: Option<[f64; 2]>,
    pub correct: usize,
    pub measured: usize,
    /// The threshold(s) chosen: one with splits, one per fold with folds.
    pub thresholds: Vec<f64>,
}

/// Kin against non-kin for one relation type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeVerification {
    pub relation: String,
    pub description: String,
    /// Mean kinship coefficient of its kin pairs.
    pub kinship: f64,
    pub kin_pairs: usize,
    pub non_kin_pairs: usize,
    pub kin_similarity: Option<MeanCi>,
    pub non_kin_similarity: Option<MeanCi>,
    pub auc: Option<f64>,
    pub auc_ci: Option<[f64; 2]>,
    pub accuracy: Option<HeldOutAccuracy>,
    pub roc: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    pub types: Vec<TypeVerification>,
    /// Unweighted means over the types that have the figure (RFIW's average).
    pub average_auc: Option<f64>,
    pub average_accuracy: Option<f64>,
    /// Pairs left out because a person had no score.
    pub pairs_without_score: usize,
}

/// Father–mother–child triplets against the same parents with a swapped
/// child; a triplet's score is the mean of the child's similarity to each parent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriSubject {
    pub triplets: usize,
    pub swapped: usize,
    pub kin_score: Option<MeanCi>,
    pub swapped_score: Option<MeanCi>,
    pub auc: Option<f64>,
    pub auc_ci: Option<[f64; 2]>,
    pub accuracy: Option<HeldOutAccuracy>,
    pub roc: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KinshipLevel {
    /// Kinship coefficient φ.
    pub kinship: f64,
    /// Relatedness 2φ (1/2 parent–child, 1/4 grandparent, …).
    pub relatedness: f64,
    pub label: String,
    pub similarity: MeanCi,
}

/// Mean similarity at each kinship coefficient, highest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resemblance {
    pub levels: Vec<KinshipLevel>,
    /// Least-squares slope of similarity on φ over every pair.
    pub slope: Option<f64>,
    /// Whether the mean similarity falls at every step down in kinship.
    pub monotone: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamsDiversity {
    pub gamma: f32,
    pub eta: f32,
    pub mean_distance: MeanCi,
}

/// Mean pairwise distance among the children of one couple.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diversity {
    /// What "distance" is in this space.
    pub distance: String,
    pub sibships: usize,
    pub mean_distance: Option<MeanCi>,
    /// Each sibship's mean pairwise distance (the histogram's data).
    pub per_sibship: Vec<f64>,
    /// By the children's (gamma, eta), when sibships share them.
    pub by_params: Vec<ParamsDiversity>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpaceFigures {
    pub verification: Verification,
    pub tri_subject: TriSubject,
    pub resemblance: Resemblance,
    pub diversity: Diversity,
}

/// Computes the four figures. `similarity` and `distance` return None for a
/// person without a score.
pub fn figures(
    protocol: &Protocol,
    similarity: &dyn Fn(usize, usize) -> Option<f64>,
    distance: &dyn Fn(usize, usize) -> Option<f64>,
    distance_name: &str,
) -> SpaceFigures {
    let mut without = 0;
    // (score, kin, part, relation, kinship) of every pair with a score.
    let mut scored = Vec::new();
    for p in &protocol.pairs {
        match similarity(p.a, p.b) {
            Some(s) => scored.push((s, p.kin, p.part, p.relation, p.kinship)),
            None => without += 1,
        }
    }

    let mut types = Vec::new();
    for relation in Relation::ALL {
        let items: Vec<_> = scored
            .iter()
            .filter(|x| x.3 == Some(relation))
            .copied()
            .collect();
        if items.is_empty() {
            continue;
        }
        let kin: Vec<f64> = items.iter().filter(|x| x.1).map(|x| x.0).collect();
        let non: Vec<f64> = items.iter().filter(|x| !x.1).map(|x| x.0).collect();
        let kinships: Vec<f64> = items.iter().filter(|x| x.1).map(|x| x.4).collect();
        let a = auc(&kin, &non);
        types.push(TypeVerification {
            relation: relation.label().to_string(),
            description: relation.description().to_string(),
            kinship: mean_ci(&kinships).map_or(0.0, |m| m.mean),
            kin_pairs: kin.len(),
            non_kin_pairs: non.len(),
            kin_similarity: mean_ci(&kin),
            non_kin_similarity: mean_ci(&non),
            auc: a,
            auc_ci: a.map(|a| auc_interval(a, kin.len(), non.len())),
            accuracy: held_out_accuracy(
                &items.iter().map(|x| (x.0, x.1, x.2)).collect::<Vec<_>>(),
                protocol.held_out,
            ),
            roc: roc_curve(&kin, &non, ROC_POINTS),
        });
    }
    let average = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let verification = Verification {
        average_auc: average(types.iter().filter_map(|t| t.auc).collect()),
        average_accuracy: average(
            types
                .iter()
                .filter_map(|t| t.accuracy.as_ref().map(|a| a.accuracy))
                .collect(),
        ),
        types,
        pairs_without_score: without,
    };

    // Tri-subject.
    let mut triplets = Vec::new();
    for t in &protocol.triplets {
        if let (Some(f), Some(m)) = (similarity(t.father, t.child), similarity(t.mother, t.child)) {
            triplets.push(((f + m) / 2.0, t.kin, t.part));
        }
    }
    let kin: Vec<f64> = triplets.iter().filter(|x| x.1).map(|x| x.0).collect();
    let non: Vec<f64> = triplets.iter().filter(|x| !x.1).map(|x| x.0).collect();
    let a = auc(&kin, &non);
    let tri_subject = TriSubject {
        triplets: kin.len(),
        swapped: non.len(),
        kin_score: mean_ci(&kin),
        swapped_score: mean_ci(&non),
        auc: a,
        auc_ci: a.map(|a| auc_interval(a, kin.len(), non.len())),
        accuracy: held_out_accuracy(&triplets, protocol.held_out),
        roc: roc_curve(&kin, &non, ROC_POINTS),
    };

    SpaceFigures {
        verification,
        tri_subject,
        resemblance: resemblance(&scored.iter().map(|x| (x.4, x.0)).collect::<Vec<_>>()),
        diversity: diversity(protocol, distance, distance_name),
    }
}

/// The threshold chosen on the fitting part, the accuracy on the held-out one.
pub fn held_out_accuracy(
    items: &[(f64, bool, Part)],
    held_out: HeldOut,
) -> Option<HeldOutAccuracy> {
    let part = |p: Part| -> Vec<(f64, bool)> {
        items
            .iter()
            .filter(|x| x.2 == p)
            .map(|x| (x.0, x.1))
            .collect()
    };
    let both_classes = |v: &[(f64, bool)]| v.iter().any(|x| x.1) && v.iter().any(|x| !x.1);
    // (fit, measure) rounds.
    type Items = Vec<(f64, bool)>;
    let rounds: Vec<(Items, Items)> = match held_out {
        HeldOut::Splits => {
            let (val, train) = (part(Part::Val), part(Part::Train));
            let fit = if both_classes(&val) {
                val
            } else if both_classes(&train) {
                train
            } else {
                return None;
            };
            vec![(fit, part(Part::Test))]
        }
        HeldOut::FamilyFolds | HeldOut::PairFolds => {
            let (a, b) = (part(Part::FoldA), part(Part::FoldB));
            vec![(a.clone(), b.clone()), (b, a)]
        }
    };
    let (mut correct, mut measured, mut thresholds) = (0, 0, Vec::new());
    for (fit, test) in rounds {
        if !both_classes(&fit) || test.is_empty() {
            continue;
        }
        let t = best_threshold(&fit)?;
        let (c, n) = correct_at(&test, t);
        correct += c;
        measured += n;
        thresholds.push(t);
    }
    (measured > 0).then(|| HeldOutAccuracy {
        accuracy: correct as f64 / measured as f64,
        ci: wilson(correct, measured),
        correct,
        measured,
        thresholds,
    })
}

/// Mean similarity per kinship coefficient, slope and monotonicity, from
/// (kinship, similarity) points.
pub fn resemblance(points: &[(f64, f64)]) -> Resemblance {
    let mut by_level: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
    for &(k, s) in points {
        by_level
            .entry(k.to_bits())
            .or_insert((k, Vec::new()))
            .1
            .push(s);
    }
    let mut levels: Vec<KinshipLevel> = by_level
        .into_values()
        .filter_map(|(k, values)| {
            Some(KinshipLevel {
                kinship: k,
                relatedness: 2.0 * k,
                label: fraction(k),
                similarity: mean_ci(&values)?,
            })
        })
        .collect();
    levels.sort_by(|a, b| b.kinship.total_cmp(&a.kinship));
    let means: Vec<f64> = levels.iter().map(|l| l.similarity.mean).collect();
    Resemblance {
        slope: slope(points),
        monotone: strictly_decreasing(&means),
        levels,
    }
}

/// 0.125 → "1/8"; values that are not 1/2^k keep their decimals.
pub fn fraction(k: f64) -> String {
    if k == 0.0 {
        return "0".into();
    }
    let inverse = 1.0 / k;
    if inverse.fract() == 0.0 && inverse <= 1024.0 {
        format!("1/{}", inverse as u64)
    } else {
        format!("{k:.4}")
    }
}

fn diversity(
    protocol: &Protocol,
    distance: &dyn Fn(usize, usize) -> Option<f64>,
    name: &str,
) -> Diversity {
    let mut per_sibship = Vec::new();
    let mut by_params: BTreeMap<(u32, u32), (f32, f32, Vec<f64>)> = BTreeMap::new();
    for s in &protocol.sibships {
        let mut d = Vec::new();
        for (i, &a) in s.children.iter().enumerate() {
            for &b in &s.children[i + 1..] {
                d.extend(distance(a, b));
            }
        }
        if d.is_empty() {
            continue;
        }
        let m = d.iter().sum::<f64>() / d.len() as f64;
        per_sibship.push(m);
        if let Some(p) = s.params {
            by_params
                .entry((p.gamma.to_bits(), p.eta.to_bits()))
                .or_insert((p.gamma, p.eta, Vec::new()))
                .2
                .push(m);
        }
    }
    let mut by_params: Vec<ParamsDiversity> = by_params
        .into_values()
        .filter_map(|(gamma, eta, v)| {
            Some(ParamsDiversity {
                gamma,
                eta,
                mean_distance: mean_ci(&v)?,
            })
        })
        .collect();
    by_params.sort_by(|a, b| {
        (a.gamma, a.eta)
            .partial_cmp(&(b.gamma, b.eta))
            .expect("finite")
    });
    Diversity {
        distance: name.to_string(),
        sibships: per_sibship.len(),
        mean_distance: mean_ci(&per_sibship),
        per_sibship,
        by_params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::protocol::{PairItem, Sibship, TripletItem};

    /// A hand-made similarity matrix over five people: 0–1 and 0–2 kin
    /// (fs, φ 1/4), 0–3 and 0–4 their matched non-kin partners.
    /// Scores: kin 0.9 and 0.6, non-kin 0.7 and 0.2 → AUC 3/4.
    /// Folds: A = {0–1 kin 0.9, 0–3 non 0.7}, B = {0–2 kin 0.6, 0–4 non 0.2}.
    /// Fit on A: threshold 0.8 → on B both called non-kin: 1 of 2.
    /// Fit on B: threshold 0.4 → on A both called kin: 1 of 2. Accuracy 2/4.
    #[test]
    fn verification_on_a_known_similarity_matrix() {
        let sim = [
            [1.0, 0.9, 0.6, 0.7, 0.2],
            [0.9, 1.0, 0.0, 0.0, 0.0],
            [0.6, 0.0, 1.0, 0.0, 0.0],
            [0.7, 0.0, 0.0, 1.0, 0.0],
            [0.2, 0.0, 0.0, 0.0, 1.0],
        ];
        let pair = |b, kin, part| PairItem {
            a: 0,
            b,
            relation: Some(Relation::Fs),
            kinship: if kin { 0.25 } else { 0.0 },
            kin,
            part,
        };
        let protocol = Protocol {
            held_out: HeldOut::FamilyFolds,
            pairs: vec![
                pair(1, true, Part::FoldA),
                pair(3, false, Part::FoldA),
                pair(2, true, Part::FoldB),
                pair(4, false, Part::FoldB),
            ],
            triplets: vec![
                TripletItem {
                    father: 1,
                    mother: 2,
                    child: 0,
                    kin: true,
                    part: Part::FoldA,
                },
                TripletItem {
                    father: 1,
                    mother: 2,
                    child: 3,
                    kin: false,
                    part: Part::FoldA,
                },
            ],
            sibships: vec![Sibship {
                children: vec![1, 2, 3],
                params: None,
            }],
            unmatched_pairs: 0,
            unmatched_triplets: 0,
        };
        let f = figures(
            &protocol,
            &|a, b| Some(sim[a][b]),
            &|a, b| Some(1.0 - sim[a][b]),
            "1 − similarity",
        );
        let fs = &f.verification.types[0];
        assert_eq!(fs.relation, "fs");
        assert_eq!((fs.kin_pairs, fs.non_kin_pairs), (2, 2));
        assert_eq!(fs.auc, Some(0.75));
        let acc = fs.accuracy.as_ref().unwrap();
        assert_eq!((acc.correct, acc.measured), (2, 4));
        assert!((acc.thresholds[0] - 0.8).abs() < 1e-12 && (acc.thresholds[1] - 0.4).abs() < 1e-12);
        assert_eq!(f.verification.average_auc, Some(0.75));
        // Resemblance: φ 1/4 mean 0.75, φ 0 mean 0.45; slope (0.75 − 0.45) / 0.25.
        let r = &f.resemblance;
        assert_eq!(r.levels.len(), 2);
        assert_eq!(r.levels[0].label, "1/4");
        assert!((r.levels[0].similarity.mean - 0.75).abs() < 1e-12);
        assert!((r.levels[1].similarity.mean - 0.45).abs() < 1e-12);
        assert!((r.slope.unwrap() - 1.2).abs() < 1e-12);
        assert_eq!(r.monotone, Some(true));
        // Tri-subject: child 0 scores (0.9 + 0.6)/2 = 0.75, child 3 scores 0.
        assert_eq!(f.tri_subject.auc, Some(1.0));
        assert!((f.tri_subject.kin_score.as_ref().unwrap().mean - 0.75).abs() < 1e-12);
        // Diversity: distances among 1, 2, 3 are all 1 − 0 = 1.
        assert_eq!(f.diversity.per_sibship, vec![1.0]);
    }

    #[test]
    fn fractions() {
        assert_eq!(fraction(0.25), "1/4");
        assert_eq!(fraction(0.0625), "1/16");
        assert_eq!(fraction(0.0), "0");
        assert_eq!(fraction(0.3), "0.3000");
    }
}
