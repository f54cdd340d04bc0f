//! The synthesis network's convolutions, one implementation per backend.
//!
//! The modulated convolutions are nearly all of StyleGAN2's arithmetic. On a
//! GPU, burn's own `conv2d` is the right tool ([`BurnConv`]). On the CPU,
//! burn-ndarray's direct convolution reaches only a fraction of what the
//! processor's matrix units can do, so the CPU backend runs the same
//! convolutions as matrix products instead ([`super::cpu_conv::GemmConv`]).
//!
//! Both compute the same map; tests/stylegan2_parity.rs checks each against
//! PyTorch: the CPU backend through [`super::device::CpuBackend`] and the burn
//! path through [`ReferenceCpuBackend`], which is burn-ndarray with the burn
//! convolution (what the CUDA backend runs).

use super::cpu_conv::{ConvInput, GemmConv};
use super::cpu_host::with_host_values;
use super::device::CpuBackend;
use burn::tensor::activation::leaky_relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};
use std::fmt::Debug;

/// Side of the 3×3 synthesis kernels, the only ones that upsample.
pub const CONV_KERNEL: usize = 3;
/// Side of the FIR filter ([1, 3, 3, 1] outer product) used for upsampling.
pub const FIR_KERNEL: usize = 4;
/// Negative slope of every leaky ReLU in StyleGAN2.
pub const LEAKY_SLOPE: f32 = 0.2;
/// Gain after every leaky ReLU, to keep activations at unit variance.
pub const ACTIVATION_GAIN: f32 = std::f32::consts::SQRT_2;
/// Numerical floor of the demodulation.
pub const DEMOD_EPS: f32 = 1e-8;

/// burn-ndarray running the synthesis convolutions through burn's generic
/// `conv2d`, exactly as the CUDA backend does. It differs from
/// [`CpuBackend`] only in its integer type, which makes it a distinct type
/// with its own [`ConvBackend`] choice; tests use it to check the GPU code
/// path on machines without a GPU.
pub type ReferenceCpuBackend = burn_ndarray::NdArray<f32, i32>;

/// What one synthesis layer computes after its style affine, independent of
/// the backend: a modulated convolution and what follows it in the port.
///
/// For sample b with style s = `modulation(w)` [in]:
///
/// out = act(conv(x · s, W) · d + noise · `noise_weight` + `bias`)
///
/// where d = 1/√(s² · Σ_taps W² + 1e-8) per output channel when
/// `demodulate` (else 1), and act is leaky ReLU(0.2) × √2 when `activate`.
///
/// `weight` is the checkpoint's weight already multiplied by its equalised
/// learning-rate scale, laid out [out, in, k, k]. Without `blur` the
/// convolution is a same-size correlation (padding k/2). With `blur` (the
/// checkpoint's `blur.kernel`, [4, 4], applied as upfirdn2d applies it: a true
/// convolution) it is the port's upsampling conv: a stride-2 transposed
/// convolution followed by the blur padded (1, 1), so H×W becomes 2H×2W.
#[derive(Clone, Debug)]
pub struct ConvSpec {
    pub out_ch: usize,
    pub in_ch: usize,
    pub kernel: usize,
    pub weight: Vec<f32>,
    pub blur: Option<[f32; FIR_KERNEL * FIR_KERNEL]>,
    pub demodulate: bool,
    /// Styled convs add per-pixel noise × this (`noise.weight`).
    pub noise_weight: Option<f32>,
    /// Per output channel (`activate.bias`, or to-RGB's `bias`).
    pub bias: Vec<f32>,
    pub activate: bool,
}

impl ConvSpec {
    /// Σ over the kernel taps of W², laid out [in, out]: the demodulation's
    /// d² = 1/(s² · this + ε) is then one small matrix product.
    pub fn weight_sq(&self) -> Vec<f32> {
        let taps = self.kernel * self.kernel;
        let mut sums = vec![0.0f32; self.in_ch * self.out_ch];
        for (oi, w) in self.weight.chunks_exact(taps).enumerate() {
            let (o, i) = (oi / self.in_ch, oi % self.in_ch);
            sums[i * self.out_ch + o] = w.iter().map(|v| v * v).sum();
        }
        sums
    }
}

/// A backend that can run the synthesis layers.
pub trait ConvBackend: Backend {
    /// A layer prepared for this backend (weights packed or uploaded).
    type Conv: Clone + Debug + Send + Sync;

    fn load_conv(spec: ConvSpec, device: &Self::Device) -> Self::Conv;

