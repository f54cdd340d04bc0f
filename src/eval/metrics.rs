//! The statistics of the report, on plain numbers: ROC AUC (Mann–Whitney,
//! ties counted half) with Hanley–McNeil's confidence interval, the
//! accuracy-maximising threshold and the accuracy at a threshold with
//! Wilson's interval, a mean with its normal-approximation interval, an
//! ordinary least-squares slope and monotonicity. All intervals are 95 %.

use serde::Serialize;

/// The normal quantile of a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Area under the ROC curve: the probability that a random kin score beats a
/// random non-kin score, ties counting one half. None without both classes.
pub fn auc(kin: &[f64], non_kin: &[f64]) -> Option<f64> {
    if kin.is_empty() || non_kin.is_empty() {
        return None;
    }
    // Mann–Whitney U from mid-ranks: O(n log n) rather than every pair.
    let mut all: Vec<(f64, bool)> = kin
        .iter()
        .map(|&s| (s, true))
        .chain(non_kin.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mid_rank = (i + j + 2) as f64 / 2.0;
        rank_sum += mid_rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (n1, n2) = (kin.len() as f64, non_kin.len() as f64);
    Some((rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n2))
}

/// Hanley & McNeil's (1982) 95 % interval of an AUC, clipped to [0, 1].
pub fn auc_interval(auc: f64, n_kin: usize, n_non_kin: usize) -> [f64; 2] {
    let (n1, n2) = (n_kin as f64, n_non_kin as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let var = (auc * (1.0 - auc) + (n1 - 1.0) * (q1 - auc * auc) + (n2 - 1.0) * (q2 - auc * auc))
        / (n1 * n2);
    let se = var.max(0.0).sqrt();
    [(auc - Z95 * se).max(0.0), (auc + Z95 * se).min(1.0)]
}

/// The points of the ROC curve (false-positive rate, true-positive rate),
/// from (0, 0) to (1, 1), one per distinct score, thinned to about
/// `max_points` for plotting.
pub fn roc_curve(kin: &[f64], non_kin: &[f64], max_points: usize) -> Vec<[f64; 2]> {
    if kin.is_empty() || non_kin.is_empty() {
        return Vec::new();
    }
    let mut all: Vec<(f64, bool)> = kin
        .iter()
        .map(|&s| (s, true))
        .chain(non_kin.iter().map(|&s| (s, false)))
        .collect();
    // Highest score first: lowering the threshold adds points.
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (n1, n2) = (kin.len() as f64, non_kin.len() as f64);
    let mut points = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let s = all[i].0;
        while i < all.len() && all[i].0 == s {
            if all[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push([fp / n2, tp / n1]);
    }
    let step = points.len().div_ceil(max_points.max(2));
    if step > 1 {
        let last = *points.last().expect("at least two points");
        points = points.into_iter().step_by(step).collect();
        if points.last() != Some(&last) {
            points.push(last);
        }
    }
    points
}

/// The threshold that classifies `items` (score, is kin) best when
/// "kin" means score ≥ threshold: the midpoint between two neighbouring
/// distinct scores, or one below the lowest (everything kin) or above the
/// highest (nothing kin). Ties between thresholds go to the lowest. None
/// for no items.
pub fn best_threshold(items: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = items.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (sorted.first()?.0, sorted.last()?.0);
    // Everything kin: every kin item right, every non-kin one wrong.
    let mut correct = sorted.iter().filter(|x| x.1).count() as i64;
    let (mut best, mut best_correct) = (first - 1.0, correct);
    let mut i = 0;
    while i < sorted.len() {
        let s = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == s {
            // Moving the threshold above s turns these into "non-kin".
            correct += if sorted[i].1 { -1 } else { 1 };
            i += 1;
        }
        if correct > best_correct {
            best_correct = correct;
            best = match sorted.get(i) {
                Some(next) => (s + next.0) / 2.0,
                None => last + 1.0,
            };
        }
    }
    Some(best)
}

/// (correct, total) of the rule "kin when score ≥ threshold".
pub fn correct_at(items: &[(f64, bool)], threshold: f64) -> (usize, usize) {
    let correct = items
        .iter()
        .filter(|&&(s, kin)| (s >= threshold) == kin)
        .count();
    (correct, items.len())
}

/// Wilson's 95 % score interval of a proportion `successes / n`.
pub fn wilson(successes: usize, n: usize) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let (k, n) = (successes as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some([(centre - half).max(0.0), (centre + half).min(1.0)])
}

/// A mean with its 95 % interval (mean ± z·s/√n, s the sample standard
/// deviation); no interval for fewer than two values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeanCi {
    pub n: usize,
    pub mean: f64,
    pub ci: Option<[f64; 2]>,
}

pub fn mean_ci(values: &[f64]) -> Option<MeanCi> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ci = (n >= 2).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = Z95 * (var / n as f64).sqrt();
        [mean - half, mean + half]
    });
    Some(MeanCi { n, mean, ci })
}

