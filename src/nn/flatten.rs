//! Flatten: reads a `C x H x W` image as a flat vector. Rows already are flat, so the
//! layer only marks where images end and vectors begin; it copies its input so every layer
//! owns its output.

use super::Float;
use super::buffer::copy_into;
use super::layer_ops::LayerOps;
use ndarray::{Array2, ArrayView2};

/// Passes values through unchanged (forward and backward).
#[derive(Clone, Debug)]
pub struct Flatten<F> {
    out: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> Default for Flatten<F> {
    fn default() -> Self {
        Self {
            out: Array2::zeros((0, 0)),
            grad_in: Array2::zeros((0, 0)),
        }
    }
}

impl<F: Float> LayerOps<F> for Flatten<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        copy_into(&mut self.out, x);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, _need_grad_in: bool) {
        copy_into(&mut self.grad_in, grad_out);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}
