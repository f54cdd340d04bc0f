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

use crate::attributes::PoolKey;
use crate::error::Result;
use crate::genetics::genome::{GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::region::REGION_COUNT;
use crate::weights::Weights;
use std::collections::BTreeSet;
use std::path::Path;

/// Reads a pickled StyleGene gene pool (zip or legacy `torch.save` format).
///
/// The weights layer lists the pickle's tensors by path: entry i of key K is
/// the pair `K.i.0` (mean), `K.i.1` (log-variance). Every tensor in the file
/// must be such a pair member, in a run of entries from 0 without gaps.
pub fn load_gene_pool(path: impl AsRef<Path>) -> Result<GenePool> {
    let weights = Weights::pytorch(path)?;
    let bad = |msg: String| weights.error(msg);
    let keys: BTreeSet<&str> = weights
        .names()
        .into_iter()
        .map(|name| name.split('.').next().unwrap_or(name))
        .collect();
    if keys.is_empty() {
        return Err(bad(
            "expected a dict of \"age-gender-race\" → [(mean, logvar), …], found no tensors".into(),
        ));
    }
    let mut pool = GenePool::new();
    let mut shape: Option<GeneShape> = None;
    for key_text in keys {
        let pool_key: PoolKey = key_text.parse().map_err(|e: String| bad(e))?;
        let entry = |i: usize, part: usize| format!("{key_text}.{i}.{part}");
        let count = (0..)
            .take_while(|&i| weights.contains(&entry(i, 0)))
            .count();
        let under = format!("{key_text}.");
        let expected: BTreeSet<String> = (0..count)
            .flat_map(|i| [entry(i, 0), entry(i, 1)])
            .collect();
        if let Some(stray) = std::iter::once(key_text)
            .filter(|k| weights.contains(k))
            .chain(weights.names_under(&under))
            .find(|name| !expected.contains(*name))
        {
            return Err(bad(format!(
                "gene-pool key `{key_text}` does not hold a list of (mean, logvar) pairs of \
                 tensors: found tensor `{stray}`"
            )));
        }
        for i in 0..count {
            let what = format!("`{key_text}`[{i}]");
            let (mean, logvar) = (entry(i, 0), entry(i, 1));
            let dims = |name: &str| weights.shape(name).unwrap_or_default();
            let (mean_dims, logvar_dims) = (dims(&mean), dims(&logvar));
            let entry_shape = gene_shape(&mean_dims)
                .filter(|_| mean_dims == logvar_dims)
                .ok_or_else(|| {
                    bad(format!(
                        "gene-pool entry {what} has mean {mean_dims:?} and logvar {logvar_dims:?}, expected [1, N, 34, W] each"
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
            let genome =
                Genome::from_parts(entry_shape, weights.read(&mean)?, weights.read(&logvar)?)
                    .map_err(bad)?;
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
