//! `famsim child`: the original StyleGene demo's operation on two parents —
//! W+ latents, or ordinary photos (`--father-photo`, `--mother-photo`) that
//! are aligned, classified by FairFace and inverted by e4e as the demo does —
//! then encode both, the engine's reproduction step
//! ([`crate::engine::reproduce`]: cross over and mutate their genes, decode,
//! average the fine layers) and render. With photos and FairFace, the gene
//! pool is searched under the set of the parents' predicted races (the
//! demo's `{father_race, mother_race}`) unless `--ancestry` says otherwise.

use super::model_args::ModelArgs;
use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::engine::reproduce::{reproduce, ChildSpec, Parent};
use crate::error::{Error, Result};
use crate::exports::contact_sheet::labelled_row;
use crate::exports::png::write_png;
use crate::genetics::CrossoverParams;
use crate::io::npy;
use crate::model::stylegene::face_model::NeuralFaceModel;
use crate::model::stylegene::face_model::Parts;
use crate::model::{Image, Latent, Subject};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The random-stream name of the child (streams also take `--seed`).
const CHILD_ID: &str = "child";

#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Father's W+ latent, [N, W] or [1, N, W].
    #[arg(long, value_name = "W.npy", required_unless_present = "father_photo")]
    pub father: Option<PathBuf>,
    /// Mother's W+ latent.
    #[arg(long, value_name = "W.npy", required_unless_present = "mother_photo")]
    pub mother: Option<PathBuf>,
    /// Father's photo (PNG or JPEG), aligned first (the largest face).
    #[arg(long, value_name = "PHOTO", conflicts_with = "father")]
    pub father_photo: Option<PathBuf>,
    /// Mother's photo, aligned first.
    #[arg(long, value_name = "PHOTO", conflicts_with = "mother")]
    pub mother_photo: Option<PathBuf>,
    /// The photos already are aligned square crops: encode them as they are.
    #[arg(long)]
    pub no_align: bool,
    /// The child's age group: 0-2, 3-9, 10-19, …, 70+.
    #[arg(long)]
    pub age: AgeGroup,
    /// The child's sex: male or female (as `sex:` in scenarios).
    #[arg(long, required_unless_present = "gender")]
    pub sex: Option<Sex>,
    /// Gene-pool ancestries to draw from (repeatable; as `ancestry:` in
    /// scenarios). Default: the parents' races predicted from their photos
    /// by FairFace, else all.
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
    /// Folder for child.png and child.npy (W+, [1, N, W]); from photos also
    /// father.png and mother.png (aligned), sheet.png (father | mother |
    /// child) and parents.json (their predicted attributes).
    #[arg(long, value_name = "DIR", default_value = "child")]
    pub out: PathBuf,
}

impl ChildArgs {
    /// The child's sex and pool ancestries, from the current flags or their
    /// old spellings (which print a deprecation note).
    fn sex_and_ancestries(&self) -> Result<(Sex, Option<Vec<Ancestry>>)> {
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
        let ancestries = (!chosen.is_empty()).then(|| chosen.clone());
        Ok((sex, ancestries))
    }
}

