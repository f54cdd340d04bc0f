//! famsim's own folders: a run (one `manifest.json`, one family) and a
//! dataset (`families.csv` for the splits, a `manifest.json` per family).
//! Relations and kinship coefficients come from the pedigree the manifests
//! describe, through the same code `famsim dataset` writes `pairs.csv` with
//! (`crate::dataset::relations`).

use super::super::{EvalFamily, EvalPerson, EvalSet, Kin, Layout};
use super::csv::table;
use crate::dataset::relations::kin_pairs;
use crate::dataset::splits::Split;
use crate::error::{Error, Result};
use crate::exports::manifest::Manifest;
use crate::genetics::CrossoverParams;
use crate::pedigree::{FounderGenes, Pedigree, Person};
use std::collections::HashMap;
use std::path::Path;

/// A `famsim run` folder.
pub fn read_run(dir: &Path) -> Result<EvalSet> {
    let mut set = EvalSet {
        root: dir.to_path_buf(),
        layout: Layout::Run,
        families: Vec::new(),
        people: Vec::new(),
        kin: Vec::new(),
    };
    let path = dir.join("manifest.json");
    let manifest = Manifest::read(&path)?;
    add_family(
        &mut set,
        &manifest.scenario.clone(),
        None,
        &manifest,
        dir,
        &path,
    )?;
    Ok(set)
}

/// A `famsim dataset` folder.
pub fn read_dataset(dir: &Path) -> Result<EvalSet> {
    let mut set = EvalSet {
        root: dir.to_path_buf(),
        layout: Layout::Dataset,
        families: Vec::new(),
        people: Vec::new(),
        kin: Vec::new(),
    };
    let list = dir.join("families.csv");
    let text = std::fs::read_to_string(&list).map_err(|e| Error::io(&list, e))?;
    let bad =
        |line: usize, what: String| Error::input(format!("{}:{line}: {what}", list.display()));
    let Some((header, rows)) = table(&text) else {
        return Err(bad(
            1,
            "empty table; a dataset lists its families here".into(),
        ));
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("no `{name}` column")))
    };
    let (fid_col, split_col) = (column("fid")?, column("split")?);
    for (line, row) in rows {
        let fid = row
            .get(fid_col)
            .ok_or_else(|| bad(line, "missing fid".into()))?;
        let split = row.get(split_col).map(String::as_str).unwrap_or("");
        let split = Split::ALL
            .into_iter()
            .find(|s| s.label() == split)
            .ok_or_else(|| bad(line, format!("split `{split}` is not train, val or test")))?;
        let family_dir = dir.join(fid);
        let path = family_dir.join("manifest.json");
        if !path.is_file() {
            return Err(bad(line, format!("family {fid} has no {}", path.display())));
        }
        let manifest = Manifest::read(&path)?;
        add_family(&mut set, fid, Some(split), &manifest, &family_dir, &path)?;
    }
    Ok(set)
}

/// Adds one family from its manifest; image paths are relative to `base`.
fn add_family(
    set: &mut EvalSet,
    fid: &str,
    split: Option<Split>,
    manifest: &Manifest,
    base: &Path,
    path: &Path,
) -> Result<()> {
    let family = set.families.len();
    set.families.push(EvalFamily {
        fid: fid.to_string(),
        split,
        complete: true,
    });
    let first = set.people.len();
    let index: HashMap<&str, usize> = manifest
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), first + i))
        .collect();
    let parent = |id: &Option<String>, role: &str, of: &str| -> Result<Option<usize>> {
        match id {
            None => Ok(None),
            Some(id) => index.get(id.as_str()).copied().map(Some).ok_or_else(|| {
                Error::input(format!(
                    "{}: person `{of}`: {role} `{id}` is not in the manifest",
                    path.display()
                ))
            }),
        }
    };
    for p in &manifest.people {
        let params = match (p.gamma, p.eta) {
            (Some(gamma), Some(eta)) => Some(CrossoverParams {
                gamma,
                eta,
                lean: p.lean.unwrap_or(0.0),
            }),
            _ => None,
        };
        set.people.push(EvalPerson {
            id: p.id.clone(),
            family,
            sex: Some(p.sex),
            age: Some(p.age_group),
            images: vec![base.join(&p.image)],
            father: parent(&p.father, "father", &p.id)?,
            mother: parent(&p.mother, "mother", &p.id)?,
            regions: p.regions.clone(),
            params,
            genes_known: p.father.is_none() || !p.regions.is_empty(),
        });
    }
    let people: Vec<Person> = manifest
        .people
        .iter()
        .map(|p| Person {
            id: p.id.clone(),
            name: p.name.clone(),
            surname: None,
            sex: p.sex,
            age: p.age_group,
            ancestry: if p.father.is_none() {
                p.ancestry.clone()
            } else {
                Vec::new()
            },
            father: p.father.clone(),
            mother: p.mother.clone(),
            params: CrossoverParams::default(),
            overrides: Default::default(),
            founder_genes: FounderGenes::default(),
            seed: None,
        })
        .collect();
    let pedigree = Pedigree::new(people).map(|(p, _)| p).map_err(|issues| {
        Error::input(format!(
            "{}: the people do not form a valid family: {}",
            path.display(),
            issues
                .iter()
                .filter(|i| i.is_error)
                .map(|i| format!("person `{}`: {}", i.person, i.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    for pair in kin_pairs(&pedigree) {
        let (a, b) = (pedigree.person(pair.a), pedigree.person(pair.b));
        set.kin.push(Kin {
            a: index[a.id.as_str()],
            b: index[b.id.as_str()],
            relation: Some(pair.relation),
            kinship: pair.kinship,
        });
    }
    Ok(())
}
