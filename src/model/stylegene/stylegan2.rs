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
//! Computation (see DESIGN.md, "The neural model"): the port modulates the conv
//! *weights* per sample and folds the batch into conv groups. Here the style
//! scales the *input* channels and the demodulation scales the *output*
//! channels of one shared-weight convolution — the same linear map
//! (conv(x·s, W)·d = conv(x, W·s·d)), but one large batched convolution instead
//! of `batch` small ones, which is what both burn-ndarray and GPU backends run
//! fastest. The demodulation factors need only Σ_k W² per (in, out) pair, which
//! is precomputed at load: d = rsqrt(s² · ΣW² + 1e-8) is a small matmul.
//! The upsampling conv + blur becomes four phase convolutions at the input
//! resolution (see `ModulatedConv`), so every heavy op is a plain `conv2d`.
//!
//! Precision: float32 throughout; matches a float64 PyTorch reference within
//! 1e-4 (tests/stylegan2_parity.rs). On burn-ndarray, repeated calls on the
//! same input differ in the last bits (~1e-5 on the tiny fixture).

use super::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::model::Image;
use burn::tensor::activation::leaky_relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// Learning-rate multiplier of the mapping network's equalised linear layers.
/// It is a training-time reparametrisation baked into the forward pass, so it
/// is not in the checkpoint; 0.01 is what every official StyleGAN2 uses.
const MAPPING_LR_MUL: f32 = 0.01;
/// Negative slope of every leaky ReLU in StyleGAN2.
const LEAKY_SLOPE: f64 = 0.2;
/// Gain after every leaky ReLU, to keep activations at unit variance.
const ACTIVATION_GAIN: f32 = std::f32::consts::SQRT_2;
/// Kernel side of the synthesis convolutions and of the to-RGB convolutions.
const CONV_KERNEL: usize = 3;
const RGB_KERNEL: usize = 1;
/// Side of the FIR filter ([1, 3, 3, 1] outer product) used for upsampling.
const FIR_KERNEL: usize = 4;
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
pub struct Generator<B: Backend> {
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
}

impl<B: Backend> Generator<B> {
    /// Loads `g_ema.*` and `latent_avg` from a PyTorch checkpoint file.
    pub fn load(path: &Path, device: &B::Device) -> Result<Generator<B>> {
        let checkpoint = Checkpoint::open(path)?;
        Generator::from_checkpoint(&checkpoint, device)
    }

