//! The gene pool: genomes of real (or prior-drawn) faces keyed by
//! "age-gender-race". Children draw their mutated regions from it.

use super::genome::{GeneShape, Genome};
use crate::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use std::collections::BTreeMap;

/// Genomes bucketed by [`PoolKey`]. A `BTreeMap` keeps iteration order, and so
/// every draw from the pool, independent of hashing.
#[derive(Clone, Debug, Default)]
pub struct GenePool {
    buckets: BTreeMap<PoolKey, Vec<Genome>>,
}

/// The entries a child may draw from, and how they were found.
#[derive(Debug)]
pub struct PoolCandidates<'a> {
    pub entries: Vec<&'a Genome>,
    /// The keys the entries came from.
    pub keys: Vec<PoolKey>,
    /// Set when no bucket matched the wanted age and a neighbouring age group was used.
    pub warning: Option<String>,
}

impl GenePool {
    pub fn new() -> GenePool {
        GenePool::default()
    }

    pub fn insert(&mut self, key: PoolKey, genome: Genome) {
        self.buckets.entry(key).or_default().push(genome);
    }

    /// Shape of the genomes in the pool (None when empty).
    pub fn shape(&self) -> Option<GeneShape> {
        self.buckets.values().flatten().next().map(|g| g.shape)
    }

    pub fn len(&self) -> usize {
        self.buckets.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buckets in key order.
    pub fn buckets(&self) -> impl Iterator<Item = (&PoolKey, &Vec<Genome>)> {
        self.buckets.iter()
    }

    pub fn bucket(&self, key: &PoolKey) -> &[Genome] {
        self.buckets.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Entries for a person of `age` and `sex` whose ancestry is any of
    /// `ancestries` (a child draws from each parent's ancestry).
    ///
    /// The original method falls back to the parents' own genes when no key
    /// matches; we instead use the nearest age group that has entries (younger
    /// first on ties) and say so, then any ancestry, and fail only on an empty pool.
    pub fn candidates(
        &self,
        age: AgeGroup,
        sex: Sex,
        ancestries: &[Ancestry],
    ) -> Result<PoolCandidates<'_>, String> {
        let wanted = |a: &Ancestry| ancestries.contains(a);
        if let Some(found) = self.nearest_age(age, sex, wanted) {
            return Ok(found);
        }
        if let Some(mut found) = self.nearest_age(age, sex, |_| true) {
            found.warning = Some(format!(
                "gene pool has no {sex} entries of ancestry {}; drew from {}",
                ancestries
                    .iter()
                    .map(|a| a.label())
                    .collect::<Vec<_>>()
                    .join(" or "),
                key_list(&found.keys)
            ));
            return Ok(found);
        }
        Err(format!("the gene pool has no {sex} entries at all"))
    }

    fn nearest_age(
        &self,
        age: AgeGroup,
        sex: Sex,
        ancestry_ok: impl Fn(&Ancestry) -> bool,
    ) -> Option<PoolCandidates<'_>> {
        let mut by_distance: Vec<AgeGroup> = AgeGroup::ALL.to_vec();
        by_distance.sort_by_key(|a| (a.rank().abs_diff(age.rank()), a.rank()));
        for try_age in by_distance {
            let mut entries = Vec::new();
            let mut keys = Vec::new();
            for (key, genomes) in &self.buckets {
                if key.age == try_age
                    && key.sex == sex
                    && ancestry_ok(&key.ancestry)
                    && !genomes.is_empty()
                {
                    entries.extend(genomes.iter());
                    keys.push(*key);
                }
            }
            if !entries.is_empty() {
                let warning = (try_age != age).then(|| {
                    format!(
                        "gene pool has no {age} {sex} entries for this ancestry; used the nearest age group ({})",
                        key_list(&keys)
                    )
                });
                return Some(PoolCandidates {
                    entries,
                    keys,
                    warning,
                });
            }
        }
        None
    }
}

fn key_list(keys: &[PoolKey]) -> String {
    keys.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(age: AgeGroup, sex: Sex, ancestry: Ancestry) -> PoolKey {
        PoolKey { age, sex, ancestry }
    }

    #[test]
    fn exact_keys_then_nearest_age_with_a_warning() {
        let shape = GeneShape {
            layers: 1,
            width: 1,
        };
        let mut pool = GenePool::new();
        pool.insert(
            key(AgeGroup::Age20To29, Sex::Male, Ancestry::White),
            Genome::zeros(shape),
        );
        pool.insert(
            key(AgeGroup::Age20To29, Sex::Male, Ancestry::Black),
            Genome::zeros(shape),
        );
        pool.insert(
            key(AgeGroup::Age50To59, Sex::Female, Ancestry::Indian),
            Genome::zeros(shape),
        );

        let c = pool
            .candidates(
                AgeGroup::Age20To29,
                Sex::Male,
                &[Ancestry::White, Ancestry::Black],
            )
            .unwrap();
        assert_eq!(c.entries.len(), 2);
        assert!(c.warning.is_none());

        let c = pool
            .candidates(AgeGroup::Age3To9, Sex::Male, &[Ancestry::White])
            .unwrap();
        assert_eq!(
            c.keys,
            vec![key(AgeGroup::Age20To29, Sex::Male, Ancestry::White)]
        );
        assert!(c.warning.unwrap().contains("nearest age group"));

        let c = pool
            .candidates(AgeGroup::Age60To69, Sex::Female, &[Ancestry::White])
            .unwrap();
        assert_eq!(
            c.keys,
            vec![key(AgeGroup::Age50To59, Sex::Female, Ancestry::Indian)]
        );
        assert!(c.warning.is_some());

        assert!(GenePool::new()
            .candidates(AgeGroup::Age0To2, Sex::Female, &[])
            .is_err());
    }
}
