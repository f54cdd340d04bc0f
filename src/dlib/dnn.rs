//! dlib's `dnn` networks as its `serialize(net, out)` writes them (the face
//! descriptor `dlib_face_recognition_resnet_model_v1.dat`; the CNN face
//! detector uses the same layers), read into a flat list of layers.
//!
//! A dlib network is a C++ type nesting one layer in the next
//! (`loss_metric<fc_no_bias<128, avg_pool_everything<… input_rgb_image_sized<150>>>>`),
//! and the stream nests the same way (`dlib/dnn/core.h`):
//! - the loss layer: version 1, its details (`"loss_metric_2"`, margin,
//!   distance threshold), then the network under it;
//! - each `add_layer`: version 2 (3 for the one over the input), the network
//!   under it, *then* its own details, three bools and three tensors
//!   (gradients and cached outputs, empty in a saved model); the input layer
//!   (`"input_rgb_image_sized"`, the mean colour, the size) sits under the
//!   bottom one;
//! - each `tag` or `skip` layer: version 1 and the network under it, nothing
//!   else. dlib does not write which tag or skip it is (that lives in the C++
//!   type); the network's code says, as dlib's own C++ does.
//!
//! So the versions come top-down and the layers' details bottom-up. Each
//! layer's details start with its name and serialization version
//! (`"con_4"`, `"affine_"`, `"relu_"`, …): the name tells what follows, and a
//! layer this reader does not know is an error naming it. Parameters are one
//! `tensor` (version 2, four dimensions, raw little-endian floats) that
//! `alias_tensor`s (version 1, four dimensions, no data) cut into the
//! filters and biases, or gamma and beta.
//!
//! Layers are numbered as dlib prints a network (`cout << net`): `layer<0>`
//! is the loss, `layer<1>` the top layer, tags and skips count, the input is
//! last. Every error names the layer, what was read and the byte offset.

use super::reader::DlibReader;
use crate::error::Result;
use std::io::Read;
use std::path::Path;

/// The most layers a file may nest (the descriptor has 132, the detector fewer).
const MAX_LAYERS: usize = 10_000;
/// The most values one tensor may hold (the descriptor's largest has 590 k).
const MAX_TENSOR: i64 = 1 << 28;

/// The metric loss at the top (`loss_metric_`): training settings only, kept
/// so that `famsim weights info` can show them.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricLoss {
    pub margin: f32,
    pub distance_threshold: f32,
}

/// The input layer: the mean colour subtracted before the division by 256,
/// and the image size it was locked to (`input_rgb_image_sized<150>`).
#[derive(Clone, Debug, PartialEq)]
pub struct RgbInput {
    pub avg_red: f32,
    pub avg_green: f32,
    pub avg_blue: f32,
    /// (rows, columns); `None` for an `input_rgb_image` of any size.
    pub size: Option<(usize, usize)>,
}

/// A convolution (`con_`): `filters` [num_filters, k, rows, cols] and one bias
/// per filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Con {
    pub num_filters: usize,
    pub in_channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
    pub filters: Vec<f32>,
    pub biases: Vec<f32>,
}

/// A per-channel scale and shift (`affine_`): dlib's frozen batch norm.
#[derive(Clone, Debug, PartialEq)]
pub struct Affine {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// A pooling window (`max_pool_`, `avg_pool_`); rows = cols = 0 pools the
/// whole image (`avg_pool_everything`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
}

/// A fully connected layer (`fc_`): out = x · `weights`, `weights` laid out
/// [num_inputs, num_outputs]; `biases` is empty for `fc_no_bias`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fc {
    pub num_inputs: usize,
    pub num_outputs: usize,
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
}

/// One layer of the stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    Con(Con),
    Affine(Affine),
    Relu,
    MaxPool(Pool),
    AvgPool(Pool),
    /// `add_prev_`: adds the output of a tagged layer below (which tag is in
    /// the C++ type, not the file).
    AddPrev,
    Fc(Fc),
    /// A `tag` or `skip` layer: written identically, so not told apart here.
    TagOrSkip,
}

impl Layer {
    /// dlib's name of the layer, as `cout << net` prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Con(_) => "con",
            Layer::Affine(_) => "affine",
            Layer::Relu => "relu",
            Layer::MaxPool(_) => "max_pool",
            Layer::AvgPool(_) => "avg_pool",
            Layer::AddPrev => "add_prev",
            Layer::Fc(_) => "fc",
            Layer::TagOrSkip => "tag/skip",
        }
    }
}