    /// `x` [batch, in, H, W] and `style` [batch, in] → [batch, out, H, W],
    /// or [batch, out, 2H, 2W] when the convolution upsamples. `noise`
    /// ([1 or batch, 1, H', W'] at the output size) is used when the spec has
    /// a noise weight.
    fn modulated_conv(
        conv: &Self::Conv,
        x: Tensor<Self, 4>,
        style: Tensor<Self, 2>,
        noise: Option<&Tensor<Self, 4>>,
    ) -> Tensor<Self, 4>;
}

impl ConvBackend for CpuBackend {
    type Conv = GemmConv;

    fn load_conv(spec: ConvSpec, _device: &Self::Device) -> GemmConv {
        GemmConv::new(spec)
    }

    fn modulated_conv(
        conv: &GemmConv,
        x: Tensor<Self, 4>,
        style: Tensor<Self, 2>,
        noise: Option<&Tensor<Self, 4>>,
    ) -> Tensor<Self, 4> {
        let device = x.device();
        let [batch, channels, height, width] = x.dims();
        let style = with_host_values(style, <[f32]>::to_vec);
        let noise = noise.map(|n| (n.dims()[0], with_host_values(n.clone(), <[f32]>::to_vec)));
        let (output, [out_ch, out_h, out_w]) = with_host_values(x, |x| {
            conv.forward(&ConvInput {
                x,
                batch,
                channels,
                height,
                width,
                style: &style,
                noise: noise
                    .as_ref()
                    .map(|(rows, values)| (*rows, values.as_slice())),
            })
        });
        Tensor::from_data(
            TensorData::new(output, [batch, out_ch, out_h, out_w]),
            &device,
        )
    }
}

/// Backends whose synthesis layers are burn tensor operations ([`BurnConv`]).
macro_rules! burn_conv_backend {
    ($backend:ty) => {
        impl ConvBackend for $backend {
            type Conv = BurnConv<Self>;

            fn load_conv(spec: ConvSpec, device: &Self::Device) -> Self::Conv {
                BurnConv::new(spec, device)
            }

            fn modulated_conv(
                conv: &Self::Conv,
                x: Tensor<Self, 4>,
                style: Tensor<Self, 2>,
                noise: Option<&Tensor<Self, 4>>,
            ) -> Tensor<Self, 4> {
                conv.forward(x, style, noise)
            }
        }
    };
}

burn_conv_backend!(ReferenceCpuBackend);
#[cfg(feature = "cuda")]
burn_conv_backend!(super::device::CudaBackend);

/// The synthesis convolution as burn tensor operations (the GPU path).
///
/// The upsampling variant computes the stride-2 transposed conv as four
/// ordinary 2×2 convolutions at the *input* resolution, one per output phase
/// (row parity, column parity), whose results interleave into the 2× image;
/// the phase kernels are built once at load (`transposed_phase_kernels`), so
/// the forward pass is one `conv2d` with 4·out channels, a depth-to-space
/// reshape and the per-channel blur. Every heavy op is then a plain `conv2d`,
/// which every burn backend implements well.
#[derive(Clone, Debug)]
pub struct BurnConv<B: Backend> {
    /// conv2d weight: [out, in, k, k], or [4·out, in, 2, 2] phase kernels
    /// (channel = (row parity · 2 + column parity) · out + o) when upsampling.
    weight: Tensor<B, 4>,
    /// The blur flipped for correlation, [1, 1, 4, 4]; set when upsampling.
    blur: Option<Tensor<B, 4>>,
    padding: usize,
    /// [`ConvSpec::weight_sq`], [in, out], when demodulating.
    weight_sq: Option<Tensor<B, 2>>,
    noise_weight: Option<f32>,
    /// [1, out, 1, 1].
    bias: Tensor<B, 4>,
    activate: bool,
}

