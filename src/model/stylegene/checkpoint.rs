//! Named tensors from a PyTorch checkpoint (`torch.save` zip of a pickle), with
//! errors that tell the user which file and which tensor is wrong.
//!
//! Nested dicts are flattened with dots, the way burn-store's reader does it:
//! `{'g_ema': {'style.1.weight': …}, 'latent_avg': …}` gives the names
//! `g_ema.style.1.weight` and `latent_avg`. Tensor data is read lazily, only
//! for the tensors that are asked for, so a checkpoint with training extras
//! (optimizer state, discriminator) costs nothing beyond its pickle.

use crate::error::{Error, Result};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_store::pytorch::PytorchReader;
use burn_store::TensorSnapshot;
use std::collections::HashMap;
use std::path::Path;

/// The tensors of one checkpoint, by flattened name.
pub struct Checkpoint {
    /// What to call the checkpoint in messages: its path, or a label for
    /// checkpoints built in memory.
    source: String,
    tensors: HashMap<String, TensorSnapshot>,
}

impl Checkpoint {
    /// Opens a `.pt` / `.pth` / `.ckpt` file written by `torch.save`.
    ///
    /// Every failure is the user's input ([`Error::Input`]): a missing file, a
    /// file that is not a PyTorch checkpoint, a truncated download.
    pub fn open(path: &Path) -> Result<Checkpoint> {
        let source = path.display().to_string();
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::input(format!("cannot read checkpoint {source}: {e}")))?;
        if !meta.is_file() {
            return Err(Error::input(format!("checkpoint {source} is not a file")));
        }
        // The pickle reader is third-party code fed with user bytes; a panic in
        // it must still come out as a message about the file.
        let read = std::panic::catch_unwind(|| PytorchReader::new(path));
        let reader = match read {
            Ok(Ok(reader)) => reader,
            Ok(Err(e)) => return Err(not_a_checkpoint(&source, &e.to_string())),
            Err(_) => {
                return Err(not_a_checkpoint(
                    &source,
                    "the reader crashed on its contents",
                ))
            }
        };
        let tensors = reader.into_tensors();
        if tensors.is_empty() {
            return Err(not_a_checkpoint(&source, "it holds no tensors"));
        }
        Ok(Checkpoint { source, tensors })
    }

    /// A checkpoint built in memory (benchmarks, tests of the loaders): the
    /// same loading code then runs on tensors that never touched a file.
    pub fn from_data(
        source: impl Into<String>,
        tensors: impl IntoIterator<Item = (String, TensorData)>,
    ) -> Checkpoint {
        let tensors = tensors
            .into_iter()
            .map(|(name, data)| {
                let path = name.split('.').map(str::to_string).collect();
                let snapshot =
                    TensorSnapshot::from_data(data, path, Vec::new(), Default::default());
                (name, snapshot)
            })
            .collect();
        Checkpoint {
            source: source.into(),
            tensors,
        }
    }

    /// The file path (or in-memory label) used in messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether a tensor of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of a tensor, without reading its data.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.shape.to_vec())
    }

    /// All tensor names, sorted (for messages and diagnostics).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The shape of a tensor that must exist; the error names what was expected.
    pub fn require_shape(&self, name: &str, expected: &str) -> Result<Vec<usize>> {
        self.shape(name).ok_or_else(|| {
            Error::input(format!(
                "checkpoint {}: missing tensor `{name}` (expected shape {expected})",
                self.source
            ))
        })
    }

    /// A tensor's values as f32, after checking that its shape is `expected`.
    pub fn values(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let snapshot = self.tensors.get(name).ok_or_else(|| {
            Error::input(format!(
                "checkpoint {}: missing tensor `{name}` (expected shape {expected:?})",
                self.source
            ))
        })?;
        let found = snapshot.shape.to_vec();
        if found != expected {
            return Err(Error::input(format!(
                "checkpoint {}: tensor `{name}` has shape {found:?}, expected {expected:?}",
                self.source
            )));
        }
        let data = snapshot.to_data().map_err(|e| {
            Error::input(format!(
                "checkpoint {}: cannot read the data of tensor `{name}` (is the file truncated?): {e:?}",
                self.source
            ))
        })?;
        // Half-precision or double checkpoints load too; the model runs in f32.
        let values = data.convert::<f32>().into_vec::<f32>().map_err(|e| {
            Error::input(format!(
                "checkpoint {}: tensor `{name}` is not a float tensor: {e:?}",
                self.source
            ))
        })?;
        if values.len() != expected.iter().product::<usize>() {
            return Err(Error::input(format!(
                "checkpoint {}: tensor `{name}` holds {} values, its shape {expected:?} needs {} (is the file truncated?)",
                self.source,
                values.len(),
                expected.iter().product::<usize>()
            )));
        }
        Ok(values)
    }

    /// A tensor on `device`, after checking that its shape is `expected`.
    pub fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        device: &B::Device,
    ) -> Result<Tensor<B, D>> {
        let values = self.values(name, &expected)?;
        Ok(Tensor::from_data(TensorData::new(values, expected), device))
    }
}

fn not_a_checkpoint(source: &str, why: &str) -> Error {
    Error::input(format!(
        "{source} is not a readable PyTorch checkpoint (a zip of a pickle, as written by torch.save; \
         a truncated or corrupt download looks like this too): {why}"
    ))
}
