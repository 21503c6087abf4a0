//! The reused output and gradient buffers of layers and losses.

use super::Float;
use ndarray::{Array2, ArrayView2};

/// Make `buf` a `rows x cols` matrix, reallocating only when the shape changes.
pub(crate) fn ensure_shape<F: Float>(buf: &mut Array2<F>, rows: usize, cols: usize) {
    if buf.dim() != (rows, cols) {
        *buf = Array2::zeros((rows, cols));
    }
}

/// Copies `src` into `dst`, reshaping `dst` first if needed.
pub(crate) fn copy_into<F: Float>(dst: &mut Array2<F>, src: ArrayView2<F>) {
    ensure_shape(dst, src.nrows(), src.ncols());
    dst.assign(&src);
}