    /// Builds the generator from a checkpoint's `g_ema.*` tensors and `latent_avg`,
    /// inferring every size from the tensor shapes.
    pub fn from_checkpoint(ckpt: &Checkpoint, device: &B::Device) -> Result<Generator<B>> {
        // Mapping network: style dim and depth.
        let first = ckpt.require_shape(&key("style.1.weight"), "[style_dim, style_dim]")?;
        if first.len() != 2 || first[0] != first[1] || first[0] == 0 {
            return Err(Error::input(format!(
                "checkpoint {}: tensor `{}` has shape {first:?}, expected a square [style_dim, style_dim]",
                ckpt.source(),
                key("style.1.weight")
            )));
        }
        let style_dim = first[1];
        let mapping_layers = (1..)
            .take_while(|i| ckpt.contains(&key(&format!("style.{i}.weight"))))
            .count();
        let style = (1..=mapping_layers)
            .map(|i| {
                EqualLinear::load(
                    ckpt,
                    &key(&format!("style.{i}")),
                    style_dim,
                    style_dim,
                    MAPPING_LR_MUL,
                    true,
                    device,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let latent_avg = ckpt.tensor("latent_avg", [style_dim], device)?;

        // Synthesis network: 4×4 width, then one width per upsampling block.
        let input_shape = ckpt.require_shape(&key("input.input"), "[1, channels, 4, 4]")?;
        if input_shape.len() != 4 {
            return Err(Error::input(format!(
                "checkpoint {}: tensor `{}` has shape {input_shape:?}, expected [1, channels, 4, 4]",
                ckpt.source(),
                key("input.input")
            )));
        }
        let width4 = input_shape[1];
        let input = ckpt.tensor(&key("input.input"), [1, width4, 4, 4], device)?;
        let conv1 = StyledConv::load(
            ckpt,
            &key("conv1"),
            width4,
            width4,
            style_dim,
            false,
            device,
        )?;
        let to_rgb1 = ToRgb::load(ckpt, &key("to_rgb1"), width4, style_dim, false, device)?;

        let conv_count = (0..)
            .take_while(|i| ckpt.contains(&key(&format!("convs.{i}.conv.weight"))))
            .count();
        // An odd count means the block's second conv is missing; loading it
        // below reports the missing tensor by name.
        let blocks = conv_count.div_ceil(2);
        if blocks > 12 {
            return Err(Error::input(format!(
                "checkpoint {}: {conv_count} synthesis convs means a {}-px generator; that is not a StyleGAN2 famsim can run",
                ckpt.source(),
                4u64 << blocks.min(60)
            )));
        }
        let mut convs = Vec::with_capacity(2 * blocks);
        let mut to_rgbs = Vec::with_capacity(blocks);
        let mut width_in = width4;
        for b in 0..blocks {
            let up_name = key(&format!("convs.{}.conv.weight", 2 * b));
            let up_shape = ckpt.require_shape(&up_name, "[1, out, in, 3, 3]")?;
            if up_shape.len() != 5 {
                return Err(Error::input(format!(
                    "checkpoint {}: tensor `{up_name}` has shape {up_shape:?}, expected [1, out, {width_in}, 3, 3]",
                    ckpt.source()
                )));
            }
            let width = up_shape[1];
            let prefix = |i: usize| key(&format!("convs.{i}"));
            convs.push(StyledConv::load(
                ckpt,
                &prefix(2 * b),
                width_in,
                width,
                style_dim,
                true,
                device,
            )?);
            convs.push(StyledConv::load(
                ckpt,
                &prefix(2 * b + 1),
                width,
                width,
                style_dim,
                false,
                device,
            )?);
            to_rgbs.push(ToRgb::load(
                ckpt,
                &key(&format!("to_rgbs.{b}")),
                width,
                style_dim,
                true,
                device,
            )?);
            width_in = width;
        }

        let noises = (0..2 * blocks + 1)
            .map(|j| {
                let side = noise_side(j);
                ckpt.tensor(
                    &key(&format!("noises.noise_{j}")),
                    [1, 1, side, side],
                    device,
                )
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
        })
    }

    /// Side of the square images [`Generator::synthesis`] returns.
    pub fn resolution(&self) -> usize {
        self.resolution
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

fn key(name: &str) -> String {
    format!("g_ema.{name}")
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
        ckpt: &Checkpoint,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        lr_mul: f32,
        activate: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let weight: Tensor<B, 2> =
            ckpt.tensor(&format!("{prefix}.weight"), [out_dim, in_dim], device)?;
        let bias: Tensor<B, 1> = ckpt.tensor(&format!("{prefix}.bias"), [out_dim], device)?;
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
            leaky_relu(y, LEAKY_SLOPE).mul_scalar(ACTIVATION_GAIN)
        } else {
            y
        }
    }
}

/// Modulated convolution (`*.conv`): weight [1, out, in, k, k] scaled by
/// 1/√(in·k²), input channels scaled by the style `modulation(w)`, output
/// channels optionally demodulated.
///
/// The upsampling variant is, in the port, a stride-2 transposed conv followed
/// by the [1,3,3,1] blur padded (1, 1). The transposed conv is computed as
/// four ordinary 2×2 convolutions at the *input* resolution, one per output
/// phase (row parity, column parity), whose results interleave into the 2×
/// image; the phase kernels are built once at load
/// (`transposed_phase_kernels`), so the forward pass is one `conv2d` with
/// 4·out channels, a depth-to-space reshape and the per-channel blur.
/// burn-ndarray's transposed convolution is a plain scalar loop while its
/// `conv2d` is a SIMD kernel, which is why this matters.
#[derive(Clone, Debug)]
struct ModulatedConv<B: Backend> {
    /// conv2d weight: [out, in, k, k], or [4·out, in, 2, 2] phase kernels
    /// (channel = (row parity · 2 + column parity) · out + o) when upsampling.
    weight: Tensor<B, 4>,
    /// Σ over the kernel taps of the squared scaled weight, [in, out]; `None`
    /// without demodulation (to-RGB).
    weight_sq: Option<Tensor<B, 2>>,
    modulation: EqualLinear<B>,
    /// `blur.kernel`, flipped for correlation, [1, 1, 4, 4]; set when upsampling.
    blur: Option<Tensor<B, 4>>,
    padding: usize,
}

impl<B: Backend> ModulatedConv<B> {
    #[allow(clippy::too_many_arguments)]
    fn load(
        ckpt: &Checkpoint,
        prefix: &str,
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        style_dim: usize,
        demodulate: bool,
        upsample: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let shape = [1, out_ch, in_ch, kernel, kernel];
        let scale = 1.0 / ((in_ch * kernel * kernel) as f32).sqrt();
        let mut values = ckpt.values(&format!("{prefix}.weight"), &shape)?;
        values.iter_mut().for_each(|v| *v *= scale);
        let weight: Tensor<B, 4> = Tensor::from_data(
            TensorData::new(values.clone(), [out_ch, in_ch, kernel, kernel]),
            device,
        );
        let weight_sq = demodulate.then(|| {
            (weight.clone() * weight.clone())
                .sum_dim(3)
                .sum_dim(2)
                .reshape([out_ch, in_ch])
                .transpose()
        });
        let modulation = EqualLinear::load(
            ckpt,
            &format!("{prefix}.modulation"),
            style_dim,
            in_ch,
            1.0,
            false,
            device,
        )?;
        let (weight, blur) = if upsample {
            let blur: Tensor<B, 2> = ckpt.tensor(
                &format!("{prefix}.blur.kernel"),
                [FIR_KERNEL, FIR_KERNEL],
                device,
            )?;
            // upfirdn2d convolves (flips the kernel); conv2d correlates.
            let blur = blur.flip([0, 1]).reshape([1, 1, FIR_KERNEL, FIR_KERNEL]);
            let phases = transposed_phase_kernels(&values, out_ch, in_ch);
            let phases =
                Tensor::from_data(TensorData::new(phases, [4 * out_ch, in_ch, 2, 2]), device);
            (phases, Some(blur))
        } else {
            (weight, None)
        };
        Ok(ModulatedConv {
            weight,
            weight_sq,
            modulation,
            blur,
            padding: kernel / 2,
        })
    }

    fn forward(&self, x: Tensor<B, 4>, w: Tensor<B, 2>) -> Tensor<B, 4> {
        let [batch, in_ch, height, width] = x.dims();
        let s = self.modulation.forward(w);
        let x = x * s.clone().reshape([batch, in_ch, 1, 1]);
        let out = conv2d(
            x,
            self.weight.clone(),
            None,
            ConvOptions::new([1, 1], [self.padding; 2], [1, 1], 1),
        );
        let out = match &self.blur {
            Some(blur) => {
                // [B, (rh, rw, o), H+1, W+1] → y: [B, o, (H+1, rh), (W+1, rw)],
                // the transposed conv's 2H+1 lines plus one zero line.
                let [_, phased, _, _] = out.dims();
                let out_ch = phased / 4;
                let y = out
                    .reshape([batch, 2, 2, out_ch, height + 1, width + 1])
                    .permute([0, 3, 4, 1, 5, 2])
                    .reshape([batch, out_ch, 2 * height + 2, 2 * width + 2]);
                // Blur padded (1, 1) over the 2H+1 real lines gives 2H; the
                // zero line is the end padding, so pad (1, 1) here and drop
                // the one extra output line.
                depthwise_fir(y, blur.clone(), 1)
                    .narrow(2, 0, 2 * height)
                    .narrow(3, 0, 2 * width)
            }
            None => out,
        };
        match &self.weight_sq {
            Some(weight_sq) => {
                let demod = (s.clone() * s)
                    .matmul(weight_sq.clone())
                    .add_scalar(EPS)
                    .sqrt()
                    .recip();
                let [_, out_ch] = demod.dims();
                out * demod.reshape([batch, out_ch, 1, 1])
            }
            None => out,
        }
    }
}

/// Phase kernels of a stride-2 transposed 3×3 conv without padding.
///
/// `weight` is the scaled [out, in, 3, 3] weight; the transposed conv adds
/// x[i]·W[m] to y[2i + m], so y has 2H + 1 lines. Output line p = 2q + r
/// (q = 0..=H) is a 2-tap correlation over x padded by 1, x[q + e − 1] for
/// e = 0, 1, with coefficient P_r[e] = W[r + 2 − 2e] (zero outside 0..3) per
/// axis: even lines take W[2], W[0]; odd lines 0, W[1] (their last one, 2H + 1,
/// reads only padding and is zero). Returns [4·out, in, 2, 2], phase-major.
fn transposed_phase_kernels(weight: &[f32], out_ch: usize, in_ch: usize) -> Vec<f32> {
    const K: usize = CONV_KERNEL;
    let tap = |r: usize, e: usize| (r + 2).checked_sub(2 * e).filter(|&m| m < K);
    let mut phases = vec![0.0f32; 4 * out_ch * in_ch * 4];
    for o in 0..out_ch {
        for i in 0..in_ch {
            let w = &weight[(o * in_ch + i) * K * K..][..K * K];
            for (rh, rw) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let dst = ((rh * 2 + rw) * out_ch + o) * in_ch + i;
                for eh in 0..2 {
                    for ew in 0..2 {
                        if let (Some(mh), Some(mw)) = (tap(rh, eh), tap(rw, ew)) {
                            phases[(dst * 2 + eh) * 2 + ew] = w[mh * K + mw];
                        }
                    }
                }
            }
        }
    }
    phases
}

/// The same single-channel FIR kernel [1, 1, k, k] applied to every channel,
/// with symmetric zero padding. Channels are folded into the batch so that one
/// plain (ungrouped) convolution does it.
fn depthwise_fir<B: Backend>(
    x: Tensor<B, 4>,
    kernel: Tensor<B, 4>,
    padding: usize,
) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let y = conv2d(
        x.reshape([batch * channels, 1, height, width]),
        kernel,
        None,
        ConvOptions::new([1, 1], [padding; 2], [1, 1], 1),
    );
    let [_, _, h, w] = y.dims();
    y.reshape([batch, channels, h, w])
}

/// Styled convolution (`conv1`, `convs.N`): modulated conv, then noise ×
/// `noise.weight`, then leaky ReLU(x + `activate.bias`) ×√2.
#[derive(Clone, Debug)]
struct StyledConv<B: Backend> {
    conv: ModulatedConv<B>,
    /// `noise.weight`, [1, 1, 1, 1] for broadcasting.
    noise_weight: Tensor<B, 4>,
    /// `activate.bias`, [1, out, 1, 1].
    activate_bias: Tensor<B, 4>,
}

impl<B: Backend> StyledConv<B> {
    fn load(
        ckpt: &Checkpoint,
        prefix: &str,
        in_ch: usize,
        out_ch: usize,
        style_dim: usize,
        upsample: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let conv = ModulatedConv::load(
            ckpt,
            &format!("{prefix}.conv"),
            in_ch,
            out_ch,
            CONV_KERNEL,
            style_dim,
            true,
            upsample,
            device,
        )?;
        let noise_weight: Tensor<B, 1> =
            ckpt.tensor(&format!("{prefix}.noise.weight"), [1], device)?;
        let activate_bias: Tensor<B, 1> =
            ckpt.tensor(&format!("{prefix}.activate.bias"), [out_ch], device)?;
        Ok(StyledConv {
            conv,
            noise_weight: noise_weight.reshape([1, 1, 1, 1]),
            activate_bias: activate_bias.reshape([1, out_ch, 1, 1]),
        })
    }

