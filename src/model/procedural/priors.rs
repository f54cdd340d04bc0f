//! Attribute-conditioned priors over face features, and the built-in gene pool
//! drawn from them.
//!
//! Features are in z units: 0 is the population mean, ±1 a typical spread.
//! Ancestry shifts the colour distributions (skin, hair, eyes) and a few shape
//! features; sex and age shift the features the method's pool would show for
//! that key (hair length, jaw, brows, facial hair, greying). The painter adds
//! the unconditional effects of age and sex on top (a child's proportions, an
//! old person's wrinkles), so a child who inherits an adult's genes still looks
//! like a child.

use super::params::{encode, FaceParams, Feature};
use crate::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use crate::genetics::pool::GenePool;
use crate::genetics::rng::{stream, Purpose};
use rand::Rng;
use rand_distr::StandardNormal;

/// Pool entries generated per age × sex × ancestry key.
pub const ENTRIES_PER_KEY: usize = 8;

/// Seed of the built-in pool's streams: the pool is part of the model, not of a run.
const POOL_SEED: u64 = 0x5eed_fa11_9e7e_0001;

/// Mean and standard deviation of one feature for one key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    pub mean: f32,
    pub sd: f32,
}

const fn p(mean: f32, sd: f32) -> Prior {
    Prior { mean, sd }
}

/// The prior of `feature` for people of `key`.
pub fn prior(key: PoolKey, feature: Feature) -> Prior {
    use Ancestry::*;
    use Feature::*;
    let male = key.sex == Sex::Male;
    let sex = |m: f32, f: f32| if male { m } else { f };
    let young = key.age <= AgeGroup::Age3To9;
    let age_rank = key.age.rank() as f32;
    let a = key.ancestry;
    match feature {
        // Colours: ancestry shapes them most.
        SkinLightness => match a {
            White => p(1.35, 0.35),
            EastAsian => p(0.95, 0.3),
            MiddleEastern => p(0.55, 0.35),
            LatinoHispanic => p(0.3, 0.45),
            SoutheastAsian => p(-0.05, 0.35),
            Indian => p(-0.45, 0.4),
            Black => p(-1.55, 0.45),
        },
        SkinWarmth => match a {
            White => p(-0.5, 0.5),
            EastAsian => p(0.6, 0.35),
            SoutheastAsian => p(0.5, 0.35),
            LatinoHispanic | MiddleEastern | Indian => p(0.3, 0.4),
            Black => p(0.1, 0.4),
        },
        Freckles => match a {
            White => p(-0.4, 1.0),
            _ => p(-1.6, 0.4),
        },
        Blush => match a {
            White => p(0.4, 0.7),
            Black => p(-0.5, 0.5),
            _ => p(0.0, 0.6),
        },
        HairDarkness => match a {
            White if young => p(-0.7, 0.9),
            White => p(-0.1, 1.0),
            LatinoHispanic | MiddleEastern => p(1.2, 0.45),
            _ => p(1.7, 0.3),
        },
        HairRedness => match a {
            White => p(-0.3, 1.0),
            _ => p(-0.9, 0.35),
        },
        IrisDarkness => match a {
            White => p(-0.55, 0.95),
            MiddleEastern | LatinoHispanic => p(0.8, 0.6),
            _ => p(1.6, 0.3),
        },
        IrisHue => p(0.0, 1.0),
        HairCurl => match a {
            Black => p(2.0, 0.35),
            EastAsian => p(-1.0, 0.4),
            SoutheastAsian => p(-0.5, 0.6),
            LatinoHispanic | MiddleEastern => p(0.2, 0.8),
            _ => p(-0.2, 0.8),
        },
        LipDarkness => match a {
            Black => p(1.4, 0.4),
            Indian | SoutheastAsian => p(0.6, 0.4),
            _ => p(0.0, 0.6),
        },
        LipRedness => p(sex(-0.3, 0.5), 0.6),
        FacialHairDarkness => p(0.0, 0.6),
        Greying => p(0.0, 0.8),
        BrowDarkness => p(sex(0.3, 0.0), 0.6),
        LashDarkness => p(sex(0.0, 0.6), 0.6),

        // Shapes: mostly individual variation, some ancestry and sex trends.
        NoseWidth => match a {
            Black => p(1.0, 0.6),
            SoutheastAsian => p(0.5, 0.6),
            EastAsian => p(0.3, 0.6),
            White | MiddleEastern => p(-0.4, 0.7),
            _ => p(0.0, 0.7),
        },
        NoseLength => match a {
            MiddleEastern | White => p(0.3, 0.8),
            EastAsian => p(-0.3, 0.7),
            _ => p(0.0, 0.8),
        },
        NoseBridgeWidth => match a {
            EastAsian | SoutheastAsian | Black => p(0.6, 0.6),
            _ => p(-0.2, 0.8),
        },
        EyeOpenness => match a {
            EastAsian => p(-0.7, 0.6),
            SoutheastAsian => p(-0.2, 0.7),
            _ => p(0.1, 0.8),
        },
        EyeTilt => match a {
            EastAsian | SoutheastAsian => p(0.6, 0.6),
            _ => p(0.0, 0.8),
        },
        UpperLip | LowerLip => match a {
            Black => p(1.0, 0.6),
            White => p(sex(-0.4, 0.0), 0.8),
            _ => p(sex(-0.1, 0.3), 0.8),
        },
        Cheekbones => match a {
            EastAsian | SoutheastAsian => p(0.6, 0.7),
            _ => p(0.0, 0.9),
        },
        FaceWidth => match a {
            EastAsian => p(0.4, 0.8),
            _ => p(0.0, 0.9),
        },
        JawWidth => p(sex(0.5, -0.5), 0.8),
        JawSquareness => p(sex(0.6, -0.5), 0.8),
        ChinLength => p(sex(0.2, -0.2), 0.9),
        BrowThickness => p(sex(0.6, -0.4), 0.8),
        BrowHeight => p(sex(-0.4, 0.4), 0.8),
        LashLength => p(sex(-0.4, 0.6), 0.8),
        NeckWidth => p(sex(0.6, -0.6), 0.7),
        HairLength => {
            if young {
                p(sex(-0.8, 0.6), 0.8)
            } else {
                p(sex(-1.1, 1.0), 0.8)
            }
        }
        HairVolume => match a {
            Black => p(0.6, 0.9),
            _ => p(0.0, 0.9),
        },
        Fringe => p(sex(-0.2, 0.2), 1.0),
        Beard => p(0.0, 1.0),
        MoustacheSize => p(0.0, 1.0),
        // Recession and wrinkling propensities rise in the older buckets, as a pool of real
        // faces would show (older people who kept their hair are rarer).
        Recession => p(sex(-0.4 + 0.15 * age_rank, -1.0), 0.8),
        Wrinkling => p(-0.3 + 0.08 * age_rank, 0.8),
        ShirtHue | BackgroundHue => p(0.0, 1.3),
        _ => p(0.0, 1.0),
    }
}