pub fn run(args: ChildArgs) -> Result<()> {
    for (name, v) in [("--gamma", args.gamma), ("--eta", args.eta)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::input(format!("{name} {v} must lie in 0..=1")));
        }
    }
    let (sex, chosen) = args.sex_and_ancestries()?;
    let model = args.model.load(Parts::All, true)?;
    let father = parent(
        model.as_ref(),
        "father",
        &args.father,
        &args.father_photo,
        args.no_align,
    )?;
    let mother = parent(
        model.as_ref(),
        "mother",
        &args.mother,
        &args.mother_photo,
        args.no_align,
    )?;
    let predicted: Vec<Ancestry> = [&father, &mother]
        .iter()
        .filter_map(|p| p.attributes.as_ref().map(|s| s.ancestry().0))
        .fold(Vec::new(), |mut set, a| {
            if !set.contains(&a) {
                set.push(a);
            }
            set
        });
    let photos = father.crop.is_some() || mother.crop.is_some();
    let ancestries = match chosen {
        Some(chosen) => chosen,
        // The demo searches the pool under every distinct race of the two
        // parents; a parent given as a latent has none to add.
        None if !predicted.is_empty() => predicted,
        None => {
            if photos {
                eprintln!(
                    "note: {} has no FairFace model, so the parents' races are not predicted \
                     and the pool is searched under every ancestry; `famsim weights import ... \
                     --fairface res34_fair_align_multi_7_20190809.pt` adds it, or give --ancestry",
                    args.model.weights.display()
                );
            }
            Ancestry::ALL.to_vec()
        }
    };
    let (father, father_parent) = (father.latent.clone(), father);
    let (mother, mother_parent) = (mother.latent.clone(), mother);
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
    if photos {
        write_parents(&args.out, &father_parent, &mother_parent, &image)?;
    }
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

/// A parent as the command got it: the latent, and from a photo also the
/// aligned crop and FairFace's prediction (when the weights have FairFace).
struct ParentInput {
    latent: Latent,
    crop: Option<Image>,
    attributes: Option<crate::attributes::AttributeScores>,
    photo: Option<PathBuf>,
}

/// Reads a parent's latent file, or aligns, classifies and inverts their photo.
fn parent(
    model: &dyn NeuralFaceModel,
    role: &str,
    latent: &Option<PathBuf>,
    photo: &Option<PathBuf>,
    no_align: bool,
) -> Result<ParentInput> {
    let shape = model.gene_shape();
    match (latent, photo) {
        (Some(path), None) => Ok(ParentInput {
            latent: npy::read_latent(path, Some(shape.layers), shape.width)?,
            crop: None,
            attributes: None,
            photo: None,
        }),
        (None, Some(path)) => {
            let crop = if no_align {
                crate::io::photo::read_photo(path)?
            } else {
                let found = model.align_photo(path, 1)?;
                for warning in &found.warnings {
                    eprintln!("warning: {warning}");
                }
                found.aligned.image
            };
            let attributes = match model.has_attributes() {
                true => model
                    .attributes(&[&crop])
                    .map_err(|e| Error::input(format!("{}: {e}", path.display())))?
                    .pop(),
                false => None,
            };
            if let Some(s) = &attributes {
                eprintln!("{role} ({}): {}", path.display(), s.summary());
            }
            Ok(ParentInput {
                latent: model.latent_from_crop(&crop, path)?,
                crop: Some(crop),
                attributes,
                photo: Some(path.clone()),
            })
        }
        _ => Err(Error::input(format!(
            "give the {role} as --{role} W.npy or --{role}-photo PHOTO, one of the two"
        ))),
    }
}

/// father.png, mother.png (the aligned crops), sheet.png and parents.json.
fn write_parents(
    out: &std::path::Path,
    father: &ParentInput,
    mother: &ParentInput,
    child: &Image,
) -> Result<()> {
    let mut tiles: Vec<(&str, &Image)> = vec![];
    let mut records = serde_json::Map::new();
    for (role, p) in [("father", father), ("mother", mother)] {
        if let Some(crop) = &p.crop {
            write_png(&out.join(format!("{role}.png")), crop)?;
            tiles.push((role, crop));
        }
        let record = serde_json::json!({
            "photo": p.photo.as_ref().map(|p| p.display().to_string()),
            "attributes": p.attributes.as_ref().map(|s| s.report()),
        });
        records.insert(role.to_string(), record);
    }
    tiles.push(("child", child));
    write_png(&out.join("sheet.png"), &labelled_row(&tiles, 256))?;
    let json = serde_json::to_string_pretty(&records)
        .map_err(|e| Error::internal(format!("parents.json: {e}")))?;
    crate::exports::atomic::write_atomic(&out.join("parents.json"), format!("{json}\n").as_bytes())
}
