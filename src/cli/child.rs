//! `famsim child`: the original StyleGene demo's operation on two W+ latents —
//! encode both parents, cross over and mutate their genes, decode, average
//! the fine layers, render.

use super::render::{write_png, ModelArgs};
use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::error::{Error, Result};
use crate::genetics::rng::{stream, Purpose};
use crate::genetics::{crossover, CrossoverParams};
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use crate::model::Subject;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The random-stream name of the child (streams also take `--seed`).
const CHILD_ID: &str = "child";

#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Father's W+ latent, [N, W] or [1, N, W].
    #[arg(long, value_name = "W.npy")]
    pub father: PathBuf,
    /// Mother's W+ latent.
    #[arg(long, value_name = "W.npy")]
    pub mother: PathBuf,
    /// The child's age group: 0-2, 3-9, 10-19, …, 70+.
    #[arg(long)]
    pub age: AgeGroup,
    /// The child's gender: male or female.
    #[arg(long)]
    pub gender: Sex,
    /// Gene-pool races to draw from (repeatable; default: all).
    #[arg(long)]
    pub race: Vec<Ancestry>,
    /// Mutation strength.
    #[arg(long, default_value_t = 0.47)]
    pub gamma: f32,
    /// Share of regions replaced from the pool.
    #[arg(long, default_value_t = 0.4)]
    pub eta: f32,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder for child.png and child.npy (W+, [1, N, W]).
    #[arg(long, value_name = "DIR", default_value = "child")]
    pub out: PathBuf,
}

pub fn run(args: ChildArgs) -> Result<()> {
    for (name, v) in [("--gamma", args.gamma), ("--eta", args.eta)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::input(format!("{name} {v} must lie in 0..=1")));
        }
    }
    let model = args.model.load(Parts::All, true)?;
    let shape = model.gene_shape();
    let father = npy::read_latent(&args.father, Some(shape.layers), shape.width)?;
    let mother = npy::read_latent(&args.mother, Some(shape.layers), shape.width)?;
    let mut genomes = model.encode(&[&father, &mother])?;
    let mother_genome = genomes.pop().expect("two latents encode to two genomes");
    let father_genome = genomes.pop().expect("two latents encode to two genomes");

    let races = if args.race.is_empty() {
        Ancestry::ALL.to_vec()
    } else {
        args.race.clone()
    };
    let pool = model
        .gene_pool()
        .candidates(args.age, args.gender, &races)
        .map_err(Error::input)?;
    if let Some(w) = &pool.warning {
        eprintln!("warning: {w}");
    }
    let child = crossover(
        &father_genome,
        &mother_genome,
        &pool.entries,
        CrossoverParams {
            gamma: args.gamma,
            eta: args.eta,
        },
        &BTreeMap::new(),
        &mut stream(args.seed, CHILD_ID, Purpose::Crossover),
    );
    let gene = child
        .genome
        .sample(&mut stream(args.seed, CHILD_ID, Purpose::GeneSample));
    let mut latent = model.decode(&[&gene])?.remove(0);
    latent.average_fine_layers(&father, &mother, model.fine_layer_start());
    let subject = Subject {
        age: args.age,
        sex: args.gender,
        ancestry: None,
    };
    let image = model.render(&[&latent], &[subject])?.remove(0);
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    npy::write_latent(&args.out.join("child.npy"), &latent)?;
    write_png(&args.out.join("child.png"), &image)?;
    let from = |what: &str| {
        child
            .origins
            .iter()
            .filter(|o| o.dominant() == what)
            .count()
    };
    println!(
        "child ({} {}): {} regions mostly from the father, {} from the mother, {} from the pool ({}) → {}",
        args.age,
        args.gender,
        from("father"),
        from("mother"),
        from("pool"),
        pool.keys
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.join("child.png").display()
    );
    Ok(())
}
