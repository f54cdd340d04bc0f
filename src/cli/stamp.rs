//! A run folder's stamp: what it was made from (input file checksum, the
//! settings that change output, the contents of every file that changes
//! faces, famsim's version), so `--resume` never mixes two different runs in
//! one folder. `famsim run` and `famsim dataset` share it.

use crate::error::{Error, Result};
use crate::model::stylegene::weights::{resolve_weights_dir, MODEL_FILE};
use crate::pedigree::Pedigree;
use crate::scenario::format::ModelSpec;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Stamp field: SHA-256 of the weights' `model.ron`.
const WEIGHTS_FIELD: &str = "weights_sha256";
/// Stamp field: person id → the kind and SHA-256 of their genes file.
const FOUNDER_FILES_FIELD: &str = "founder_files";

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

/// Adds to `settings` what changes faces besides the input file: the
/// weights of a neural model and every founder's genes file. The weights
/// count through their import record, `model.ron`, which holds the size and
/// SHA-256 of every weight file and the gene pool (`famsim weights import`
/// and `famsim pool build` rewrite it): hashing it costs nothing, where the
/// weights themselves are gigabytes. A file that cannot be read is stamped as
/// such; the run then stops on it with its own message.
pub fn add_face_inputs(
    settings: &mut serde_json::Value,
    model: &ModelSpec,
    input: &Path,
    pedigree: Option<&Pedigree>,
) {
    let Some(fields) = settings.as_object_mut() else {
        return;
    };
    if let ModelSpec::StyleGene(spec) = model {
        let record = resolve_weights_dir(&spec.weights, input).join(MODEL_FILE);
        fields.insert(WEIGHTS_FIELD.into(), file_sha256(&record).into());
    }
    let files: serde_json::Map<String, serde_json::Value> = pedigree
        .into_iter()
        .flat_map(|p| p.people())
        .filter_map(|(_, person)| {
            let (kind, path) = person.founder_genes.file()?;
            let sha = file_sha256(Path::new(path));
            Some((person.id.clone(), format!("{kind} {sha}").into()))
        })
        .collect();
    if !files.is_empty() {
        fields.insert(FOUNDER_FILES_FIELD.into(), files.into());
    }
}

/// Hex SHA-256 of a file's contents, or "unreadable".
fn file_sha256(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
        Err(_) => "unreadable".into(),
    }
}

/// With `--resume`, refuses a folder whose stamp differs from `stamp`;
/// `made_from` lists what the stamp covers, and the message names what
/// changed.
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
            "--resume: {} was made from a different {made_from} or famsim version \
             (changed: {}); run without --resume to start over, or choose another --out",
            out_dir.display(),
            changes(&previous, stamp).join(", ")
        ))),
        _ => Ok(()),
    }
}

/// What differs between two stamps, in words.
fn changes(previous: &str, now: &str) -> Vec<String> {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let (Some(serde_json::Value::Object(old)), Some(serde_json::Value::Object(new))) =
        (parse(previous), parse(now))
    else {
        return vec!["the folder's stamp is unreadable".into()];
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changed = Vec::new();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        if key == FOUNDER_FILES_FIELD {
            let people = |v: Option<&serde_json::Value>| {
                v.and_then(|v| v.as_object()).cloned().unwrap_or_default()
            };
            let (a, b) = (people(a), people(b));
            let mut ids: Vec<&String> = a.keys().chain(b.keys()).collect();
            ids.sort();
            ids.dedup();
            for id in ids {
                if a.get(id) != b.get(id) {
                    let kind = b
                        .get(id)
                        .or(a.get(id))
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.split(' ').next())
                        .unwrap_or("genes");
                    changed.push(format!("the {kind} file of founder `{id}`"));
                }
            }
            continue;
        }
        changed.push(
            match key.as_str() {
                "scenario_sha256" => "the scenario file",
                "spec_sha256" => "the spec file",
                "image_size" => "the image size",
                "families" => "the family count",
                WEIGHTS_FIELD => "the weights (their model.ron)",
                "famsim_version" => "the famsim version",
                other => other,
            }
            .to_string(),
        );
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_what_changed() {
        let old = r#"{"seed": 1, "weights_sha256": "aa", "founder_files": {"mum": "Latent 11", "pa": "Photo 22"}}"#;
        let new = r#"{"seed": 2, "weights_sha256": "bb", "founder_files": {"mum": "Latent 12", "pa": "Photo 22"}}"#;
        assert_eq!(
            changes(old, new),
            vec![
                "the Latent file of founder `mum`",
                "seed",
                "the weights (their model.ron)"
            ]
        );
        assert_eq!(
            changes("not json", new),
            vec!["the folder's stamp is unreadable"]
        );
    }
}
