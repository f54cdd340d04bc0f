//! Plain (unmodulated, possibly strided) 2-D convolutions on the CPU backend,
//! for the e4e photo encoder: im2col + one `gemm` product per image.
//!
//! burn-ndarray's direct convolution runs e4e's 3×3 convs at about a third
//! of PyTorch's speed on the same cores. Unrolling the input into a
//! `[in·k·k, out_h·out_w]` matrix makes each conv one large matrix product
//! with the weight, `[out, in·k·k]`, which `gemm` runs near the machine's
//! peak; the copy costs a few percent. Each output value is one gemm dot
//! product in an order fixed by the shapes, so results do not depend on the
//! thread count.

use super::host::{matmul_add, with_host_values, HostMatrix};
use super::CpuBackend;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// `conv2d(x [B, C, H, W], weight [O, C, k, k], bias [O])` through im2col
/// and `gemm`.
pub fn conv2d(
    x: Tensor<CpuBackend, 4>,
    weight: Tensor<CpuBackend, 4>,
    bias: Option<Tensor<CpuBackend, 1>>,
    stride: usize,
    padding: usize,
) -> Tensor<CpuBackend, 4> {
    let device = x.device();
    let [batch, in_ch, height, width] = x.dims();
    let [out_ch, in_w, kernel, kernel_w] = weight.dims();
    assert_eq!((in_w, kernel_w), (in_ch, kernel), "conv2d: weight shape");
    let geometry = Geometry {
        in_ch,
        height,
        width,
        kernel,
        stride,
        padding,
        out_h: (height + 2 * padding - kernel) / stride + 1,
        out_w: (width + 2 * padding - kernel) / stride + 1,
    };
    let plane = geometry.out_h * geometry.out_w;
    let bias = match bias {
        Some(b) => with_host_values(b, <[f32]>::to_vec),
        None => vec![0.0; out_ch],
    };
    // Every output row starts as its bias; the product is added onto it.
    let mut out: Vec<f32> = (0..batch)
        .flat_map(|_| bias.iter().flat_map(|&b| std::iter::repeat_n(b, plane)))
        .collect();
    let inner = in_ch * kernel * kernel;
    with_host_values(x, |x| {
        with_host_values(weight, |w| {
            let image_len = in_ch * height * width;
            for (image, out) in x
                .chunks_exact(image_len)
                .zip(out.chunks_exact_mut(out_ch * plane))
            {
                // A 1×1 stride-1 conv reads the image as it is.
                let columns;
                let rhs = if geometry.is_pointwise() {
                    image
                } else {
                    columns = geometry.unroll(image);
                    &columns
                };
                matmul_add(
                    out,
                    HostMatrix::row_major(w, out_ch, inner),
                    HostMatrix::row_major(rhs, inner, plane),
                );
            }
        })
    });
    Tensor::from_data(
        TensorData::new(out, [batch, out_ch, geometry.out_h, geometry.out_w]),
        &device,
    )
}

/// One convolution's sizes.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    in_ch: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    out_h: usize,
    out_w: usize,
}

