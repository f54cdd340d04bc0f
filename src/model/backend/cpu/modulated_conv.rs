//! StyleGAN2's modulated convolutions on the CPU, as matrix products.
//!
//! A k×k convolution is a sum over its k² taps of [out, in] × [in, pixels]
//! matrix products, each reading the input shifted by the tap's offset. With
//! the input zero-padded and the output computed over the padded row width
//! (the extra columns are thrown away), every shifted input is a plain
//! strided view of one buffer, so no im2col copy is made: each tap is one
//! call to the `gemm` crate, accumulating into the same output.
//!
//! The upsampling convolution (stride-2 transposed 3×3) splits the same way:
//! each tap feeds one of the four output phases (row parity × column parity)
//! at the input resolution, so it costs what a plain 3×3 conv at the input
//! resolution costs. The phases interleave into the 2× image, which is then
//! blurred with the checkpoint's FIR kernel.
//!
//! The output is computed in blocks of whole rows, one block per task, sized
//! so that a block's accumulator stays in the core's cache across the taps.
//! The style scaling is folded into the padding copy, and the demodulation,
//! noise, bias and activation into the final pass that writes the output, so
//! a layer reads and writes its activations once.
//!
//! Every output element is summed in an order fixed by the shapes alone
//! (blocks depend on the layer's size, never on the thread count, and gemm
//! never splits the summed dimension), so results are the same bytes on any
//! number of threads.

use super::host::{gemm_product, HostMatrix};
use crate::model::backend::{
    leaky_relu_gain_value, transposed_tap, ModulatedConvSpec, CONV_KERNEL, DEMOD_EPS, FIR_KERNEL,
};
use rayon::prelude::*;
use std::sync::Arc;

/// Accumulator values per block (out channels × block pixels): 512 KiB,
/// about one core's L2 cache.
const BLOCK_VALUES: usize = 128 * 1024;

/// One synthesis layer's input on the host.
pub struct ConvInput<'a> {
    /// [batch, channels, height, width], row-major.
    pub x: &'a [f32],
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// The style (modulation) [batch, channels].
    pub style: &'a [f32],
    /// Noise at the output size: (rows, values [rows, H', W']) with rows 1
    /// (shared) or `batch`.
    pub noise: Option<(usize, &'a [f32])>,
}

/// A synthesis layer packed for [`GemmConv::forward`].
#[derive(Clone, Debug)]
pub struct GemmConv {
    out_ch: usize,
    in_ch: usize,
    kernel: usize,
    /// Tap-major weights: tap t = ky·k + kx holds the [out, in] matrix
    /// W[:, :, ky, kx]. Shared, so cloning a generator copies no weights.
    taps: Arc<[f32]>,
    /// The blur flipped for correlation (row-major 4×4); set when upsampling.
    blur: Option<[f32; FIR_KERNEL * FIR_KERNEL]>,
    /// [`ModulatedConvSpec::weight_sq`] when demodulating.
    weight_sq: Option<Arc<[f32]>>,
    noise_weight: Option<f32>,
    bias: Arc<[f32]>,
    activate: bool,
}

impl GemmConv {
    pub fn new(spec: ModulatedConvSpec) -> Self {
        let (out_ch, in_ch, kernel) = (spec.out_ch, spec.in_ch, spec.kernel);
        assert!(
            spec.blur.is_none() || kernel == CONV_KERNEL,
            "only 3×3 convolutions upsample"
        );
        let taps_n = kernel * kernel;
        let mut taps = vec![0.0f32; taps_n * out_ch * in_ch];
        for (oi, w) in spec.weight.chunks_exact(taps_n).enumerate() {
            let (o, i) = (oi / in_ch, oi % in_ch);
            for (t, v) in w.iter().enumerate() {
                taps[(t * out_ch + o) * in_ch + i] = *v;
            }
        }
        // upfirdn2d convolves (flips the kernel); the loops below correlate.
        let blur = spec.blur.map(|mut k| {
            k.reverse();
            k
        });
        GemmConv {
            out_ch,
            in_ch,
            kernel,
            taps: taps.into(),
            blur,
            weight_sq: spec.demodulate.then(|| spec.weight_sq().into()),
            noise_weight: spec.noise_weight,
            bias: spec.bias.into(),
            activate: spec.activate,
        }
    }

