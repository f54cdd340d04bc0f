use super::params::{Feature, FINE_LAYER};
use super::*;
use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::crossover::{crossover, CrossoverParams, Inheritance};
use crate::genetics::region::{Region, RegionGroup};
use crate::genetics::rng::{stream, Purpose};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn model() -> &'static ProceduralModel {
    static MODEL: OnceLock<ProceduralModel> = OnceLock::new();
    MODEL.get_or_init(|| ProceduralModel::new(128).unwrap())
}

fn subject(age: AgeGroup, sex: Sex) -> Subject {
    Subject {
        age,
        sex,
        ancestry: None,
    }
}

fn adult(sex: Sex) -> Subject {
    subject(AgeGroup::Age30To39, sex)
}

fn key(age: AgeGroup, sex: Sex, ancestry: Ancestry) -> PoolKey {
    PoolKey { age, sex, ancestry }
}

/// The latent a genome's mean decodes to.
fn decode_mean(g: &Genome) -> Latent {
    let sample = GeneSample {
        shape: g.shape,
        values: g.mean.clone(),
    };
    model().decode(&[&sample]).unwrap().remove(0)
}

fn distance(a: &Latent, b: &Latent) -> f32 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

fn founder(seed: u64, who: &str, s: Subject) -> Latent {
    let mut rng = stream(seed, who, Purpose::Founder);
    model().latent_from_rng(&mut rng, s).unwrap()
}

#[test]
fn describe_and_shapes() {
    let m = model();
    assert_eq!(m.describe(), "procedural");
    assert_eq!(m.gene_shape(), params::GENE_SHAPE);
    assert_eq!(m.fine_layer_start(), FINE_LAYER);
    let l = founder(1, "a", adult(Sex::Male));
    assert_eq!((l.layers, l.width), (2, params::latent_width()));
}