impl Geometry {
    fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.padding == 0
    }

    /// im2col: row (c, kh, kw) holds, for every output pixel, the input value
    /// under kernel tap (kh, kw) of channel c (zero in the padding), so that
    /// the weight `[out, in·k·k]` times this matrix is the convolution.
    fn unroll(&self, image: &[f32]) -> Vec<f32> {
        let Geometry {
            height,
            width,
            kernel,
            stride,
            padding,
            out_h,
            out_w,
            ..
        } = *self;
        let plane = out_h * out_w;
        let mut columns = vec![0.0f32; self.in_ch * kernel * kernel * plane];
        columns
            .par_chunks_mut(kernel * kernel * plane)
            .zip(image.par_chunks_exact(height * width))
            .for_each(|(rows, channel)| {
                for (tap, row) in rows.chunks_exact_mut(plane).enumerate() {
                    let (kh, kw) = (tap / kernel, tap % kernel);
                    for oh in 0..out_h {
                        // Input line oh·stride + kh − padding, if inside.
                        let Some(ih) = (oh * stride + kh).checked_sub(padding) else {
                            continue;
                        };
                        if ih >= height {
                            continue;
                        }
                        let line = &channel[ih * width..][..width];
                        let dst = &mut row[oh * out_w..][..out_w];
                        for (ow, v) in dst.iter_mut().enumerate() {
                            if let Some(iw) = (ow * stride + kw).checked_sub(padding) {
                                if iw < width {
                                    *v = line[iw];
                                }
                            }
                        }
                    }
                }
            });
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::test_tensors::ramp;
    use crate::model::backend::{ModelBackend, ReferenceCpuBackend};
    use burn::tensor::module::conv2d as burn_conv2d;
    use burn::tensor::ops::ConvOptions;

    /// Every kind of conv e4e uses (3×3 stride 1 and 2, strided and plain
    /// 1×1, with and without bias) against a float64 evaluation of the
    /// definition; odd sizes so that the last stride-2 window hangs over.
    #[test]
    fn matches_the_definition_for_every_kind_e4e_uses() {
        for (kernel, stride, padding, with_bias) in [
            (3, 1, 1, false),
            (3, 2, 1, true),
            (1, 2, 0, false),
            (1, 1, 0, true),
        ] {
            let (batch, in_ch, out_ch, height, width) = (2, 5, 7, 9, 11);
            let x = ramp::<CpuBackend, 4>([batch, in_ch, height, width], 0.03);
            let w = ramp::<CpuBackend, 4>([out_ch, in_ch, kernel, kernel], 0.05);
            let b = ramp::<CpuBackend, 1>([out_ch], 0.2);
            let bias = with_bias.then(|| b.clone());
            let got = conv2d(x.clone(), w.clone(), bias, stride, padding);
            let [_, _, out_h, out_w] = got.dims();
            assert_eq!(
                (out_h, out_w),
                (
                    (height + 2 * padding - kernel) / stride + 1,
                    (width + 2 * padding - kernel) / stride + 1
                )
            );
            let got: Vec<f32> = got.into_data().into_vec().unwrap();
            let x: Vec<f32> = x.into_data().into_vec().unwrap();
            let w: Vec<f32> = w.into_data().into_vec().unwrap();
            let b: Vec<f32> = b.into_data().into_vec().unwrap();
            let mut worst = 0.0f64;
            for n in 0..batch {
                for (o, &bias_o) in b.iter().enumerate() {
                    for oh in 0..out_h {
                        for ow in 0..out_w {
                            let mut sum = if with_bias { bias_o as f64 } else { 0.0 };
                            // Σ|terms|: float32 rounding is relative to it.
                            let mut magnitude = sum.abs();
                            for c in 0..in_ch {
                                for kh in 0..kernel {
                                    for kw in 0..kernel {
                                        let ih = (oh * stride + kh) as isize - padding as isize;
                                        let iw = (ow * stride + kw) as isize - padding as isize;
                                        if ih < 0
                                            || iw < 0
                                            || ih >= height as isize
                                            || iw >= width as isize
                                        {
                                            continue;
                                        }
                                        let xi = ((n * in_ch + c) * height + ih as usize) * width
                                            + iw as usize;
                                        let wi = ((o * in_ch + c) * kernel + kh) * kernel + kw;
                                        let term = x[xi] as f64 * w[wi] as f64;
                                        sum += term;
                                        magnitude += term.abs();
                                    }
                                }
                            }
                            let at = ((n * out_ch + o) * out_h + oh) * out_w + ow;
                            worst = worst.max((got[at] as f64 - sum).abs() / magnitude.max(1.0));
                        }
                    }
                }
            }
            assert!(
                worst < 1e-6,
                "k{kernel} s{stride} p{padding}: relative error {worst}"
            );
        }
    }

    #[test]
    fn the_generic_backend_runs_burns_conv() {
        let x = ramp::<ReferenceCpuBackend, 4>([1, 2, 5, 5], 0.1);
        let w = ramp::<ReferenceCpuBackend, 4>([3, 2, 3, 3], 0.1);
        let got = ReferenceCpuBackend::strided_conv2d(x.clone(), w.clone(), None, 2, 1);
        let want = burn_conv2d(x, w, None, ConvOptions::new([2, 2], [1, 1], [1, 1], 1));
        assert_eq!(
            got.into_data().into_vec::<f32>().unwrap(),
            want.into_data().into_vec::<f32>().unwrap()
        );
    }
}