impl<B: Backend> BurnConv<B> {
    pub fn new(spec: ConvSpec, device: &B::Device) -> Self {
        let weight_sq = spec.demodulate.then(|| {
            Tensor::from_data(
                TensorData::new(spec.weight_sq(), [spec.in_ch, spec.out_ch]),
                device,
            )
        });
        let ConvSpec {
            out_ch,
            in_ch,
            kernel,
            weight,
            blur,
            noise_weight,
            bias,
            activate,
            ..
        } = spec;
        let bias = Tensor::from_data(TensorData::new(bias, [1, out_ch, 1, 1]), device);
        let (weight, blur, padding) = match blur {
            Some(blur) => {
                // upfirdn2d convolves (flips the kernel); conv2d correlates.
                let flipped: Vec<f32> = blur.iter().rev().copied().collect();
                let phases = transposed_phase_kernels(&weight, out_ch, in_ch);
                let weight = TensorData::new(phases, [4 * out_ch, in_ch, 2, 2]);
                let blur = TensorData::new(flipped, [1, 1, FIR_KERNEL, FIR_KERNEL]);
                let blur = Some(Tensor::from_data(blur, device));
                (Tensor::from_data(weight, device), blur, 1)
            }
            None => {
                let weight = TensorData::new(weight, [out_ch, in_ch, kernel, kernel]);
                (Tensor::from_data(weight, device), None, kernel / 2)
            }
        };
        BurnConv {
            weight,
            blur,
            padding,
            weight_sq,
            noise_weight,
            bias,
            activate,
        }
    }

    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        style: Tensor<B, 2>,
        noise: Option<&Tensor<B, 4>>,
    ) -> Tensor<B, 4> {
        let [batch, in_ch, _, _] = x.dims();
        let x = x * style.clone().reshape([batch, in_ch, 1, 1]);
        let mut out = self.convolve(x);
        if let Some(weight_sq) = &self.weight_sq {
            let demod = (style.clone() * style)
                .matmul(weight_sq.clone())
                .add_scalar(DEMOD_EPS)
                .sqrt()
                .recip();
            let [_, out_ch] = demod.dims();
            out = out * demod.reshape([batch, out_ch, 1, 1]);
        }
        if let (Some(weight), Some(noise)) = (self.noise_weight, noise) {
            out = out + noise.clone().mul_scalar(weight);
        }
        out = out + self.bias.clone();
        if self.activate {
            leaky_relu(out, LEAKY_SLOPE as f64).mul_scalar(ACTIVATION_GAIN)
        } else {
            out
        }
    }

    /// The plain or upsampling convolution alone.
    fn convolve(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [batch, _, height, width] = x.dims();
        let out = conv2d(
            x,
            self.weight.clone(),
            None,
            ConvOptions::new([1, 1], [self.padding; 2], [1, 1], 1),
        );
        let Some(blur) = &self.blur else {
            return out;
        };
        // [B, (rh, rw, o), H+1, W+1] → y: [B, o, (H+1, rh), (W+1, rw)],
        // the transposed conv's 2H+1 lines plus one zero line.
        let [_, phased, _, _] = out.dims();
        let out_ch = phased / 4;
        let y = out
            .reshape([batch, 2, 2, out_ch, height + 1, width + 1])
            .permute([0, 3, 4, 1, 5, 2])
            .reshape([batch, out_ch, 2 * height + 2, 2 * width + 2]);
        // Blur padded (1, 1) over the 2H+1 real lines gives 2H; the zero line
        // is the end padding, so pad (1, 1) here and drop the one extra line.
        depthwise_fir(y, blur.clone(), 1)
            .narrow(2, 0, 2 * height)
            .narrow(3, 0, 2 * width)
    }
}

/// Which phase and which input offset a transposed-conv tap feeds, per axis.
///
/// The stride-2 transposed 3×3 conv adds x[i]·W[m] to y[2i + m], so y has
/// 2H + 1 lines. Output line p = 2q + r (q = 0..=H) reads x[q − e] through
/// tap m = r + 2e: even lines (r = 0) take m = 0 (e = 0) and m = 2 (e = 1),
/// odd lines (r = 1) only m = 1 (e = 0). Returns (r, e) for tap `m`.
pub fn transposed_tap(m: usize) -> (usize, usize) {
    match m {
        0 => (0, 0),
        1 => (1, 0),
        2 => (0, 1),
        _ => unreachable!("3×3 kernels have taps 0, 1, 2"),
    }
}

/// Phase kernels of a stride-2 transposed 3×3 conv, as 2×2 correlations over
/// x padded by 1: phase r's kernel reads x[q − 1 + j] at position j = 1 − e.
/// Returns [4·out, in, 2, 2], phase-major; positions no tap reaches are zero.
fn transposed_phase_kernels(weight: &[f32], out_ch: usize, in_ch: usize) -> Vec<f32> {
    const K: usize = CONV_KERNEL;
    let mut phases = vec![0.0f32; 4 * out_ch * in_ch * 4];
    for o in 0..out_ch {
        for i in 0..in_ch {
            let w = &weight[(o * in_ch + i) * K * K..][..K * K];
            for mh in 0..K {
                for mw in 0..K {
                    let (rh, eh) = transposed_tap(mh);
                    let (rw, ew) = transposed_tap(mw);
                    let dst = ((rh * 2 + rw) * out_ch + o) * in_ch + i;
                    phases[(dst * 2 + 1 - eh) * 2 + 1 - ew] = w[mh * K + mw];
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
