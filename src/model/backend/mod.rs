//! The backend layer: the operations the networks need beyond burn's own,
//! with one implementation per backend.
//!
//! [`ModelBackend`] is a burn [`Backend`] that can also run StyleGAN2's
//! modulated convolution, a dense layer, the exact GELU and a plain 2-D
//! convolution. The networks (`stylegene/stylegan2.rs`, `mixer.rs`,
//! `e4e.rs`) are generic over `B: ModelBackend` and call these as `B::…`;
//! they never ask which backend runs them.
//!
//! - [`burn`](self::burn): the burn-generic implementation, burn tensor
//!   operations only. It is what CUDA and wgpu run, what any other burn
//!   backend would run, and [`ReferenceCpuBackend`] runs it on burn-ndarray so the
//!   tests check this path on machines without a GPU.
//! - [`cpu`]: the CPU backend ([`CpuBackend`], burn-ndarray), whose heavy
//!   layers are `gemm` matrix products: burn-ndarray's own convolution and
//!   matmul reach a fraction of what the processor's vector units can do.
//!
//! Both compute the same maps; tests/stylegan2_parity.rs,
//! tests/stylegene_parity.rs, tests/e4e_parity.rs and
//! tests/fairface_parity.rs check each backend against PyTorch, and
//! tests/descriptor_parity.rs against dlib.
//!
//! Adding a backend (as wgpu was added) touches this folder and the device list:
//! - here, `burn.rs`: a type alias and one `burn_backend!` line (or, for
//!   hand-written kernels, a folder like `cpu/` with its own
//!   `impl ModelBackend`);
//! - the device list: `stylegene/device.rs` (its `--device` spelling, the
//!   check that the device exists, and its arm in `run_on`, through which
//!   the model loads) and the `DeviceSpec` variant it names.
//!
//! Nothing in the networks or the model changes.

pub mod burn;
pub mod cpu;

#[cfg(feature = "cuda")]
pub use self::burn::CudaBackend;
pub use self::burn::ReferenceCpuBackend;
#[cfg(feature = "wgpu")]
pub use self::burn::WgpuBackend;
pub use cpu::CpuBackend;

use ::burn::tensor::activation::leaky_relu;
use ::burn::tensor::backend::Backend;
use ::burn::tensor::Tensor;
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

/// A burn backend that can run every layer of famsim's networks.
pub trait ModelBackend: Backend {
    /// A modulated convolution prepared for this backend (weights packed or
    /// uploaded).
    type ModulatedConv: Clone + Debug + Send + Sync;

    fn load_modulated_conv(spec: ModulatedConvSpec, device: &Self::Device) -> Self::ModulatedConv;

    /// One synthesis layer after its style affine (see [`ModulatedConvSpec`]):
    /// `x` [batch, in, H, W] and `style` [batch, in] → [batch, out, H, W],
    /// or [batch, out, 2H, 2W] when the convolution upsamples. `noise`
    /// ([1 or batch, 1, H', W'] at the output size) is used when the spec
    /// has a noise weight.
    fn modulated_conv(
        conv: &Self::ModulatedConv,
        x: Tensor<Self, 4>,
        style: Tensor<Self, 2>,
        noise: Option<&Tensor<Self, 4>>,
    ) -> Tensor<Self, 4>;

    // The three layers below default to burn's own operations: that is the
    // burn-generic implementation (`burn.rs`, CUDA and the reference CPU
    // backend) in one place, so each backend built from burn operations
    // shares it instead of repeating it; `cpu/` overrides them with its
    // `gemm` kernels.

    /// A dense layer: `x` [rows, in] · `weight_t` [in, out] + `bias` [out].
    fn dense(
        x: Tensor<Self, 2>,
        weight_t: Tensor<Self, 2>,
        bias: Tensor<Self, 1>,
    ) -> Tensor<Self, 2> {
        x.matmul(weight_t) + bias.unsqueeze::<2>()
    }

    /// Exact GELU, x·(1 + erf(x/√2))/2 (PyTorch's default).
    fn gelu_erf<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        ::burn::tensor::activation::gelu(x)
    }

    /// `conv2d(x [B, C, H, W], weight [O, C, k, k], bias [O])` with a square
    /// kernel, the same stride and padding on both axes, no dilation or groups.
    fn strided_conv2d(
        x: Tensor<Self, 4>,
        weight: Tensor<Self, 4>,
        bias: Option<Tensor<Self, 1>>,
        stride: usize,
        padding: usize,
    ) -> Tensor<Self, 4> {
        ::burn::tensor::module::conv2d(
            x,
            weight,
            bias,
            ::burn::tensor::ops::ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1),
        )
    }
}

/// StyleGAN2's activation (the port's `fused_lrelu`), leaky ReLU(0.2) × √2,
/// on a tensor. [`leaky_relu_gain_value`] is the same two f32 operations on
/// one value, for kernels that fuse it into another pass.
pub fn leaky_relu_gain<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    leaky_relu(x, LEAKY_SLOPE as f64).mul_scalar(ACTIVATION_GAIN)
}

/// [`leaky_relu_gain`] of one value: the same bits as the tensor form.
#[inline]
pub fn leaky_relu_gain_value(v: f32) -> f32 {
    (if v < 0.0 { v * LEAKY_SLOPE } else { v }) * ACTIVATION_GAIN
}

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
pub struct ModulatedConvSpec {
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

impl ModulatedConvSpec {
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

/// Test inputs shared by the kernels' unit tests.
#[cfg(test)]
pub(crate) mod test_tensors {
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorData};

    /// A tensor of varied, repeatable values (a scrambled ramp around 0).
    pub fn ramp<B: Backend, const D: usize>(shape: [usize; D], scale: f32) -> Tensor<B, D> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * scale)
            .collect();
        Tensor::from_data(TensorData::new(v, shape), &Default::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused CPU pass and the tensor form give the same bits.
    #[test]
    fn both_forms_of_the_activation_agree_bit_for_bit() {
        let x = test_tensors::ramp::<CpuBackend, 1>([1000], 0.013);
        let values: Vec<f32> = x.clone().into_data().into_vec().unwrap();
        let tensor: Vec<f32> = leaky_relu_gain(x).into_data().into_vec().unwrap();
        let fused: Vec<u32> = values
            .iter()
            .map(|&v| leaky_relu_gain_value(v).to_bits())
            .collect();
        assert_eq!(
            fused,
            tensor.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert!(values.iter().any(|&v| v < 0.0) && values.iter().any(|&v| v > 0.0));
    }
}
