//! Imports StyleGene's gene pool (`geneFactorPool.pkl`) into a [`GenePool`].
//!
//! The official file is `torch.save` of a dict "age-gender-race" → list of
//! (mean, logvar) pairs, each tensor `[1, N, 34, W]` float32 (the encoder's
//! output for one FFHQ face). Every pair becomes one [`Genome`] of shape
//! `GeneShape { layers: N, width: W }`, whose `[N, 34, W]` layout is the
//! tensor's own, so values are copied as they are.
//!
//! The real pool is large (each entry is 2 × 18·34·512 floats), so tensors are
//! streamed from the file straight into the genome's vectors; only the small
//! object graph of the pickle is held besides the pool itself.
//!
//! An unparseable key is an error naming it rather than a skipped bucket: the
//! keys follow a fixed vocabulary, so an unknown one means a different file
//! and silently losing part of the pool would bias every child drawn from it.

use super::torch_pickle::{TorchFile, Value};
use crate::attributes::PoolKey;
use crate::error::{Error, Result};
use crate::genetics::genome::{GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::region::REGION_COUNT;
use std::path::Path;

/// Reads a pickled StyleGene gene pool (zip or legacy `torch.save` format).
pub fn load_gene_pool(path: impl AsRef<Path>) -> Result<GenePool> {
    let mut file = TorchFile::open(path)?;
    let shown = file.path().display().to_string();
    let bad = |msg: String| Error::input(format!("{shown}: {msg}"));
    let Value::Dict(buckets) = file.root().clone() else {
        return Err(bad(format!(
            "expected a dict of \"age-gender-race\" → [(mean, logvar), …], found a {}",
            file.root().kind()
        )));
    };
    let buckets = buckets.borrow().clone();
    let mut pool = GenePool::new();
    let mut shape: Option<GeneShape> = None;
    for (key, entries) in buckets {
        let key_text = key
            .as_str()
            .ok_or_else(|| bad(format!("gene-pool key is a {}, not a string", key.kind())))?
            .to_owned();
        let pool_key: PoolKey = key_text.parse().map_err(|e: String| bad(e))?;
        let entries = entries.items().ok_or_else(|| {
            bad(format!(
                "gene-pool key `{key_text}` holds a {}, not a list of (mean, logvar) pairs",
                entries.kind()
            ))
        })?;
        for (i, entry) in entries.iter().enumerate() {
            let what = format!("`{key_text}`[{i}]");
            let (mean, logvar) = match entry.items().as_deref() {
                Some([Value::Tensor(m), Value::Tensor(v)]) => (m.clone(), v.clone()),
                _ => {
                    return Err(bad(format!(
                        "gene-pool entry {what} is a {}, not a (mean, logvar) pair of tensors",
                        entry.kind()
                    )))
                }
            };
            let entry_shape = gene_shape(&mean.shape)
                .filter(|_| mean.shape == logvar.shape)
                .ok_or_else(|| {
                    bad(format!(
                        "gene-pool entry {what} has mean {:?} and logvar {:?}, expected [1, N, 34, W] each",
                        mean.shape, logvar.shape
                    ))
                })?;
            match shape {
                None => shape = Some(entry_shape),
                Some(s) if s != entry_shape => {
                    return Err(bad(format!(
                        "gene-pool entry {what} is [1, {}, 34, {}] but earlier entries are [1, {}, 34, {}]",
                        entry_shape.layers, entry_shape.width, s.layers, s.width
                    )))
                }
                Some(_) => {}
            }
            let mean = file.read_f32(&mean, &format!("{what}.mean"))?;
            let logvar = file.read_f32(&logvar, &format!("{what}.logvar"))?;
            let genome = Genome::from_parts(entry_shape, mean, logvar).map_err(bad)?;
            pool.insert(pool_key, genome);
        }
    }
    Ok(pool)
}

/// `[1, N, 34, W]` (or `[N, 34, W]`) → the genome shape.
fn gene_shape(dims: &[usize]) -> Option<GeneShape> {
    let dims = match dims {
        [1, rest @ ..] if rest.len() == 3 => rest,
        d if d.len() == 3 => d,
        _ => return None,
    };
    (dims[1] == REGION_COUNT && dims[0] > 0 && dims[2] > 0).then_some(GeneShape {
        layers: dims[0],
        width: dims[2],
    })
}
