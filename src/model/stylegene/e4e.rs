//! e4e (encoder4editing, Tov et al. 2021), the photo encoder StyleGene uses to
//! bring real faces into the generator's W+ space: an aligned face photo →
//! a W+ latent `[N, W]`, which famsim then treats like any latent file.
//!
//! The network (`Encoder4Editing` in encoder4editing's `psp_encoders.py`):
//! - `input_layer`: 3×3 conv (no bias), batch norm, PReLU;
//! - `body`: four stages of IR-SE bottleneck units (IR-SE-50: 3, 4, 14, 3
//!   units of 64, 128, 256, 512 channels). A unit is
//!   `res_layer` (BN, 3×3 conv, PReLU, 3×3 conv with the unit's stride, BN,
//!   squeeze-excitation) plus `shortcut_layer` (a 1×1 strided conv + BN when
//!   the width changes, else a stride-`s` subsampling: `MaxPool2d(1, s)`).
//!   The first unit of each stage has stride 2. The outputs of stages 2, 3
//!   and 4 are the feature maps c1, c2 and c3 (64, 32 and 16 px for a
//!   256 px photo);
//! - a feature pyramid: p2 = bilinear-upsampled c3 (align_corners) +
//!   `latlayer1`(c2), p1 = upsampled p2 + `latlayer2`(c1), both 1×1 convs;
//! - `styles.i`, one `GradualStyleBlock` per W+ layer: stride-2 3×3 convs with
//!   leaky ReLU (slope 0.01) down to 1×1, then an equalised linear layer.
//!   Layers 0–2 read c3, layers 3–6 p2, layers 7 and up p1.
//!
//! W+ layer i is style 0's output plus (for i > 0) style i's: e4e predicts one
//! base code and per-layer offsets. The checkpoint's `latent_avg` is added at
//! the end (e4e's `start_from_latent_avg`).
//!
//! The official `e4e_ffhq_encode.pt` keeps these tensors under
//! `state_dict` → `encoder.*`, beside the generator it was trained with
//! (`decoder.*`, not needed here). Every size — stages, units, widths, the
//! number of W+ layers and the input size (16 × c3's side) — is read from the
//! tensor shapes, so small checkpoints load through the same code. Batch
//! norms run with their stored statistics (eval mode, eps 1e-5).

use crate::error::Result;
use crate::model::backend::ModelBackend;
use crate::weights::{StateDict, Weights};
use burn::tensor::activation::{leaky_relu, relu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, TensorData};

/// PyTorch's BatchNorm2d default.
const BATCH_NORM_EPS: f32 = 1e-5;
/// `nn.LeakyReLU()`'s default slope, used in the style blocks.
const STYLE_LEAKY_SLOPE: f64 = 0.01;
/// Squeeze-excitation reduction of every IR-SE unit.
const SE_REDUCTION: usize = 16;
/// The backbone's stages; c1, c2, c3 are the outputs of the last three.
const STAGES: usize = 4;
/// First W+ layers that read p2 and p1 (`coarse_ind`, `middle_ind`).
const COARSE_END: usize = 3;
const MIDDLE_END: usize = 7;
/// The backbone halves the input four times: the input is 16 × c3's side.
const BACKBONE_REDUCTION: usize = 16;

/// What errors call this layout, and the file they expected.
const E4E_LAYOUT: &str = "e4e's (encoder4editing's Encoder4Editing)";
const E4E_FILE: &str = "the e4e checkpoint e4e_ffhq_encode.pt";
/// Name of the mean latent in the official and the native file.
pub const LATENT_AVG: &str = "latent_avg";

/// A plain 2-D convolution, `weight [out, in, k, k]`.
#[derive(Clone, Debug)]
struct Conv<B: Backend> {
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    stride: usize,
    padding: usize,
}

impl<B: ModelBackend> Conv<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        B::strided_conv2d(
            x,
            self.weight.clone(),
            self.bias.clone(),
            self.stride,
            self.padding,
        )
    }
}

/// Batch norm with stored statistics, as one per-channel affine map
/// `x · scale + shift` (scale = γ/√(var + eps), shift = β − mean · scale).
#[derive(Clone, Debug)]
struct BatchNorm<B: Backend> {
    /// [1, C, 1, 1].
    scale: Tensor<B, 4>,
    shift: Tensor<B, 4>,
}

