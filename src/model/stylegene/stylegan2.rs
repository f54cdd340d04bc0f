//! The StyleGAN2 generator, loaded from the PyTorch port's checkpoint layout
//! (`stylegan2-ffhq-config-f.pt`: `{'g_ema': state_dict, 'latent_avg': [512]}`).
//!
//! Field names mirror the checkpoint keys: `style` (mapping network),
//! `input.input`, `conv1`, `to_rgb1`, `convs.N`, `to_rgbs.N`, `noises.noise_N`,
//! `latent_avg`. Every size is read from tensor shapes, so a tiny test
//! checkpoint and config-f load through the same code:
//!
//! - style dim and number of mapping layers from `style.1.weight`, `style.2.weight`, …;
//! - the 4×4 width from `input.input`, one width per resolution from
//!   `convs.{2b}.conv.weight`;
//! - the resolution from the number of upsampling blocks (`convs` come in pairs),
//!   hence N = 2·log2(size) − 2 W+ layers and 2·log2(size) − 3 noise buffers.
//!
//! Computation: the PyTorch port's modulated conv scales the weight by
//! 1/√(in·k²), multiplies each input channel by the style s and divides each
//! output filter by √(Σ(scale·W·s)² + 1e-8); it modulates the conv
//! *weights* per sample and folds the batch into conv groups. Here the style
//! scales the *input* channels and the demodulation scales the *output*
//! channels of one shared-weight convolution — the same linear map
//! (conv(x·s, W)·d = conv(x, W·s·d)), but one weight for the whole batch.
//! The demodulation factors need only Σ_k W² per (in, out) pair, which is
//! precomputed at load: d = rsqrt(s² · ΣW² + 1e-8) is a small matmul. Each
//! backend runs the layer its own way (`crate::model::backend`): burn's
//! `conv2d` on a GPU, matrix products with everything after the convolution
//! fused on the CPU.
//!
//! Precision: float32 throughout; matches a float64 PyTorch reference within
//! 1e-4 (tests/stylegan2_parity.rs). On the CPU the same input gives the same
//! bits on any thread count and in any batch.

use crate::error::{Error, Result};
use crate::model::backend::{
    leaky_relu_gain, ModelBackend, ModulatedConvSpec, CONV_KERNEL, FIR_KERNEL,
};
use crate::model::Image;
use crate::weights::{StateDict, Weights};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// Learning-rate multiplier of the mapping network's equalised linear layers.
/// It is a training-time reparametrisation baked into the forward pass, so it
/// is not in the checkpoint; 0.01 is what every official StyleGAN2 uses.
const MAPPING_LR_MUL: f32 = 0.01;
/// Kernel side of the to-RGB convolutions (the synthesis ones: `CONV_KERNEL`).
const RGB_KERNEL: usize = 1;
/// Numerical floor of the demodulation and of the pixel norm.
const EPS: f32 = 1e-8;

/// Where the per-layer noise comes from.
pub enum NoiseMode {
    /// The checkpoint's `noises.noise_N` buffers, the same for every sample:
    /// the deterministic output the PyTorch port gives with `randomize_noise=False`.
    Stored,
    /// Fresh N(0, 1) noise per sample, sample `i` drawn from stream `i` (one
    /// `genetics::rng::stream(seed, person, Purpose::RenderNoise)` per person),
    /// layer by layer in row-major order. A person's picture therefore does not
    /// depend on who else is in the batch.
    Seeded(Vec<ChaCha8Rng>),
}

