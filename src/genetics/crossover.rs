//! StyleGene's reproduction step: crossover of the parents' region genes and
//! attribute-conditioned mutation from the gene pool (Li et al., CVPR 2023).
//!
//! For a child of father F and mother M with mutation strength `gamma` and
//! replacement share `eta`:
//! - `floor(34 · (1 − eta))` of the 34 regions, chosen at random, are
//!   *inherited*: w ~ U(0, 1 − gamma) and the region's mean and log-variance
//!   become `w·F + gamma·P + (1 − w − gamma)·M`, P a random pool entry;
//! - every other region is *mutated*: taken from a random pool entry alone;
//! - the background always comes from the father;
//! - a scenario's per-region overrides are applied last.
//!
//! famsim adds one optional knob, `lean` (L, −1 … 1, default 0), which
//! shifts where w is drawn without changing the draw itself: the method's
//! w ~ U(0, 1 − gamma) becomes w' = w + L·((1 − gamma) − w) for L ≥ 0 and
//! w' = w·(1 + L) for L < 0, so w' ~ U(L·(1 − gamma), 1 − gamma) (towards
//! the father) or U(0, (1 + L)·(1 − gamma)) (towards the mother). L = 0 skips
//! the arithmetic, so the default is the method's rule bit for bit.

use super::genome::Genome;
use super::region::{Region, REGION_COUNT};
use rand::seq::index;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The method's two knobs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossoverParams {
    /// Mutation strength: the pool's share of an inherited region. Default 0.47.
    pub gamma: f32,
    /// Share of regions replaced from the pool. Default 0.4.
    pub eta: f32,
    /// Resemblance lean, −1 (mother) … 1 (father); 0 is the method's own
    /// rule. See the module doc for the formula.
    #[serde(default)]
    pub lean: f32,
}

impl Default for CrossoverParams {
    fn default() -> Self {
        CrossoverParams {
            gamma: 0.47,
            eta: 0.4,
            lean: 0.0,
        }
    }
}

impl CrossoverParams {
    /// How many regions are inherited: `floor(34 · (1 − eta))`.
    pub fn inherited_count(&self) -> usize {
        // The small epsilon keeps e.g. eta = 0.5 from flooring 16.999… to 16.
        ((REGION_COUNT as f64 * (1.0 - self.eta as f64)) + 1e-9).floor() as usize
    }
}

/// Where a scenario pins a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inheritance {
    /// Copy the father's gene distribution.
    Father,
    /// Copy the mother's gene distribution.
    Mother,
    /// Take it from a random pool entry (a mutation).
    Pool,
    /// Inherit it by the method's blend even if the draw chose a mutation.
    Blend,
}

/// Where each region of a child came from, as recorded in the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum RegionOrigin {
    /// Copied from the father (the background, or an override).
    Father,
    /// Copied from the mother (an override).
    Mother,
    /// Mutated: a gene-pool entry alone.
    Pool,
    /// Inherited by blending: weights of father, pool and mother (they sum to 1).
    Blend { father: f32, pool: f32, mother: f32 },
}

impl RegionOrigin {
    /// The parent (or the pool) that contributed most, for display.
    pub fn dominant(&self) -> &'static str {
        match *self {
            RegionOrigin::Father => "father",
            RegionOrigin::Mother => "mother",
            RegionOrigin::Pool => "pool",
            RegionOrigin::Blend {
                father,
                pool,
                mother,
            } => {
                if father >= mother && father >= pool {
                    "father"
                } else if mother >= pool {
                    "mother"
                } else {
                    "pool"
                }
            }
        }
    }
}

/// A child's genome and the record of how each region was made.
#[derive(Clone, Debug)]
pub struct ChildGenes {
    pub genome: Genome,
    pub origins: [RegionOrigin; REGION_COUNT],
    /// The regions the draw chose to inherit (before the background rule and overrides).
    pub inherited: Vec<Region>,
}

/// Applies StyleGene's crossover and mutation. `pool` holds the entries the
/// child may draw from (see [`super::pool::GenePool::candidates`]); `rng`
/// should be the child's own crossover stream.
///
/// Draw order is fixed (inherited set, then per region in index order, then
/// overrides in index order) so an override changes only its own region.
pub fn crossover(
    father: &Genome,
    mother: &Genome,
    pool: &[&Genome],
    params: CrossoverParams,
    overrides: &BTreeMap<Region, Inheritance>,
    rng: &mut impl Rng,
) -> ChildGenes {
    assert!(
        !pool.is_empty(),
        "crossover needs at least one gene-pool entry"
    );
    assert_eq!(
        father.shape, mother.shape,
        "parents' genomes differ in shape"
    );
    let gamma = params.gamma;
    let lean = params.lean;
    let mut child = Genome::zeros(father.shape);
    let mut origins = [RegionOrigin::Pool; REGION_COUNT];

    let mut inherited: Vec<Region> = index::sample(rng, REGION_COUNT, params.inherited_count())
        .into_iter()
        .map(|i| Region::ALL[i])
        .collect();
    inherited.sort();

    let blend = |child: &mut Genome, region: Region, rng: &mut dyn rand::RngCore| {
        let span = (1.0 - gamma).max(0.0);
        let drawn: f32 = rng.random_range(0.0..=span);
        // The same single draw whatever the lean, so a lean never shifts
        // the rest of the child's stream; 0 leaves w untouched.
        let w = if lean > 0.0 {
            drawn + lean * (span - drawn)
        } else if lean < 0.0 {
            drawn * (1.0 + lean)
        } else {
            drawn
        };
        let p = pool[rng.random_range(0..pool.len())];
        let w_mother = (1.0 - w - gamma).max(0.0);
        child.blend_region(region, (father, w), (p, gamma), (mother, w_mother));
        RegionOrigin::Blend {
            father: w,
            pool: gamma,
            mother: w_mother,
        }
    };
    let mutate = |child: &mut Genome, region: Region, rng: &mut dyn rand::RngCore| {
        let p = pool[rng.random_range(0..pool.len())];
        child.copy_region_from(p, region);
        RegionOrigin::Pool
    };

    for region in Region::ALL {
        origins[region.index()] = if inherited.binary_search(&region).is_ok() {
            blend(&mut child, region, rng)
        } else {
            mutate(&mut child, region, rng)
        };
    }

    child.copy_region_from(father, Region::Background);
    origins[Region::Background.index()] = RegionOrigin::Father;

    for (&region, &how) in overrides {
        origins[region.index()] = match how {
            Inheritance::Father => {
                child.copy_region_from(father, region);
                RegionOrigin::Father
            }
            Inheritance::Mother => {
                child.copy_region_from(mother, region);
                RegionOrigin::Mother
            }
            Inheritance::Pool => mutate(&mut child, region, rng),
            Inheritance::Blend => blend(&mut child, region, rng),
        };
    }

    ChildGenes {
        genome: child,
        origins,
        inherited,
    }
}
