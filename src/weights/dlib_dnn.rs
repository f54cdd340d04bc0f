//! dlib `dnn` network files as a [`MemorySource`]: a file such as
//! `dlib_face_recognition_resnet_model_v1.dat`, read by
//! [`crate::dlib::dnn`] and offered under dlib's own layer numbering, so the
//! network loads through a [`super::StateDict`] like every other. (dlib's
//! stream is read whole to find any tensor, so its tensors are held in
//! memory, as a [`MemorySource`] holds them.)
//!
//! dlib's file says more than tensors: which kind each layer is, and each
//! convolution's and pooling's geometry. Both are offered as tensors too, so
//! the strict reader checks them the way dlib's C++ `deserialize` does
//! against its network type (it throws "Wrong stride_y found …"):
//! - `layer<i>.con.filters` [filters, channels, rows, cols],
//!   `layer<i>.con.biases` [filters], `layer<i>.con.geometry`
//!   [stride_y, stride_x, padding_y, padding_x];
//! - `layer<i>.affine.gamma`, `layer<i>.affine.beta` [channels];
//! - `layer<i>.fc.weights` [inputs, outputs] (and `layer<i>.fc.biases`);
//! - `layer<i>.max_pool.window`, `layer<i>.avg_pool.window`
//!   [rows, cols, stride_y, stride_x, padding_y, padding_x];
//! - `layer<i>.relu`, `layer<i>.add_prev`, `layer<i>.tag_or_skip`: empty
//!   tensors ([0]) that say the layer is there;
//! - `layer<n>.input_rgb_image.avg` [3] (the mean colour) and `.size` [2];
//!   `layer0.loss_metric` [margin, distance threshold].
//!
//! Names write `layer<i>` as `layer{i}` (`layer12.con.filters`).

use super::MemorySource;
use crate::dlib::dnn::{DnnFile, Layer, Pool};
use crate::error::Result;
use std::collections::HashMap;
use std::path::Path;

/// Reads a `.dat` or `.dat.bz2` network file (the descriptor is 22 MB).
pub fn open(path: &Path) -> Result<MemorySource> {
    Ok(from_file(path.display().to_string(), DnnFile::load(path)?))
}

/// The tensors of an already read network, under `shown` in messages.
pub fn from_file(shown: String, file: DnnFile) -> MemorySource {
    let mut tensors = HashMap::new();
    let mut put = |name: String, shape: Vec<usize>, values: Vec<f32>| {
        tensors.insert(name, (shape, values));
    };
    put(
        "layer0.loss_metric".into(),
        vec![2],
        vec![file.loss.margin, file.loss.distance_threshold],
    );
    let window = |p: &Pool| {
        [
            p.rows,
            p.cols,
            p.stride_y,
            p.stride_x,
            p.padding_y,
            p.padding_x,
        ]
        .map(|v| v as f32)
        .to_vec()
    };
    let count = file.layers.len();
    for (i, layer) in file.layers.into_iter().enumerate() {
        let at = format!("layer{}", i + 1);
        match layer {
            Layer::Con(c) => {
                put(
                    format!("{at}.con.filters"),
                    vec![c.num_filters, c.in_channels, c.rows, c.cols],
                    c.filters,
                );
                put(format!("{at}.con.biases"), vec![c.num_filters], c.biases);
                put(
                    format!("{at}.con.geometry"),
                    vec![4],
                    [c.stride_y, c.stride_x, c.padding_y, c.padding_x]
                        .map(|v| v as f32)
                        .to_vec(),
                );
            }
            Layer::Affine(a) => {
                put(format!("{at}.affine.gamma"), vec![a.gamma.len()], a.gamma);
                put(format!("{at}.affine.beta"), vec![a.beta.len()], a.beta);
            }
            Layer::Fc(f) => {
                if !f.biases.is_empty() {
                    put(format!("{at}.fc.biases"), vec![f.num_outputs], f.biases);
                }
                put(
                    format!("{at}.fc.weights"),
                    vec![f.num_inputs, f.num_outputs],
                    f.weights,
                );
            }
            Layer::MaxPool(p) => put(format!("{at}.max_pool.window"), vec![6], window(&p)),
            Layer::AvgPool(p) => put(format!("{at}.avg_pool.window"), vec![6], window(&p)),
            Layer::Relu => put(format!("{at}.relu"), vec![0], vec![]),
            Layer::AddPrev => put(format!("{at}.add_prev"), vec![0], vec![]),
            Layer::TagOrSkip => put(format!("{at}.tag_or_skip"), vec![0], vec![]),
        }
    }
    let at = format!("layer{}.input_rgb_image", count + 1);
    put(
        format!("{at}.avg"),
        vec![3],
        vec![
            file.input.avg_red,
            file.input.avg_green,
            file.input.avg_blue,
        ],
    );
    if let Some((rows, cols)) = file.input.size {
        put(
            format!("{at}.size"),
            vec![2],
            vec![rows as f32, cols as f32],
        );
    }
    MemorySource::new(shown, tensors)
}