impl<B: Backend> BatchNorm<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        x * self.scale.clone() + self.shift.clone()
    }
}

/// PReLU with one slope per channel, [1, C, 1, 1].
#[derive(Clone, Debug)]
struct Prelu<B: Backend> {
    slope: Tensor<B, 4>,
}

impl<B: Backend> Prelu<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        x.clone().clamp_min(0.0) + x.clamp_max(0.0) * self.slope.clone()
    }
}

/// Squeeze-excitation: channel weights from the spatial mean, through two
/// bias-free 1×1 convs (stored transposed, as matrices).
#[derive(Clone, Debug)]
struct SqueezeExcite<B: Backend> {
    /// `fc1` as [C, C/16].
    fc1_t: Tensor<B, 2>,
    /// `fc2` as [C/16, C].
    fc2_t: Tensor<B, 2>,
}

impl<B: Backend> SqueezeExcite<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [batch, channels, height, width] = x.dims();
        let mean = x
            .clone()
            .reshape([batch, channels, height * width])
            .mean_dim(2)
            .reshape([batch, channels]);
        let gate = sigmoid(relu(mean.matmul(self.fc1_t.clone())).matmul(self.fc2_t.clone()));
        x * gate.reshape([batch, channels, 1, 1])
    }
}

/// The shortcut branch of an IR-SE unit.
#[derive(Clone, Debug)]
enum Shortcut<B: Backend> {
    /// `MaxPool2d(1, stride)`: every stride-th pixel.
    Subsample(usize),
    /// A strided 1×1 conv and batch norm, when the width changes.
    Project(Conv<B>, BatchNorm<B>),
}

/// `body.i`: one IR-SE bottleneck unit.
#[derive(Clone, Debug)]
struct Unit<B: Backend> {
    shortcut: Shortcut<B>,
    /// `res_layer.0`, `.1`, `.2`, `.3`, `.4`, `.5`.
    norm_in: BatchNorm<B>,
    conv1: Conv<B>,
    prelu: Prelu<B>,
    conv2: Conv<B>,
    norm_out: BatchNorm<B>,
    excite: SqueezeExcite<B>,
}

impl<B: ModelBackend> Unit<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let shortcut = match &self.shortcut {
            Shortcut::Subsample(1) => x.clone(),
            Shortcut::Subsample(s) => max_pool2d(x.clone(), [1, 1], [*s; 2], [0, 0], [1, 1], false),
            Shortcut::Project(conv, norm) => norm.forward(conv.forward(x.clone())),
        };
        let r = self.conv1.forward(self.norm_in.forward(x));
        let r = self.conv2.forward(self.prelu.forward(r));
        self.excite.forward(self.norm_out.forward(r)) + shortcut
    }
}

/// `styles.i`: stride-2 convs down to 1×1, then an equalised linear layer.
#[derive(Clone, Debug)]
struct StyleBlock<B: Backend> {
    convs: Vec<Conv<B>>,
    /// `linear.weight / √in`, transposed to [in, out].
    linear_t: Tensor<B, 2>,
    linear_bias: Tensor<B, 1>,
}

impl<B: ModelBackend> StyleBlock<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self
            .convs
            .iter()
            .fold(x, |x, conv| leaky_relu(conv.forward(x), STYLE_LEAKY_SLOPE));
        let [batch, channels, _, _] = x.dims();
        x.reshape([batch, channels]).matmul(self.linear_t.clone())
            + self.linear_bias.clone().unsqueeze::<2>()
    }
}

/// The e4e photo encoder.
#[derive(Clone, Debug)]
pub struct PhotoEncoder<B: Backend> {
    /// `input_layer.0`, `.1`, `.2`.
    stem_conv: Conv<B>,
    stem_norm: BatchNorm<B>,
    stem_prelu: Prelu<B>,
    body: Vec<Unit<B>>,
    /// Indices of the units whose outputs are c1, c2 and c3.
    pyramid_taps: [usize; 3],
    styles: Vec<StyleBlock<B>>,
    latlayer1: Conv<B>,
    latlayer2: Conv<B>,
    /// [N, W]: the checkpoint's [W] or [N, W] mean latent.
    latent_avg: Tensor<B, 2>,
    input_size: usize,
    stage_units: Vec<usize>,
}

