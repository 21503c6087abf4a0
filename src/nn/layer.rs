//! A layer is one step of the network. Each layer owns its output and input-gradient
//! buffers, so a training step reuses memory instead of allocating it.

use super::batchnorm::BatchNorm2d;
use super::conv::{Conv2d, Window};
use super::dense::Dense;
use super::dropout::Dropout;
use super::pool::MaxPool2d;
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

// A network holds a handful of layers, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Layer<F> {
    Dense(Dense<F>),
    Activation(ActivationLayer<F>),
    Conv2d(Conv2d<F>),
    MaxPool2d(MaxPool2d<F>),
    BatchNorm2d(BatchNorm2d<F>),
    /// Rows are already flat: copies its input so every layer owns its output.
    Flatten(PassThrough<F>),
    Dropout(Dropout<F>),
}

/// Passes values through unchanged (forward and backward).
#[derive(Clone, Debug)]
pub struct PassThrough<F> {
    out: Array2<F>,
    grad_in: Array2<F>,
}

fn copy_into<F: Float>(dst: &mut Array2<F>, src: ArrayView2<F>) {
    ensure_shape(dst, src.nrows(), src.ncols());
    dst.assign(&src);
}

/// Make `buf` a `rows x cols` matrix, reallocating only when the shape changes.
pub(crate) fn ensure_shape<F: Float>(buf: &mut Array2<F>, rows: usize, cols: usize) {
    if buf.dim() != (rows, cols) {
        *buf = Array2::zeros((rows, cols));
    }
}

impl<F: Float> Layer<F> {
    /// Builds the layer `spec` for inputs of shape `input` (already checked by
    /// [`super::NetworkSpec::shapes`]).
    pub fn new(spec: &LayerSpec, input: Shape, init: Init, rng: &mut impl Rng) -> Self {
        let output = spec
            .output_shape(input)
            .expect("shapes checked by NetworkSpec::shapes");
        let empty = || Array2::zeros((0, 0));
        match *spec {
            LayerSpec::Conv2d {
                kernel,
                stride,
                padding,
                ..
            } => Self::Conv2d(Conv2d::new(
                Window {
                    input,
                    output,
                    kernel,
                    stride,
                    padding,
                },
                init,
                rng,
            )),
            LayerSpec::MaxPool2d { size, stride } => Self::MaxPool2d(MaxPool2d::new(Window {
                input,
                output,
                kernel: size,
                stride,
                padding: 0,
            })),
            LayerSpec::BatchNorm2d => Self::BatchNorm2d(BatchNorm2d::new(input)),
            LayerSpec::Flatten => Self::Flatten(PassThrough {
                out: empty(),
                grad_in: empty(),
            }),
            LayerSpec::Dropout { p } => Self::Dropout(Dropout::new(p, rng)),
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
    pub fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        match self {
            Self::Dense(d) => d.forward(x),
            Self::Conv2d(c) => c.forward(x),
            Self::MaxPool2d(p) => p.forward(x),
            Self::BatchNorm2d(b) => b.forward(x, train),
            Self::Flatten(c) => copy_into(&mut c.out, x),
            Self::Dropout(d) => d.forward(x, train),
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
            Self::Conv2d(c) => c.output(),
            Self::MaxPool2d(p) => p.output(),
            Self::BatchNorm2d(b) => b.output(),
            Self::Flatten(c) => c.out.view(),
            Self::Dropout(d) => d.output(),
        }
    }

    /// Given dLoss/dOutput, stores parameter gradients and, if `need_grad_in`,
    /// dLoss/dInput (read it with [`Layer::grad_input`]). `x` is the forward input.
    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        match self {
            Self::Dense(d) => d.backward(x, grad_out, need_grad_in),
            Self::Conv2d(c) => c.backward(grad_out, need_grad_in),
            Self::BatchNorm2d(b) => b.backward(grad_out, need_grad_in),
            // Layers without parameters only exist to pass the gradient on.
            Self::MaxPool2d(p) => p.backward(grad_out),
            Self::Flatten(c) => copy_into(&mut c.grad_in, grad_out),
            Self::Dropout(d) => d.backward(grad_out),
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
            Self::Conv2d(c) => c.grad_input(),
            Self::MaxPool2d(p) => p.grad_input(),
            Self::BatchNorm2d(b) => b.grad_input(),
            Self::Flatten(c) => c.grad_in.view(),
            Self::Dropout(d) => d.grad_input(),
        }
    }

    /// Visits every parameter tensor with its name (`weight`, `bias`, ...).
    /// Batch norm's running statistics are visited too (as `trainable = false`).
    pub fn for_each_param(&mut self, f: &mut dyn FnMut(&'static str, &mut Param<F>)) {
        match self {
            Self::Dense(d) => {
                f("weight", &mut d.weight);
                f("bias", &mut d.bias);
            }
            Self::Conv2d(c) => {
                f("weight", &mut c.weight);
                f("bias", &mut c.bias);
            }
            Self::BatchNorm2d(b) => {
                f("weight", &mut b.weight);
                f("bias", &mut b.bias);
                f("running_mean", &mut b.running_mean);
                f("running_var", &mut b.running_var);
            }
            Self::Activation(_) | Self::MaxPool2d(_) | Self::Flatten(_) | Self::Dropout(_) => {}
        }
    }

    /// Read-only view of the parameters, in the same order as [`Layer::for_each_param`].
    pub fn params(&self) -> Vec<(&'static str, &Param<F>)> {
        match self {
            Self::Dense(d) => vec![("weight", &d.weight), ("bias", &d.bias)],
            Self::Conv2d(c) => vec![("weight", &c.weight), ("bias", &c.bias)],
            Self::BatchNorm2d(b) => vec![
                ("weight", &b.weight),
                ("bias", &b.bias),
                ("running_mean", &b.running_mean),
                ("running_var", &b.running_var),
            ],
            Self::Activation(_) | Self::MaxPool2d(_) | Self::Flatten(_) | Self::Dropout(_) => {
                Vec::new()
            }
        }
    }
}
