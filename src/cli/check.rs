//! `famsim check`: validate a scenario and summarise it, writing nothing.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::error::{Error, Result};
use crate::model::stylegene::weights::{self, ModelInfo};
use crate::pedigree::Pedigree;
use crate::scenario::diagnostics::{Diagnostic, Source};
use crate::scenario::format::{FounderGenes, ModelSpec, ScenarioFile};
use crate::scenario::{self, LoadedScenario};
use petgraph::graph::NodeIndex;
use std::fmt::Write as _;
use std::path::Path;

/// Validates the scenario at `path` and prints its summary to stdout.
pub fn check(path: &Path) -> Result<()> {
    let photos = crate::engine::photo_founders::FairFacePhotos::for_check();
    let loaded = scenario::load_with(path, Some(&photos))?;
    weights_needed(&loaded)?;
    print!("{}", summary(&loaded));
    Ok(())
}

/// For the neural model with a weights folder that exists: the files `famsim
/// run` will load from it (generator, mappings, the gene pool children draw
/// from, and the photo encoder when a founder comes from a photo), so that
/// `check` does not call valid a scenario that `run` then refuses. A folder
/// that does not exist yet is only a warning, given by validation.
fn weights_needed(loaded: &LoadedScenario) -> Result<()> {
    let ModelSpec::StyleGene(spec) = &loaded.file.model else {
        return Ok(());
    };
    // The folder exactly as `famsim run` finds it.
    let dir = weights::resolve_weights_dir(&spec.weights, &loaded.path);
    if spec.weights.trim().is_empty() || !dir.is_dir() {
        return Ok(());
    }
    let text = scenario::read_text(&loaded.path, "scenario")?;
    let source = Source::new(&loaded.path, &text);
    let tree = scenario::source::parse(&text);
    let weights_span = tree.as_ref().and_then(|t| {
        let model = t.field("model")?.value.unwrap_some().variant_struct();
        model
            .value_span("weights")
            .or_else(|| t.value_span("model"))
    });
    let shown = dir.display();
    let info = match ModelInfo::read(&dir) {
        Ok(info) => info,
        // Not a weights folder at all: one error says it all.
        Err(e) => {
            let d = Diagnostic::error(weights_span, e.to_string());
            return Err(Error::Scenario(source.report(&[d])));
        }
    };
    let mut errors = Vec::new();
    let needed = [
        (weights::GENERATOR_FILE, "the generator"),
        (weights::MAPPINGS_FILE, "the gene mappings"),
    ];
    for (file, what) in needed {
        if !dir.join(file).is_file() {
            errors.push(
                Diagnostic::error(
                    weights_span.clone(),
                    format!("weights folder {shown} has no {file} ({what})"),
                )
                .help(
                    "import the weights again with `famsim weights import` (see weights/README.md)",
                ),
            );
        }
    }
    if !dir.join(weights::POOL_FILE).is_file() {
        errors.push(
            Diagnostic::error(
                weights_span.clone(),
                format!(
                    "weights folder {shown} has no gene pool ({}); `famsim run` draws every child's \
                     mutated regions and pool founders from it",
                    weights::POOL_FILE
                ),
            )
            .help("import one with `famsim weights import --gene-pool`, or build one with `famsim pool build`"),
        );
    }
    // The test `famsim run` makes before it loads the encoder.
    let has_encoder =
        info.photo_encoder.is_some() && dir.join(weights::PHOTO_ENCODER_FILE).is_file();
    if !has_encoder {
        let people = tree
            .as_ref()
            .and_then(|t| t.field("people"))
            .map_or(&[][..], |f| f.value.items());
        for (entry, p) in loaded.file.people.iter().enumerate() {
            if !matches!(
                p.genes,
                Some(FounderGenes::Photo(_) | FounderGenes::AlignedPhoto(_))
            ) {
                continue;
            }
            let span = people.get(entry).and_then(|n| n.value_span("genes"));
            errors.push(
                Diagnostic::error(
                    span,
                    format!(
                        "founder from a photo, but weights folder {shown} has no photo encoder ({})",
                        weights::PHOTO_ENCODER_FILE
                    ),
                )
                .person(&p.id)
                .help("re-run `famsim weights import` with `--e4e e4e_ffhq_encode.pt` (see weights/README.md)"),
            );
        }
    }
    // Ordinary photos are aligned first, with the folder's landmark model
    // and face detector.
    if info.landmarks.is_none() || info.detector.is_none() {
        let people = tree
            .as_ref()
            .and_then(|t| t.field("people"))
            .map_or(&[][..], |f| f.value.items());
        for (entry, p) in loaded.file.people.iter().enumerate() {
            if !matches!(p.genes, Some(FounderGenes::Photo(_))) {
                continue;
            }
            let span = people.get(entry).and_then(|n| n.value_span("genes"));
            errors.push(
                Diagnostic::error(
                    span,
                    format!(
                        "founder from a photo, which is aligned first, but weights folder {shown} \
                         has no landmark model and face detector"
                    ),
                )
                .person(&p.id)
                .help("re-run `famsim weights import` with `--landmarks FILE --detector FILE` (see weights/README.md), or write `AlignedPhoto(\"crop.png\")` for a crop that already is aligned"),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Scenario(source.report(&errors)))
    }
}

/// The text `famsim check` prints: the settings, everyone by generation, the
/// founders, the couples and the warnings.
pub fn summary(loaded: &LoadedScenario) -> String {
    let ped = &loaded.pedigree;
    let file = &loaded.file;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {:?}", loaded.path.display(), file.name);
    let _ = writeln!(s, "  model:      {}", describe_model(&file.model));
    let _ = writeln!(s, "  image size: {} px", file.image_size);
    let _ = writeln!(s, "  seed:       {}", file.seed);
    let _ = writeln!(
        s,
        "  defaults:   gamma {}, eta {}",
        file.defaults.gamma, file.defaults.eta
    );

    let _ = writeln!(s, "\npeople: {}", ped.len());
    let gens = ped.generations();
    let _ = writeln!(
        s,
        "generations: {} ({})",
        gens.len(),
        gens.iter()
            .enumerate()
            .map(|(i, g)| format!("{i}: {}", g.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows: Vec<[String; 6]> = gens
        .iter()
        .flatten()
        .map(|&n| describe_person(ped, file, n))
        .collect();
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut rows = rows.into_iter();
    for (i, generation) in gens.iter().enumerate() {
        let _ = writeln!(s, "  generation {i}:");
        for row in rows.by_ref().take(generation.len()) {
            let mut line = String::from("    ");
            for (cell, width) in row.iter().zip(&widths).filter(|(_, w)| **w > 0) {
                let _ = write!(line, "{cell:<width$}  ");
            }
            line.push_str(&row[5]);
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }

    let founders: Vec<&str> = ped
        .people()
        .filter(|(_, p)| p.is_founder())
        .map(|(_, p)| p.id.as_str())
        .collect();
    let _ = writeln!(
        s,
        "\nfounders: {} ({})",
        founders.len(),
        founders.join(", ")
    );

    let couples = ped.couples();
    let _ = writeln!(s, "couples: {}", couples.len());
    for (f, m) in couples {
        let children: Vec<&str> = ped
            .children(f)
            .into_iter()
            .filter(|&c| ped.mother(c) == Some(m))
            .map(|c| ped.person(c).id.as_str())
            .collect();
        let _ = writeln!(
            s,
            "  {} + {}: {} child{} ({})",
            ped.person(f).id,
            ped.person(m).id,
            children.len(),
            if children.len() == 1 { "" } else { "ren" },
            children.join(", ")
        );
    }

    if !loaded.predictions.is_empty() {
        let _ = writeln!(s, "\npredicted from photos (FairFace):");
        for p in &loaded.predictions {
            let _ = writeln!(s, "  {} ({:?}):", p.id, p.photo);
            let (sc, list) = (&p.scores, |pairs: Vec<(String, f32)>| {
                let mut pairs: Vec<_> = pairs.into_iter().filter(|(_, v)| *v >= 0.005).collect();
                pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
                pairs
                    .iter()
                    .map(|(l, v)| format!("{l} {v:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            let heads = [
                (
                    "sex",
                    list(
                        Sex::ALL
                            .iter()
                            .map(|x| format!("{x:?}"))
                            .zip(sc.sex)
                            .collect(),
                    ),
                ),
                (
                    "age",
                    list(
                        AgeGroup::ALL
                            .iter()
                            .map(|x| format!("\"{x}\""))
                            .zip(sc.age)
                            .collect(),
                    ),
                ),
                (
                    "ancestry",
                    list(
                        Ancestry::ALL
                            .iter()
                            .map(|x| format!("{x:?}"))
                            .zip(sc.ancestry)
                            .collect(),
                    ),
                ),
            ];
            for (field, probabilities) in heads {
                let how = if p.filled.contains(&field) {
                    "predicted; the scenario leaves it out"
                } else {
                    "the scenario states it"
                };
                let _ = writeln!(s, "    {field:<9} {probabilities} ({how})");
            }
        }
    }

    let _ = writeln!(s, "\nwarnings: {}", loaded.warnings.len());
    for w in &loaded.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    let _ = writeln!(s, "\nok: the scenario is valid");
    s
}

fn describe_model(model: &ModelSpec) -> String {
    match model {
        ModelSpec::Procedural => "procedural".into(),
        ModelSpec::StyleGene(spec) => format!(
            "StyleGene (weights {:?}, device {:?}, batch {}, truncation {})",
            spec.weights, spec.device, spec.batch, spec.truncation
        ),
    }
}

/// One row per person: id, display name (when it differs), sex, age,
/// ancestry, then parents and overrides or the founder's gene source.
fn describe_person(ped: &Pedigree, file: &ScenarioFile, n: NodeIndex) -> [String; 6] {
    let p = ped.person(n);
    let ancestry = ped
        .ancestry(n)
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join("+");
    let name = if p.name == p.id {
        String::new()
    } else {
        format!("{:?}", p.name)
    };
    let rest = match (ped.father(n), ped.mother(n)) {
        (Some(f), Some(m)) => {
            let mut rest = format!("child of {} + {}", ped.person(f).id, ped.person(m).id);
            let _ = write!(rest, ", gamma {} eta {}", p.params.gamma, p.params.eta);
            if let Some(spec) = file.people.iter().find(|s| s.id == p.id) {
                if !spec.regions.is_empty() {
                    let pins: Vec<String> = spec
                        .regions
                        .iter()
                        .map(|(k, how)| format!("{} {how:?}", k.0))
                        .collect();
                    let _ = write!(rest, ", regions: {}", pins.join(", "));
                }
            }
            rest
        }
        _ => match &p.founder_genes {
            FounderGenes::Pool => "founder, genes from the pool".to_string(),
            FounderGenes::Seed(seed) => format!("founder, genes from seed {seed}"),
            FounderGenes::Latent(path) => format!("founder, genes from latent {path:?}"),
            FounderGenes::Photo(path) => format!("founder, genes from photo {path:?}"),
            FounderGenes::AlignedPhoto(path) => {
                format!("founder, genes from aligned photo {path:?}")
            }
        },
    };
    [
        p.id.clone(),
        name,
        p.sex.to_string(),
        p.age.to_string(),
        ancestry,
        rest,
    ]
}
