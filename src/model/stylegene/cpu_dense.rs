//! The gene mappings' dense layers on the CPU backend, through `gemm`.
//!
//! The MLP-Mixers are dense layers end to end; burn-ndarray's matmul
//! (matrixmultiply) runs them at a fraction of the `gemm` crate's speed on
//! the same cores. The mixers are written for any backend, so instead of a
//! backend trait this module checks at run time whether the tensors are the
//! CPU backend's (a type-checked downcast, no unsafe) and otherwise leaves
//! the layer to burn.

use super::conv::with_host_matrix;
use super::device::CpuBackend;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use std::any::Any;

/// x [rows, in] · w [in, out] + b [out] on the CPU backend; `None` on any
/// other backend.
pub fn linear<B: Backend>(
    x: &Tensor<B, 2>,
    w: &Tensor<B, 2>,
    b: &Tensor<B, 1>,
) -> Option<Tensor<B, 2>> {
    let x = (x as &dyn Any).downcast_ref::<Tensor<CpuBackend, 2>>()?;
    let w = (w as &dyn Any).downcast_ref::<Tensor<CpuBackend, 2>>()?;
    let b = (b as &dyn Any).downcast_ref::<Tensor<CpuBackend, 1>>()?;
    let out: Box<dyn Any> = Box::new(cpu_linear(x.clone(), w.clone(), b.clone()));
    out.downcast::<Tensor<B, 2>>().ok().map(|t| *t)
}

fn cpu_linear(
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
    with_host_matrix(x, |x, (x_rs, x_cs)| {
        with_host_matrix(w, |w, (w_rs, w_cs)| {
            // SAFETY: `out` is rows × cols row-major; x and w are read inside
            // their slices at the strides `with_host_matrix` reports for
            // their shapes ([rows, inner] and [inner, cols]).
            unsafe {
                gemm::gemm(
                    rows,
                    cols,
                    inner,
                    out.as_mut_ptr(),
                    1,
                    cols as isize,
                    true,
                    x.as_ptr(),
                    x_cs,
                    x_rs,
                    w.as_ptr(),
                    w_cs,
                    w_rs,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(0),
                )
            }
        })
    });
    Tensor::from_data(TensorData::new(out, [rows, cols]), &device)
}