/// The StyleGAN2 generator (mapping + synthesis) of one checkpoint.
#[derive(Clone, Debug)]
pub struct Generator<B: ModelBackend> {
    /// `style.1` … `style.M`: the mapping network (after a pixel norm).
    style: Vec<EqualLinear<B>>,
    /// `latent_avg`: the mean W, centre of the truncation trick. [style_dim]
    latent_avg: Tensor<B, 1>,
    /// `input.input`: the learned 4×4 constant. [1, C4, 4, 4]
    input: Tensor<B, 4>,
    /// `conv1`: the 4×4 styled conv (W+ layer 0).
    conv1: StyledConv<B>,
    /// `to_rgb1`: the 4×4 to-RGB (W+ layer 1).
    to_rgb1: ToRgb<B>,
    /// `convs.N`: two per resolution above 4×4, the even one upsampling.
    convs: Vec<StyledConv<B>>,
    /// `to_rgbs.N`: one per resolution above 4×4, upsampling the skip image.
    to_rgbs: Vec<ToRgb<B>>,
    /// `noises.noise_N`: stored noise, [1, 1, side, side] each.
    noises: Vec<Tensor<B, 4>>,
    style_dim: usize,
    resolution: usize,
    /// Channels at each resolution from 4×4 up (what sizes a forward pass's
    /// buffers; see [`Generator::widths`]).
    widths: Vec<usize>,
}

impl<B: ModelBackend> Generator<B> {
    /// Loads `g_ema.*` and `latent_avg` from a PyTorch checkpoint file.
    pub fn load(path: &Path, device: &B::Device) -> Result<Generator<B>> {
        Generator::from_weights(&Weights::open(path)?, device)
    }

    /// [`Generator::from_weights`] under the name the tests and benchmarks use.
    pub fn from_checkpoint(weights: &Weights, device: &B::Device) -> Result<Generator<B>> {
        Generator::from_weights(weights, device)
    }

