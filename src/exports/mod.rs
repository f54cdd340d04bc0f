//! What a run leaves behind: manifest, family-tree page, contact sheet.

pub mod atomic;
pub mod contact_sheet;
pub mod dot;
pub mod gedcom;
pub mod html;
pub mod manifest;
pub mod png;

use crate::error::Result;
use atomic::write_atomic;
use manifest::Manifest;
use std::path::Path;

/// Writes `manifest.json`, `index.html` and `contact_sheet.png` into `run_dir`
/// (each atomically), after the faces are on disk.
pub fn write_run_outputs(manifest: &Manifest, run_dir: &Path) -> Result<()> {
    write_atomic(&run_dir.join("manifest.json"), &manifest.to_json()?)?;
    write_atomic(
        &run_dir.join("index.html"),
        html::render_tree(manifest, run_dir)?.as_bytes(),
    )?;
    let sheet = contact_sheet::contact_sheet(manifest, run_dir)?;
    write_atomic(
        &run_dir.join("contact_sheet.png"),
        &png::encode_png(&sheet)?,
    )?;
    Ok(())
}