/// A whole network file.
#[derive(Clone, Debug, PartialEq)]
pub struct DnnFile {
    pub loss: MetricLoss,
    /// `layers[i]` is dlib's `layer<i + 1>`: top first.
    pub layers: Vec<Layer>,
    /// dlib's `layer<layers.len() + 1>`.
    pub input: RgbInput,
}

impl DnnFile {
    /// Reads a `.dat` (or `.dat.bz2`) network file to its end.
    pub fn load(path: &Path) -> Result<DnnFile> {
        let mut r = DlibReader::open(path)?;
        let file = DnnFile::read(&mut r)?;
        r.expect_end("the end of the network")?;
        Ok(file)
    }

    /// Reads a network whose top is a `loss_metric` layer.
    pub fn read<R: Read>(r: &mut DlibReader<R>) -> Result<DnnFile> {
        let version = r.i64("the loss layer's version (layer<0>)")?;
        if version != 1 {
            return Err(r.error(
                "the loss layer's version (layer<0>)",
                format!("version {version}, expected 1 (is this a dlib dnn network?)"),
            ));
        }
        let name = r.string("the loss layer's name (layer<0>)")?;
        let loss = match name.as_str() {
            "loss_metric_2" => MetricLoss {
                margin: r.f32("layer<0> loss_metric margin")?,
                distance_threshold: r.f32("layer<0> loss_metric distance threshold")?,
            },
            // dlib's defaults for the first version, which did not store them.
            "loss_metric_" => MetricLoss {
                margin: 0.1,
                distance_threshold: 0.75,
            },
            other => {
                return Err(r.error(
                    "the loss layer's name (layer<0>)",
                    format!("`{other}` is not a metric loss (loss_metric_); only face-descriptor networks are supported"),
                ))
            }
        };

        // Top-down: the versions of the wrappers, down to the input layer.
        // `pending` holds the add_layers whose details come after their subnet.
        let mut layers: Vec<Option<Layer>> = Vec::new();
        let mut pending: Vec<(usize, i64)> = Vec::new();
        let mut version = r.i64("layer<1>'s version")?;
        let input = loop {
            let index = layers.len() + 1;
            if layers.len() >= MAX_LAYERS {
                return Err(r.error(
                    format!("layer<{index}>"),
                    "more layers than any dlib network has (corrupt file?)",
                ));
            }
            match version {
                1 => {
                    layers.push(Some(Layer::TagOrSkip));
                    version = r.i64(format!("layer<{}>'s version", index + 1))?;
                }
                2 | 3 => {
                    // The next value is either the version of the layer below
                    // (1 to 3) or, over the input layer, the length of the
                    // input layer's name.
                    let what = format!("layer<{}>'s version", index + 1);
                    let next = r.i64(&what)?;
                    layers.push(None);
                    pending.push((index, version));
                    if (1..=3).contains(&next) {
                        version = next;
                    } else {
                        let input_what = format!("layer<{}> (the input layer)", index + 1);
                        if next < 0 {
                            return Err(r.error(&what, format!("{next} is neither a version nor a name length")));
                        }
                        let name = r.string_of_len(next as u64, &input_what)?;
                        break read_input(r, &name, &input_what)?;
                    }
                }
                other => {
                    return Err(r.error(
                        format!("layer<{index}>'s version"),
                        format!("version {other} is not a dlib layer's (1 for tag/skip, 2 or 3 for a layer)"),
                    ))
                }
            }
        };

        // Bottom-up: each add_layer's details and training state.
        let over_input = pending.last().map(|&(i, _)| i);
        while let Some((index, version)) = pending.pop() {
            let layer = read_details(r, index)?;
            let at = |s: &str| format!("layer<{index}> ({}) {s}", layer.kind());
            for flag in [
                "this_layer_setup_called",
                "gradient_input_is_stale",
                "get_output_and_gradient_input_disabled",
            ] {
                r.bool(at(flag))?;
            }
            read_tensor(r, &at("x_grad"))?;
            read_tensor(r, &at("cached_output"))?;
            if Some(index) == over_input {
                read_tensor(r, &at("grad_final"))?;
                if version >= 3 {
                    r.u64(at("sample_expansion_factor"))?;
                }
            } else {
                read_tensor(r, &at("params_grad"))?;
            }
            layers[index - 1] = Some(layer);
        }
        Ok(DnnFile {
            loss,
            layers: layers
                .into_iter()
                .map(|l| l.expect("every add_layer was read"))
                .collect(),
            input,
        })
    }
}

