//! FairFace (Kärkkäinen & Joo 2021), the attribute classifier StyleGene's
//! demo runs on each parent's aligned photo: race (7), gender (2) and age
//! group (9), whose races pick the gene-pool entries.
//!
//! The network is torchvision's `resnet34` with `fc` replaced by an 18-way
//! linear layer (`res34_fair_align_multi_7_20190809.pt`, a bare state dict).
//! The names below mirror torchvision's modules and state-dict keys:
//! - `conv1` (7×7, stride 2, padding 3, no bias), `bn1`, ReLU,
//!   `maxpool` (3×3, stride 2, padding 1);
//! - `layer1`…`layer4`: BasicBlocks (3, 4, 6, 3 of them in ResNet-34;
//!   64, 128, 256, 512 channels). `layerN.i` is `conv1` (3×3, stride 2 in
//!   the first block of layers 2–4), `bn1`, ReLU, `conv2` (3×3), `bn2`, plus
//!   the shortcut — `downsample.0` (1×1 strided conv) and `downsample.1`
//!   (batch norm) where the shape changes, else the input — then ReLU;
//! - `avgpool` (global mean), `fc` [18, 512].
//!
//! Each batch norm runs with its stored statistics (eval mode, eps 1e-5)
//! and is folded into the convolution before it at load: weight × γ/√(var+ε)
//! per output channel, bias β − mean·γ/√(var+ε). Block counts are read from
//! the file, so a checkpoint of another depth loads through the same code;
//! widths, strides and the 18 outputs are torchvision's and are checked.
//!
//! Input, as the official `predict_race` (StyleGene's
//! `models/stylegene/fair_face_model.py`) prepares it: the 256 px aligned crop
//! in [-1, 1] (`(v/255 − 0.5)/0.5`), `F.interpolate` to 224×224 (nearest,
//! PyTorch's default), ×0.5 + 0.5, then ImageNet's mean and std — each step
//! the same float32 operation as there ([`preprocess`]).

use crate::attributes::{AttributeScores, FAIRFACE_OUTPUTS};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::model::backend::ModelBackend;
use crate::weights::{StateDict, Weights};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::{Tensor, TensorData};

/// The official checkpoint's file name (in the StyleGene checkpoint folder).
pub const FAIRFACE_FILE: &str = "res34_fair_align_multi_7_20190809.pt";
/// The aligned crop the official demo feeds it (`align_face(..., 256)`).
pub const CROP_SIZE: usize = 256;
/// Side of the network's input.
pub const INPUT_SIZE: usize = 224;
/// PyTorch's BatchNorm2d default.
const BATCH_NORM_EPS: f32 = 1e-5;
/// torchvision's `transforms.Normalize` constants for ImageNet.
const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// torchvision's ResNet: `conv1`'s width and each layer's (BasicBlock, expansion 1).
const STEM_WIDTH: usize = 64;
const LAYER_WIDTHS: [usize; 4] = [64, 128, 256, 512];

const LAYOUT: &str = "torchvision's resnet34 with an 18-way fc (FairFace's)";

/// A convolution with the batch norm after it folded in.
#[derive(Clone, Debug)]
struct ConvBn<B: Backend> {
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    stride: usize,
    padding: usize,
}

impl<B: ModelBackend> ConvBn<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        B::strided_conv2d(
            x,
            self.weight.clone(),
            Some(self.bias.clone()),
            self.stride,
            self.padding,
        )
    }
}

/// torchvision's `BasicBlock`: `conv1`+`bn1`, ReLU, `conv2`+`bn2`, plus the
/// shortcut, then ReLU.
#[derive(Clone, Debug)]
struct BasicBlock<B: Backend> {
    conv1: ConvBn<B>,
    conv2: ConvBn<B>,
    downsample: Option<ConvBn<B>>,
}

impl<B: ModelBackend> BasicBlock<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = match &self.downsample {
            Some(downsample) => downsample.forward(x.clone()),
            None => x.clone(),
        };
        let out = self.conv2.forward(relu(self.conv1.forward(x)));
        relu(out + identity)
    }
}

