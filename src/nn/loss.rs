//! Losses over a batch. Both are *summed* over the batch (as in the course) and
//! return dLoss/dOutput.

use super::Float;
use super::layer::ensure_shape;
use super::network::argmax_rows;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
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
    /// Rows whose largest output matches the target's (classification only).
    pub correct: usize,
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
                let log_p = log_softmax_rows(output, grad.view_mut());
                let loss = -Zip::from(&target)
                    .and(&log_p)
                    .fold(0.0, |acc, &t, &lp| acc + (t * lp).to_f64_lossy());
                let correct = argmax_rows(output)
                    .into_iter()
                    .zip(argmax_rows(target))
                    .filter(|(a, b)| a == b)
                    .count();
                // grad already holds the probabilities: d/dz = p - t.
                *grad -= &target;
                LossValue { loss, correct }
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
                LossValue { loss, correct: 0 }
            }
        }
    }
}

/// Writes softmax(z) row by row into `probs` and returns log softmax(z).
/// Subtracting each row's max keeps `exp` from overflowing.
fn log_softmax_rows<F: Float>(z: ArrayView2<F>, mut probs: ArrayViewMut2<F>) -> Array2<F> {
    let mut log_p = Array2::zeros(z.raw_dim());
    for ((row, mut p), mut lp) in z
        .axis_iter(Axis(0))
        .zip(probs.axis_iter_mut(Axis(0)))
        .zip(log_p.axis_iter_mut(Axis(0)))
    {
        let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
        let mut sum = F::zero();
        Zip::from(&mut p).and(&row).for_each(|p, &v| {
            *p = (v - max).exp();
            sum += *p;
        });
        p.mapv_inplace(|v| v / sum);
        let log_sum = sum.ln();
        Zip::from(&mut lp)
            .and(&row)
            .for_each(|lp, &v| *lp = v - max - log_sum);
    }
    log_p
}

/// Row-wise softmax, numerically stable.
pub fn softmax_rows<F: Float>(z: ArrayView2<F>) -> Array2<F> {
    let mut p = Array2::zeros(z.raw_dim());
    log_softmax_rows(z, p.view_mut());
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
