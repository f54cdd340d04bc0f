//! Family-disjoint train/val/test splits: whole families go to one split,
//! with split sizes as close to the spec's ratios as whole families allow.

use super::draw::fid;
use super::spec::SplitRatios;
use crate::genetics::rng::{stream, Purpose};
use rand::Rng;

/// Where a family's people are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    pub fn label(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Family counts per split: each ratio's share rounded down, the families
/// left over going to the largest remainders (ties: train, val, test).
pub fn split_sizes(families: usize, ratios: SplitRatios) -> [usize; 3] {
    let exact = [ratios.train, ratios.val, ratios.test].map(|r| r * families as f64);
    let mut sizes = exact.map(|x| x.floor() as usize);
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let mut left = families.saturating_sub(sizes.iter().sum());
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        sizes[i] += 1;
        left -= 1;
    }
    sizes
}

/// The split of every family (index 0 = family 1): families are shuffled by
/// a seeded key and dealt out in split order.
pub fn assign_splits(families: usize, ratios: SplitRatios, seed: u64) -> Vec<Split> {
    let sizes = split_sizes(families, ratios);
    let mut order: Vec<(u64, usize)> = (1..=families)
        .map(|n| {
            let key: u64 = stream(seed, &format!("split/{}", fid(n)), Purpose::Pedigree).random();
            (key, n - 1)
        })
        .collect();
    order.sort_unstable();
    let mut splits = vec![Split::Train; families];
    let mut dealt = order.into_iter().map(|(_, i)| i);
    for (split, size) in Split::ALL.into_iter().zip(sizes) {
        for i in dealt.by_ref().take(size) {
            splits[i] = split;
        }
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_ratios_and_cover_every_family() {
        let r = SplitRatios {
            train: 0.7,
            val: 0.1,
            test: 0.2,
        };
        assert_eq!(split_sizes(10, r), [7, 1, 2]);
        assert_eq!(split_sizes(20, r), [14, 2, 4]);
        for n in 0..50 {
            assert_eq!(split_sizes(n, r).iter().sum::<usize>(), n);
        }
        let splits = assign_splits(20, r, 3);
        for (s, size) in Split::ALL.iter().zip([14, 2, 4]) {
            assert_eq!(splits.iter().filter(|x| *x == s).count(), size);
        }
        assert_eq!(splits, assign_splits(20, r, 3));
        assert_ne!(splits, assign_splits(20, r, 4));
    }
}