/// The FairFace attribute network.
#[derive(Clone, Debug)]
pub struct FairFace<B: Backend> {
    /// `conv1` + `bn1`.
    conv1: ConvBn<B>,
    /// `layer1` … `layer4`.
    layers: Vec<Vec<BasicBlock<B>>>,
    /// `fc.weight` transposed, [512, 18].
    fc_t: Tensor<B, 2>,
    fc_bias: Tensor<B, 1>,
    device: B::Device,
}

impl<B: ModelBackend> FairFace<B> {
    /// Reads the official bare state dict (`conv1.weight`, …, `fc.bias`) or
    /// famsim's native copy, which keeps the names.
    pub fn from_weights(weights: &Weights, device: &B::Device) -> Result<Self> {
        let sd = StateDict::<B>::root(weights, LAYOUT, device);
        if !sd.has("conv1.weight") || !sd.has("fc.weight") {
            return Err(weights.error(format!(
                "no `conv1.weight` and `fc.weight`: not a torchvision ResNet state dict \
                 (expected FairFace's {FAIRFACE_FILE})"
            )));
        }
        let conv1 = conv_bn(&sd, "conv1", "bn1", 3, STEM_WIDTH, 7, 2)?;
        let mut layers = Vec::with_capacity(LAYER_WIDTHS.len());
        let mut inputs = STEM_WIDTH;
        for (l, &width) in LAYER_WIDTHS.iter().enumerate() {
            let name = format!("layer{}", l + 1);
            let blocks = sd.count(0, |i| format!("{name}.{i}.conv1.weight"));
            if blocks == 0 {
                return Err(sd.missing(
                    &format!("{name}.0.conv1.weight"),
                    &format!("[{width}, {inputs}, 3, 3]"),
                ));
            }
            let mut layer = Vec::with_capacity(blocks);
            for i in 0..blocks {
                let stride = if i == 0 && l > 0 { 2 } else { 1 };
                layer.push(basic_block(
                    &sd.pp(&format!("{name}.{i}")),
                    inputs,
                    width,
                    stride,
                )?);
                inputs = width;
            }
            layers.push(layer);
        }
        if sd.has("layer5.0.conv1.weight") {
            return Err(weights.error(format!(
                "tensor `layer5.0.conv1.weight`: torchvision's ResNet has four layers; \
                 is this {FAIRFACE_FILE}?"
            )));
        }
        let fc = sd.values("fc.weight", &[FAIRFACE_OUTPUTS, inputs])?;
        let fc_bias = sd.tensor("fc.bias", [FAIRFACE_OUTPUTS])?;
        sd.finish()?;
        let fc_t =
            Tensor::<B, 2>::from_data(TensorData::new(fc, [FAIRFACE_OUTPUTS, inputs]), device)
                .transpose();
        Ok(FairFace {
            conv1,
            layers,
            fc_t,
            fc_bias,
            device: device.clone(),
        })
    }

    /// BasicBlocks per layer, as read from the file ([3, 4, 6, 3] for ResNet-34).
    pub fn blocks(&self) -> Vec<usize> {
        self.layers.iter().map(Vec::len).collect()
    }

    /// Images `[B, 3, 224, 224]`, already normalised ([`preprocess`]) →
    /// logits `[B, 18]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = relu(self.conv1.forward(x));
        // After a ReLU every value is ≥ 0, so padding counts as nothing.
        let mut x = max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], false);
        for layer in &self.layers {
            for block in layer {
                x = block.forward(x);
            }
        }
        let [batch, channels, height, width] = x.dims();
        let pooled = x
            .reshape([batch, channels, height * width])
            .mean_dim(2)
            .reshape([batch, channels]);
        B::dense(pooled, self.fc_t.clone(), self.fc_bias.clone())
    }

    /// The 18 logits for each aligned crop (square, [`CROP_SIZE`] px).
    pub fn logits(&self, crops: &[&Image]) -> Result<Vec<[f32; FAIRFACE_OUTPUTS]>> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = Vec::with_capacity(crops.len() * 3 * INPUT_SIZE * INPUT_SIZE);
        for crop in crops {
            input.extend(preprocess(crop)?);
        }
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(input, [crops.len(), 3, INPUT_SIZE, INPUT_SIZE]),
            &self.device,
        );
        let values = self
            .forward(x)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| Error::internal(format!("FairFace: {e:?}")))?;
        Ok(values
            .chunks_exact(FAIRFACE_OUTPUTS)
            .map(|c| c.try_into().expect("chunks of 18"))
            .collect())
    }

    /// Race, gender and age probabilities for each aligned crop.
    pub fn predict(&self, crops: &[&Image]) -> Result<Vec<AttributeScores>> {
        Ok(self
            .logits(crops)?
            .iter()
            .map(AttributeScores::from_logits)
            .collect())
    }
}