    /// `noise` is [1 or batch, 1, H, W] at the output resolution.
    fn forward(&self, x: Tensor<B, 4>, w: Tensor<B, 2>, noise: &Tensor<B, 4>) -> Tensor<B, 4> {
        let out = self.conv.forward(x, w) + noise.clone() * self.noise_weight.clone();
        leaky_relu(out + self.activate_bias.clone(), LEAKY_SLOPE).mul_scalar(ACTIVATION_GAIN)
    }
}

/// To-RGB (`to_rgb1`, `to_rgbs.N`): 1×1 modulated conv without demodulation,
/// plus `bias`, plus the previous RGB image upsampled ×2 (zero insertion, the
/// `upsample.kernel` FIR, padding (2, 1)).
#[derive(Clone, Debug)]
struct ToRgb<B: Backend> {
    conv: ModulatedConv<B>,
    /// `bias`, [1, 3, 1, 1].
    bias: Tensor<B, 4>,
    /// `upsample.kernel` as a [1, 1, 4, 4] transposed-conv weight; `None` for `to_rgb1`.
    upsample: Option<Tensor<B, 4>>,
}

impl<B: Backend> ToRgb<B> {
    fn load(
        ckpt: &Checkpoint,
        prefix: &str,
        in_ch: usize,
        style_dim: usize,
        upsample: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let conv = ModulatedConv::load(
            ckpt,
            &format!("{prefix}.conv"),
            in_ch,
            3,
            RGB_KERNEL,
            style_dim,
            false,
            false,
            device,
        )?;
        let bias = ckpt.tensor(&format!("{prefix}.bias"), [1, 3, 1, 1], device)?;
        let upsample = if upsample {
            let k: Tensor<B, 2> = ckpt.tensor(
                &format!("{prefix}.upsample.kernel"),
                [FIR_KERNEL, FIR_KERNEL],
                device,
            )?;
            Some(k.reshape([1, 1, FIR_KERNEL, FIR_KERNEL]))
        } else {
            None
        };
        Ok(ToRgb {
            conv,
            bias,
            upsample,
        })
    }

    fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        skip: Option<Tensor<B, 4>>,
    ) -> Tensor<B, 4> {
        let out = self.conv.forward(x, w) + self.bias.clone();
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
