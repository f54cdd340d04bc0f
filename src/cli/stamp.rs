//! A run folder's stamp: what it was made from (input file checksum, the
//! settings that change output, famsim's version), so `--resume` never mixes
//! two different runs in one folder. `famsim run` and `famsim dataset` share it.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The stamp text: `settings` plus `<input_field>` = SHA-256 of `input` and
/// the famsim version, as pretty JSON with sorted keys.
pub fn stamp(input: &Path, input_field: &str, settings: serde_json::Value) -> Result<String> {
    let bytes = std::fs::read(input).map_err(|e| Error::io(input, e))?;
    let mut fields = match settings {
        serde_json::Value::Object(map) => map,
        _ => return Err(Error::internal("run stamp settings must be a JSON object")),
    };
    fields.insert(
        input_field.into(),
        hex::encode(Sha256::digest(&bytes)).into(),
    );
    fields.insert("famsim_version".into(), env!("CARGO_PKG_VERSION").into());
    Ok(format!("{:#}\n", serde_json::Value::Object(fields)))
}

/// With `--resume`, refuses a folder whose stamp differs from `stamp`;
/// `made_from` lists what the stamp covers, for the message.
pub fn check_resume(
    out_dir: &Path,
    file: &str,
    stamp: &str,
    resume: bool,
    made_from: &str,
) -> Result<()> {
    if !resume {
        return Ok(());
    }
    match std::fs::read_to_string(out_dir.join(file)) {
        Ok(previous) if previous != stamp => Err(Error::input(format!(
            "--resume: {} was made from a different {made_from} or famsim version; \
             run without --resume to start over, or choose another --out",
            out_dir.display()
        ))),
        _ => Ok(()),
    }
}