    /// The layer's output and its per-sample shape [out, height', width'].
    pub fn forward(&self, input: &ConvInput) -> (Vec<f32>, [usize; 3]) {
        let &ConvInput {
            x,
            batch,
            channels,
            height,
            width,
            style,
            noise,
        } = input;
        assert_eq!(channels, self.in_ch, "input channels");
        assert_eq!(x.len(), batch * channels * height * width, "input size");
        assert_eq!(style.len(), batch * channels, "style size");
        let (out_h, out_w) = match self.blur {
            Some(_) => (2 * height, 2 * width),
            None => (height, width),
        };
        let plane = out_h * out_w;
        let mut output = vec![0.0f32; batch * self.out_ch * plane];
        for (b, out) in output.chunks_exact_mut(self.out_ch * plane).enumerate() {
            let style = &style[b * channels..][..channels];
            let x = &x[b * channels * height * width..][..channels * height * width];
            let finish = Finish {
                conv: self,
                demod: self.demodulation(style),
                noise: noise.map(|(rows, values)| {
                    let row = if rows == 1 { 0 } else { b };
                    &values[row * plane..][..plane]
                }),
            };
            match &self.blur {
                None => self.same_size(x, style, height, width, &finish, out),
                Some(blur) => self.upsample(x, style, height, width, blur, &finish, out),
            }
        }
        (output, [self.out_ch, out_h, out_w])
    }

    /// d[o] = 1/√(Σ_i s_i² · Σ_taps W[o, i]² + ε), or 1 without demodulation.
    fn demodulation(&self, style: &[f32]) -> Vec<f32> {
        let Some(weight_sq) = &self.weight_sq else {
            return vec![1.0; self.out_ch];
        };
        let mut sums = vec![0.0f32; self.out_ch];
        for (s, row) in style.iter().zip(weight_sq.chunks_exact(self.out_ch)) {
            let s2 = s * s;
            for (sum, w) in sums.iter_mut().zip(row) {
                *sum += s2 * w;
            }
        }
        sums.iter().map(|v| 1.0 / (v + DEMOD_EPS).sqrt()).collect()
    }

    /// The [out, in] weight matrix of tap (ky, kx).
    fn tap(&self, ky: usize, kx: usize) -> &[f32] {
        let size = self.out_ch * self.in_ch;
        &self.taps[(ky * self.kernel + kx) * size..][..size]
    }

    /// Rows of `row` padded pixels per block.
    fn block_rows(&self, row: usize) -> usize {
        (BLOCK_VALUES / (self.out_ch * row)).max(1)
    }

    /// One sample, same-size correlation with padding k/2.
    fn same_size(
        &self,
        x: &[f32],
        style: &[f32],
        height: usize,
        width: usize,
        finish: &Finish,
        out: &mut [f32],
    ) {
        let k = self.kernel;
        let padded = Padded::new(x, style, height, width, k / 2);
        let row = padded.row;
        let rows = self.block_rows(row);
        // Block j holds output rows j·rows.. as [out, rows·row]; pixel (y, x)
        // of a block sits at (y − j·rows)·row + x, columns ≥ width discarded.
        let stride = rows * row;
        let mut acc = vec![0.0f32; height.div_ceil(rows) * self.out_ch * stride];
        acc.par_chunks_mut(self.out_ch * stride)
            .enumerate()
            .for_each(|(j, block)| {
                let n = (height - j * rows).min(rows) * row;
                for ky in 0..k {
                    for kx in 0..k {
                        let offset = (j * rows + ky) * row + kx;
                        let view = (&padded, offset, n);
                        self.accumulate(block, stride, self.tap(ky, kx), view, ky + kx > 0);
                    }
                }
            });
        out.par_chunks_mut(height * width)
            .enumerate()
            .for_each(|(o, out)| {
                for (y, line) in out.chunks_exact_mut(width).enumerate() {
                    let (j, r) = (y / rows, y % rows);
                    let src = &acc[(j * self.out_ch + o) * stride + r * row..][..width];
                    line.copy_from_slice(src);
                    finish.apply(o, y * width, line);
                }
            });
    }

