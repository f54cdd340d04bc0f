//! Statistics of StyleGene's crossover and mutation, checked against the
//! method's rules as README.md ("How the genetics work") and
//! `src/genetics/crossover.rs` state them. Parents and pool entries are filled with
//! distinct constants so every region's source can be read off its values.

use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::{
    crossover, CrossoverParams, GeneShape, Genome, Inheritance, Region, RegionOrigin,
};
use std::collections::BTreeMap;

const SHAPE: GeneShape = GeneShape {
    layers: 3,
    width: 4,
};
const FATHER: f32 = 1.0;
const MOTHER: f32 = 2.0;

fn constant(mean: f32, logvar: f32) -> Genome {
    Genome {
        shape: SHAPE,
        mean: vec![mean; SHAPE.len()],
        logvar: vec![logvar; SHAPE.len()],
    }
}

fn pool() -> Vec<Genome> {
    (0..5)
        .map(|k| constant(100.0 + k as f32, -(k as f32)))
        .collect()
}

/// The (uniform) value of `region` in `g`, asserting it is the same in every layer and slot.
fn region_value(g: &Genome, region: Region) -> (f32, f32) {
    let first = g.shape.offset(0, region);
    let (m, v) = (g.mean[first], g.logvar[first]);
    for layer in 0..g.shape.layers {
        let o = g.shape.offset(layer, region);
        for i in o..o + g.shape.width {
            assert_eq!((g.mean[i], g.logvar[i]), (m, v), "{region} is not uniform");
        }
    }
    (m, v)
}

fn child(
    params: CrossoverParams,
    overrides: &BTreeMap<Region, Inheritance>,
    seed: u64,
) -> famsim::genetics::ChildGenes {
    let pool = pool();
    let refs: Vec<&Genome> = pool.iter().collect();
    crossover(
        &constant(FATHER, 0.5),
        &constant(MOTHER, -0.5),
        &refs,
        params,
        overrides,
        &mut stream(seed, "child", Purpose::Crossover),
    )
}

fn is_pool_value(m: f32) -> bool {
    (100.0..105.0).contains(&m) && m.fract() == 0.0
}

#[test]
fn inherited_count_is_floor_of_34_times_one_minus_eta() {
    for (eta, want) in [
        (0.0, 34),
        (0.4, 20),
        (0.5, 17),
        (0.25, 25),
        (0.99, 0),
        (1.0, 0),
        (0.03, 32),
    ] {
        let params = CrossoverParams {
            gamma: 0.47,
            eta,
            lean: 0.0,
        };
        assert_eq!(params.inherited_count(), want, "eta {eta}");
        for seed in 0..20 {
            let c = child(params, &BTreeMap::new(), seed);
            assert_eq!(c.inherited.len(), want, "eta {eta} seed {seed}");
            let blends = c
                .origins
                .iter()
                .filter(|o| matches!(o, RegionOrigin::Blend { .. }))
                .count();
            let background_inherited = usize::from(c.inherited.contains(&Region::Background));
            assert_eq!(blends, want - background_inherited);
        }
    }
}

#[test]
fn eta_zero_mutates_nothing() {
    for seed in 0..50 {
        let c = child(
            CrossoverParams {
                gamma: 0.47,
                eta: 0.0,
                lean: 0.0,
            },
            &BTreeMap::new(),
            seed,
        );
        for r in Region::ALL.into_iter().skip(1) {
            assert!(
                matches!(c.origins[r.index()], RegionOrigin::Blend { .. }),
                "{r} seed {seed}"
            );
            assert!(!is_pool_value(region_value(&c.genome, r).0));
        }
    }
}

#[test]
fn eta_one_takes_every_non_background_region_from_the_pool() {
    for seed in 0..50 {
        let c = child(
            CrossoverParams {
                gamma: 0.47,
                eta: 1.0,
                lean: 0.0,
            },
            &BTreeMap::new(),
            seed,
        );
        for r in Region::ALL.into_iter().skip(1) {
            assert_eq!(c.origins[r.index()], RegionOrigin::Pool, "{r}");
            let (m, v) = region_value(&c.genome, r);
            assert!(is_pool_value(m), "{r} has {m}");
            assert_eq!(
                v,
                -(m - 100.0),
                "mean and logvar come from the same pool entry"
            );
        }
    }
}

#[test]
fn background_always_comes_from_the_father() {
    for seed in 0..50 {
        for eta in [0.0, 0.4, 1.0] {
            let c = child(
                CrossoverParams {
                    gamma: 0.47,
                    eta,
                    lean: 0.0,
                },
                &BTreeMap::new(),
                seed,
            );
            assert_eq!(c.origins[0], RegionOrigin::Father);
            assert_eq!(region_value(&c.genome, Region::Background), (FATHER, 0.5));
        }
    }
}

