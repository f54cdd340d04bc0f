//! `famsim export RUN_DIR --gedcom --dot --html`, and the same flags on `famsim run`:
//! genealogy and graph views of any run directory, made from its manifest.

use crate::error::{Error, Result};
use crate::exports::atomic::write_atomic;
use crate::exports::manifest::Manifest;
use crate::exports::{dot, gedcom, html};
use std::path::{Path, PathBuf};

/// File names of the exports inside the run directory.
pub const GEDCOM_FILE: &str = "tree.ged";
pub const DOT_FILE: &str = "tree.dot";
pub const HTML_FILE: &str = "index.html";

/// Which exports to write.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct ExportFlags {
    /// Write `tree.ged` (GEDCOM 5.5.1, faces linked as media) for genealogy programs.
    #[arg(long)]
    pub gedcom: bool,
    /// Write `tree.dot` (Graphviz, faces as node images; renders from any directory).
    #[arg(long)]
    pub dot: bool,
    /// Write `index.html` (the family tree page).
    #[arg(long)]
    pub html: bool,
}

impl ExportFlags {
    pub fn any(&self) -> bool {
        self.gedcom || self.dot || self.html
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A run directory (one with `manifest.json`; a dataset's `FIDxxxx` folder is one).
    pub run_dir: PathBuf,
    /// Without any of these flags, every export is written.
    #[command(flatten)]
    pub flags: ExportFlags,
}

pub fn export(args: ExportArgs) -> Result<()> {
    let manifest_path = args.run_dir.join("manifest.json");
    if !manifest_path.is_file() {
        return Err(Error::input(format!(
            "{} has no manifest.json: give a folder written by `famsim run` (or a dataset's FIDxxxx folder)",
            args.run_dir.display()
        )));
    }
    let manifest = Manifest::read(&manifest_path)?;
    let flags = if args.flags.any() {
        args.flags
    } else {
        ExportFlags {
            gedcom: true,
            dot: true,
            html: true,
        }
    };
    for path in write_exports(&manifest, &args.run_dir, flags)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// Writes the chosen exports of `manifest` into `run_dir`; returns their paths.
pub fn write_exports(
    manifest: &Manifest,
    run_dir: &Path,
    flags: ExportFlags,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut put = |name: &str, text: String| -> Result<()> {
        let path = run_dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    if flags.gedcom {
        put(GEDCOM_FILE, gedcom::to_gedcom(manifest))?;
    }
    if flags.dot {
        // The absolute folder, so the graph renders from any directory.
        let dir = std::fs::canonicalize(run_dir).map_err(|e| Error::io(run_dir, e))?;
        put(DOT_FILE, dot::to_dot(manifest, Some(&dir)))?;
    }
    if flags.html {
        put(HTML_FILE, html::render_tree(manifest, run_dir)?)?;
    }
    Ok(written)
}