/// An aligned [`CROP_SIZE`] px crop → the network's input `[3, 224, 224]`,
/// with the official float32 operations in their order: ToTensor (v/255),
/// Normalize(0.5, 0.5), nearest resize, ×0.5 + 0.5, ImageNet Normalize.
pub fn preprocess(crop: &Image) -> Result<Vec<f32>> {
    let side = CROP_SIZE;
    if (crop.width as usize, crop.height as usize) != (side, side) {
        return Err(Error::internal(format!(
            "FairFace takes {side}×{side} aligned crops, got {}×{}",
            crop.width, crop.height
        )));
    }
    // PyTorch's nearest: source = min(floor(dst · (in/out as f32)), in − 1).
    let scale = side as f32 / INPUT_SIZE as f32;
    let source: Vec<usize> = (0..INPUT_SIZE)
        .map(|d| ((d as f32 * scale).floor() as usize).min(side - 1))
        .collect();
    let mut out = vec![0.0f32; 3 * INPUT_SIZE * INPUT_SIZE];
    for c in 0..3 {
        for (y, &sy) in source.iter().enumerate() {
            for (x, &sx) in source.iter().enumerate() {
                let v = crop.rgb[(sy * side + sx) * 3 + c] as f32 / 255.0;
                let v = (v - 0.5) / 0.5;
                let v = v * 0.5 + 0.5;
                out[(c * INPUT_SIZE + y) * INPUT_SIZE + x] =
                    (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
            }
        }
    }
    Ok(out)
}

/// `conv` followed by batch norm `bn`, folded into one convolution.
fn conv_bn<B: Backend>(
    sd: &StateDict<'_, B>,
    conv: &str,
    bn: &str,
    inputs: usize,
    outputs: usize,
    kernel: usize,
    stride: usize,
) -> Result<ConvBn<B>> {
    let mut weight = sd.values(
        &format!("{conv}.weight"),
        &[outputs, inputs, kernel, kernel],
    )?;
    let read = |part: &str| sd.values(&format!("{bn}.{part}"), &[outputs]);
    let (gamma, beta) = (read("weight")?, read("bias")?);
    let (mean, var) = (read("running_mean")?, read("running_var")?);
    sd.skip(&format!("{bn}.num_batches_tracked"));
    let per_output = inputs * kernel * kernel;
    let mut bias = Vec::with_capacity(outputs);
    for (o, filter) in weight.chunks_exact_mut(per_output).enumerate() {
        let scale = gamma[o] / (var[o] + BATCH_NORM_EPS).sqrt();
        filter.iter_mut().for_each(|w| *w *= scale);
        bias.push(beta[o] - mean[o] * scale);
    }
    Ok(ConvBn {
        weight: Tensor::from_data(
            TensorData::new(weight, [outputs, inputs, kernel, kernel]),
            sd.device,
        ),
        bias: Tensor::from_data(TensorData::new(bias, [outputs]), sd.device),
        stride,
        padding: kernel / 2,
    })
}

/// `layerN.i`: torchvision's BasicBlock.
fn basic_block<B: Backend>(
    sd: &StateDict<'_, B>,
    inputs: usize,
    width: usize,
    stride: usize,
) -> Result<BasicBlock<B>> {
    // Elsewhere a `downsample` would go unread, and `finish` names it.
    let downsample = match stride != 1 || inputs != width {
        true => Some(conv_bn(
            sd,
            "downsample.0",
            "downsample.1",
            inputs,
            width,
            1,
            stride,
        )?),
        false => None,
    };
    Ok(BasicBlock {
        conv1: conv_bn(sd, "conv1", "bn1", inputs, width, 3, stride)?,
        conv2: conv_bn(sd, "conv2", "bn2", width, width, 3, 1)?,
        downsample,
    })
}
