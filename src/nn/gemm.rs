//! Matrix multiply for the engine: one GEMM, split across the cores when it is big enough
//! to pay for the hand-off (small-batch training stays on one thread, where it is fastest).

use super::Float;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};

/// Multiply-adds below which a second thread costs more than it saves.
const PARALLEL_MACS: usize = 1 << 22;

/// `c = alpha * a * b + beta * c`.
pub fn gemm<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let macs = a.nrows() * a.ncols() * b.ncols();
    if macs < PARALLEL_MACS || a.nrows() < 16 {
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    let mid = a.nrows() / 2;
    let (a_top, a_bottom) = a.view().split_at(Axis(0), mid);
    let (mut c_top, mut c_bottom) = c.view_mut().split_at(Axis(0), mid);
    rayon::join(
        || gemm(alpha, &a_top, b, beta, &mut c_top),
        || gemm(alpha, &a_bottom, b, beta, &mut c_bottom),
    );
}
