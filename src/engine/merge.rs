//! Joins the run directories that the processes of a cluster wrote on their
//! own disks (no shared storage) into one run directory.
//!
//! Each process wrote the images of the people it owns; process 0 also wrote
//! the manifest (or, for a dataset, the tables and one manifest per family).
//! Merging copies every file into the output directory, checks that a file
//! found in several inputs is the same everywhere and that every person of
//! every manifest has an image, then rewrites the run's family-tree page and
//! contact sheet, which process 0 drew before the other processes' faces
//! were at hand.

use crate::error::{Error, Result};
use crate::exports::manifest::Manifest;
use crate::exports::write_run_outputs;
use crate::io::atomic::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// Files copied into the output directory.
    pub copied: usize,
    /// People in the merged manifest.
    pub people: usize,
}

/// Files every process may write with its own content: they describe one
/// process's view and are redrawn or ignored by the merge.
const REDRAWN: &[&str] = &["index.html", "contact_sheet.png"];

/// Merges `inputs` into `out` (which may be one of the inputs).
pub fn merge_run_dirs(inputs: &[PathBuf], out: &Path) -> Result<MergeReport> {
    if inputs.is_empty() {
        return Err(Error::input(
            "famsim merge needs at least one run directory",
        ));
    }
    // Relative path → the input directory it was first found in.
    let mut sources: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for dir in inputs {
        if !dir.is_dir() {
            return Err(Error::input(format!(
                "{} is not a run directory",
                dir.display()
            )));
        }
        for rel in files_under(dir)? {
            let redrawn = REDRAWN.iter().any(|r| rel == Path::new(r));
            match sources.get(&rel) {
                None => {
                    sources.insert(rel, dir.clone());
                }
                Some(first) if !redrawn => {
                    let (a, b) = (first.join(&rel), dir.join(&rel));
                    if read(&a)? != read(&b)? {
                        return Err(Error::input(format!(
                            "{} and {} differ: these directories are not parts of the same run",
                            a.display(),
                            b.display()
                        )));
                    }
                }
                Some(_) => {}
            }
        }
    }
    // Process 0 writes the manifests: the run's, or one per family of a dataset.
    let manifests: Vec<&PathBuf> = sources
        .keys()
        .filter(|rel| rel.file_name().is_some_and(|n| n == "manifest.json"))
        .collect();
    if manifests.is_empty() {
        return Err(Error::input(format!(
            "none of {} holds a manifest.json; process 0 writes it when the run completes",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let out_canonical = std::fs::canonicalize(out).ok();
    let mut copied = 0;
    for (rel, dir) in &sources {
        let same_place = out_canonical.is_some()
            && std::fs::canonicalize(dir.join(rel)).ok()
                == std::fs::canonicalize(out.join(rel)).ok();
        if same_place {
            continue;
        }
        write_atomic(&out.join(rel), &read(&dir.join(rel))?)?;
        copied += 1;
    }

    let mut people = 0;
    let mut missing = Vec::new();
    for rel in manifests {
        let manifest = Manifest::read(&out.join(rel))?;
        let folder = out.join(rel.parent().unwrap_or(Path::new("")));
        people += manifest.people.len();
        missing.extend(
            manifest
                .people
                .iter()
                .filter(|p| !folder.join(&p.image).is_file())
                .map(|p| p.id.clone()),
        );
        if rel == Path::new("manifest.json") {
            write_run_outputs(&manifest, out)?;
        }
    }
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "{} of {people} people have no image in any input (first: {}); \
             add the missing process's directory, or rerun that process with --resume",
            missing.len(),
            missing
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(MergeReport { copied, people })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Every regular file under `root`, relative to it, skipping temporaries
/// left by a killed process.
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text.starts_with(".famsim-") && text.ends_with(".tmp") {
                continue;
            }
            let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if kind.is_dir() {
                stack.push(rel.join(&name));
            } else if kind.is_file() {
                files.push(rel.join(&name));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn directories_of_different_runs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write(&a.join("people/x.png"), b"one face");
        write(&b.join("people/x.png"), b"another face");
        let err = merge_run_dirs(&[a, b], &dir.path().join("out"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.png") && err.contains("not parts of the same run"),
            "{err}"
        );
    }

    #[test]
    fn a_merge_without_the_leaders_directory_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        write(&a.join("people/x.png"), b"face");
        // A killed process's temporary is not part of the run.
        write(&a.join("people/.famsim-123.tmp"), b"half");
        let err = merge_run_dirs(&[a], &dir.path().join("out"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a manifest.json"), "{err}");
        assert!(!dir.path().join("out").exists());
    }
}
