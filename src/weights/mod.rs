//! The weights layer: one way from a weights file to a network's tensors.
//!
//! Two parts:
//!
//! - A [`TensorSource`] is one file format. It lists its tensors (names
//!   flattened with dots, shapes) and reads one on request as f32:
//!   [`pytorch::PytorchFile`] (`torch.save` zip or legacy pickle, read
//!   without executing anything), [`safetensors::SafetensorsFile`] (famsim's
//!   native files), [`dlib_dnn`] (dlib's `dnn` network files,
//!   the face descriptor, read whole into a [`MemorySource`]) and
//!   [`MemorySource`] (tensors held in memory, also for tests and benchmarks). [`Weights`] wraps any of them.
//! - A [`StateDict`] is the strict reader every network loads through, like
//!   PyTorch's `load_state_dict(strict=True)` or candle's `VarBuilder`:
//!   `sd.pp("conv1").tensor("weight", [out, in, 3, 3])`. A missing or
//!   misshapen tensor is an input error naming the file, the tensor and the
//!   shape the network expected; [`StateDict::finish`] also rejects tensors
//!   the network did not use.
//!
//! Every network reads through these: the StyleGAN2 generator, the StyleGene
//! mixers, e4e and the gene pools, from the official PyTorch files or from
//! famsim's native copies, which keep the PyTorch names.
//!
//! A new network (a landmark model, an attribute classifier) adds a loader
//! that walks a [`StateDict`]; a new file format adds a [`TensorSource`] in
//! a file of its own and a constructor on [`Weights`]. (dlib's landmark
//! cascades are regression trees, not tensors, so `dlib::shape_predictor`
//! reads its files itself.)

pub mod dlib_dnn;
pub mod pytorch;
pub mod safetensors;

use crate::error::{Error, Result};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::rc::Rc;

/// What a source knows about a tensor before reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub shape: Vec<usize>,
    /// Whether it holds floating-point values (reads as f32). Integer tensors
    /// (batch norm's `num_batches_tracked`) are listed but not readable.
    pub float: bool,
}

/// One weights file format.
pub trait TensorSource {
    /// The file's path (or a label), for messages.
    fn name(&self) -> &str;

    /// Every tensor, by flattened name.
    fn tensors(&self) -> BTreeMap<String, TensorInfo>;

    /// One tensor's values as f32, row-major. Errors name the file and tensor.
    fn read(&mut self, name: &str) -> Result<Vec<f32>>;

    /// A hint that the tensors under `prefix` are about to be read; a source
    /// that can read them faster together (in parallel) does so now.
    fn prefetch(&mut self, _prefix: &str) {}
}

/// Tensors held in memory: checkpoints built by tests and benchmarks, which
/// then load through the same code as files.
pub struct MemorySource {
    label: String,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl MemorySource {
    /// Tensors (shape, values) by name, under `label` in messages.
    pub fn new(label: String, tensors: HashMap<String, (Vec<usize>, Vec<f32>)>) -> MemorySource {
        MemorySource { label, tensors }
    }
}

impl TensorSource for MemorySource {
    fn name(&self) -> &str {
        &self.label
    }

    fn tensors(&self) -> BTreeMap<String, TensorInfo> {
        self.tensors
            .iter()
            .map(|(name, (shape, _))| {
                let info = TensorInfo {
                    shape: shape.clone(),
                    float: true,
                };
                (name.clone(), info)
            })
            .collect()
    }

    fn read(&mut self, name: &str) -> Result<Vec<f32>> {
        self.tensors
            .get(name)
            .map(|(_, values)| values.clone())
            .ok_or_else(|| Error::input(format!("{}: no tensor `{name}`", self.label)))
    }
}

/// An opened weights file: the names and shapes of its tensors, and their
/// values on request.
pub struct Weights {
    tensors: BTreeMap<String, TensorInfo>,
    source: RefCell<Box<dyn TensorSource>>,
    shown: String,
}

impl Weights {
    /// Opens a weights file by its extension: `.safetensors` is famsim's
    /// native format, anything else (`.pt`, `.pth`, `.ckpt`, `.pkl`) a
    /// `torch.save` file.
    pub fn open(path: impl AsRef<Path>) -> Result<Weights> {
        let path = path.as_ref();
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Weights::safetensors(path),
            _ => Weights::pytorch(path),
        }
    }

