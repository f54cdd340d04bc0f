//! The burn-generic implementation of [`ModelBackend`]: burn tensor
//! operations only, so it runs on any burn backend. CUDA and wgpu run it, and
//! [`ReferenceCpuBackend`] runs it on burn-ndarray so that the tests check
//! this path on machines without a GPU.
//!
//! A backend whose layers are all burn operations gets its implementation
//! from one [`burn_backend!`] line at the end of this file.

use super::{
    leaky_relu_gain, transposed_tap, ModelBackend, ModulatedConvSpec, CONV_KERNEL, DEMOD_EPS,
    FIR_KERNEL,
};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

/// burn-ndarray running every layer through this file, exactly as the CUDA
/// backend does. It differs from [`super::CpuBackend`] only in its integer
/// type, which makes it a distinct type with its own [`ModelBackend`]
/// implementation; tests use it to check the GPU code path on machines
/// without a GPU.
pub type ReferenceCpuBackend = burn_ndarray::NdArray<f32, i32>;

/// The CUDA backend: burn-cuda in f32.
#[cfg(feature = "cuda")]
pub type CudaBackend = burn_cuda::Cuda<f32, i32>;

/// The wgpu backend (Vulkan; Metal on macOS): burn-wgpu in f32, with burn's
/// operation fusion and without autotune (see Cargo.toml).
#[cfg(feature = "wgpu")]
pub type WgpuBackend = burn_wgpu::Wgpu<f32, i32, u32>;

/// Implements [`ModelBackend`] for a burn backend with the functions of
/// this file.
macro_rules! burn_backend {
    ($backend:ty) => {
        impl ModelBackend for $backend {
            type ModulatedConv = BurnConv<Self>;

            fn load_modulated_conv(
                spec: ModulatedConvSpec,
                device: &Self::Device,
            ) -> BurnConv<Self> {
                BurnConv::new(spec, device)
            }

            fn modulated_conv(
                conv: &BurnConv<Self>,
                x: Tensor<Self, 4>,
                style: Tensor<Self, 2>,
                noise: Option<&Tensor<Self, 4>>,
            ) -> Tensor<Self, 4> {
                conv.forward(x, style, noise)
            }
            // `dense`, `gelu_erf` and `strided_conv2d` are the trait's
            // defaults, which are burn's own operations.
        }
    };
}

burn_backend!(ReferenceCpuBackend);
#[cfg(feature = "cuda")]
burn_backend!(CudaBackend);
#[cfg(feature = "wgpu")]
burn_backend!(WgpuBackend);

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
    /// [`ModulatedConvSpec::weight_sq`], [in, out], when demodulating.
    weight_sq: Option<Tensor<B, 2>>,
    noise_weight: Option<f32>,
    /// [1, out, 1, 1].
    bias: Tensor<B, 4>,
    activate: bool,
}

impl<B: Backend> BurnConv<B> {
    pub fn new(spec: ModulatedConvSpec, device: &B::Device) -> Self {
        let weight_sq = spec.demodulate.then(|| {
            Tensor::from_data(
                TensorData::new(spec.weight_sq(), [spec.in_ch, spec.out_ch]),
                device,
            )
        });
        let ModulatedConvSpec {
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
            leaky_relu_gain(out)
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
