//! A layer is one step of the network. Each layer owns its output and input-gradient
//! buffers, so a training step reuses memory instead of allocating it.

use super::dense::Dense;
use super::{Activation, Float, Init, LayerSpec, Shape};
use ndarray::{Array2, ArrayD, ArrayView2};
use rand::Rng;

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

/// An elementwise activation with its output kept for the backward pass.
#[derive(Clone, Debug)]
pub struct ActivationLayer<F> {
    pub f: Activation,
    out: Array2<F>,
    grad_in: Array2<F>,
}

#[derive(Clone, Debug)]
pub enum Layer<F> {
    Dense(Dense<F>),
    Activation(ActivationLayer<F>),
}

/// Make `buf` a `rows x cols` matrix, reallocating only when the shape changes.
pub(crate) fn ensure_shape<F: Float>(buf: &mut Array2<F>, rows: usize, cols: usize) {
    if buf.dim() != (rows, cols) {
        *buf = Array2::zeros((rows, cols));
    }
}

impl<F: Float> Layer<F> {
    pub fn new(spec: &LayerSpec, input: Shape, init: Init, rng: &mut impl Rng) -> Self {
        match *spec {
            LayerSpec::Dense { out } => Self::Dense(Dense::new(input.len(), out, init, rng)),
            LayerSpec::Activation { f } => Self::Activation(ActivationLayer {
                f,
                out: Array2::zeros((0, 0)),
                grad_in: Array2::zeros((0, 0)),
            }),
        }
    }

    /// Computes this layer's output for the batch `x` (read it with [`Layer::output`]).
    /// `train` selects training behaviour for layers that differ (batch norm, dropout).
    pub fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        match self {
            Self::Dense(d) => d.forward(x),
            Self::Activation(a) => {
                ensure_shape(&mut a.out, x.nrows(), x.ncols());
                a.f.forward(x, a.out.view_mut());
            }
        }
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        match self {
            Self::Dense(d) => d.output(),
            Self::Activation(a) => a.out.view(),
        }
    }

    /// Given dLoss/dOutput, stores parameter gradients and, if `need_grad_in`,
    /// dLoss/dInput (read it with [`Layer::grad_input`]). `x` is the forward input.
    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        match self {
            Self::Dense(d) => d.backward(x, grad_out, need_grad_in),
            Self::Activation(a) => {
                if need_grad_in {
                    ensure_shape(&mut a.grad_in, grad_out.nrows(), grad_out.ncols());
                    a.f.backward(a.out.view(), grad_out, a.grad_in.view_mut());
                }
            }
        }
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        match self {
            Self::Dense(d) => d.grad_input(),
            Self::Activation(a) => a.grad_in.view(),
        }
    }

    /// Visits every parameter tensor with its name (`weight`, `bias`, ...).
    pub fn for_each_param(&mut self, f: &mut dyn FnMut(&'static str, &mut Param<F>)) {
        match self {
            Self::Dense(d) => {
                f("weight", &mut d.weight);
                f("bias", &mut d.bias);
            }
            Self::Activation(_) => {}
        }
    }

    /// Read-only view of the parameters, in the same order as [`Layer::for_each_param`].
    pub fn params(&self) -> Vec<(&'static str, &Param<F>)> {
        match self {
            Self::Dense(d) => vec![("weight", &d.weight), ("bias", &d.bias)],
            Self::Activation(_) => Vec::new(),
        }
    }
}