/// The sizes [`PhotoEncoder`] read from a checkpoint, for `model.ron`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoEncoderSizes {
    pub input_size: usize,
    pub n_latent: usize,
    pub width: usize,
    pub stage_units: Vec<usize>,
}

impl<B: ModelBackend> PhotoEncoder<B> {
    /// [`PhotoEncoder::from_weights`] under the name the tests and
    /// benchmarks use.
    pub fn from_torch(weights: &mut Weights, device: &B::Device) -> Result<Self> {
        Self::from_weights(weights, device)
    }

    /// Reads `encoder.*` and `latent_avg` from the official checkpoint or
    /// from famsim's native copy of them.
    pub fn from_weights(weights: &Weights, device: &B::Device) -> Result<Self> {
        let latent_avg = read_latent_avg(weights)?;
        let w = StateDict::new(weights, "encoder", E4E_LAYOUT, E4E_FILE, device)?;
        let [stem, _, _, _] = w.shape_of::<4>("input_layer.0.weight", "[C, 3, 3, 3]")?;
        let stem_conv = w.conv("input_layer.0", 3, stem, 3, 1, false)?;
        let stem_norm = w.batch_norm("input_layer.1", stem)?;
        let stem_prelu = w.prelu("input_layer.2", stem)?;

        // Units and their widths; a stage starts at unit 0 and wherever the
        // width changes (each stage widens the features, officially).
        let n_units = w.count(0, |i| format!("body.{i}.res_layer.1.weight"));
        let mut body = Vec::with_capacity(n_units);
        let mut widths = Vec::with_capacity(n_units);
        let mut stage_units: Vec<usize> = Vec::new();
        let mut channels = stem;
        for i in 0..n_units {
            let name = format!("body.{i}");
            let [depth, _, _, _] =
                w.shape_of::<4>(&format!("{name}.res_layer.1.weight"), "[depth, in, 3, 3]")?;
            let starts_stage = i == 0 || depth != channels;
            if starts_stage {
                stage_units.push(0);
            }
            *stage_units.last_mut().expect("unit 0 starts a stage") += 1;
            let stride = if starts_stage { 2 } else { 1 };
            body.push(w.unit(&name, channels, depth, stride)?);
            widths.push(depth);
            channels = depth;
        }
        if stage_units.len() != STAGES {
            return Err(w.err(format!(
                "the backbone `encoder.body.*` has {} stages of IR-SE units ({stage_units:?} units), \
                 expected {STAGES}; is this an Encoder4Editing checkpoint?",
                stage_units.len()
            )));
        }
        let ends: Vec<usize> = stage_units
            .iter()
            .scan(0, |end, n| {
                *end += n;
                Some(*end - 1)
            })
            .collect();
        let pyramid_taps = [ends[1], ends[2], ends[3]];
        let [c1_width, c2_width, c3_width] = pyramid_taps.map(|unit| widths[unit]);

        let n_latent = w.count(0, |i| format!("styles.{i}.linear.weight"));
        if n_latent == 0 {
            return Err(w.missing("styles.0.linear.weight", "[W, W]"));
        }
        let [width, _] = w.shape_of::<2>("styles.0.linear.weight", "[W, W]")?;
        if width != c3_width {
            return Err(w.wrong_shape(
                "styles.0.linear.weight",
                &format!("[{c3_width}, {c3_width}] (the width of the last stage)"),
                &[width, width],
            ));
        }
        // Style 0 halves c3 down to 1×1; the middle and fine styles start
        // from maps twice and four times as large.
        let coarse_convs = w.count(0, |k| format!("styles.0.convs.{}.weight", 2 * k));
        let c3_side = 1usize << coarse_convs;
        let styles = (0..n_latent)
            .map(|i| {
                let convs =
                    coarse_convs + usize::from(i >= COARSE_END) + usize::from(i >= MIDDLE_END);
                w.style_block(&format!("styles.{i}"), width, convs)
            })
            .collect::<Result<Vec<_>>>()?;
        let latlayer1 = w.conv("latlayer1", c2_width, width, 1, 1, true)?;
        let latlayer2 = w.conv("latlayer2", c1_width, width, 1, 1, true)?;
        w.finish()?;

        let latent_avg = match latent_avg.len() {
            n if n == width => latent_avg.repeat(n_latent),
            n if n == width * n_latent => latent_avg,
            n => {
                return Err(weights.error(format!(
                "tensor `{LATENT_AVG}` has {n} values, expected [{width}] or [{n_latent}, {width}]"
            )))
            }
        };
        Ok(PhotoEncoder {
            stem_conv,
            stem_norm,
            stem_prelu,
            body,
            pyramid_taps,
            styles,
            latlayer1,
            latlayer2,
            latent_avg: Tensor::from_data(TensorData::new(latent_avg, [n_latent, width]), device),
            input_size: BACKBONE_REDUCTION * c3_side,
            stage_units,
        })
    }

