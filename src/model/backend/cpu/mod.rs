//! The CPU backend: burn-ndarray, with its heavy layers as `gemm` matrix
//! products on the host memory of its tensors.
//!
//! - `modulated_conv.rs`: StyleGAN2's synthesis layers, one `gemm` product
//!   per kernel tap, with everything after the convolution fused into the
//!   pass that writes the output;
//! - `dense.rs`: the mixers' dense layers and their GELU;
//! - `im2col.rs`: e4e's plain (strided) convolutions;
//! - `host.rs`: borrowing tensor memory, and the one call into `gemm`.
//!
//! On the CPU the same input gives the same bits on any thread count and in
//! any batch: every output element is summed in an order fixed by the
//! shapes.

pub mod dense;
pub mod host;
pub mod im2col;
pub mod modulated_conv;

use super::{ModelBackend, ModulatedConvSpec};
use burn::tensor::{Tensor, TensorData};
use host::with_host_values;
use modulated_conv::{ConvInput, GemmConv};

/// The CPU backend: burn-ndarray in f32.
pub type CpuBackend = burn_ndarray::NdArray<f32>;

impl ModelBackend for CpuBackend {
    type ModulatedConv = GemmConv;

    fn load_modulated_conv(spec: ModulatedConvSpec, _device: &Self::Device) -> GemmConv {
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

    fn dense(
        x: Tensor<Self, 2>,
        weight_t: Tensor<Self, 2>,
        bias: Tensor<Self, 1>,
    ) -> Tensor<Self, 2> {
        dense::linear(x, weight_t, bias)
    }

    fn gelu_erf<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        dense::gelu(x)
    }

    fn strided_conv2d(
        x: Tensor<Self, 4>,
        weight: Tensor<Self, 4>,
        bias: Option<Tensor<Self, 1>>,
        stride: usize,
        padding: usize,
    ) -> Tensor<Self, 4> {
        im2col::conv2d(x, weight, bias, stride, padding)
    }
}
