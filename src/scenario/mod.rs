//! Scenario files: parsing RON, validating, and turning them into a [`Pedigree`].

pub mod format;

use crate::error::{Error, Result};
use crate::genetics::CrossoverParams;
use crate::pedigree::{Pedigree, Person};
use format::ScenarioFile;
use std::path::{Path, PathBuf};

/// A scenario that parsed and validated.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub file: ScenarioFile,
    pub pedigree: Pedigree,
    /// Implausible but legal things, already phrased for people.
    pub warnings: Vec<String>,
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<LoadedScenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))?;
    // `model: StyleGene(weights: "…")` without double parentheses.
    let file: ScenarioFile = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
        .from_str(&text)
        .map_err(|e| Error::Scenario(format!("{}: {e}", path.display())))?;
    let people = file
        .people
        .iter()
        .map(|p| {
            let mut overrides = std::collections::BTreeMap::new();
            for (key, how) in &p.regions {
                let sel = key.selector().map_err(|e| {
                    Error::Scenario(format!("{}: person `{}`: {e}", path.display(), p.id))
                })?;
                for r in sel.regions() {
                    overrides.insert(r, *how);
                }
            }
            Ok(Person {
                id: p.id.clone(),
                name: p.name.clone().unwrap_or_else(|| p.id.clone()),
                sex: p.sex,
                age: p.age,
                ancestry: p.ancestry.into_iter().collect(),
                father: p.father.clone(),
                mother: p.mother.clone(),
                params: CrossoverParams {
                    gamma: p.gamma.unwrap_or(file.defaults.gamma),
                    eta: p.eta.unwrap_or(file.defaults.eta),
                },
                overrides,
                founder_genes: p.genes.clone().unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (pedigree, issues) = Pedigree::new(people).map_err(|issues| {
        Error::Scenario(
            issues
                .iter()
                .filter(|i| i.is_error)
                .map(|i| format!("{}: person `{}` {}", path.display(), i.person, i.message))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        file,
        pedigree,
        warnings: issues
            .into_iter()
            .map(|i| format!("person `{}` {}", i.person, i.message))
            .collect(),
    })
}