    /// Opens a `torch.save` file (zip or legacy format).
    pub fn pytorch(path: impl AsRef<Path>) -> Result<Weights> {
        Ok(Weights::from_source(Box::new(pytorch::PytorchFile::open(
            path.as_ref(),
        )?)))
    }

    /// Opens a safetensors file of f32 tensors.
    pub fn safetensors(path: impl AsRef<Path>) -> Result<Weights> {
        Ok(Weights::from_source(Box::new(
            safetensors::SafetensorsFile::open(path.as_ref())?,
        )))
    }

    /// Opens a dlib `dnn` network file (`.dat` or `.dat.bz2`), such as the
    /// face descriptor; see [`dlib_dnn`] for its tensor names.
    pub fn dlib_dnn(path: impl AsRef<Path>) -> Result<Weights> {
        Ok(Weights::from_source(Box::new(dlib_dnn::open(
            path.as_ref(),
        )?)))
    }

    /// Tensors built in memory, under `label` in messages.
    pub fn from_data(
        label: impl Into<String>,
        tensors: impl IntoIterator<Item = (String, TensorData)>,
    ) -> Weights {
        let tensors = tensors
            .into_iter()
            .map(|(name, data)| {
                let shape = data.shape.to_vec();
                let values = data.convert::<f32>().into_vec::<f32>().unwrap_or_default();
                (name, (shape, values))
            })
            .collect();
        Weights::from_source(Box::new(MemorySource::new(label.into(), tensors)))
    }

    /// Any tensor source.
    pub fn from_source(source: Box<dyn TensorSource>) -> Weights {
        Weights {
            tensors: source.tensors(),
            shown: source.name().to_string(),
            source: RefCell::new(source),
        }
    }

    /// The file path (or in-memory label) used in messages.
    pub fn source(&self) -> &str {
        &self.shown
    }

