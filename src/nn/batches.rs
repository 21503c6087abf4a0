//! Random mini-batches: a fresh permutation of the samples every epoch, so each sample
//! is seen exactly once per epoch (no drawing with replacement).

use super::Float;
use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand::seq::SliceRandom;

/// The sample order of one epoch.
pub fn epoch_order(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

/// Copies the rows `rows` of `src` into `dst` (resized when needed).
pub fn gather_rows<F: Float>(src: ArrayView2<F>, rows: &[usize], dst: &mut Array2<F>) {
    super::buffer::ensure_shape(dst, rows.len(), src.ncols());
    for (mut d, &r) in dst.rows_mut().into_iter().zip(rows) {
        // A plain copy where both rows are contiguous (not an element at a time).
        match (d.as_slice_mut(), src.row(r).to_slice()) {
            (Some(d), Some(s)) => d.copy_from_slice(s),
            _ => d.assign(&src.row(r)),
        }
    }
}