    /// The sizes read from the checkpoint.
    pub fn sizes(&self) -> PhotoEncoderSizes {
        let [n_latent, width] = self.latent_avg.dims();
        PhotoEncoderSizes {
            input_size: self.input_size,
            n_latent,
            width,
            stage_units: self.stage_units.clone(),
        }
    }

    /// Side of the square photos the network takes (256 officially).
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Photos `[B, 3, S, S]` in [-1, 1] (S = [`Self::input_size`]) → W+ `[B, N, W]`.
    pub fn forward(&self, photos: Tensor<B, 4>) -> Tensor<B, 3> {
        let mut x = self
            .stem_prelu
            .forward(self.stem_norm.forward(self.stem_conv.forward(photos)));
        let mut taps = Vec::with_capacity(3);
        for (i, unit) in self.body.iter().enumerate() {
            x = unit.forward(x);
            if self.pyramid_taps.contains(&i) {
                taps.push(x.clone());
            }
        }
        let [c1, c2, c3]: [Tensor<B, 4>; 3] = taps.try_into().expect("three pyramid taps");
        let p2 = upsample_add(c3.clone(), self.latlayer1.forward(c2));
        let p1 = upsample_add(p2.clone(), self.latlayer2.forward(c1));

        let base = self.styles[0].forward(c3.clone());
        let [batch, width] = base.dims();
        let layers: Vec<Tensor<B, 2>> = self
            .styles
            .iter()
            .enumerate()
            .map(|(i, style)| match i {
                0 => base.clone(),
                i if i < COARSE_END => base.clone() + style.forward(c3.clone()),
                i if i < MIDDLE_END => base.clone() + style.forward(p2.clone()),
                _ => base.clone() + style.forward(p1.clone()),
            })
            .collect();
        let n = layers.len();
        Tensor::stack::<3>(layers, 1)
            + self
                .latent_avg
                .clone()
                .reshape([1, n, width])
                .expand([batch, n, width])
    }
}

/// `F.interpolate(x, size of y, bilinear, align_corners=True) + y`.
fn upsample_add<B: Backend>(x: Tensor<B, 4>, y: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, _, height, width] = y.dims();
    let options = InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(true);
    interpolate(x, [height, width], options) + y
}

/// The checkpoint's top-level `latent_avg`, flattened.
fn read_latent_avg(weights: &Weights) -> Result<Vec<f32>> {
    if !weights.contains(LATENT_AVG) {
        return Err(weights.error(format!(
            "missing tensor `{LATENT_AVG}` (expected [W] or [N, W]); is this {E4E_FILE}?"
        )));
    }
    weights.read(LATENT_AVG)
}

