//! Losses over a batch. Both are *summed* over the batch (as in the course) and
//! return dLoss/dOutput.

use super::Float;
use super::buffer::ensure_shape;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis, Zip};
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
                for ((z, t), mut g) in output
                    .axis_iter(Axis(0))
                    .zip(target.axis_iter(Axis(0)))
                    .zip(grad.axis_iter_mut(Axis(0)))
                {
                    let log_sum = softmax_into(z, g.view_mut());
                    // -sum t log p with log p = z - log_sum; d/dz = p - t.
                    loss -= Zip::from(&z)
                        .and(&t)
                        .fold(0.0, |acc, &z, &t| acc + (t * (z - log_sum)).to_f64_lossy());
                    g -= &t;
                    let one_class = t.iter().any(|&v| v > F::from_f64_lossy(0.5));
                    labelled += usize::from(one_class);
                    correct += usize::from(one_class && argmax(z) == argmax(t));
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
fn softmax_into<F: Float>(z: ArrayView1<F>, mut p: ArrayViewMut1<F>) -> F {
    let max = z.fold(F::neg_infinity(), |m, &v| m.max(v));
    let mut sum = F::zero();
    Zip::from(&mut p).and(&z).for_each(|p, &v| {
        *p = (v - max).exp();
        sum += *p;
    });
    let inv = F::one() / sum;
    p.mapv_inplace(|v| v * inv);
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

/// Row-wise softmax, numerically stable.
pub fn softmax_rows<F: Float>(z: ArrayView2<F>) -> Array2<F> {
    let mut p = Array2::zeros(z.raw_dim());
    for (row, out) in z.axis_iter(Axis(0)).zip(p.axis_iter_mut(Axis(0))) {
        softmax_into(row, out);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

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