#[test]
fn blend_weights_are_in_bounds_and_produce_the_blended_parameters() {
    let gamma = 0.3;
    let mut weights = Vec::new();
    for seed in 0..200 {
        let c = child(
            CrossoverParams {
                gamma,
                eta: 0.4,
                lean: 0.0,
            },
            &BTreeMap::new(),
            seed,
        );
        for r in Region::ALL {
            if let RegionOrigin::Blend {
                father,
                pool,
                mother,
            } = c.origins[r.index()]
            {
                assert!((0.0..=1.0 - gamma).contains(&father), "w = {father}");
                assert_eq!(pool, gamma);
                assert!((father + pool + mother - 1.0).abs() < 1e-6);
                let (m, v) = region_value(&c.genome, r);
                // Solve for the pool entry: m = w·F + γ·P + (1−w−γ)·M.
                let p = (m - father * FATHER - mother * MOTHER) / gamma;
                assert!(
                    (p - p.round()).abs() < 1e-3 && (100.0..105.0).contains(&p.round()),
                    "P = {p}"
                );
                let want_v = father * 0.5 + gamma * -(p.round() - 100.0) + mother * -0.5;
                assert!((v - want_v).abs() < 1e-4);
                weights.push(father);
            }
        }
    }
    // w ~ U(0, 1 − γ): its mean is (1 − γ) / 2 and it spans the interval.
    let mean = weights.iter().sum::<f32>() / weights.len() as f32;
    assert!((mean - (1.0 - gamma) / 2.0).abs() < 0.02, "mean w {mean}");
    let max = weights.iter().cloned().fold(0.0, f32::max);
    let min = weights.iter().cloned().fold(1.0, f32::min);
    assert!(max > 0.65 && min < 0.05, "w spans [{min}, {max}]");
}

#[test]
fn inherited_regions_are_chosen_uniformly() {
    let mut counts = [0usize; 34];
    let trials = 600;
    for seed in 0..trials {
        for r in child(CrossoverParams::default(), &BTreeMap::new(), seed).inherited {
            counts[r.index()] += 1;
        }
    }
    // Each region is inherited with probability 20/34 ≈ 0.588.
    for (i, &n) in counts.iter().enumerate() {
        let p = n as f64 / trials as f64;
        assert!((p - 20.0 / 34.0).abs() < 0.08, "region {i} inherited {p}");
    }
}

#[test]
fn overrides_are_obeyed_and_change_nothing_else() {
    let params = CrossoverParams::default();
    let mut overrides = BTreeMap::new();
    overrides.insert(Region::Iris, Inheritance::Mother);
    overrides.insert(Region::Nose, Inheritance::Father);
    overrides.insert(Region::Hair, Inheritance::Pool);
    overrides.insert(Region::Chin, Inheritance::Blend);
    for seed in 0..50 {
        let plain = child(params, &BTreeMap::new(), seed);
        let pinned = child(params, &overrides, seed);
        assert_eq!(region_value(&pinned.genome, Region::Iris), (MOTHER, -0.5));
        assert_eq!(pinned.origins[Region::Iris.index()], RegionOrigin::Mother);
        assert_eq!(region_value(&pinned.genome, Region::Nose), (FATHER, 0.5));
        assert_eq!(pinned.origins[Region::Nose.index()], RegionOrigin::Father);
        assert!(is_pool_value(region_value(&pinned.genome, Region::Hair).0));
        assert!(matches!(
            pinned.origins[Region::Chin.index()],
            RegionOrigin::Blend { .. }
        ));
        for r in Region::ALL {
            if !overrides.contains_key(&r) {
                assert_eq!(
                    region_value(&pinned.genome, r),
                    region_value(&plain.genome, r),
                    "{r} changed"
                );
            }
        }
    }
}

#[test]
fn same_stream_same_child_other_person_other_child() {
    // Same parents and pool throughout; only the stream's key changes.
    let draw = |seed: u64, person: &str| {
        let pool = pool();
        let refs: Vec<&Genome> = pool.iter().collect();
        crossover(
            &constant(FATHER, 0.5),
            &constant(MOTHER, -0.5),
            &refs,
            CrossoverParams::default(),
            &BTreeMap::new(),
            &mut stream(seed, person, Purpose::Crossover),
        )
    };
    let a = draw(9, "child");
    assert_eq!(a.genome, draw(9, "child").genome, "same stream");
    // Another person under the same seed (ids that differ by one character).
    assert_ne!(a.genome, draw(9, "child2").genome, "other person");
    assert_ne!(a.genome, draw(9, "chile").genome, "other person");
    // The same person under another seed.
    assert_ne!(a.genome, draw(10, "child").genome, "other seed");
}
