//! Losses over a batch. Both are *summed* over the batch (as in the course) and
//! return dLoss/dOutput.

use super::Float;
use super::buffer::ensure_shape;
use ndarray::{Array2, ArrayView1, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Softmax over the network's raw outputs, then cross-entropy against one-hot targets.
    CrossEntropy,
    /// Sum of squared differences (the autoencoder's loss).
    SquaredError,
}

/// What one batch cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossValue {
    pub loss: f64,
    /// Labelled rows whose largest output matches the target's (classification only).
    pub correct: usize,
    /// Rows whose target names one class (its largest entry is above one half): not the
    /// uniform target of a touching pair read whole ([`crate::data::touching`]).
    pub labelled: usize,
}

impl Loss {
    /// Loss of `output` against `target`; writes dLoss/dOutput into `grad`.
    pub fn evaluate<F: Float>(
        self,
        output: ArrayView2<F>,
        target: ArrayView2<F>,
        grad: &mut Array2<F>,
    ) -> LossValue {
        ensure_shape(grad, output.nrows(), output.ncols());
        match self {
            Self::CrossEntropy => {
                let (mut loss, mut correct, mut labelled) = (0.0, 0, 0);
                let classes = output.ncols().max(1);
                // Row slices, not ndarray's iterators: these rows are a few dozen wide, so
                // a step's loss would otherwise cost as much as a small layer.
                let (output, target) = (output.as_standard_layout(), target.as_standard_layout());
                let rows = output
                    .as_slice()
                    .expect("standard layout")
                    .chunks_exact(classes)
                    .zip(
                        target
                            .as_slice()
                            .expect("standard layout")
                            .chunks_exact(classes),
                    )
                    .zip(
                        grad.as_slice_mut()
                            .expect("owned buffers are contiguous")
                            .chunks_exact_mut(classes),
                    );
                let half = F::from_f64_lossy(0.5);
                for ((z, t), g) in rows {
                    let log_sum = softmax_into(z, g);
                    // -sum t log p with log p = z - log_sum; d/dz = p - t.
                    loss -= z.iter().zip(t).fold(0.0, |acc, (&z, &t)| {
                        acc + (t * (z - log_sum)).to_f64_lossy()
                    });
                    g.iter_mut().zip(t).for_each(|(g, &t)| *g -= t);
                    let one_class = t.iter().any(|&v| v > half);
                    labelled += usize::from(one_class);
                    correct += usize::from(
                        one_class && argmax(ArrayView1::from(z)) == argmax(ArrayView1::from(t)),
                    );
                }
                LossValue {
                    loss,
                    correct,
                    labelled,
                }
            }
            Self::SquaredError => {
                let two = F::one() + F::one();
                let mut loss = 0.0;
                Zip::from(grad.view_mut())
                    .and(&output)
                    .and(&target)
                    .for_each(|g, &y, &t| {
                        let d = y - t;
                        loss += (d * d).to_f64_lossy();
                        *g = two * d;
                    });
                LossValue {
                    loss,
                    correct: 0,
                    labelled: 0,
                }
            }
        }
    }
}

/// Writes softmax(z) of one row into `p` and returns log(sum(exp(z))).
/// Subtracting the row's max keeps `exp` from overflowing.
fn softmax_into<F: Float>(z: &[F], p: &mut [F]) -> F {
    let max = z.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
    let mut sum = F::zero();
    for (p, &v) in p.iter_mut().zip(z) {
        *p = (v - max).exp();
        sum += *p;
    }
    let inv = F::one() / sum;
    p.iter_mut().for_each(|v| *v *= inv);
    max + sum.ln()
}

/// Index of the largest value (the first one on ties).
pub fn argmax<F: Float>(row: ArrayView1<F>) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Row-wise softmax, numerically stable; large inputs (a whole split) shared by the cores.
pub fn softmax_rows<F: Float>(z: ArrayView2<F>) -> Array2<F> {
    let mut p = Array2::zeros(z.raw_dim());
    let width = z.ncols().max(1);
    let z = z.as_standard_layout();
    let part = super::parallel::planes_per_core(z.nrows(), width) * width;
    let parts = z
        .as_slice()
        .expect("standard layout")
        .chunks(part)
        .zip(p.as_slice_mut().expect("a new array").chunks_mut(part));
    super::parallel::for_each(parts, |(z, p)| {
        for (row, out) in z.chunks_exact(width).zip(p.chunks_exact_mut(width)) {
            softmax_into(row, out);
        }
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A split's worth of rows (shared by the cores) gives each row what it gives alone.
    #[test]
    fn softmax_of_many_rows_is_that_of_each_row() {
        let z = Array2::from_shape_fn((1000, 36), |(i, j)| ((i * 31 + j * 7) % 19) as f32 - 9.0);
        let all = softmax_rows(z.view());
        for (i, row) in z.outer_iter().enumerate() {
            let alone = softmax_rows(row.insert_axis(ndarray::Axis(0)));
            assert_eq!(all.row(i), alone.row(0), "row {i}");
        }
    }

    #[test]
    fn softmax_handles_huge_logits() {
        let p = softmax_rows(array![[1000.0f32, 1000.0], [-1e4, 0.0]].view());
        assert!((p[[0, 0]] - 0.5).abs() < 1e-6);
        assert!(p[[1, 1]] > 0.999 && p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn cross_entropy_of_confident_right_answer_is_small() {
        let mut g = Array2::zeros((0, 0));
        let v = Loss::CrossEntropy.evaluate(
            array![[10.0f64, 0.0], [0.0, 10.0]].view(),
            array![[1.0, 0.0], [0.0, 1.0]].view(),
            &mut g,
        );
        assert!(v.loss < 1e-3);
        assert_eq!(v.correct, 2);
        assert!(g.iter().all(|x| x.abs() < 1e-3));
    }

    #[test]
    fn squared_error_gradient_is_twice_the_difference() {
        let mut g = Array2::zeros((0, 0));
        let v = Loss::SquaredError.evaluate(
            array![[1.0f32, 2.0]].view(),
            array![[0.0, 0.0]].view(),
            &mut g,
        );
        assert_eq!(v.loss, 5.0);
        assert_eq!(g, array![[2.0, 4.0]]);
    }
}
