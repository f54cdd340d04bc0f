//! Negative pairs: for each kin pair (a, b), a person c from another family
//! of the same split, with b's sex and age group, so that a classifier cannot
//! tell kin from non-kin by sex or age alone. People of different families
//! share no ancestor, so c is never kin to a.

use super::splits::Split;
use crate::attributes::{AgeGroup, Sex};
use crate::genetics::rng::{stream, Purpose};
use rand::Rng;
use std::collections::HashMap;

/// A person by family index (0-based) and member number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonRef {
    pub family: u32,
    pub mid: u32,
}

/// Everyone in the dataset, bucketed by split, sex and age group.
#[derive(Default)]
pub struct NegativePool {
    buckets: HashMap<(Split, Sex, AgeGroup), Vec<PersonRef>>,
}

impl NegativePool {
    pub fn add(&mut self, split: Split, sex: Sex, age: AgeGroup, person: PersonRef) {
        self.buckets
            .entry((split, sex, age))
            .or_default()
            .push(person);
    }

    /// A person of `split`, `sex` and `age` outside family `avoid`, drawn from
    /// the stream named `key`; None when every such person is in `avoid`.
    pub fn draw(
        &self,
        seed: u64,
        key: &str,
        (split, sex, age): (Split, Sex, AgeGroup),
        avoid: u32,
    ) -> Option<PersonRef> {
        let bucket = self.buckets.get(&(split, sex, age))?;
        let mut rng = stream(seed, key, Purpose::Pedigree);
        for _ in 0..16 {
            let c = bucket[rng.random_range(0..bucket.len())];
            if c.family != avoid {
                return Some(c);
            }
        }
        // Nearly everyone left is in `avoid`: walk the bucket from a random start.
        let start = rng.random_range(0..bucket.len());
        (0..bucket.len())
            .map(|i| bucket[(start + i) % bucket.len()])
            .find(|c| c.family != avoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_returns_the_avoided_family() {
        let mut pool = NegativePool::default();
        let key = (Split::Train, Sex::Male, AgeGroup::Age20To29);
        for mid in 0..50 {
            pool.add(key.0, key.1, key.2, PersonRef { family: 0, mid });
        }
        pool.add(key.0, key.1, key.2, PersonRef { family: 1, mid: 7 });
        for k in 0..20 {
            let c = pool.draw(1, &format!("k{k}"), key, 0).unwrap();
            assert_eq!(c, PersonRef { family: 1, mid: 7 });
        }
        assert_eq!(pool.draw(1, "x", key, 1).map(|c| c.family), Some(0));
        let only_one = (Split::Val, Sex::Male, AgeGroup::Age20To29);
        pool.add(
            only_one.0,
            only_one.1,
            only_one.2,
            PersonRef { family: 3, mid: 1 },
        );
        assert_eq!(pool.draw(1, "y", only_one, 3), None);
    }
}