    /// One sample, stride-2 transposed conv then blur: [out, 2H, 2W].
    #[allow(clippy::too_many_arguments)]
    fn upsample(
        &self,
        x: &[f32],
        style: &[f32],
        height: usize,
        width: usize,
        blur: &[f32; FIR_KERNEL * FIR_KERNEL],
        finish: &Finish,
        out: &mut [f32],
    ) {
        let padded = Padded::new(x, style, height, width, 1);
        let row = padded.row;
        // Phase lines q = 0..=H (the last odd one reads only padding).
        let lines = height + 1;
        let rows = self.block_rows(4 * row);
        // Block j holds phase lines j·rows.. as [phase, out, rows·row].
        let stride = rows * row;
        let block_len = 4 * self.out_ch * stride;
        let mut acc = vec![0.0f32; lines.div_ceil(rows) * block_len];
        acc.par_chunks_mut(block_len)
            .enumerate()
            .for_each(|(j, block)| {
                let n = (lines - j * rows).min(rows) * row;
                let mut written = [false; 4];
                for my in 0..CONV_KERNEL {
                    for mx in 0..CONV_KERNEL {
                        let (rh, eh) = transposed_tap(my);
                        let (rw, ew) = transposed_tap(mx);
                        let phase = rh * 2 + rw;
                        // x[q − e] is padded line q − e + 1.
                        let offset = (j * rows + 1 - eh) * row + (1 - ew);
                        let dst =
                            &mut block[phase * self.out_ch * stride..][..self.out_ch * stride];
                        let view = (&padded, offset, n);
                        self.accumulate(dst, stride, self.tap(my, mx), view, written[phase]);
                        written[phase] = true;
                    }
                }
            });
        // Per channel: interleave the phases into y (2H + 2 lines, the last
        // one zero) padded by 1 for the blur, blur, finish.
        let (out_h, out_w) = (2 * height, 2 * width);
        let y_row = out_w + 4;
        out.par_chunks_mut(out_h * out_w)
            .enumerate()
            .for_each(|(o, out)| {
                let mut y = vec![0.0f32; (out_h + 4) * y_row];
                for q in 0..lines {
                    let (j, r) = (q / rows, q % rows);
                    for rh in 0..2 {
                        let line = &mut y[(2 * q + rh + 1) * y_row..][..y_row];
                        for rw in 0..2 {
                            let at = ((j * 4 + rh * 2 + rw) * self.out_ch + o) * stride + r * row;
                            let src = &acc[at..][..=width];
                            for (dst, v) in line[rw + 1..].iter_mut().step_by(2).zip(src) {
                                *dst = *v;
                            }
                        }
                    }
                }
                for (i, line) in out.chunks_exact_mut(out_w).enumerate() {
                    for a in 0..FIR_KERNEL {
                        let src = &y[(i + a) * y_row..][..y_row];
                        let k = &blur[a * FIR_KERNEL..][..FIR_KERNEL];
                        let (s0, s1) = (&src[..out_w], &src[1..out_w + 1]);
                        let (s2, s3) = (&src[2..out_w + 2], &src[3..out_w + 3]);
                        for c in 0..out_w {
                            line[c] += k[0] * s0[c] + k[1] * s1[c] + k[2] * s2[c] + k[3] * s3[c];
                        }
                    }
                    finish.apply(o, i * out_w, line);
                }
            });
    }

    /// dst[out, 0..n] (+)= tap [out, in] × input[in, offset..offset + n],
    /// with dst rows `dst_stride` apart. One thread: blocks are the tasks.
    fn accumulate(
        &self,
        dst: &mut [f32],
        dst_stride: usize,
        tap: &[f32],
        (input, offset, n): (&Padded, usize, usize),
        add: bool,
    ) {
        assert!(
            offset + n <= input.plane,
            "tap view inside the padded plane"
        );
        // rhs: in_ch rows of n values starting at `offset` in each padded plane.
        let rhs = HostMatrix {
            values: &input.values[offset..],
            rows: self.in_ch,
            cols: n,
            strides: (input.plane as isize, 1),
        };
        let lhs = HostMatrix::row_major(tap, self.out_ch, self.in_ch);
        gemm_product(dst, dst_stride, lhs, rhs, add, gemm::Parallelism::None);
    }
}

/// What follows the convolution: demodulation, noise, bias, activation.
struct Finish<'a> {
    conv: &'a GemmConv,
    demod: Vec<f32>,
    /// This sample's noise, [H', W'].
    noise: Option<&'a [f32]>,
}

impl Finish<'_> {
    /// Finishes `values`, the run of channel `o`'s output starting at pixel `start`.
    fn apply(&self, o: usize, start: usize, values: &mut [f32]) {
        let (d, bias) = (self.demod[o], self.conv.bias[o]);
        match (self.noise, self.conv.noise_weight) {
            (Some(noise), Some(weight)) => {
                for (v, n) in values.iter_mut().zip(&noise[start..]) {
                    *v = *v * d + n * weight + bias;
                }
            }
            _ => values.iter_mut().for_each(|v| *v = *v * d + bias),
        }
        if self.conv.activate {
            for v in values.iter_mut() {
                *v = leaky_relu_gain_value(*v);
            }
        }
    }
}

