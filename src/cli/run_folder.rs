//! Whose folder is `famsim run --out`, and what an earlier run left in it.
//!
//! A run writes into a folder that is new, empty, or its own (it holds the
//! run stamp, `.famsim-run.json`). Anything else is the user's: a run
//! refuses it unless told `--force`, so it never overwrites a file it did
//! not write. Every run records the relative paths of the files it may
//! write in [`RUN_FILES`], before it writes any of them; a run that starts
//! over in its own folder removes the files an earlier run recorded there,
//! and only those, so `people/` never mixes two families.

use crate::error::{Error, Result};
use crate::exports::atomic::{remove_stale_temporaries, write_atomic};
use crate::exports::manifest::Manifest;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The files the run in this folder may write, relative to it, as a JSON
/// list; the run stamp marks the folder as a run's.
pub const RUN_FILES: &str = ".famsim-run-files.json";

/// What `--out` is before the run touches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// Missing or empty.
    Fresh,
    /// Holds the stamp of an earlier `famsim run`.
    Ours,
    /// Holds other files; the run goes ahead only with `--resume` or `--force`.
    Theirs,
}

/// Checks `out_dir` before anything is computed: a path that is a file, or
/// a folder with someone else's files (without `--resume` or `--force`), is
/// bad input.
pub fn inspect(out_dir: &Path, stamp_file: &str, resume: bool, force: bool) -> Result<Folder> {
    refuse_file(out_dir)?;
    let entries = match std::fs::read_dir(out_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Folder::Fresh),
        Err(e) => return Err(Error::io(out_dir, e)),
    };
    // famsim's own temporary files do not make a folder someone else's.
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !(n.starts_with(".famsim-") && n.ends_with(".tmp")))
        .collect();
    if names.is_empty() {
        return Ok(Folder::Fresh);
    }
    // The list alone: another process of the same cluster run, sharing the
    // folder, has just written it and is about to write the stamp.
    if names.iter().any(|n| n == stamp_file || n == RUN_FILES) {
        return Ok(Folder::Ours);
    }
    if !resume && !force {
        names.sort();
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        return Err(Error::input(format!(
            "--out {} is not empty ({}{}) and was not made by `famsim run`; \
             choose a new or empty folder, or add --force to write into it anyway \
             (files with the names the run writes are replaced)",
            out_dir.display(),
            shown.join(", "),
            if names.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    Ok(Folder::Theirs)
}

/// `--out` must name a folder (or nothing yet): creating folders under a
/// file would fail later with the system's "File exists".
pub fn refuse_file(out_dir: &Path) -> Result<()> {
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(Error::input(format!(
            "--out {} is a file; give a folder (it is made if missing)",
            out_dir.display()
        )));
    }
    Ok(())
}

/// Makes `out_dir` ready for a run that writes `files`: when the run starts
/// over in a folder of its own, removes what the earlier run recorded there
/// (all of it when `same_run` is false; otherwise only the files this run
/// will not write again); with `clean_temporaries`, removes the temporary
/// files a killed run left at the top of the folder (not in a folder that
/// is someone else's); then records `files`.
///
/// `same_run` (the stamp is unchanged) keeps the processes of one cluster run
/// that share a folder from removing each other's fresh files: they all
/// write the same list.
pub fn prepare(
    out_dir: &Path,
    folder: Folder,
    resume: bool,
    same_run: bool,
    clean_temporaries: bool,
    files: &BTreeSet<String>,
) -> Result<()> {
    if folder == Folder::Ours && !resume {
        for rel in written_before(out_dir)? {
            if same_run && files.contains(&rel) {
                continue;
            }
            remove_written(out_dir, &rel)?;
        }
    }
    if clean_temporaries && folder != Folder::Theirs {
        remove_stale_temporaries(out_dir)?;
    }
    let list: Vec<&String> = files.iter().collect();
    let text = serde_json::to_string_pretty(&list)
        .map_err(|e| Error::internal(format!("{RUN_FILES}: {e}")))?;
    write_atomic(&out_dir.join(RUN_FILES), format!("{text}\n").as_bytes())
}

/// The files an earlier run in `out_dir` recorded; for a folder from before
/// the list existed, the files its manifest names.
fn written_before(out_dir: &Path) -> Result<Vec<String>> {
    let list = out_dir.join(RUN_FILES);
    match std::fs::read(&list) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::input(format!(
                "{}: not a list of files ({e}); remove it, or choose another --out",
                list.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let manifest = out_dir.join("manifest.json");
            if !manifest.is_file() {
                return Ok(Vec::new());
            }
            let manifest = Manifest::read(&manifest)?;
            let mut files: Vec<String> = FIXED_OUTPUTS.iter().map(|s| s.to_string()).collect();
            files.extend(manifest.people.iter().map(|p| p.image.clone()));
            Ok(files)
        }
        Err(e) => Err(Error::io(&list, e)),
    }
}

/// The files at the top of every run folder (besides the stamp and the list).
pub const FIXED_OUTPUTS: &[&str] = &[
    "manifest.json",
    "index.html",
    "contact_sheet.png",
    super::export::GEDCOM_FILE,
    super::export::DOT_FILE,
];

/// Removes one recorded file, and the folders it leaves empty. A path that
/// leaves the run folder is refused: the list is a file anyone can edit.
fn remove_written(out_dir: &Path, rel: &str) -> Result<()> {
    let path = Path::new(rel);
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || rel.is_empty() {
        return Err(Error::input(format!(
            "{}: {rel:?} is not a path inside the run folder; remove the list, or choose another --out",
            out_dir.join(RUN_FILES).display()
        )));
    }
    let full = out_dir.join(path);
    match std::fs::remove_file(&full) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&full, e)),
    }
    let mut dir: Option<PathBuf> = full.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        // Only folders that the removal emptied; never the run folder itself.
        if d == out_dir || std::fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list is a file anyone can edit: a path leading out of the run
    /// folder is refused and nothing outside is removed.
    #[test]
    fn a_listed_path_outside_the_run_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::write(dir.path().join("outside.txt"), b"keep").unwrap();
        std::fs::write(run.join(".famsim-run.json"), b"{}").unwrap();
        std::fs::write(run.join(RUN_FILES), br#"["../outside.txt"]"#).unwrap();
        let folder = inspect(&run, ".famsim-run.json", false, false).unwrap();
        assert_eq!(folder, Folder::Ours);
        let err = prepare(&run, folder, false, false, true, &BTreeSet::new()).unwrap_err();
        assert!(
            err.to_string().contains("not a path inside the run folder"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("outside.txt")).unwrap(),
            b"keep"
        );
    }

    /// Removing a listed file also removes the folders it leaves empty, and
    /// only those.
    #[test]
    fn emptied_folders_go_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        for f in ["people/a.png", "people/b.png", "kept/mine.txt"] {
            std::fs::create_dir_all(run.join(f).parent().unwrap()).unwrap();
            std::fs::write(run.join(f), b"x").unwrap();
        }
        std::fs::write(run.join(".famsim-run.json"), b"{}").unwrap();
        std::fs::write(run.join(RUN_FILES), br#"["people/a.png", "people/b.png"]"#).unwrap();
        let new: BTreeSet<String> = ["people/c.png".to_string()].into();
        prepare(run, Folder::Ours, false, false, true, &new).unwrap();
        assert!(!run.join("people").exists());
        assert!(run.join("kept/mine.txt").is_file());
        let list: Vec<String> =
            serde_json::from_slice(&std::fs::read(run.join(RUN_FILES)).unwrap()).unwrap();
        assert_eq!(list, ["people/c.png"]);
    }
}
