//! The gene mappings' dense layers and GELUs on the CPU backend.
//!
//! The MLP-Mixers are dense layers and GELUs end to end; burn-ndarray's
//! matmul (matrixmultiply) runs them at a fraction of the `gemm` crate's
//! speed on the same cores, and its GELU is five single-threaded passes.

use super::host::{matmul_add, with_host_matrix, with_host_values, HostMatrix};
use super::CpuBackend;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// Values per GELU task.
const GELU_CHUNK: usize = 16 * 1024;

/// Exact GELU as one parallel pass: burn-ndarray's is five single-threaded
/// passes.
pub fn gelu<const D: usize>(x: Tensor<CpuBackend, D>) -> Tensor<CpuBackend, D> {
    let device = x.device();
    let shape = x.shape();
    let mut out = with_host_values(x, <[f32]>::to_vec);
    out.par_chunks_mut(GELU_CHUNK).for_each(|chunk| {
        for v in chunk {
            // The same steps in the same precision as burn's GELU.
            let e = libm::erf((*v / std::f32::consts::SQRT_2) as f64) as f32;
            *v = *v * (e + 1.0) / 2.0;
        }
    });
    Tensor::from_data(TensorData::new(out, shape), &device)
}

/// x [rows, in] · w [in, out] + b [out] through `gemm`.
pub fn linear(
    x: Tensor<CpuBackend, 2>,
    w: Tensor<CpuBackend, 2>,
    b: Tensor<CpuBackend, 1>,
) -> Tensor<CpuBackend, 2> {
    let device = x.device();
    let [rows, inner] = x.dims();
    let [inner_w, cols] = w.dims();
    assert_eq!(inner, inner_w, "dense layer: input width");
    let bias = b.into_data().into_vec::<f32>().expect("f32 bias");
    assert_eq!(bias.len(), cols, "dense layer: bias width");
    // Each row starts as the bias; the product is added onto it.
    let mut out: Vec<f32> = (0..rows).flat_map(|_| bias.iter().copied()).collect();
    with_host_matrix(x, |x, x_strides| {
        with_host_matrix(w, |w, w_strides| {
            let matrix = |values, rows, cols, strides| HostMatrix {
                values,
                rows,
                cols,
                strides,
            };
            matmul_add(
                &mut out,
                matrix(x, rows, inner, x_strides),
                matrix(w, inner, cols, w_strides),
            );
        })
    });
    Tensor::from_data(TensorData::new(out, [rows, cols]), &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::test_tensors::ramp;
    use crate::model::backend::{ModelBackend, ReferenceCpuBackend};
    use burn::tensor::backend::Backend;

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().into_vec::<f32>().unwrap()
    }

    /// A strided input (a column slice) and a transposed weight, as the
    /// mixers pass them, against burn's matmul (the generic backend's).
    #[test]
    fn strided_and_transposed_operands_match_burn() {
        fn operands<B: Backend>() -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>) {
            let x = ramp::<B, 2>([7, 40], 0.01).narrow(1, 3, 30);
            let w = ramp::<B, 2>([20, 30], 0.02).transpose();
            (x, w, ramp::<B, 1>([20], 0.1))
        }
        let (x, w, b) = operands::<CpuBackend>();
        let got = values(linear(x, w, b));
        let (x, w, b) = operands::<ReferenceCpuBackend>();
        let want = values(ReferenceCpuBackend::dense(x, w, b));
        assert_eq!(got.len(), 7 * 20);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "max abs difference {worst}");
    }

    #[test]
    fn gelu_matches_burn() {
        let x = ramp::<CpuBackend, 3>([3, 50, 70], 0.07);
        let got = values(gelu(x));
        let want = values(ReferenceCpuBackend::gelu_erf(
            ramp::<ReferenceCpuBackend, 3>([3, 50, 70], 0.07),
        ));
        assert_eq!(got, want, "the same steps in the same precision");
    }
}