/// One sample's channels scaled by the style and zero-padded on every side,
/// one plane per channel.
struct Padded {
    values: Vec<f32>,
    /// Padded row width.
    row: usize,
    /// Values per channel: the padded image plus slack, so that the last
    /// tap's view of a full output (which runs `pad` values past the padded
    /// image on the discarded columns) stays inside the plane.
    plane: usize,
}

impl Padded {
    fn new(x: &[f32], style: &[f32], height: usize, width: usize, pad: usize) -> Padded {
        let row = width + 2 * pad;
        let plane = (height + 2 * pad) * row + 2 * pad;
        let mut values = vec![0.0f32; style.len() * plane];
        values
            .par_chunks_mut(plane)
            .zip(x.par_chunks(height * width))
            .zip(style.par_iter())
            .for_each(|((dst, src), s)| {
                for (y, line) in src.chunks_exact(width).enumerate() {
                    let dst = &mut dst[(y + pad) * row + pad..][..width];
                    for (d, v) in dst.iter_mut().zip(line) {
                        *d = v * s;
                    }
                }
            });
        Padded { values, row, plane }
    }
}

#[cfg(test)]
mod tests {
    //! The matrix-product layers against a plain float64 evaluation of the
    //! same formula (ModulatedConvSpec's), on sizes that split the output into several
    //! blocks with a partial last one. (The kernel and padding conventions are
    //! pinned against PyTorch by tests/stylegan2_parity.rs.)