#[test]
fn decode_of_encode_is_the_identity_on_founders_and_pool_entries() {
    let m = model();
    for i in 0..20 {
        let l = founder(
            i,
            "p",
            subject(AgeGroup::ALL[i as usize % 9], Sex::ALL[i as usize % 2]),
        );
        let g = m.encode(&[&l]).unwrap().remove(0);
        assert!(g
            .logvar
            .iter()
            .all(|&v| (v - (0.05f32 * 0.05).ln()).abs() < 1e-6));
        let back = decode_mean(&g);
        for (a, b) in back.data.iter().zip(&l.data) {
            assert!((a - b).abs() < 1e-5, "{a} != {b}");
        }
    }
    for (_, bucket) in m.gene_pool().buckets().take(5) {
        for g in bucket {
            let again = m.encode(&[&decode_mean(g)]).unwrap().remove(0);
            for (a, b) in again.mean.iter().zip(&g.mean) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn bad_latents_and_genes_are_input_errors() {
    let m = model();
    let wrong = Latent::zeros(3, 5);
    assert!(matches!(m.encode(&[&wrong]), Err(Error::Input(_))));
    assert!(matches!(
        m.render(&[&wrong], &[adult(Sex::Male)]),
        Err(Error::Input(_))
    ));
    let mut nan = founder(1, "nan", adult(Sex::Male));
    nan.data[3] = f32::NAN;
    assert!(matches!(
        m.render(&[&nan], &[adult(Sex::Male)]),
        Err(Error::Input(_))
    ));
    let genes = GeneSample {
        shape: GeneShape::STYLEGENE_1024,
        values: vec![0.0; 10],
    };
    assert!(matches!(m.decode(&[&genes]), Err(Error::Input(_))));
}

#[test]
fn sizes_64_to_1024_are_accepted_and_others_refused() {
    for bad in [0, 63, 1025, 4096] {
        assert!(matches!(ProceduralModel::new(bad), Err(Error::Input(_))));
    }
    let l = founder(3, "s", adult(Sex::Female));
    for size in [64, 1024] {
        let m = ProceduralModel::new(size).unwrap();
        let img = m.render(&[&l], &[adult(Sex::Female)]).unwrap().remove(0);
        assert_eq!((img.width, img.height), (size, size));
        assert_eq!(img.rgb.len(), (size * size * 3) as usize);
    }
}

#[test]
fn rendering_is_deterministic_and_independent_of_batching() {
    let m = model();
    let subjects: Vec<Subject> = (0..8)
        .map(|i| subject(AgeGroup::ALL[i % 9], Sex::ALL[i % 2]))
        .collect();
    let latents: Vec<Latent> = subjects
        .iter()
        .enumerate()
        .map(|(i, &s)| founder(9, &format!("d{i}"), s))
        .collect();
    let refs: Vec<&Latent> = latents.iter().collect();
    let batch = m.render(&refs, &subjects).unwrap();
    // The same faces in the opposite order, then one at a time.
    let (mut rev_refs, mut rev_subjects) = (refs.clone(), subjects.clone());
    rev_refs.reverse();
    rev_subjects.reverse();
    let mut reversed = m.render(&rev_refs, &rev_subjects).unwrap();
    reversed.reverse();
    assert_eq!(batch, reversed);
    for (i, img) in batch.iter().enumerate() {
        let alone = m.render(&[refs[i]], &[subjects[i]]).unwrap().remove(0);
        assert_eq!(&alone, img);
    }
    // And the faces are not all the same picture.
    for i in 1..batch.len() {
        assert_ne!(batch[0], batch[i]);
    }
}

#[test]
fn the_pool_covers_every_key_and_ancestry_shapes_colours() {
    let pool = model().gene_pool();
    for k in priors::all_keys() {
        assert_eq!(pool.bucket(&k).len(), priors::ENTRIES_PER_KEY, "{k}");
    }
    // Mean skin luma and iris darkness per ancestry over all ages and sexes.
    let stats = |a: Ancestry| {
        let (mut skin, mut iris, mut hair, mut n) = (0.0, 0.0, 0.0, 0.0);
        for age in AgeGroup::ALL {
            for sex in Sex::ALL {
                for g in pool.bucket(&key(age, sex, a)) {
                    let l = model().look(&decode_mean(g), subject(age, sex)).unwrap();
                    skin += l.skin.luma();
                    iris += l.iris.luma();
                    hair += l.hair.luma();
                    n += 1.0;
                }
            }
        }
        (skin / n, iris / n, hair / n)
    };
    let white = stats(Ancestry::White);
    let black = stats(Ancestry::Black);
    let east_asian = stats(Ancestry::EastAsian);
    assert!(white.0 > black.0 + 0.25, "skin {white:?} vs {black:?}");
    assert!(east_asian.0 > black.0 + 0.15);
    assert!(
        white.1 > east_asian.1 + 0.08,
        "iris {white:?} vs {east_asian:?}"
    );
    assert!(
        white.2 > east_asian.2 + 0.08,
        "hair {white:?} vs {east_asian:?}"
    );
}

#[test]
fn the_pool_is_the_same_every_time() {
    let a = priors::build_pool();
    let b = priors::build_pool();
    for ((ka, ga), (kb, gb)) in a.buckets().zip(b.buckets()) {
        assert_eq!(ka, kb);
        assert_eq!(ga, gb);
    }
}

fn parents(seed: u64) -> (Genome, Genome, Ancestry, Ancestry) {
    let pool = model().gene_pool();
    let mut rng = stream(seed, "parents", Purpose::Founder);
    let pick = |rng: &mut ChaCha8Rng, sex: Sex| {
        let a = Ancestry::ALL[rng.random_range(0..7)];
        let bucket = pool.bucket(&key(AgeGroup::Age30To39, sex, a));
        (bucket[rng.random_range(0..bucket.len())].clone(), a)
    };
    let (f, fa) = pick(&mut rng, Sex::Male);
    let (m, ma) = pick(&mut rng, Sex::Female);
    (f, m, fa, ma)
}

#[test]
fn an_iris_pinned_to_the_mother_has_the_mothers_iris_colour() {
    let m = model();
    let pool = m.gene_pool();
    let cands = pool
        .candidates(AgeGroup::Age3To9, Sex::Female, &[Ancestry::White])
        .unwrap();
    let mut overrides = BTreeMap::new();
    overrides.insert(Region::Iris, Inheritance::Mother);
    let mut checked = 0;
    for seed in 0..20 {
        let (father, mother, _, _) = parents(seed);
        let mut rng = stream(seed, "child", Purpose::Crossover);
        let child = crossover(
            &father,
            &mother,
            &cands.entries,
            CrossoverParams::default(),
            &overrides,
            &mut rng,
        );
        let (c, mo, fa) = (
            m.params(&decode_mean(&child.genome)).unwrap(),
            m.params(&decode_mean(&mother)).unwrap(),
            m.params(&decode_mean(&father)).unwrap(),
        );
        for f in [Feature::IrisDarkness, Feature::IrisHue, Feature::IrisRing] {
            assert!((c.get(f) - mo.get(f)).abs() < 1e-6, "{f:?}");
        }
        let girl = subject(AgeGroup::Age3To9, Sex::Female);
        let iris = |p: &FaceParams| Look::new(p, girl).iris;
        assert_eq!(iris(&c), iris(&mo));
        if (fa.get(Feature::IrisDarkness) - mo.get(Feature::IrisDarkness)).abs() > 0.5 {
            assert_ne!(iris(&c), iris(&fa));
            checked += 1;
        }
    }
    assert!(checked > 3, "too few parent pairs with different eyes");
}

#[test]
fn children_resemble_their_parents_more_than_strangers() {
    let m = model();
    let pool = m.gene_pool();
    let (mut to_parents, mut to_strangers) = (0.0, 0.0);
    const N: u64 = 200;
    for seed in 0..N {
        let (father, mother, fa, ma) = parents(seed);
        let sex = Sex::ALL[seed as usize % 2];
        let cands = pool.candidates(AgeGroup::Age3To9, sex, &[fa, ma]).unwrap();
        let mut rng = stream(seed, "child", Purpose::Crossover);
        let child = crossover(
            &father,
            &mother,
            &cands.entries,
            CrossoverParams::default(),
            &BTreeMap::new(),
            &mut rng,
        );
        let mut sample_rng = stream(seed, "child", Purpose::GeneSample);
        let genes = child.genome.sample(&mut sample_rng);
        let mut c = m.decode(&[&genes]).unwrap().remove(0);
        let (f, mo) = (decode_mean(&father), decode_mean(&mother));
        c.average_fine_layers(&f, &mo, m.fine_layer_start());
        // An unrelated adult of a random ancestry.
        let (stranger, _, _, _) = parents(seed + 10_000);
        let s = decode_mean(&stranger);
        to_parents += 0.5 * (distance(&c, &f) + distance(&c, &mo));
        to_strangers += distance(&c, &s);
    }
    let (p, s) = (to_parents / N as f32, to_strangers / N as f32);
    assert!(
        p < 0.8 * s,
        "mean distance to parents {p}, to strangers {s}"
    );
}

#[test]
fn children_look_like_children_and_age_shows() {
    let m = model();
    for i in 0..10 {
        let l = founder(i, "age", adult(Sex::Male));
        let look = |age| m.look(&l, subject(age, Sex::Male)).unwrap();
        let (kid, man, old) = (
            look(AgeGroup::Age3To9),
            look(AgeGroup::Age30To39),
            look(AgeGroup::Age70Plus),
        );
        let eye_v = |x: &Look| (x.eye_y - x.head_top) / x.head_h;
        // Eyes sit lower in a child's head; the face is rounder and the nose smaller.
        assert!(eye_v(&kid) > eye_v(&man) + 0.05);
        assert!(kid.cheek_hw / kid.head_h > man.cheek_hw / man.head_h);
        assert!(kid.ala_hw / kid.cheek_hw < man.ala_hw / man.cheek_hw);
        assert_eq!(
            (kid.wrinkles, kid.beard, kid.stubble, kid.moustache),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert!(old.wrinkles > 0.3);
        assert!(old.hair.luma() >= man.hair.luma() - 1e-6, "hair greys");
        let imgs = m
            .render(
                &[&l, &l],
                &[subject(AgeGroup::Age3To9, Sex::Male), adult(Sex::Male)],
            )
            .unwrap();
        assert_ne!(imgs[0], imgs[1]);
    }
}

#[test]
fn the_sexes_differ() {
    let m = model();
    let (mut longer, mut wider) = (0, 0);
    for i in 0..20 {
        let l = founder(i, "sex", adult(Sex::Female));
        let man = m.look(&l, adult(Sex::Male)).unwrap();
        let woman = m.look(&l, adult(Sex::Female)).unwrap();
        longer += usize::from(woman.hair_len > man.hair_len);
        wider += usize::from(man.jaw_hw > woman.jaw_hw);
        assert_eq!(woman.beard + woman.stubble + woman.moustache, 0.0);
    }
    assert_eq!((longer, wider), (20, 20));
}

#[test]
fn every_feature_changes_the_look() {
    // A man in his fifties shows every feature (wrinkles, beard, greying).
    let who = subject(AgeGroup::Age50To59, Sex::Male);
    // Light eyes, so that the iris hue (which only tints light irises) shows too.
    let mut neutral = FaceParams::neutral();
    neutral.set(Feature::IrisDarkness, -2.0);
    let base = Look::new(&neutral, who);
    for &f in Feature::ALL {
        let mut p = neutral.clone();
        p.set(f, 3.0);
        assert_ne!(Look::new(&p, who), base, "{f:?} changes nothing");
    }
}

#[test]
fn every_region_group_changes_the_picture() {
    let m = model();
    // A man in his fifties, so that wrinkles and facial hair can show.
    let who = subject(AgeGroup::Age50To59, Sex::Male);
    let base = founder(5, "groups", who);
    let genome = m.encode(&[&base]).unwrap().remove(0);
    let render = |g: &Genome| {
        let l = decode_mean(g);
        m.render(&[&l], &[who]).unwrap().remove(0)
    };
    let reference = render(&genome);
    for group in RegionGroup::ALL {
        let mut g = genome.clone();
        for &r in group.regions() {
            for layer in 0..g.shape.layers {
                let o = g.shape.offset(layer, r);
                for v in &mut g.mean[o..o + g.shape.width] {
                    *v += 2.5;
                }
            }
        }
        let img = render(&g);
        let changed = img
            .rgb
            .iter()
            .zip(&reference.rgb)
            .filter(|(a, b)| a.abs_diff(**b) > 8)
            .count();
        assert!(
            changed > 40,
            "group {} changed only {changed} channel values",
            group.name()
        );
    }
}

#[test]
fn colour_pins_survive_the_fine_layer_step_and_unpinned_colours_average() {
    let m = model();
    let father = m
        .latent_from_rng(&mut stream(1, "f", Purpose::Founder), adult(Sex::Male))
        .unwrap();
    let mother = m
        .latent_from_rng(&mut stream(2, "m", Purpose::Founder), adult(Sex::Female))
        .unwrap();
    let mut pins = BTreeMap::new();
    pins.insert(Region::Iris, Inheritance::Mother);
    pins.insert(Region::Hair, Inheritance::Father);
    let mut child = Latent::zeros(father.layers, father.width);
    m.inherit_fine_layers(&mut child, &father, &mother, &pins);
    for f in Feature::ALL.iter().filter(|f| f.layer() == FINE_LAYER) {
        let i = f.latent_index();
        let regions: Vec<Region> = f.cells().iter().map(|(r, _)| *r).collect();
        let want = if regions.iter().all(|r| *r == Region::Iris) {
            mother.data[i]
        } else if regions.iter().all(|r| *r == Region::Hair) {
            father.data[i]
        } else {
            0.5 * (father.data[i] + mother.data[i])
        };
        assert_eq!(child.data[i], want, "{f:?}");
    }
    // The iris colour really is among the pinned features.
    let iris = Feature::IrisHue.latent_index();
    assert_eq!(child.data[iris], mother.data[iris]);
    assert_ne!(father.data[iris], mother.data[iris]);
}