    /// Whether a tensor of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of a tensor, without reading its data.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.shape.clone())
    }

    /// What is known of a tensor before reading it.
    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }

    /// All tensor names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(String::as_str).collect()
    }

    /// The names that start with `prefix`, sorted.
    pub fn names_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.tensors
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(name, _)| name.as_str())
            .take_while(move |name| name.starts_with(prefix))
    }

    /// [`Weights::names_under`], as owned strings.
    pub fn names_under_owned(&self, prefix: &str) -> Vec<String> {
        self.names_under(prefix).map(str::to_owned).collect()
    }

    /// Where a network's state dict lies in the file: under `state_dict.` in
    /// a Lightning or e4e checkpoint, else at the top (a bare state dict, a
    /// rosinality checkpoint or a native file).
    pub fn state_dict_base(&self) -> &'static str {
        if self.names_under("state_dict.").next().is_some() {
            "state_dict."
        } else {
            ""
        }
    }

    /// Reads the tensors under `prefix` ahead where the source can do that
    /// faster than one by one.
    pub fn prefetch(&self, prefix: &str) {
        self.source.borrow_mut().prefetch(prefix);
    }

    /// A tensor's values as f32, whatever its shape.
    pub fn read(&self, name: &str) -> Result<Vec<f32>> {
        self.source.borrow_mut().read(name)
    }

    /// A tensor's values as f32, after checking that its shape is `expected`.
    pub fn values(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let info = self.tensors.get(name).ok_or_else(|| {
            self.error(format!(
                "missing tensor `{name}` (expected shape {expected:?})"
            ))
        })?;
        if info.shape != expected {
            return Err(self.error(format!(
                "tensor `{name}` has shape {:?}, expected {expected:?}",
                info.shape
            )));
        }
        let values = self.read(name)?;
        let want = expected.iter().product::<usize>();
        if values.len() != want {
            return Err(self.error(format!(
                "tensor `{name}` holds {} values, its shape {expected:?} needs {want} (is the file truncated?)",
                values.len()
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

    /// An input error about this file.
    pub fn error(&self, msg: String) -> Error {
        Error::input(format!("{}: {msg}", self.shown))
    }
}

/// A network's tensors under one prefix, read strictly and by name.
///
/// [`StateDict::pp`] descends into a sub-module (`sd.pp("conv1")` reads
/// `conv1.*`); the descendants share one record of the tensors used, which
/// [`StateDict::finish`] checks against the file.
pub struct StateDict<'a, B: Backend> {
    weights: &'a Weights,
    /// Where this module's tensors start in the file (`state_dict.w2sub34.`).
    base: String,
    /// The same, as messages show it (`w2sub34.`).
    shown: String,
    /// Whose layout this is, for errors: "StyleGene's", "e4e's".
    layout: &'static str,
    used: Rc<RefCell<BTreeSet<String>>>,
    pub device: &'a B::Device,
}

impl<'a, B: Backend> StateDict<'a, B> {
    /// The whole file, names as they are.
    pub fn root(weights: &'a Weights, layout: &'static str, device: &'a B::Device) -> Self {
        weights.prefetch("");
        StateDict {
            weights,
            base: String::new(),
            shown: String::new(),
            layout,
            used: Rc::default(),
            device,
        }
    }

    /// The tensors named `prefix.*` in the file's state dict (see
    /// [`Weights::state_dict_base`]). `expected_file` says which file was
    /// expected when there are none.
    pub fn new(
        weights: &'a Weights,
        prefix: &str,
        layout: &'static str,
        expected_file: &str,
        device: &'a B::Device,
    ) -> Result<Self> {
        let shown = format!("{prefix}.");
        let base = format!("{}{shown}", weights.state_dict_base());
        if weights.names_under(&base).next().is_none() {
            return Err(weights.error(format!(
                "no `{prefix}.*` tensors found (expected {expected_file})"
            )));
        }
        weights.prefetch(&base);
        Ok(StateDict {
            weights,
            base,
            shown,
            layout,
            used: Rc::default(),
            device,
        })
    }

    /// The sub-module `name` (`conv1` → `conv1.*`), sharing the record of
    /// used tensors.
    pub fn pp(&self, name: &str) -> StateDict<'a, B> {
        StateDict {
            weights: self.weights,
            base: format!("{}{name}.", self.base),
            shown: format!("{}{name}.", self.shown),
            layout: self.layout,
            used: self.used.clone(),
            device: self.device,
        }
    }

    /// An input error about this file.
    pub fn err(&self, msg: String) -> Error {
        self.weights.error(msg)
    }

    pub fn missing(&self, name: &str, expected: &str) -> Error {
        self.err(format!(
            "missing tensor `{}{name}` (expected shape {expected})",
            self.shown
        ))
    }

    pub fn wrong_shape(&self, name: &str, expected: &str, found: &[usize]) -> Error {
        self.err(format!(
            "tensor `{}{name}` has shape {found:?}, expected {expected}",
            self.shown
        ))
    }

    fn info(&self, name: &str) -> Option<&'a TensorInfo> {
        self.weights.info(&format!("{}{name}", self.base))
    }

    /// Whether tensor `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.info(name).is_some()
    }

    /// The shape of `name`, which must exist (`expected` describes it for
    /// the error).
    pub fn require_shape(&self, name: &str, expected: &str) -> Result<Vec<usize>> {
        self.info(name)
            .map(|t| t.shape.clone())
            .ok_or_else(|| self.missing(name, expected))
    }

    /// The shape of `name`, which must exist and have rank D.
    pub fn shape_of<const D: usize>(&self, name: &str, expected: &str) -> Result<[usize; D]> {
        let shape = self.require_shape(name, expected)?;
        shape
            .as_slice()
            .try_into()
            .map_err(|_| self.wrong_shape(name, expected, &shape))
    }

    /// How many of `name(first)`, `name(first + 1)`, … exist, counting from
    /// `first` until the first gap.
    pub fn count(&self, first: usize, name: impl Fn(usize) -> String) -> usize {
        (first..).take_while(|&i| self.has(&name(i))).count()
    }

    /// The values of tensor `name`, checked to have shape `expected`.
    pub fn values(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let info = self
            .info(name)
            .ok_or_else(|| self.missing(name, &format!("{expected:?}")))?;
        if info.shape != expected {
            return Err(self.wrong_shape(name, &format!("{expected:?}"), &info.shape));
        }
        let full = format!("{}{name}", self.base);
        let values = self.weights.read(&full)?;
        if values.len() != expected.iter().product::<usize>() {
            return Err(self.err(format!(
                "tensor `{}{name}` holds {} values, its shape {expected:?} needs {} (is the file truncated?)",
                self.shown,
                values.len(),
                expected.iter().product::<usize>()
            )));
        }
        self.used.borrow_mut().insert(full);
        Ok(values)
    }

    /// Reads `name`, which must have exactly shape `expected`, onto the device.
    pub fn tensor<const D: usize>(&self, name: &str, expected: [usize; D]) -> Result<Tensor<B, D>> {
        let values = self.values(name, &expected)?;
        Ok(Tensor::from_data(
            TensorData::new(values, expected),
            self.device,
        ))
    }

    /// Marks `name` as known but not needed (batch norm's
    /// `num_batches_tracked`, an integer training counter).
    pub fn skip(&self, name: &str) {
        if self.has(name) {
            self.used
                .borrow_mut()
                .insert(format!("{}{name}", self.base));
        }
    }

    /// Strict loading: every tensor under this prefix must have been used.
    pub fn finish(self) -> Result<()> {
        let used = self.used.borrow();
        match self
            .weights
            .names_under(&self.base)
            .find(|name| !used.contains(*name))
        {
            None => Ok(()),
            Some(name) => Err(self.err(format!(
                "unexpected tensor `{}{}`: the checkpoint's layout differs from {}",
                self.shown,
                &name[self.base.len()..],
                self.layout
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_ndarray::NdArray;

    fn weights() -> Weights {
        let t = |shape: Vec<usize>| TensorData::new(vec![0.5f32; shape.iter().product()], shape);
        Weights::from_data(
            "mem.pt",
            [
                ("state_dict.net.a.weight".to_string(), t(vec![2, 3])),
                ("state_dict.net.a.bias".to_string(), t(vec![2])),
                ("state_dict.net.b.weight".to_string(), t(vec![4])),
                ("state_dict.other.x".to_string(), t(vec![1])),
                ("latent_avg".to_string(), t(vec![3])),
            ],
        )
    }

    #[test]
    fn a_state_dict_reads_strictly_and_names_what_is_wrong() {
        let w = weights();
        let device = Default::default();
        let sd =
            StateDict::<NdArray>::new(&w, "net", "the test's", "a test file", &device).unwrap();
        let a = sd.pp("a");
        assert_eq!(a.tensor::<2>("weight", [2, 3]).unwrap().dims(), [2, 3]);
        let err = a.values("bias", &[3]).unwrap_err().to_string();
        assert_eq!(
            err,
            "mem.pt: tensor `net.a.bias` has shape [2], expected [3]"
        );
        let err = sd.values("c.weight", &[1]).unwrap_err().to_string();
        assert_eq!(
            err,
            "mem.pt: missing tensor `net.c.weight` (expected shape [1])"
        );
        a.values("bias", &[2]).unwrap();
        let err = sd.finish().unwrap_err().to_string();
        assert!(err.contains("unexpected tensor `net.b.weight`"), "{err}");

        let err = StateDict::<NdArray>::new(&w, "nope", "x", "a nope file", &device)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "mem.pt: no `nope.*` tensors found (expected a nope file)"
        );
        // The top level stays reachable beside the state dict.
        let root = StateDict::<NdArray>::root(&w, "x", &device);
        assert_eq!(root.values("latent_avg", &[3]).unwrap(), vec![0.5; 3]);
    }
}