/// Draws one person's features from the priors of `key`, feature by feature
/// in [`Feature::ALL`] order (so the draw order never changes between builds).
pub fn draw(key: PoolKey, rng: &mut impl Rng) -> FaceParams {
    let mut params = FaceParams::neutral();
    for &f in Feature::ALL {
        let pr = prior(key, f);
        let eps: f32 = rng.sample(StandardNormal);
        params.set(f, pr.mean + pr.sd * eps);
    }
    params
}

/// Every age × sex × ancestry key, in key order.
pub fn all_keys() -> Vec<PoolKey> {
    let mut keys = Vec::new();
    for age in AgeGroup::ALL {
        for sex in Sex::ALL {
            for ancestry in Ancestry::ALL {
                keys.push(PoolKey { age, sex, ancestry });
            }
        }
    }
    keys
}

/// The built-in gene pool: [`ENTRIES_PER_KEY`] prior draws for every key,
/// each key from its own stream so the pool is the same on every machine.
pub fn build_pool() -> GenePool {
    let mut pool = GenePool::new();
    for key in all_keys() {
        let mut rng = stream(POOL_SEED, &format!("procedural-pool/{key}"), Purpose::Model);
        for _ in 0..ENTRIES_PER_KEY {
            let params = draw(key, &mut rng);
            let genome = encode(params.latent()).expect("prior draws have the procedural shape");
            pool.insert(key, genome);
        }
    }
    pool
}
