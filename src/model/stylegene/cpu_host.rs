//! Borrowing the CPU backend's tensor memory for the hand-written kernels.
//!
//! `Tensor::into_data` walks a shared burn-ndarray array element by element
//! through a dynamic-rank iterator, which costs more than a convolution at
//! 256 px; these helpers hand the kernels the array's own memory instead,
//! copying only when it is not one block.

use super::device::CpuBackend;
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
