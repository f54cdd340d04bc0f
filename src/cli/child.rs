//! `famsim child`: the original StyleGene demo's operation on two W+ latents —
//! encode both parents, then the engine's reproduction step
//! ([`crate::engine::reproduce`]: cross over and mutate their genes, decode,
//! average the fine layers), then render.

use super::model_args::ModelArgs;
use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::engine::reproduce::{reproduce, ChildSpec, Parent};
use crate::error::{Error, Result};
use crate::exports::png::write_png;
use crate::genetics::CrossoverParams;
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
    /// The child's sex: male or female (as `sex:` in scenarios).
    #[arg(long, required_unless_present = "gender")]
    pub sex: Option<Sex>,
    /// Gene-pool ancestries to draw from (repeatable; default: all; as
    /// `ancestry:` in scenarios).
    #[arg(long)]
    pub ancestry: Vec<Ancestry>,
    /// Old spelling of --sex, still accepted with a note on stderr.
    #[arg(long, hide = true, conflicts_with = "sex")]
    pub gender: Option<Sex>,
    /// Old spelling of --ancestry, still accepted with a note on stderr.
    #[arg(long, hide = true, conflicts_with = "ancestry")]
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

impl ChildArgs {
    /// The child's sex and pool ancestries, from the current flags or their
    /// old spellings (which print a deprecation note).
    fn sex_and_ancestries(&self) -> Result<(Sex, Vec<Ancestry>)> {
        if self.gender.is_some() {
            eprintln!("warning: --gender is deprecated; use --sex (the scenario's word)");
        }
        if !self.race.is_empty() {
            eprintln!("warning: --race is deprecated; use --ancestry (the scenario's word)");
        }
        // clap already requires one of --sex and --gender and forbids both.
        let sex = self
            .sex
            .or(self.gender)
            .ok_or_else(|| Error::input("--sex is required"))?;
        let chosen = if self.race.is_empty() {
            &self.ancestry
        } else {
            &self.race
        };
        let ancestries = if chosen.is_empty() {
            Ancestry::ALL.to_vec()
        } else {
            chosen.clone()
        };
        Ok((sex, ancestries))
    }
}

pub fn run(args: ChildArgs) -> Result<()> {
    for (name, v) in [("--gamma", args.gamma), ("--eta", args.eta)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::input(format!("{name} {v} must lie in 0..=1")));
        }
    }
    let (sex, ancestries) = args.sex_and_ancestries()?;
    let model = args.model.load(Parts::All, true)?;
    let shape = model.gene_shape();
    let father = npy::read_latent(&args.father, Some(shape.layers), shape.width)?;
    let mother = npy::read_latent(&args.mother, Some(shape.layers), shape.width)?;
    let mut genomes = model.encode(&[&father, &mother])?;
    let mother_genome = genomes.pop().expect("two latents encode to two genomes");
    let father_genome = genomes.pop().expect("two latents encode to two genomes");

    let child = ChildSpec {
        id: CHILD_ID,
        age: args.age,
        sex,
        ancestries: &ancestries,
        params: CrossoverParams {
            gamma: args.gamma,
            eta: args.eta,
            lean: 0.0,
        },
        pins: &BTreeMap::new(),
    };
    let (conception, latent) = reproduce(
        model.as_ref(),
        Parent {
            genome: &father_genome,
            latent: &father,
        },
        Parent {
            genome: &mother_genome,
            latent: &mother,
        },
        &child,
        args.seed,
    )?;
    if let Some(w) = &conception.warning {
        eprintln!("warning: {w}");
    }
    let subject = Subject {
        age: args.age,
        sex,
        ancestry: None,
    };
    let image = model.render(&[&latent], &[subject])?.remove(0);
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    npy::write_latent(&args.out.join("child.npy"), &latent)?;
    write_png(&args.out.join("child.png"), &image)?;
    let from = |what: &str| {
        conception
            .genes
            .origins
            .iter()
            .filter(|o| o.dominant() == what)
            .count()
    };
    println!(
        "child ({} {}): {} regions mostly from the father, {} from the mother, {} from the pool ({}) → {}",
        args.age,
        sex,
        from("father"),
        from("mother"),
        from("pool"),
        conception
            .pool_keys
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.join("child.png").display()
    );
    Ok(())
}