    /// Builds the generator from the `g_ema.*` tensors and `latent_avg` of a
    /// checkpoint or of its native copy, inferring every size from the
    /// tensor shapes. Tensors beside `g_ema` (a training checkpoint's
    /// discriminator and optimizer) are ignored, so the reading is strict
    /// about every tensor the generator needs but not about the rest.
    pub fn from_weights(weights: &Weights, device: &B::Device) -> Result<Generator<B>> {
        let root = StateDict::<B>::root(weights, "the StyleGAN2 port's", device);
        let g = root.pp("g_ema");
        // Mapping network: style dim and depth.
        let first = g.require_shape("style.1.weight", "[style_dim, style_dim]")?;
        if first.len() != 2 || first[0] != first[1] || first[0] == 0 {
            return Err(g.wrong_shape("style.1.weight", "a square [style_dim, style_dim]", &first));
        }
        let style_dim = first[1];
        let mapping_layers = g.count(1, |i| format!("style.{i}.weight"));
        let style = (1..=mapping_layers)
            .map(|i| {
                let layer = g.pp(&format!("style.{i}"));
                EqualLinear::load(&layer, style_dim, style_dim, MAPPING_LR_MUL, true)
            })
            .collect::<Result<Vec<_>>>()?;
        let latent_avg = root.tensor("latent_avg", [style_dim])?;

        // Synthesis network: 4×4 width, then one width per upsampling block.
        let input_shape = g.require_shape("input.input", "[1, channels, 4, 4]")?;
        if input_shape.len() != 4 {
            return Err(g.wrong_shape("input.input", "[1, channels, 4, 4]", &input_shape));
        }
        let width4 = input_shape[1];
        let input = g.tensor("input.input", [1, width4, 4, 4])?;
        let sizes = (width4, width4, style_dim);
        let conv1 = StyledConv::load(&g.pp("conv1"), sizes, false)?;
        let to_rgb1 = ToRgb::load(&g.pp("to_rgb1"), (width4, style_dim), false)?;

        let conv_count = g.count(0, |i| format!("convs.{i}.conv.weight"));
        // An odd count means the block's second conv is missing; loading it
        // below reports the missing tensor by name.
        let blocks = conv_count.div_ceil(2);
        if blocks > 12 {
            return Err(g.err(format!(
                "{conv_count} synthesis convs means a {}-px generator; that is not a StyleGAN2 famsim can run",
                4u64 << blocks.min(60)
            )));
        }
        let mut convs = Vec::with_capacity(2 * blocks);
        let mut to_rgbs = Vec::with_capacity(blocks);
        let mut width_in = width4;
        let mut widths = vec![width4];
        for b in 0..blocks {
            let up_name = format!("convs.{}.conv.weight", 2 * b);
            let up_shape = g.require_shape(&up_name, "[1, out, in, 3, 3]")?;
            if up_shape.len() != 5 {
                let expected = format!("[1, out, {width_in}, 3, 3]");
                return Err(g.wrong_shape(&up_name, &expected, &up_shape));
            }
            let width = up_shape[1];
            let conv = |i: usize| g.pp(&format!("convs.{i}"));
            let up = (width_in, width, style_dim);
            convs.push(StyledConv::load(&conv(2 * b), up, true)?);
            let same = (width, width, style_dim);
            convs.push(StyledConv::load(&conv(2 * b + 1), same, false)?);
            let rgb = g.pp(&format!("to_rgbs.{b}"));
            to_rgbs.push(ToRgb::load(&rgb, (width, style_dim), true)?);
            widths.push(width);
            width_in = width;
        }

        let noises = (0..2 * blocks + 1)
            .map(|j| {
                let side = noise_side(j);
                g.tensor(&format!("noises.noise_{j}"), [1, 1, side, side])
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(Generator {
            style,
            latent_avg,
            input,
            conv1,
            to_rgb1,
            convs,
            to_rgbs,
            noises,
            style_dim,
            resolution: 4 << blocks,
            widths,
        })
    }

    /// Side of the square images [`Generator::synthesis`] returns.
    pub fn resolution(&self) -> usize {
        self.resolution
    }

    /// Channels at 4×4, 8×8, … up to the output resolution (config-f at
    /// 1024 px: 512 five times, then 256, 128, 64, 32).
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Number of W+ layers: 2·log2(resolution) − 2 (18 at 1024 px).
    pub fn n_latent(&self) -> usize {
        2 * self.resolution.ilog2() as usize - 2
    }

    /// Width of a style vector (512 for the official models).
    pub fn style_dim(&self) -> usize {
        self.style_dim
    }

    /// Number of equalised linear layers in the mapping network (8 officially).
    pub fn mapping_layers(&self) -> usize {
        self.style.len()
    }

    /// The mean W (`latent_avg`), [style_dim].
    pub fn latent_avg(&self) -> Tensor<B, 1> {
        self.latent_avg.clone()
    }

    /// The device the weights live on.
    pub fn device(&self) -> B::Device {
        self.input.device()
    }

    /// Mapping network: z [batch, style_dim] → w [batch, style_dim].
    pub fn mapping(&self, z: Tensor<B, 2>) -> Result<Tensor<B, 2>> {
        let [_, width] = z.dims();
        if width != self.style_dim {
            return Err(Error::input(format!(
                "mapping: z has {width} numbers per sample, this generator takes {}",
                self.style_dim
            )));
        }
        // Pixel norm: unit mean square per sample.
        let norm = (z.clone() * z.clone())
            .mean_dim(1)
            .add_scalar(EPS)
            .sqrt()
            .recip();
        let mut x = z * norm;
        for layer in &self.style {
            x = layer.forward(x);
        }
        Ok(x)
    }

    /// The truncation trick: w' = latent_avg + ψ·(w − latent_avg), w [batch, style_dim].
    pub fn truncate(&self, w: Tensor<B, 2>, psi: f32) -> Tensor<B, 2> {
        let avg = self.latent_avg.clone().unsqueeze_dim::<2>(0);
        (w - avg.clone()).mul_scalar(psi) + avg
    }

    /// The same w on every layer: [batch, style_dim] → W+ [batch, n_latent, style_dim].
    pub fn broadcast_w(&self, w: Tensor<B, 2>) -> Tensor<B, 3> {
        w.unsqueeze_dim::<3>(1).repeat_dim(1, self.n_latent())
    }

    /// Synthesis network: W+ [batch, n_latent, style_dim] → images
    /// [batch, 3, resolution, resolution], nominally in [-1, 1] (not clamped).
    pub fn synthesis(&self, w_plus: Tensor<B, 3>, noise: NoiseMode) -> Result<Tensor<B, 4>> {
        let [batch, layers, width] = w_plus.dims();
        if layers != self.n_latent() || width != self.style_dim {
            return Err(Error::input(format!(
                "synthesis: W+ latents are [{layers}, {width}] per sample, this {}-px generator takes [{}, {}]",
                self.resolution,
                self.n_latent(),
                self.style_dim
            )));
        }
        let noise = match noise {
            NoiseMode::Stored => self.noises.clone(),
            NoiseMode::Seeded(streams) => self.seeded_noise(streams, batch)?,
        };
        let style = |i: usize| w_plus.clone().narrow(1, i, 1).reshape([batch, width]);

        let mut x = self.input.clone().repeat_dim(0, batch);
        x = self.conv1.forward(x, style(0), &noise[0]);
        let mut skip = self.to_rgb1.forward(x.clone(), style(1), None);
        for (b, to_rgb) in self.to_rgbs.iter().enumerate() {
            // Block b (resolution 8·2^b) takes W+ layers i, i+1, i+2 with i = 2b + 1.
            let i = 2 * b + 1;
            x = self.convs[2 * b].forward(x, style(i), &noise[2 * b + 1]);
            x = self.convs[2 * b + 1].forward(x, style(i + 1), &noise[2 * b + 2]);
            skip = to_rgb.forward(x.clone(), style(i + 2), Some(skip));
        }
        Ok(skip)
    }

    /// Per-sample noise, [batch, 1, side, side] per layer. Each sample's
    /// stream is consumed layer after layer, independently of the others.
    fn seeded_noise(
        &self,
        mut streams: Vec<ChaCha8Rng>,
        batch: usize,
    ) -> Result<Vec<Tensor<B, 4>>> {
        if streams.len() != batch {
            return Err(Error::internal(format!(
                "synthesis: {} noise streams for a batch of {batch}",
                streams.len()
            )));
        }
        let sides: Vec<usize> = (0..self.noises.len()).map(noise_side).collect();
        let mut layers: Vec<Vec<f32>> = sides
            .iter()
            .map(|s| Vec::with_capacity(batch * s * s))
            .collect();
        for rng in &mut streams {
            for (layer, side) in layers.iter_mut().zip(&sides) {
                layer.extend((0..side * side).map(|_| rng.sample::<f32, _>(StandardNormal)));
            }
        }
        let device = self.device();
        Ok(layers
            .into_iter()
            .zip(sides)
            .map(|(values, side)| {
                Tensor::from_data(TensorData::new(values, [batch, 1, side, side]), &device)
            })
            .collect())
    }
}

/// Side of noise buffer `j`: 4, 8, 8, 16, 16, … (2^((j + 5) div 2)).
fn noise_side(j: usize) -> usize {
    1 << ((j + 5) / 2)
}

/// One 8-bit value from a generator output: round-half-up of
/// clamp((x + 1)·127.5), the conversion torchvision's `save_image` applies to
/// a [-1, 1] image (and the one the fixture script uses).
pub fn to_u8(x: f32) -> u8 {
    ((x + 1.0) * 127.5 + 0.5).clamp(0.0, 255.0).floor() as u8
}

/// Generator output [batch, 3, H, W] → one RGB [`Image`] per sample.
pub fn to_images<B: Backend>(images: Tensor<B, 4>) -> Result<Vec<Image>> {
    let [batch, channels, height, width] = images.dims();
    if channels != 3 {
        return Err(Error::internal(format!(
            "to_images: expected 3 colour channels, found {channels}"
        )));
    }
    let values = images
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| Error::internal(format!("to_images: cannot read the image tensor: {e:?}")))?;
    let plane = height * width;
    Ok(values
        .chunks_exact(3 * plane)
        .take(batch)
        .map(|sample| {
            let mut rgb = Vec::with_capacity(3 * plane);
            for p in 0..plane {
                for c in 0..3 {
                    rgb.push(to_u8(sample[c * plane + p]));
                }
            }
            Image {
                width: width as u32,
                height: height as u32,
                rgb,
            }
        })
        .collect())
}

/// Equalised linear layer: y = x·(W·lr_mul/√in)ᵀ + b·lr_mul, optionally
/// followed by leaky ReLU ×√2 (the port's `fused_lrelu` activation).
#[derive(Clone, Debug)]
struct EqualLinear<B: Backend> {
    /// Scaled and transposed weight, [in, out].
    weight: Tensor<B, 2>,
    /// Scaled bias, [1, out].
    bias: Tensor<B, 2>,
    activate: bool,
}

impl<B: Backend> EqualLinear<B> {
    fn load(
        sd: &StateDict<'_, B>,
        in_dim: usize,
        out_dim: usize,
        lr_mul: f32,
        activate: bool,
    ) -> Result<Self> {
        let weight: Tensor<B, 2> = sd.tensor("weight", [out_dim, in_dim])?;
        let bias: Tensor<B, 1> = sd.tensor("bias", [out_dim])?;
        Ok(EqualLinear {
            weight: weight
                .mul_scalar(lr_mul / (in_dim as f32).sqrt())
                .transpose(),
            bias: bias.mul_scalar(lr_mul).unsqueeze_dim(0),
            activate,
        })
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let y = x.matmul(self.weight.clone()) + self.bias.clone();
        if self.activate {
            leaky_relu_gain(y)
        } else {
            y
        }
    }
}

/// Modulated convolution (`*.conv`) and what follows it: the weight
/// [1, out, in, k, k] scaled by 1/√(in·k²), input channels scaled by the style
/// `modulation(w)`, output channels optionally demodulated, then the layer's
/// noise, bias and activation. The backend runs all but the style affine
/// ([`ModelBackend::modulated_conv`]).
#[derive(Clone, Debug)]
struct ModulatedConv<B: ModelBackend> {
    conv: B::ModulatedConv,
    modulation: EqualLinear<B>,
}

/// How a modulated conv is built, beyond its sizes.
struct Layer {
    kernel: usize,
    demodulate: bool,
    upsample: bool,
    /// Checkpoint key (relative to the layer) and stored shape of the
    /// per-channel bias.
    bias: (&'static str, Vec<usize>),
    /// Whether the layer adds noise × `noise.weight` (styled convs).
    noise: bool,
    activate: bool,
}

impl<B: ModelBackend> ModulatedConv<B> {
    /// `layer` is the styled conv or to-RGB (`convs.3`), whose `conv` is
    /// the modulated convolution.
    fn load(
        layer_sd: &StateDict<'_, B>,
        (in_ch, out_ch, style_dim): (usize, usize, usize),
        layer: Layer,
    ) -> Result<Self> {
        let sd = layer_sd.pp("conv");
        let kernel = layer.kernel;
        let shape = [1, out_ch, in_ch, kernel, kernel];
        let scale = 1.0 / ((in_ch * kernel * kernel) as f32).sqrt();
        let mut weight = sd.values("weight", &shape)?;
        weight.iter_mut().for_each(|v| *v *= scale);
        let modulation = EqualLinear::load(&sd.pp("modulation"), style_dim, in_ch, 1.0, false)?;
        let blur = if layer.upsample {
            let values = sd.values("blur.kernel", &[FIR_KERNEL, FIR_KERNEL])?;
            let mut blur = [0.0f32; FIR_KERNEL * FIR_KERNEL];
            blur.copy_from_slice(&values);
            Some(blur)
        } else {
            None
        };
        let noise_weight = match layer.noise {
            true => Some(layer_sd.values("noise.weight", &[1])?[0]),
            false => None,
        };
        let spec = ModulatedConvSpec {
            out_ch,
            in_ch,
            kernel,
            weight,
            blur,
            demodulate: layer.demodulate,
            noise_weight,
            bias: layer_sd.values(layer.bias.0, &layer.bias.1)?,
            activate: layer.activate,
        };
        Ok(ModulatedConv {
            conv: B::load_modulated_conv(spec, layer_sd.device),
            modulation,
        })
    }

    fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        noise: Option<&Tensor<B, 4>>,
    ) -> Tensor<B, 4> {
        B::modulated_conv(&self.conv, x, self.modulation.forward(w), noise)
    }
}

/// Styled convolution (`conv1`, `convs.N`): modulated conv, then noise ×
/// `noise.weight`, then leaky ReLU(x + `activate.bias`) ×√2.
#[derive(Clone, Debug)]
struct StyledConv<B: ModelBackend> {
    conv: ModulatedConv<B>,
}

impl<B: ModelBackend> StyledConv<B> {
    fn load(sd: &StateDict<'_, B>, sizes: (usize, usize, usize), upsample: bool) -> Result<Self> {
        let (_, out_ch, _) = sizes;
        let layer = Layer {
            kernel: CONV_KERNEL,
            demodulate: true,
            upsample,
            bias: ("activate.bias", vec![out_ch]),
            noise: true,
            activate: true,
        };
        let conv = ModulatedConv::load(sd, sizes, layer)?;
        Ok(StyledConv { conv })
    }

    /// `noise` is [1 or batch, 1, H, W] at the output resolution.
    fn forward(&self, x: Tensor<B, 4>, w: Tensor<B, 2>, noise: &Tensor<B, 4>) -> Tensor<B, 4> {
        self.conv.forward(x, w, Some(noise))
    }
}

/// To-RGB (`to_rgb1`, `to_rgbs.N`): 1×1 modulated conv without demodulation,
/// plus `bias`, plus the previous RGB image upsampled ×2 (zero insertion, the
/// `upsample.kernel` FIR, padding (2, 1)).
#[derive(Clone, Debug)]
struct ToRgb<B: ModelBackend> {
    conv: ModulatedConv<B>,
    /// `upsample.kernel` as a [1, 1, 4, 4] transposed-conv weight; `None` for `to_rgb1`.
    upsample: Option<Tensor<B, 4>>,
}

impl<B: ModelBackend> ToRgb<B> {
    fn load(
        sd: &StateDict<'_, B>,
        (in_ch, style_dim): (usize, usize),
        upsample: bool,
    ) -> Result<Self> {
        let layer = Layer {
            kernel: RGB_KERNEL,
            demodulate: false,
            upsample: false,
            bias: ("bias", vec![1, 3, 1, 1]),
            noise: false,
            activate: false,
        };
        let sizes = (in_ch, 3, style_dim);
        let conv = ModulatedConv::load(sd, sizes, layer)?;
        let upsample = if upsample {
            let k: Tensor<B, 2> = sd.tensor("upsample.kernel", [FIR_KERNEL, FIR_KERNEL])?;
            Some(k.reshape([1, 1, FIR_KERNEL, FIR_KERNEL]))
        } else {
            None
        };
        Ok(ToRgb { conv, upsample })
    }

    fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        skip: Option<Tensor<B, 4>>,
    ) -> Tensor<B, 4> {
        let out = self.conv.forward(x, w, None);
        match (skip, &self.upsample) {
            (Some(skip), Some(kernel)) => out + upsample_fir(skip, kernel.clone()),
            _ => out,
        }
    }
}

/// upfirdn2d with up = 2 and pad (2, 1): zero insertion, padding and a true
/// convolution with the FIR kernel. That is exactly a stride-2 transposed
/// convolution with the (unflipped) kernel and padding 1: both put input pixel
/// i at position 2i + 2 of a 2W + 3 long padded line; output side 2W.
fn upsample_fir<B: Backend>(x: Tensor<B, 4>, kernel: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let y = conv_transpose2d(
        x.reshape([batch * channels, 1, height, width]),
        kernel,
        None,
        ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], 1),
    );
    y.reshape([batch, channels, 2 * height, 2 * width])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_sides_follow_the_resolution_ladder() {
        let sides: Vec<usize> = (0..7).map(noise_side).collect();
        assert_eq!(sides, vec![4, 8, 8, 16, 16, 32, 32]);
    }

    #[test]
    fn pixel_conversion_rounds_and_clamps() {
        assert_eq!(to_u8(-1.0), 0);
        assert_eq!(to_u8(1.0), 255);
        assert_eq!(to_u8(-3.0), 0);
        assert_eq!(to_u8(7.0), 255);
        assert_eq!(to_u8(0.0), 128); // 127.5 rounds half up
        assert_eq!(to_u8(f32::NAN), 0);
    }
}
