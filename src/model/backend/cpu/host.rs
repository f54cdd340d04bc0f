//! The CPU kernels' access to memory: the backend's tensor memory, borrowed
//! for the hand-written kernels, and the one call into `gemm`.
//!
//! `Tensor::into_data` walks a shared burn-ndarray array element by element
//! through a dynamic-rank iterator, which costs more than a convolution at
//! 256 px; these helpers hand the kernels the array's own memory instead,
//! copying only when it is not one block.

use super::CpuBackend;
use burn::tensor::Tensor;
use burn_ndarray::NdArrayTensor;

/// Runs `f` on a CPU matrix's values and its (row, column) strides in
/// elements, without copying when the values are one block of memory laid
/// out with non-negative strides (a transposed weight is); otherwise on a
/// row-major copy.
pub fn with_host_matrix<R>(
    t: Tensor<CpuBackend, 2>,
    f: impl FnOnce(&[f32], (isize, isize)) -> R,
) -> R {
    match t.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => {
            let view = storage.view();
            let strides = view.strides();
            let positive = strides.iter().all(|&s| s >= 0);
            match view.as_slice_memory_order().filter(|_| positive) {
                Some(values) => f(values, (strides[0], strides[1])),
                None => {
                    let cols = view.shape()[1] as isize;
                    f(
                        view.as_standard_layout()
                            .as_slice()
                            .expect("standard layout"),
                        (cols, 1),
                    )
                }
            }
        }
        _ => unreachable!("the CPU backend's float tensors are f32"),
    }
}

/// Runs `f` on a CPU tensor's values in row-major order, without copying
/// them when they already are. (`into_data` would walk a shared array
/// element by element, which costs more than the convolution at 256 px.)
pub fn with_host_values<const D: usize, R>(
    t: Tensor<CpuBackend, D>,
    f: impl FnOnce(&[f32]) -> R,
) -> R {
    match t.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => {
            let view = storage.view();
            match view.as_slice() {
                Some(values) => f(values),
                None => f(view
                    .as_standard_layout()
                    .as_slice()
                    .expect("standard layout")),
            }
        }
        _ => unreachable!("the CPU backend's float tensors are f32"),
    }
}

/// A read-only matrix in host memory: `rows × cols` values at (row, column)
/// strides in elements (non-negative, as [`with_host_matrix`] hands them out).
#[derive(Clone, Copy)]
pub struct HostMatrix<'a> {
    pub values: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub strides: (isize, isize),
}

impl HostMatrix<'_> {
    /// A row-major matrix.
    pub fn row_major(values: &[f32], rows: usize, cols: usize) -> HostMatrix<'_> {
        HostMatrix {
            values,
            rows,
            cols,
            strides: (cols as isize, 1),
        }
    }

    /// Whether every element lies inside `values`.
    fn in_bounds(&self) -> bool {
        let (rs, cs) = self.strides;
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        rs >= 0
            && cs >= 0
            && (self.rows - 1) * (rs as usize) + (self.cols - 1) * (cs as usize) < self.values.len()
    }
}

/// `out [m, n]` (row-major) `+= lhs [m, k] · rhs [k, n]` with `gemm` on all
/// cores. gemm splits the rows and columns of `out` between threads, never
/// a sum, so the result does not depend on the thread count.
pub fn matmul_add(out: &mut [f32], lhs: HostMatrix<'_>, rhs: HostMatrix<'_>) {
    let (m, n) = (lhs.rows, rhs.cols);
    assert_eq!(out.len(), m * n, "matmul: output size");
    gemm_product(out, n, lhs, rhs, true, gemm::Parallelism::Rayon(0));
}

/// `dst [m, n]` (rows `dst_stride` apart) `=` or, with `accumulate`, `+=`
/// `lhs [m, k] · rhs [k, n]`: every matrix product of the CPU backend.
/// gemm never splits the summed dimension k, so each output element is
/// summed in an order fixed by the shapes, whatever `threads` is.
pub fn gemm_product(
    dst: &mut [f32],
    dst_stride: usize,
    lhs: HostMatrix<'_>,
    rhs: HostMatrix<'_>,
    accumulate: bool,
    threads: gemm::Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner sizes");
    assert!(
        m == 0 || (n <= dst_stride && dst.len() >= (m - 1) * dst_stride + n),
        "matmul: output size"
    );
    assert!(lhs.in_bounds() && rhs.in_bounds(), "matmul: strides");
    // SAFETY: dst is m rows of n values, `dst_stride` apart, inside the
    // slice (checked above); lhs and rhs address only elements inside their
    // slices (checked above). dst is exclusively borrowed; lhs and rhs are read.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_stride as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.strides.1,
            lhs.strides.0,
            rhs.values.as_ptr(),
            rhs.strides.1,
            rhs.strides.0,
            1.0,
            1.0,
            false,
            false,
            false,
            threads,
        )
    }
}
