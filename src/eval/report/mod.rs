//! The report: `metrics.json` (every figure), `index.html` (tables and
//! inline SVG plots, opening from disk) and a one-screen summary for the
//! terminal. Both files are written atomically and depend only on what was
//! measured (no timings, no cache counts), so the same folder gives the
//! same bytes.

pub mod html;
pub mod plots;
pub mod summary;

use super::Report;
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use std::path::Path;

/// Writes `metrics.json` and `index.html` into `out`.
pub fn write(out: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::internal(format!("metrics.json: {e}")))?;
    json.push(b'\n');
    write_atomic(&out.join("metrics.json"), &json)?;
    write_atomic(&out.join("index.html"), html::page(report)?.as_bytes())
}
