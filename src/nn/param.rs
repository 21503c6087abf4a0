//! A trainable tensor and its gradient: what every layer with weights holds, and what the
//! optimiser, the model files and the gradient check walk over.

use super::Float;
use ndarray::ArrayD;

/// A trainable tensor and its gradient (same shape).
#[derive(Clone, Debug)]
pub struct Param<F> {
    pub value: ArrayD<F>,
    pub grad: ArrayD<F>,
    /// False when fine-tuning keeps this tensor fixed.
    pub trainable: bool,
}

impl<F: Float> Param<F> {
    pub fn new(value: ArrayD<F>) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Self {
            value,
            grad,
            trainable: true,
        }
    }
}