/// e4e's layer readers.
impl<B: Backend> StateDict<'_, B> {
    /// `name.weight [out, in, k, k]` and, with `bias`, `name.bias [out]`.
    fn conv(
        &self,
        name: &str,
        inputs: usize,
        outputs: usize,
        kernel: usize,
        stride: usize,
        bias: bool,
    ) -> Result<Conv<B>> {
        let weight = self.tensor(&format!("{name}.weight"), [outputs, inputs, kernel, kernel])?;
        let bias = match bias {
            true => Some(self.tensor(&format!("{name}.bias"), [outputs])?),
            false => None,
        };
        Ok(Conv {
            weight,
            bias,
            stride,
            padding: kernel / 2,
        })
    }

    fn batch_norm(&self, name: &str, channels: usize) -> Result<BatchNorm<B>> {
        let read = |part: &str| self.values(&format!("{name}.{part}"), &[channels]);
        let (gamma, beta) = (read("weight")?, read("bias")?);
        let (mean, var) = (read("running_mean")?, read("running_var")?);
        self.skip(&format!("{name}.num_batches_tracked"));
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&var)
            .map(|(g, v)| g / (v + BATCH_NORM_EPS).sqrt())
            .collect();
        let shift: Vec<f32> = beta
            .iter()
            .zip(mean.iter().zip(&scale))
            .map(|(b, (m, s))| b - m * s)
            .collect();
        let as_channels =
            |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [1, channels, 1, 1]), self.device);
        Ok(BatchNorm {
            scale: as_channels(scale),
            shift: as_channels(shift),
        })
    }

    fn prelu(&self, name: &str, channels: usize) -> Result<Prelu<B>> {
        let slope = self.values(&format!("{name}.weight"), &[channels])?;
        Ok(Prelu {
            slope: Tensor::from_data(TensorData::new(slope, [1, channels, 1, 1]), self.device),
        })
    }

    fn unit(&self, name: &str, inputs: usize, depth: usize, stride: usize) -> Result<Unit<B>> {
        let shortcut = if inputs == depth {
            Shortcut::Subsample(stride)
        } else {
            Shortcut::Project(
                self.conv(
                    &format!("{name}.shortcut_layer.0"),
                    inputs,
                    depth,
                    1,
                    stride,
                    false,
                )?,
                self.batch_norm(&format!("{name}.shortcut_layer.1"), depth)?,
            )
        };
        let res = |part: usize| format!("{name}.res_layer.{part}");
        let squeezed = depth / SE_REDUCTION;
        let fc = |part: &str| format!("{name}.res_layer.5.{part}.weight");
        let fc1 = self.values(&fc("fc1"), &[squeezed, depth, 1, 1])?;
        let fc2 = self.values(&fc("fc2"), &[depth, squeezed, 1, 1])?;
        let matrix = |v: Vec<f32>, rows: usize, cols: usize| {
            Tensor::<B, 2>::from_data(TensorData::new(v, [rows, cols]), self.device).transpose()
        };
        let excite = SqueezeExcite {
            fc1_t: matrix(fc1, squeezed, depth),
            fc2_t: matrix(fc2, depth, squeezed),
        };
        Ok(Unit {
            shortcut,
            norm_in: self.batch_norm(&res(0), inputs)?,
            conv1: self.conv(&res(1), inputs, depth, 3, 1, false)?,
            prelu: self.prelu(&res(2), depth)?,
            conv2: self.conv(&res(3), depth, depth, 3, stride, false)?,
            norm_out: self.batch_norm(&res(4), depth)?,
            excite,
        })
    }

    fn style_block(&self, name: &str, width: usize, n_convs: usize) -> Result<StyleBlock<B>> {
        let found = self.count(0, |k| format!("{name}.convs.{}.weight", 2 * k));
        if found != n_convs {
            return Err(self.err(format!(
                "`encoder.{name}` has {found} stride-2 convs, expected {n_convs} \
                 to bring its feature map down to 1×1"
            )));
        }
        let convs = (0..n_convs)
            .map(|k| self.conv(&format!("{name}.convs.{}", 2 * k), width, width, 3, 2, true))
            .collect::<Result<Vec<_>>>()?;
        let weight = self.values(&format!("{name}.linear.weight"), &[width, width])?;
        // EqualLinear(lr_mul = 1): the weight is scaled by 1/√in at run time.
        let scale = 1.0 / (width as f32).sqrt();
        let weight: Vec<f32> = weight.iter().map(|v| v * scale).collect();
        Ok(StyleBlock {
            convs,
            linear_t: Tensor::<B, 2>::from_data(
                TensorData::new(weight, [width, width]),
                self.device,
            )
            .transpose(),
            linear_bias: self.tensor(&format!("{name}.linear.bias"), [width])?,
        })
    }
}
