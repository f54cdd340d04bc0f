//! famsim as a library: build a small family in code, simulate it with the
//! built-in procedural face model, write the run directory, and read the
//! manifest back.
//!
//!     cargo run --example pedigree_in_code -- /tmp/famsim-example

use famsim::attributes::{AgeGroup, Ancestry, Sex};
use famsim::engine::{people_dir_images, simulate, ProgressReport, RunOptions};
use famsim::exports::manifest::Manifest;
use famsim::exports::write_run_outputs;
use famsim::genetics::{CrossoverParams, Inheritance, Region};
use famsim::model::procedural::ProceduralModel;
use famsim::pedigree::{Pedigree, Person};
use famsim::scenario::format::FounderGenes;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn person(id: &str, sex: Sex, age: AgeGroup) -> Person {
    Person {
        id: id.into(),
        name: id.into(),
        surname: None,
        sex,
        age,
        ancestry: Vec::new(),
        father: None,
        mother: None,
        params: CrossoverParams::default(),
        overrides: BTreeMap::new(),
        founder_genes: FounderGenes::Pool,
        seed: None,
    }
}

fn founder(id: &str, sex: Sex, ancestry: Ancestry) -> Person {
    Person {
        ancestry: vec![ancestry],
        ..person(id, sex, AgeGroup::Age30To39)
    }
}

fn child(id: &str, sex: Sex, age: AgeGroup) -> Person {
    Person {
        father: Some("dad".into()),
        mother: Some("mum".into()),
        ..person(id, sex, age)
    }
}

fn main() -> famsim::Result<()> {
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("famsim-example"));

    // Two parents and three children; the youngest has her mother's eyes.
    let mut youngest = child("lea", Sex::Female, AgeGroup::Age0To2);
    for &r in famsim::genetics::RegionGroup::Eyes.regions() {
        youngest.overrides.insert(r, Inheritance::Mother);
    }
    youngest.overrides.insert(Region::Hair, Inheritance::Father);
    let people = vec![
        founder("dad", Sex::Male, Ancestry::White),
        founder("mum", Sex::Female, Ancestry::EastAsian),
        child("tom", Sex::Male, AgeGroup::Age10To19),
        child("ana", Sex::Female, AgeGroup::Age3To9),
        youngest,
    ];
    let (pedigree, warnings) =
        Pedigree::new(people).map_err(|issues| famsim::Error::input(format!("{issues:?}")))?;
    for w in warnings {
        eprintln!("warning: {} {}", w.person, w.message);
    }

    let model = ProceduralModel::new(192)?;
    let opts = RunOptions {
        out_dir: out_dir.clone(),
        seed: 2024,
        scenario_name: "family built in code".into(),
        threads: None,
        resume: false,
        progress: ProgressReport::Bar,
        image_name: people_dir_images(),
        cluster: None,
    };
    let report = simulate(&pedigree, &model, &opts)?;
    write_run_outputs(&report.manifest, &out_dir)?;

    let manifest = Manifest::read(&out_dir.join("manifest.json"))?;
    for p in &manifest.people {
        let from_mother = p
            .regions
            .iter()
            .filter(|r| r.origin.dominant() == "mother")
            .count();
        println!(
            "{:4} gen {} {:>6} {:5} → {} ({} of 34 regions mostly from the mother)",
            p.id, p.generation, p.sex, p.age_group, p.image, from_mother
        );
    }
    println!("open {}", out_dir.join("index.html").display());
    Ok(())
}