    use super::*;
    use crate::model::backend::{ACTIVATION_GAIN, LEAKY_SLOPE};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// ModulatedConvSpec's formula for one sample, loop by loop in float64.
    fn naive(
        spec: &ModulatedConvSpec,
        x: &[f32],
        s: &[f32],
        noise: Option<&[f32]>,
        h: usize,
        w: usize,
    ) -> Vec<f64> {
        let (o_n, i_n, k) = (spec.out_ch, spec.in_ch, spec.kernel);
        let weight = |o: usize, i: usize, ky: usize, kx: usize| {
            spec.weight[((o * i_n + i) * k + ky) * k + kx] as f64
        };
        let xs = |i: usize, y: isize, c: isize| -> f64 {
            if y < 0 || c < 0 || y >= h as isize || c >= w as isize {
                return 0.0;
            }
            x[(i * h + y as usize) * w + c as usize] as f64 * s[i] as f64
        };
        let (oh, ow) = if spec.blur.is_some() {
            (2 * h, 2 * w)
        } else {
            (h, w)
        };
        let mut out = vec![0.0f64; o_n * oh * ow];
        for o in 0..o_n {
            let plane = &mut out[o * oh * ow..][..oh * ow];
            match spec.blur {
                None => {
                    let p = (k / 2) as isize;
                    for y in 0..h {
                        for c in 0..w {
                            let mut acc = 0.0;
                            for i in 0..i_n {
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let (yy, cc) = (
                                            y as isize + ky as isize - p,
                                            c as isize + kx as isize - p,
                                        );
                                        acc += weight(o, i, ky, kx) * xs(i, yy, cc);
                                    }
                                }
                            }
                            plane[y * w + c] = acc;
                        }
                    }
                }
                Some(blur) => {
                    // Stride-2 transposed conv: x[y] · W[m] lands on t[2y + m].
                    let (th, tw) = (2 * h + 1, 2 * w + 1);
                    let mut t = vec![0.0f64; th * tw];
                    for i in 0..i_n {
                        for y in 0..h {
                            for c in 0..w {
                                let v = xs(i, y as isize, c as isize);
                                for my in 0..3 {
                                    for mx in 0..3 {
                                        t[(2 * y + my) * tw + 2 * c + mx] +=
                                            weight(o, i, my, mx) * v;
                                    }
                                }
                            }
                        }
                    }
                    // upfirdn2d, pad (1, 1): a true convolution with the kernel.
                    let tv = |y: isize, c: isize| -> f64 {
                        if y < 0 || c < 0 || y >= th as isize || c >= tw as isize {
                            0.0
                        } else {
                            t[y as usize * tw + c as usize]
                        }
                    };
                    for y in 0..oh {
                        for c in 0..ow {
                            let mut acc = 0.0;
                            for a in 0..4 {
                                for b in 0..4 {
                                    let (yy, cc) =
                                        (y as isize + 2 - a as isize, c as isize + 2 - b as isize);
                                    acc += blur[a * 4 + b] as f64 * tv(yy, cc);
                                }
                            }
                            plane[y * ow + c] = acc;
                        }
                    }
                }
            }
            let d = if spec.demodulate {
                let sum: f64 = (0..i_n)
                    .map(|i| {
                        let w2: f64 = (0..k * k).map(|t| weight(o, i, t / k, t % k).powi(2)).sum();
                        (s[i] as f64).powi(2) * w2
                    })
                    .sum();
                1.0 / (sum + DEMOD_EPS as f64).sqrt()
            } else {
                1.0
            };
            for (p, v) in plane.iter_mut().enumerate() {
                let n = match (noise, spec.noise_weight) {
                    (Some(n), Some(nw)) => n[p] as f64 * nw as f64,
                    _ => 0.0,
                };
                *v = *v * d + n + spec.bias[o] as f64;
                if spec.activate {
                    *v = if *v < 0.0 {
                        *v * LEAKY_SLOPE as f64
                    } else {
                        *v
                    } * ACTIVATION_GAIN as f64;
                }
            }
        }
        out
    }

    fn check(kernel: usize, upsample: bool, demodulate: bool, noise_rows: Option<usize>) {
        let (batch, in_ch, out_ch, height, width) = (2, 8, 256, 40, 36);
        let mut rng = ChaCha8Rng::seed_from_u64(kernel as u64 * 7 + upsample as u64);
        let mut blur = [0.0f32; FIR_KERNEL * FIR_KERNEL];
        // Asymmetric, so that a wrongly flipped kernel shows.
        blur.iter_mut()
            .for_each(|v| *v = rng.random_range(0.0..0.5));
        let spec = ModulatedConvSpec {
            out_ch,
            in_ch,
            kernel,
            weight: random(&mut rng, out_ch * in_ch * kernel * kernel),
            blur: upsample.then_some(blur),
            demodulate,
            noise_weight: noise_rows.map(|_| 0.3),
            bias: random(&mut rng, out_ch),
            activate: noise_rows.is_some(),
        };
        let (out_h, out_w) = if upsample {
            (2 * height, 2 * width)
        } else {
            (height, width)
        };
        let x = random(&mut rng, batch * in_ch * height * width);
        let style = random(&mut rng, batch * in_ch);
        let noise = noise_rows.map(|rows| (rows, random(&mut rng, rows * out_h * out_w)));

        let input = ConvInput {
            x: &x,
            batch,
            channels: in_ch,
            height,
            width,
            style: &style,
            noise: noise.as_ref().map(|(r, v)| (*r, v.as_slice())),
        };
        let (got, shape) = GemmConv::new(spec.clone()).forward(&input);
        assert_eq!(shape, [out_ch, out_h, out_w]);
        let plane = out_ch * out_h * out_w;
        assert_eq!(got.len(), batch * plane);
        for b in 0..batch {
            let sample_x = &x[b * in_ch * height * width..][..in_ch * height * width];
            let s = &style[b * in_ch..][..in_ch];
            let n = noise.as_ref().map(|(rows, v)| {
                let row = if *rows == 1 { 0 } else { b };
                &v[row * out_h * out_w..][..out_h * out_w]
            });
            let want = naive(&spec, sample_x, s, n, height, width);
            let worst = got[b * plane..][..plane]
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0f64, f64::max);
            assert!(worst < 1e-4, "sample {b}: max abs difference {worst}");
            assert!(want.iter().any(|v| v.abs() > 0.5), "a trivial comparison");
        }
    }

    #[test]
    fn styled_3x3_matches_float64() {
        check(3, false, true, Some(2));
    }

    #[test]
    fn upsampling_3x3_with_shared_noise_matches_float64() {
        check(3, true, true, Some(1));
    }

    #[test]
    fn to_rgb_1x1_matches_float64() {
        check(1, false, false, None);
    }

    #[test]
    fn several_blocks_with_a_partial_last_one() {
        let conv = GemmConv::new(ModulatedConvSpec {
            out_ch: 256,
            in_ch: 1,
            kernel: 3,
            weight: vec![0.0; 256 * 9],
            blur: None,
            demodulate: false,
            noise_weight: None,
            bias: vec![0.0; 256],
            activate: false,
        });
        let rows = conv.block_rows(36 + 2);
        assert!(rows < 40 && 40 % rows != 0, "{rows} rows per block");
        assert!(conv.block_rows(4 * (36 + 2)) < 41);
    }
}