fn read_input<R: Read>(r: &mut DlibReader<R>, name: &str, what: &str) -> Result<RgbInput> {
    let sized = match name {
        "input_rgb_image_sized" => true,
        "input_rgb_image" => false,
        other => {
            return Err(r.error(
                what,
                format!("input layer `{other}` is not supported (input_rgb_image[_sized])"),
            ))
        }
    };
    let avg_red = r.f32(format!("{what} avg_red"))?;
    let avg_green = r.f32(format!("{what} avg_green"))?;
    let avg_blue = r.f32(format!("{what} avg_blue"))?;
    let size = if sized {
        let rows = r.index(format!("{what} rows"), 1 << 16)?;
        let cols = r.index(format!("{what} cols"), 1 << 16)?;
        Some((rows, cols))
    } else {
        None
    };
    Ok(RgbInput {
        avg_red,
        avg_green,
        avg_blue,
        size,
    })
}

/// A `tensor`: version 2, num_samples, k, nr, nc, then the raw floats.
/// Returns the dimensions and the values.
fn read_tensor<R: Read>(r: &mut DlibReader<R>, what: &str) -> Result<([usize; 4], Vec<f32>)> {
    let version = r.i64(format!("{what} (tensor version)"))?;
    if version != 2 {
        return Err(r.error(what, format!("tensor version {version}, expected 2")));
    }
    let dims = read_dims(r, what)?;
    let count = dims.iter().product();
    Ok((dims, r.raw_f32(what, count)?))
}

/// An `alias_tensor`: version 1 and four dimensions, no data.
fn read_alias<R: Read>(r: &mut DlibReader<R>, what: &str) -> Result<[usize; 4]> {
    let version = r.i64(format!("{what} (alias version)"))?;
    if version != 1 {
        return Err(r.error(what, format!("alias_tensor version {version}, expected 1")));
    }
    read_dims(r, what)
}

fn read_dims<R: Read>(r: &mut DlibReader<R>, what: &str) -> Result<[usize; 4]> {
    let mut dims = [0usize; 4];
    let mut total: i64 = 1;
    for (d, name) in dims.iter_mut().zip(["num_samples", "k", "nr", "nc"]) {
        let v = r.i64(format!("{what} {name}"))?;
        total = total.saturating_mul(v.max(0));
        if v < 0 || total > MAX_TENSOR {
            return Err(r.error(what, format!("impossible tensor dimension {name} = {v}")));
        }
        *d = v as usize;
    }
    Ok(dims)
}

/// A small count or size stored as an integer, checked to be 0..=limit.
fn small<R: Read>(r: &mut DlibReader<R>, what: &str, limit: i64) -> Result<usize> {
    let v = r.i64(what)?;
    if !(0..=limit).contains(&v) {
        return Err(r.error(what, format!("{v} is out of range 0..={limit}")));
    }
    Ok(v as usize)
}

