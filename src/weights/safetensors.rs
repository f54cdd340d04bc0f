//! The safetensors [`TensorSource`]: famsim's native weight files, as
//! `famsim weights import` and `famsim pool build` write them (the container
//! itself is read and written by [`crate::io::safetensors`]).

use super::{TensorInfo, TensorSource};
use crate::error::Result;
use crate::io::safetensors::TensorFile;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// An opened safetensors file; tensors read on request, or ahead in parallel.
pub struct SafetensorsFile {
    file: TensorFile,
    shown: String,
    /// Tensors read ahead by [`TensorSource::prefetch`], by name.
    prefetched: HashMap<String, Vec<f32>>,
}

impl SafetensorsFile {
    /// Opens and checks a file: every tensor must be F32 and lie inside it.
    pub fn open(path: &Path) -> Result<SafetensorsFile> {
        Ok(SafetensorsFile {
            file: TensorFile::open(path)?,
            shown: path.display().to_string(),
            prefetched: HashMap::new(),
        })
    }
}

impl TensorSource for SafetensorsFile {
    fn name(&self) -> &str {
        &self.shown
    }

    fn tensors(&self) -> BTreeMap<String, TensorInfo> {
        self.file
            .tensors()
            .iter()
            .map(|(name, entry)| {
                let info = TensorInfo {
                    shape: entry.shape.clone(),
                    float: true,
                };
                (name.clone(), info)
            })
            .collect()
    }

    fn read(&mut self, name: &str) -> Result<Vec<f32>> {
        match self.prefetched.remove(name) {
            Some(values) => Ok(values),
            None => self.file.read(name),
        }
    }

    /// Reads every tensor under `prefix` at once on the thread pool, so that
    /// loading a network is not one long chain of reads on one core. If a
    /// read fails nothing is kept, and [`TensorSource::read`] reports it later.
    fn prefetch(&mut self, prefix: &str) {
        let names: Vec<String> = self
            .file
            .tensors()
            .keys()
            .filter(|name| name.starts_with(prefix) && !self.prefetched.contains_key(*name))
            .cloned()
            .collect();
        if let Ok(values) = self.file.read_many(&names) {
            self.prefetched.extend(names.into_iter().zip(values));
        }
    }
}
