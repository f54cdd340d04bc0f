//! `famsim pool build`: a gene pool from W+ latents of real faces with
//! FairFace-style labels, encoded by the model's own gene encoder — the way
//! StyleGene's `geneFactorPool.pkl` was made.

use super::model_args::ModelArgs;
use crate::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use crate::error::{Error, Result};
use crate::genetics::pool::GenePool;
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use crate::model::stylegene::weights::{self, pool_info, FileRecord, ModelInfo};
use crate::model::{FaceModel, Latent};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Encode labelled latents into the weights directory's gene pool (replacing it).
    Build(PoolBuildArgs),
}

#[derive(Debug, clap::Args)]
pub struct PoolBuildArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A folder of <file_id>.npy latents ([N, W] or [1, N, W] each), or one
    /// [B, N, W] .npy whose latents follow the CSV's rows in order.
    #[arg(long, value_name = "FILE_or_DIR")]
    pub latents: PathBuf,
    /// CSV with a header naming the columns file_id (or file), gender, age and race.
    #[arg(long, value_name = "CSV")]
    pub attributes: PathBuf,
}

pub fn run(command: PoolCommand) -> Result<()> {
    let PoolCommand::Build(args) = command;
    let model = args.model.load(Parts::Encoder, false)?;
    let rows = read_labels(&args.attributes)?;
    let shape = model.gene_shape();
    let latents = read_latents(&args.latents, &rows, shape.layers, shape.width)?;
    let pool = build_pool(model.as_ref(), &rows, latents)?;

    let dir = &args.model.weights;
    let path = dir.join(weights::POOL_FILE);
    weights::write_pool(&path, &pool)?;
    let mut info = ModelInfo::read(dir)?;
    info.pool = Some(pool_info(
        &pool,
        &format!("built from {} labelled latents", rows.len()),
    ));
    info.sources
        .retain(|s| !matches!(s.role.as_str(), "gene_pool" | "latents" | "attributes"));
    if args.latents.is_file() {
        info.sources.push(FileRecord::of("latents", &args.latents)?);
    }
    info.sources
        .push(FileRecord::of("attributes", &args.attributes)?);
    let mut record = FileRecord::of("gene_pool", &path)?;
    record.name = weights::POOL_FILE.to_string();
    info.set_file(record);
    info.write(dir)?;
    println!(
        "{}: gene pool of {} entries under {} keys",
        path.display(),
        pool.len(),
        info.pool.as_ref().map_or(0, |p| p.keys.len())
    );
    Ok(())
}

/// One labelled face.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    pub file_id: String,
    pub key: PoolKey,
}

/// Reads a FairFace-style label CSV (`file,age,gender,race,…`). FairFace writes
/// its oldest group as "more than 70"; famsim's pool keys say "70+".
pub fn read_labels(path: &Path) -> Result<Vec<LabelRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| Error::input(format!("{}: empty CSV", path.display())))?;
    let header: Vec<String> = split_csv(header)
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.as_str()))
            .ok_or_else(|| {
                Error::input(format!(
                    "{}: the header has no `{}` column (found: {})",
                    path.display(),
                    names[0],
                    header.join(", ")
                ))
            })
    };
    let (file_col, gender_col, age_col, race_col) = (
        column(&["file_id", "file"])?,
        column(&["gender", "sex"])?,
        column(&["age"])?,
        column(&["race"])?,
    );
    let mut rows = Vec::new();
    for (i, line) in lines {
        let cells = split_csv(line);
        let at = |col: usize| cells.get(col).map(String::as_str).unwrap_or("");
        let bad = |what: String| Error::input(format!("{}:{}: {what}", path.display(), i + 1));
        let age_text = match at(age_col) {
            "more than 70" => "70+",
            other => other,
        };
        let key = PoolKey {
            age: age_text.parse::<AgeGroup>().map_err(bad)?,
            sex: at(gender_col).parse::<Sex>().map_err(bad)?,
            ancestry: at(race_col).parse::<Ancestry>().map_err(bad)?,
        };
        let file_id = at(file_col).to_string();
        if file_id.is_empty() {
            return Err(bad("empty file id".into()));
        }
        rows.push(LabelRow { file_id, key });
    }
    if rows.is_empty() {
        return Err(Error::input(format!(
            "{}: no labelled rows",
            path.display()
        )));
    }
    Ok(rows)
}

/// Splits one CSV line, honouring double quotes (FairFace files have none,
/// but spreadsheets add them around cells with spaces).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The latents for `rows`: from `<dir>/<stem of file_id>.npy`, or row i ↔ latent i of one file.
fn read_latents(
    path: &Path,
    rows: &[LabelRow],
    layers: usize,
    width: usize,
) -> Result<Vec<Latent>> {
    if path.is_dir() {
        return rows
            .iter()
            .map(|r| {
                let stem = Path::new(&r.file_id)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| r.file_id.clone());
                npy::read_latent(&path.join(format!("{stem}.npy")), Some(layers), width)
            })
            .collect();
    }
    let latents = npy::read_latents(path, Some(layers), width)?;
    if latents.len() != rows.len() {
        return Err(Error::input(format!(
            "{} holds {} latents but the attributes list {} faces; they must match row for row",
            path.display(),
            latents.len(),
            rows.len()
        )));
    }
    Ok(latents)
}

/// Encodes every latent (in the model's batches) into the pool bucket of its labels.
pub fn build_pool(
    model: &dyn FaceModel,
    rows: &[LabelRow],
    latents: Vec<Latent>,
) -> Result<GenePool> {
    let mut pool = GenePool::new();
    let batch = model.preferred_batch().max(1);
    for (chunk_rows, chunk) in rows.chunks(batch).zip(latents.chunks(batch)) {
        let chunk: Vec<&Latent> = chunk.iter().collect();
        for (row, genome) in chunk_rows.iter().zip(model.encode(&chunk)?) {
            pool.insert(row.key, genome);
        }
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fairface_labels_parse_with_quotes_and_the_oldest_group() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        std::fs::write(
            &p,
            "file,age,gender,race,service_test\ntrain/1.jpg,more than 70,Female,\"East Asian\",True\n\
             train/2.jpg,20-29,Male,Latino_Hispanic,False\n",
        )
        .unwrap();
        let rows = read_labels(&p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].file_id, "train/1.jpg");
        assert_eq!(rows[0].key.to_string(), "70+-female-East Asian");
        assert_eq!(rows[1].key.to_string(), "20-29-male-Latino_Hispanic");

        std::fs::write(&p, "file,age,gender,race\nx.jpg,20-29,robot,White\n").unwrap();
        let err = read_labels(&p).unwrap_err().to_string();
        assert!(
            err.contains("labels.csv:2") && err.contains("robot"),
            "{err}"
        );
        std::fs::write(&p, "file,age,gender\n").unwrap();
        let err = read_labels(&p).unwrap_err().to_string();
        assert!(err.contains("no `race` column"), "{err}");
    }
}
