//! Reading a folder to evaluate. Three layouts are recognised, by what is
//! in the folder and not by its name:
//! - a `famsim run` folder: `manifest.json` at the top;
//! - a `famsim dataset` folder: `families.csv` and a `manifest.json` in every
//!   `FIDxxxx` folder;
//! - Families In the Wild: family folders `F####` (or `FID####`) holding
//!   `MID#` member folders of face images and the relationship matrix
//!   `mid.csv`, either directly or under `FIDs/`.
//!
//! Anything else — a missing, empty or unrecognised folder — is bad input
//! (exit code 2) and the message names the folder and what was looked for.

pub mod csv;
pub mod famsim;
pub mod fiw;

use super::EvalSet;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Reads `dir` in whichever layout it has.
pub fn read(dir: &Path) -> Result<EvalSet> {
    if !dir.exists() {
        return Err(Error::input(format!(
            "{}: no such folder to evaluate",
            dir.display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "{}: is a file; `famsim eval` takes a run, dataset or Families-in-the-Wild folder",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .count();
    if entries == 0 {
        return Err(Error::input(format!(
            "{}: the folder is empty; `famsim eval` takes a run, dataset or Families-in-the-Wild folder",
            dir.display()
        )));
    }
    let set = if dir.join("manifest.json").is_file() {
        famsim::read_run(dir)?
    } else if dir.join("families.csv").is_file() {
        famsim::read_dataset(dir)?
    } else if let Some(root) = fiw_root(dir)? {
        fiw::read(dir, &root)?
    } else {
        return Err(Error::input(format!(
            "{}: not a folder famsim can evaluate: it has no manifest.json (a famsim run), \
             no families.csv (a famsim dataset) and no F####/mid.csv family folders \
             (Families in the Wild, directly or under FIDs/)",
            dir.display()
        )));
    };
    if set.people.is_empty() {
        return Err(Error::input(format!(
            "{}: the {} has no people in it",
            dir.display(),
            set.layout.label()
        )));
    }
    Ok(set)
}

/// A family folder name of FIW's kind: `F0001` or `FID0001`.
pub fn is_family_folder(name: &str) -> bool {
    let digits = name
        .strip_prefix("FID")
        .or_else(|| name.strip_prefix('F'))
        .unwrap_or("");
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// The folder holding FIW's family folders: `dir` or `dir/FIDs`, when one of
/// its family folders has a `mid.csv`.
fn fiw_root(dir: &Path) -> Result<Option<PathBuf>> {
    for candidate in [dir.join("FIDs"), dir.to_path_buf()] {
        if !candidate.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&candidate).map_err(|e| Error::io(&candidate, e))? {
            let entry = entry.map_err(|e| Error::io(&candidate, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_family_folder(&name) && entry.path().join("mid.csv").is_file() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}