/// The ordinary least-squares slope of y on x; None when x does not vary.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Whether every value is below the one before it (strictly decreasing);
/// None for fewer than two values.
pub fn strictly_decreasing(values: &[f64]) -> Option<bool> {
    (values.len() >= 2).then(|| values.windows(2).all(|w| w[1] < w[0]))
}

/// Cosine similarity; None when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa.sqrt() * bb.sqrt()))
}

/// Euclidean distance (dlib's face descriptors are compared this way: 0.6
/// is its same-person threshold).
pub fn euclidean(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Kin scores 0.9, 0.8, 0.4; non-kin 0.7, 0.4, 0.1. Of the 9 pairs the
    /// kin score wins 7 (0.9 and 0.8 beat all three, 0.4 beats 0.1), ties
    /// once (0.4 = 0.4) and loses once: AUC = (7 + 0.5) / 9.
    #[test]
    fn auc_counts_wins_and_half_ties() {
        let a = auc(&[0.9, 0.8, 0.4], &[0.7, 0.4, 0.1]).unwrap();
        assert!(close(a, 7.5 / 9.0), "{a}");
        assert_eq!(auc(&[1.0], &[0.0]), Some(1.0));
        assert_eq!(auc(&[0.0], &[1.0]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5], &[0.5]), Some(0.5));
        assert_eq!(auc(&[], &[0.5]), None);
    }

    /// Hanley–McNeil with A = 0.8, 10 kin and 10 non-kin:
    /// Q1 = 0.8/1.2 = 0.6667, Q2 = 1.28/1.8 = 0.7111,
    /// var = (0.16 + 9·0.02667 + 9·0.07111) / 100 = (0.16 + 0.24 + 0.64) / 100 = 0.0104,
    /// SE = 0.101980, interval 0.8 ± 1.96·SE = [0.60012, 0.99988].
    #[test]
    fn auc_interval_by_hand() {
        let [lo, hi] = auc_interval(0.8, 10, 10);
        let q1 = 0.8 / 1.2;
        let q2 = 1.28 / 1.8;
        let se = ((0.16 + 9.0 * (q1 - 0.64) + 9.0 * (q2 - 0.64)) / 100.0f64).sqrt();
        assert!((se - 0.101980).abs() < 1e-5, "{se}");
        assert!(close(lo, 0.8 - Z95 * se) && close(hi, 0.8 + Z95 * se));
        assert!((lo - 0.60012).abs() < 1e-4 && (hi - 0.99988).abs() < 1e-4);
        // Clipped at 1.
        assert_eq!(auc_interval(1.0, 3, 3)[1], 1.0);
    }

    #[test]
    fn roc_curve_steps_through_every_distinct_score() {
        let r = roc_curve(&[0.9, 0.4], &[0.7, 0.1], 100);
        assert_eq!(
            r,
            [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]
        );
        // Thinned, it still ends at (1, 1).
        let many: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let r = roc_curve(&many, &many, 50);
        assert!(r.len() <= 52 && r.last() == Some(&[1.0, 1.0]));
    }

    /// Scores 0.1 (non-kin), 0.3 (kin), 0.5 (non-kin), 0.7 (kin), 0.9 (kin):
    /// thresholds below 0.1: 3/5; between 0.1 and 0.3 (0.2): 4/5; 0.4: 3/5;
    /// 0.6: 4/5; 0.8: 2/5; above: 2/5. The lowest best is 0.2.
    #[test]
    fn best_threshold_by_hand() {
        let items = [
            (0.5, false),
            (0.1, false),
            (0.9, true),
            (0.3, true),
            (0.7, true),
        ];
        let t = best_threshold(&items).unwrap();
        assert!(close(t, 0.2), "{t}");
        assert_eq!(correct_at(&items, t), (4, 5));
        assert_eq!(correct_at(&items, 0.6), (4, 5));
        assert_eq!(correct_at(&items, 0.4), (3, 5));
        // All kin: a threshold below everything.
        assert!(best_threshold(&[(0.2, true), (0.4, true)]).unwrap() < 0.2);
        // Nothing kin: above everything.
        assert!(best_threshold(&[(0.2, false), (0.4, false)]).unwrap() > 0.4);
        // Separable: between the classes.
        let t = best_threshold(&[(0.2, false), (0.3, false), (0.6, true)]).unwrap();
        assert!(close(t, 0.45));
        assert_eq!(best_threshold(&[]), None);
    }

    /// Wilson for 8 of 10: centre (0.8 + 1.92/10)/(1.384) = 0.7168, half
    /// width 1.96·√(0.016 + 0.00960)/1.384 = 0.2266 → [0.4902, 0.9433].
    #[test]
    fn wilson_by_hand() {
        let [lo, hi] = wilson(8, 10).unwrap();
        assert!(
            (lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3,
            "{lo} {hi}"
        );
        let [lo, hi] = wilson(0, 5).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.6);
        assert_eq!(wilson(0, 0), None);
    }

    /// 1, 2, 3, 4: mean 2.5, s² = 5/3, half width 1.96·√(5/12) = 1.2652.
    #[test]
    fn mean_ci_by_hand() {
        let m = mean_ci(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(m.n, 4);
        assert!(close(m.mean, 2.5));
        let [lo, hi] = m.ci.unwrap();
        let half = Z95 * (5.0f64 / 12.0).sqrt();
        assert!(close(lo, 2.5 - half) && close(hi, 2.5 + half));
        assert!((half - 1.2652).abs() < 1e-3);
        assert_eq!(mean_ci(&[3.0]).unwrap().ci, None);
        assert_eq!(mean_ci(&[]), None);
    }

    #[test]
    fn slope_and_monotonicity() {
        // y = 2x + 1 exactly.
        let s = slope(&[(0.0, 1.0), (0.25, 1.5), (0.5, 2.0)]).unwrap();
        assert!(close(s, 2.0));
        // Two clouds: x = 0 → mean 0.1, x = 0.25 → mean 0.6: slope 2.
        let s = slope(&[(0.0, 0.0), (0.0, 0.2), (0.25, 0.5), (0.25, 0.7)]).unwrap();
        assert!(close(s, 2.0));
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(strictly_decreasing(&[0.9, 0.5, 0.2]), Some(true));
        assert_eq!(strictly_decreasing(&[0.9, 0.5, 0.5]), Some(false));
        assert_eq!(strictly_decreasing(&[0.9]), None);
    }

    #[test]
    fn cosine_and_euclidean() {
        assert!(close(
            cosine(&[1.0, 0.0], &[1.0, 1.0]).unwrap(),
            0.5f64.sqrt()
        ));
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), None);
        assert!(close(euclidean(&[0.0, 0.0], &[3.0, 4.0]), 5.0));
    }
}
