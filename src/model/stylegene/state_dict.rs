//! Strict, named reading of one network's tensors from a PyTorch checkpoint
//! (or its native copy), like PyTorch's `load_state_dict(strict=True)`: a
//! missing, misshapen or unexpected tensor is an input error that names the
//! tensor and the shape the network expected.
//!
//! Each network file adds its own layer readers (`dense`, `norm`, `conv`, …)
//! in an `impl StateDict` block beside the layers they build.

use super::torch_pickle::{TensorRef, TorchFile, Value};
use crate::error::{Error, Result};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The tensors under `prefix.` of one checkpoint, read on demand.
pub struct StateDict<'a, B: Backend> {
    file: &'a mut TorchFile,
    prefix: &'static str,
    /// Whose layout this is, for errors: "StyleGene's", "e4e's".
    layout: &'static str,
    tensors: BTreeMap<String, Rc<TensorRef>>,
    used: BTreeSet<String>,
    pub device: &'a B::Device,
}

impl<'a, B: Backend> StateDict<'a, B> {
    /// The tensors named `prefix.*`, in the checkpoint's `state_dict` (a
    /// Lightning or e4e checkpoint) or at its top level (a bare state dict or
    /// a native file). `expected_file` says which file was expected when
    /// there are none.
    pub fn new(
        file: &'a mut TorchFile,
        prefix: &'static str,
        layout: &'static str,
        expected_file: &str,
        device: &'a B::Device,
    ) -> Result<Self> {
        let root = file.root();
        let state = match root.get("state_dict") {
            Some(sd @ Value::Dict(_)) => sd,
            _ => root.clone(),
        };
        let head = format!("{prefix}.");
        let tensors: BTreeMap<String, Rc<TensorRef>> = state
            .tensors_by_name()
            .into_iter()
            .filter_map(|(k, t)| k.strip_prefix(&head).map(|k| (k.to_owned(), t)))
            .collect();
        if tensors.is_empty() {
            return Err(Error::input(format!(
                "{}: no `{prefix}.*` tensors found (expected {expected_file})",
                file.path().display()
            )));
        }
        Ok(StateDict {
            file,
            prefix,
            layout,
            tensors,
            used: BTreeSet::new(),
            device,
        })
    }

    /// An input error about this file.
    pub fn err(&self, msg: String) -> Error {
        Error::input(format!("{}: {msg}", self.file.path().display()))
    }

    pub fn missing(&self, name: &str, expected: &str) -> Error {
        self.err(format!(
            "missing tensor `{}.{name}` (expected shape {expected})",
            self.prefix
        ))
    }

    pub fn wrong_shape(&self, name: &str, expected: &str, found: &[usize]) -> Error {
        self.err(format!(
            "tensor `{}.{name}` has shape {found:?}, expected {expected}",
            self.prefix
        ))
    }

    /// Whether tensor `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of `name`, which must exist and have rank D.
    pub fn shape_of<const D: usize>(&self, name: &str, expected: &str) -> Result<[usize; D]> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| self.missing(name, expected))?;
        t.shape
            .as_slice()
            .try_into()
            .map_err(|_| self.wrong_shape(name, expected, &t.shape))
    }

    /// How many of `name(first)`, `name(first + 1)`, … exist, counting from
    /// `first` until the first gap.
    pub fn count(&self, first: usize, name: impl Fn(usize) -> String) -> usize {
        (first..).take_while(|&i| self.has(&name(i))).count()
    }

    /// Reads `name`, which must have exactly shape `expected`.
    pub fn tensor<const D: usize>(
        &mut self,
        name: &str,
        expected: [usize; D],
    ) -> Result<Tensor<B, D>> {
        let values = self.values(name, &expected)?;
        Ok(Tensor::from_data(
            TensorData::new(values, expected),
            self.device,
        ))
    }

    /// The values of tensor `name`, checked to have shape `expected`.
    pub fn values(&mut self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .get(name)
            .cloned()
            .ok_or_else(|| self.missing(name, &format!("{expected:?}")))?;
        if t.shape != expected {
            return Err(self.wrong_shape(name, &format!("{expected:?}"), &t.shape));
        }
        let full = format!("{}.{name}", self.prefix);
        let values = self.file.read_f32(&t, &full)?;
        self.used.insert(name.to_owned());
        Ok(values)
    }

    /// Marks `name` as known but not needed (batch-norm's
    /// `num_batches_tracked`, an integer training counter).
    pub fn skip(&mut self, name: &str) {
        if self.has(name) {
            self.used.insert(name.to_owned());
        }
    }

    /// Strict loading: every tensor under the prefix must have been used.
    pub fn finish(self) -> Result<()> {
        match self.tensors.keys().find(|k| !self.used.contains(*k)) {
            None => Ok(()),
            Some(k) => Err(self.err(format!(
                "unexpected tensor `{}.{k}`: the checkpoint's layout differs from {}",
                self.prefix, self.layout
            ))),
        }
    }
}
