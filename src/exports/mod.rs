//! What a run leaves behind: manifest, family-tree page, contact sheet, and
//! the views made from the manifest ([`EXPORTS`]: GEDCOM, Graphviz, the
//! tree page), which `famsim run` and `famsim export` both write from here.

pub mod contact_sheet;
pub mod dot;
pub mod gedcom;
pub mod html;
pub mod manifest;
pub mod png;

/// Atomic writes moved to [`crate::io::atomic`]; this name keeps older paths
/// compiling. New code imports from `io`.
#[doc(hidden)]
pub use crate::io::atomic;

use crate::error::Result;
use crate::io::atomic::write_atomic;
use manifest::Manifest;
use std::path::{Path, PathBuf};

/// File names of the exports inside the run directory.
pub const GEDCOM_FILE: &str = "tree.ged";
pub const DOT_FILE: &str = "tree.dot";
pub const HTML_FILE: &str = "index.html";

/// One view of a run, made from its manifest. [`EXPORTS`] lists them all;
/// `famsim export` and `famsim run` take one flag per entry and write what
/// the flags choose, so a new export is one entry here (and its module).
pub struct Export {
    /// The command-line flag without its dashes (`gedcom` for `--gedcom`).
    pub flag: &'static str,
    /// The file it writes, relative to the run directory.
    pub file: &'static str,
    /// The flag's line in `--help`.
    pub help: &'static str,
    /// Whether every run writes it anyway ([`write_run_outputs`]), so that
    /// `famsim run --FLAG` has nothing more to do.
    pub in_every_run: bool,
    render: fn(&Manifest, &Path) -> Result<String>,
}

impl Export {
    /// The export's text for `manifest`; `run_dir` holds the run's images.
    pub fn render(&self, manifest: &Manifest, run_dir: &Path) -> Result<String> {
        (self.render)(manifest, run_dir)
    }
}

/// Every export, in the order the flags are listed and files written.
pub const EXPORTS: &[Export] = &[
    Export {
        flag: "gedcom",
        file: GEDCOM_FILE,
        help: "Write `tree.ged` (GEDCOM 5.5.1, faces linked as media) for genealogy programs",
        in_every_run: false,
        render: |manifest, _| Ok(gedcom::to_gedcom(manifest)),
    },
    Export {
        flag: "dot",
        file: DOT_FILE,
        help: "Write `tree.dot` (Graphviz, faces as node images; renders from any directory)",
        in_every_run: false,
        render: |manifest, run_dir| {
            // The absolute folder, so the graph renders from any directory.
            let dir =
                std::fs::canonicalize(run_dir).map_err(|e| crate::error::Error::io(run_dir, e))?;
            Ok(dot::to_dot(manifest, Some(&dir)))
        },
    },
    Export {
        flag: "html",
        file: HTML_FILE,
        help: "Write `index.html` (the family tree page)",
        in_every_run: true,
        render: html::render_tree,
    },
];

/// Writes `chosen` exports of `manifest` into `run_dir`, each atomically;
/// returns their paths.
pub fn write_exports<'e>(
    manifest: &Manifest,
    run_dir: &Path,
    chosen: impl IntoIterator<Item = &'e Export>,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for export in chosen {
        let path = run_dir.join(export.file);
        write_atomic(&path, export.render(manifest, run_dir)?.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `manifest.json`, `index.html` and `contact_sheet.png` into `run_dir`
/// (each atomically), after the faces are on disk.
pub fn write_run_outputs(manifest: &Manifest, run_dir: &Path) -> Result<()> {
    write_atomic(&run_dir.join("manifest.json"), &manifest.to_json()?)?;
    write_exports(manifest, run_dir, EXPORTS.iter().filter(|e| e.in_every_run))?;
    let sheet = contact_sheet::contact_sheet(manifest, run_dir)?;
    write_atomic(
        &run_dir.join("contact_sheet.png"),
        &png::encode_png(&sheet)?,
    )?;
    Ok(())
}