/// Cuts a parameter tensor into consecutive aliases, checking the sizes add up.
fn split<R: Read>(
    r: &DlibReader<R>,
    what: &str,
    params: Vec<f32>,
    sizes: &[usize],
) -> Result<Vec<Vec<f32>>> {
    let total: usize = sizes.iter().sum();
    if total != params.len() {
        return Err(r.error(
            what,
            format!(
                "the parameter tensor holds {} values but its parts need {total}",
                params.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &n in sizes {
        out.push(params[start..start + n].to_vec());
        start += n;
    }
    Ok(out)
}

fn read_pool<R: Read>(r: &mut DlibReader<R>, what: &str) -> Result<Pool> {
    Ok(Pool {
        rows: small(r, &format!("{what} nr"), 1 << 16)?,
        cols: small(r, &format!("{what} nc"), 1 << 16)?,
        stride_y: small(r, &format!("{what} stride_y"), 1 << 16)?,
        stride_x: small(r, &format!("{what} stride_x"), 1 << 16)?,
        padding_y: small(r, &format!("{what} padding_y"), 1 << 16)?,
        padding_x: small(r, &format!("{what} padding_x"), 1 << 16)?,
    })
}

/// One layer's details: its name and version string, then its fields.
fn read_details<R: Read>(r: &mut DlibReader<R>, index: usize) -> Result<Layer> {
    let name = r.string(format!("layer<{index}>'s name"))?;
    let what = format!("layer<{index}> ({name})");
    let field = |s: &str| format!("{what} {s}");
    Ok(match name.as_str() {
        "con_4" | "con_5" | "con_6" => {
            let (_, params) = read_tensor(r, &field("params"))?;
            let num_filters = small(r, &field("num_filters"), 1 << 20)?;
            let rows = small(r, &field("nr"), 1 << 10)?;
            let cols = small(r, &field("nc"), 1 << 10)?;
            let stride_y = small(r, &field("stride_y"), 1 << 10)?;
            let stride_x = small(r, &field("stride_x"), 1 << 10)?;
            let padding_y = small(r, &field("padding_y"), 1 << 10)?;
            let padding_x = small(r, &field("padding_x"), 1 << 10)?;
            let filters = read_alias(r, &field("filters"))?;
            let biases = read_alias(r, &field("biases"))?;
            for m in [
                "learning_rate_multiplier",
                "weight_decay_multiplier",
                "bias_learning_rate_multiplier",
                "bias_weight_decay_multiplier",
            ] {
                r.f64(field(m))?;
            }
            if name != "con_4" {
                r.bool(field("use_bias"))?;
            }
            if name == "con_6" {
                r.bool(field("use_relu"))?;
            }
            if filters[0] != num_filters || filters[2] != rows || filters[3] != cols {
                return Err(r.error(
                    field("filters"),
                    format!("alias {filters:?} does not match {num_filters} filters of {rows}×{cols}"),
                ));
            }
            let bias_len = biases.iter().product();
            if bias_len != 0 && bias_len != num_filters {
                return Err(r.error(
                    field("biases"),
                    format!("{bias_len} biases for {num_filters} filters"),
                ));
            }
            let filter_len = filters.iter().product();
            let mut parts = split(r, &field("params"), params, &[filter_len, bias_len])?;
            let mut biases = parts.pop().expect("two parts");
            if biases.is_empty() {
                biases = vec![0.0; num_filters];
            }
            Layer::Con(Con {
                num_filters,
                in_channels: filters[1],
                rows,
                cols,
                stride_y,
                stride_x,
                padding_y,
                padding_x,
                filters: parts.pop().expect("two parts"),
                biases,
            })
        }
        "affine_" | "affine_2" => {
            let (_, params) = read_tensor(r, &field("params"))?;
            let gamma = read_alias(r, &field("gamma"))?;
            let beta = read_alias(r, &field("beta"))?;
            let mode = r.i64(field("mode"))?;
            if name == "affine_2" && r.bool(field("disabled"))? {
                return Err(r.error(field("disabled"), "disabled affine layers are not supported"));
            }
            // dlib's layer_mode: 0 = CONV_MODE (one gamma per channel), 1 = FC_MODE.
            if mode != 0 {
                return Err(r.error(
                    field("mode"),
                    format!("mode {mode}: only per-channel (CONV_MODE) affine layers are supported"),
                ));
            }
            let (g, b) = (gamma.iter().product(), beta.iter().product());
            if g != b {
                return Err(r.error(field("beta"), format!("{g} gammas but {b} betas")));
            }
            let mut parts = split(r, &field("params"), params, &[g, b])?;
            let beta = parts.pop().expect("two parts");
            Layer::Affine(Affine {
                gamma: parts.pop().expect("two parts"),
                beta,
            })
        }
        "relu_" => Layer::Relu,
        "relu_2" => {
            if r.bool(field("disabled"))? {
                return Err(r.error(field("disabled"), "disabled relu layers are not supported"));
            }
            Layer::Relu
        }
        "max_pool_2" => Layer::MaxPool(read_pool(r, &what)?),
        "avg_pool_2" => Layer::AvgPool(read_pool(r, &what)?),
        "add_prev_" => Layer::AddPrev,
        "fc_2" | "fc_3" => {
            let num_outputs = small(r, &field("num_outputs"), 1 << 20)?;
            let num_inputs = small(r, &field("num_inputs"), 1 << 24)?;
            let (_, params) = read_tensor(r, &field("params"))?;
            let weights = read_alias(r, &field("weights"))?;
            let biases = read_alias(r, &field("biases"))?;
            // dlib's fc_bias_mode: 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS.
            let mode = r.i64(field("bias_mode"))?;
            for m in [
                "learning_rate_multiplier",
                "weight_decay_multiplier",
                "bias_learning_rate_multiplier",
                "bias_weight_decay_multiplier",
            ] {
                r.f64(field(m))?;
            }
            if name == "fc_3" {
                r.bool(field("use_bias"))?;
            }
            let w: usize = weights.iter().product();
            if w != num_inputs * num_outputs {
                return Err(r.error(
                    field("weights"),
                    format!("alias {weights:?} is not {num_inputs}×{num_outputs}"),
                ));
            }
            let b = match mode {
                0 => num_outputs,
                1 => 0,
                other => {
                    return Err(r.error(field("bias_mode"), format!("bias mode {other} is neither 0 (bias) nor 1 (no bias)")))
                }
            };
            // fc_no_bias still writes a biases alias; only its size with a bias matters.
            if b != 0 && biases.iter().product::<usize>() != b {
                return Err(r.error(
                    field("biases"),
                    format!("alias {biases:?} is not {num_outputs} biases"),
                ));
            }
            let mut parts = split(r, &field("params"), params, &[w, b])?;
            let biases = parts.pop().expect("two parts");
            Layer::Fc(Fc {
                num_inputs,
                num_outputs,
                weights: parts.pop().expect("two parts"),
                biases,
            })
        }
        other => {
            return Err(r.error(
                format!("layer<{index}>'s name"),
                format!("layer `{other}` is not one famsim reads (con, affine, relu, max_pool, avg_pool, add_prev, fc)"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dlib's integer encoding (see reader.rs).
    fn int(v: i64) -> Vec<u8> {
        let mut m = v.unsigned_abs();
        let mut bytes = vec![(m & 0xFF) as u8];
        m >>= 8;
        while m != 0 {
            bytes.push((m & 0xFF) as u8);
            m >>= 8;
        }
        let mut out = vec![bytes.len() as u8 | if v < 0 { 0x80 } else { 0 }];
        out.extend(bytes);
        out
    }

    fn string(s: &str) -> Vec<u8> {
        let mut out = int(s.len() as i64);
        out.extend(s.as_bytes());
        out
    }

    /// A float as mantissa · 2^exponent (exact for these small values).
    fn float(v: f32) -> Vec<u8> {
        let mut out = int((v * 1024.0) as i64);
        out.extend(int(-10));
        out
    }

    fn empty_tensor() -> Vec<u8> {
        [2, 0, 0, 0, 0].iter().flat_map(|&v| int(v)).collect()
    }

    /// loss_metric<relu<tag1<relu<input_rgb_image_sized<150>>>>>, as dlib
    /// writes it: versions top-down, then details bottom-up.
    fn tiny_network() -> Vec<u8> {
        let mut b = int(1);
        b.extend(string("loss_metric_2"));
        b.extend(float(0.5));
        b.extend(float(0.75));
        b.extend(int(2)); // layer<1>: relu
        b.extend(int(1)); // layer<2>: tag1
        b.extend(int(3)); // layer<3>: relu over the input
        b.extend(string("input_rgb_image_sized"));
        for v in [122.5, 117.0, 104.25] {
            b.extend(float(v));
        }
        b.extend(int(150));
        b.extend(int(150));
        for top in [false, true] {
            b.extend(string("relu_"));
            b.extend(b"100");
            for _ in 0..3 {
                b.extend(empty_tensor());
            }
            if !top {
                b.extend(int(1)); // sample_expansion_factor
            }
        }
        b
    }

    fn read(bytes: Vec<u8>) -> Result<DnnFile> {
        let mut r = DlibReader::new(std::io::Cursor::new(bytes), "tiny.dat");
        let file = DnnFile::read(&mut r)?;
        r.expect_end("the end")?;
        Ok(file)
    }

    #[test]
    fn versions_come_top_down_and_details_bottom_up() {
        let file = read(tiny_network()).unwrap();
        assert_eq!(
            file.layers,
            vec![Layer::Relu, Layer::TagOrSkip, Layer::Relu]
        );
        assert_eq!(
            file.loss,
            MetricLoss {
                margin: 0.5,
                distance_threshold: 0.75
            }
        );
        assert_eq!(
            (file.input.avg_red, file.input.avg_blue, file.input.size),
            (122.5, 104.25, Some((150, 150)))
        );
    }

    #[test]
    fn an_unknown_layer_and_a_bad_bool_are_named_with_their_layer() {
        let mut bytes = tiny_network();
        let at = bytes.windows(5).position(|w| w == b"relu_").unwrap();
        bytes[at..at + 5].copy_from_slice(b"gelu_");
        let msg = read(bytes).unwrap_err().to_string();
        assert!(msg.contains("layer<3>'s name"), "{msg}");
        assert!(msg.contains("`gelu_` is not one famsim reads"), "{msg}");

        let mut bytes = tiny_network();
        let at = bytes.windows(3).position(|w| w == b"100").unwrap();
        bytes[at] = b'x';
        let msg = read(bytes).unwrap_err().to_string();
        assert!(
            msg.contains(&format!(
                "tiny.dat: byte {at}: reading layer<3> (relu) this_layer_setup_called"
            )),
            "{msg}"
        );
        assert!(msg.contains("not a bool"), "{msg}");
    }
}
