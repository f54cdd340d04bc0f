//! The two scenario fields the designer (`famsim serve`) edits beyond the
//! method's own: a child's `lean` (father ↔ mother) and a person's own
//! `seed` (a re-roll of that person alone), through `famsim run` itself.

mod common;

use common::famsim_ok;
use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::{crossover, CrossoverParams, GeneShape, Genome, RegionOrigin};
use std::collections::BTreeMap;
use std::path::Path;

/// Runs `text` (a scenario) at 64 px and returns the run folder.
fn run_text(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let scenario = dir.join(format!("{name}.ron"));
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join(name);
    famsim_ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    out
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// `lean: 0.0` written out is the method's rule exactly: the daughter keeps
/// the golden SHA-256 that tests/cli_run.rs pins for the scenario without it.
#[test]
fn lean_zero_keeps_the_golden_bytes() {
    const DAUGHTER_SHA256: &str =
        "edd44d6d6338f39f61a8494be238aa9d4ebf909f9a6df3962b25321adc272f80";
    let dir = tempfile::tempdir().unwrap();
    let text = include_str!("../scenarios/two_parents_one_child.ron")
        .replace("mother: \"mother\")", "mother: \"mother\", lean: 0.0)");
    assert!(text.contains("lean: 0.0"));
    let out = run_text(dir.path(), "zero", &text);
    assert_eq!(sha256(&out.join("people/daughter.png")), DAUGHTER_SHA256);
}

fn blends(params: CrossoverParams, seed: u64) -> Vec<(f32, f32, f32)> {
    let shape = GeneShape {
        layers: 1,
        width: 2,
    };
    let father = Genome::zeros(shape);
    let mother = Genome::zeros(shape);
    let pool = [Genome::zeros(shape)];
    let refs: Vec<&Genome> = pool.iter().collect();
    crossover(
        &father,
        &mother,
        &refs,
        params,
        &BTreeMap::new(),
        &mut stream(seed, "child", Purpose::Crossover),
    )
    .origins
    .iter()
    .filter_map(|o| match *o {
        RegionOrigin::Blend {
            father,
            pool,
            mother,
        } => Some((father, pool, mother)),
        _ => None,
    })
    .collect()
}

/// The formula: w' = w + L·((1 − γ) − w) for L ≥ 0, w·(1 + L) for L < 0.
#[test]
fn lean_shifts_the_blend_weight_by_its_formula() {
    let gamma = 0.47f32;
    let span = 1.0 - gamma;
    for seed in 0..20 {
        let at = |lean| {
            blends(
                CrossoverParams {
                    gamma,
                    eta: 0.4,
                    lean,
                },
                seed,
            )
        };
        let (plain, father, mother, half) = (at(0.0), at(1.0), at(-1.0), at(0.5));
        assert_eq!(plain.len(), father.len());
        for i in 0..plain.len() {
            let w = plain[i].0;
            assert_eq!(
                father[i].0, span,
                "lean 1: all of the parents' share is the father's"
            );
            assert!(father[i].2.abs() < 1e-6, "{}", father[i].2);
            assert_eq!(mother[i].0, 0.0, "lean -1: all of it is the mother's");
            assert!((mother[i].2 - span).abs() < 1e-6);
            assert!((half[i].0 - (w + 0.5 * (span - w))).abs() < 1e-6);
            assert!(half[i].0 >= 0.5 * span - 1e-6);
            assert_eq!(father[i].1, gamma, "the pool's share never moves");
        }
    }
}

/// How much of a child's blended regions came from the father, summed over
/// the manifest's region records.
fn father_share(run: &Path, child: &str) -> f64 {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let person = manifest["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == child)
        .unwrap();
    person["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "blend")
        .map(|r| r["father"].as_f64().unwrap() - r["mother"].as_f64().unwrap())
        .sum()
}

#[test]
fn famsim_run_honours_lean_towards_either_parent() {
    let dir = tempfile::tempdir().unwrap();
    let with = |lean: &str| {
        include_str!("../scenarios/two_parents_one_child.ron").replace(
            "mother: \"mother\")",
            &format!("mother: \"mother\", lean: {lean})"),
        )
    };
    let plain = run_text(dir.path(), "plain", &with("0.0"));
    let father = run_text(dir.path(), "father", &with("1.0"));
    let mother = run_text(dir.path(), "mother", &with("-1.0"));
    let (p, f, m) = (
        father_share(&plain, "daughter"),
        father_share(&father, "daughter"),
        father_share(&mother, "daughter"),
    );
    assert!(f > p && p > m, "father {f}, plain {p}, mother {m}");
    assert_ne!(
        sha256(&father.join("people/daughter.png")),
        sha256(&mother.join("people/daughter.png"))
    );
    // The parents are not touched by their daughter's lean.
    for who in ["father", "mother"] {
        let png = format!("people/{who}.png");
        assert_eq!(sha256(&plain.join(&png)), sha256(&father.join(&png)));
    }
}

/// A person's own `seed` re-rolls them alone: everyone who does not
/// descend from them keeps their bytes; they and their children change.
#[test]
fn a_person_seed_rerolls_that_person_and_their_descendants_only() {
    let dir = tempfile::tempdir().unwrap();
    let original = include_str!("../scenarios/three_gen.ron");
    let rerolled = original.replace(
        "father: \"kenji\", mother: \"aiko\"),",
        "father: \"kenji\", mother: \"aiko\", seed: 99),",
    );
    assert_ne!(original, rerolled);
    let before = run_text(dir.path(), "before", original);
    let after = run_text(dir.path(), "after", &rerolled);
    let same = |id: &str| {
        let png = format!("people/{id}.png");
        sha256(&before.join(&png)) == sha256(&after.join(&png))
    };
    for id in ["arthur", "margaret", "kenji", "aiko", "david"] {
        assert!(same(id), "{id} changed although yuki alone was re-rolled");
    }
    assert!(!same("yuki"), "yuki's re-roll did not change her face");
    for id in ["emma", "leo", "hana"] {
        assert!(!same(id), "{id}, yuki's child, kept the old mother's genes");
    }
    // A founder drawn from the pool re-rolls too, and alone.
    let founder = original.replace(
        "sex: Female, age: \"60-69\", ancestry: White),",
        "sex: Female, age: \"60-69\", ancestry: White, seed: 5),",
    );
    let margaret = run_text(dir.path(), "margaret", &founder);
    let png = |run: &Path, id: &str| sha256(&run.join(format!("people/{id}.png")));
    assert_ne!(png(&before, "margaret"), png(&margaret, "margaret"));
    for id in ["arthur", "kenji", "aiko", "yuki"] {
        assert_eq!(png(&before, id), png(&margaret, id), "{id}");
    }
}
