//! The registry of layer kinds. Each kind lives in its own file and implements
//! [`LayerOps`]; [`Layer`] is the closed set a [`super::Network`] holds, so code that needs
//! one kind (the weight views, the gradient check's dropout) can still match on it.

use super::activation::ActivationLayer;
use super::batchnorm::BatchNorm2d;
use super::conv::Conv2d;
use super::dense::Dense;
use super::dropout::Dropout;
use super::flatten::Flatten;
use super::layer_ops::LayerOps;
use super::param::Param;
use super::pool::MaxPool2d;
use super::window::Window;
use super::{Float, Init, LayerSpec, Shape};
use ndarray::ArrayView2;
use rand::Rng;

/// Declares [`Layer`] with one variant per registered kind and its dispatch to
/// [`LayerOps`].
macro_rules! register_layers {
    ($($variant:ident($kind:ident)),+ $(,)?) => {
        // A network holds a handful of layers, so variant sizes do not matter.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug)]
        pub enum Layer<F> {
            $($variant($kind<F>)),+
        }

        impl<F: Float> Layer<F> {
            fn ops(&self) -> &dyn LayerOps<F> {
                match self {
                    $(Self::$variant(l) => l),+
                }
            }

            fn ops_mut(&mut self) -> &mut dyn LayerOps<F> {
                match self {
                    $(Self::$variant(l) => l),+
                }
            }
        }
    };
}

register_layers! {
    Dense(Dense),
    Activation(ActivationLayer),
    Conv2d(Conv2d),
    MaxPool2d(MaxPool2d),
    BatchNorm2d(BatchNorm2d),
    Flatten(Flatten),
    Dropout(Dropout),
}

impl<F: Float> Layer<F> {
    /// Builds the layer `spec` for inputs of shape `input` (already checked by
    /// [`super::NetworkSpec::shapes`]).
    pub fn new(spec: &LayerSpec, input: Shape, init: Init, rng: &mut impl Rng) -> Self {
        let output = spec
            .output_shape(input)
            .expect("shapes checked by NetworkSpec::shapes");
        let window = |kernel, stride, padding| Window {
            input,
            output,
            kernel,
            stride,
            padding,
        };
        match *spec {
            LayerSpec::Conv2d {
                kernel,
                stride,
                padding,
                ..
            } => Self::Conv2d(Conv2d::new(window(kernel, stride, padding), init, rng)),
            LayerSpec::MaxPool2d { size, stride } => {
                Self::MaxPool2d(MaxPool2d::new(window(size, stride, 0)))
            }
            LayerSpec::BatchNorm2d => Self::BatchNorm2d(BatchNorm2d::new(input)),
            LayerSpec::Flatten => Self::Flatten(Flatten::default()),
            LayerSpec::Dropout { p } => Self::Dropout(Dropout::new(p, rng)),
            LayerSpec::Dense { out } => Self::Dense(Dense::new(input.len(), out, init, rng)),
            LayerSpec::Activation { f } => Self::Activation(ActivationLayer::new(f)),
        }
    }

    /// See [`LayerOps::forward`].
    pub fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        self.ops_mut().forward(x, train);
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.ops().output()
    }

    /// See [`LayerOps::backward`].
    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        self.ops_mut().backward(x, grad_out, need_grad_in);
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.ops().grad_input()
    }

    /// The parameter tensors with their names, in the one order of [`LayerOps::params`].
    pub fn params(&self) -> Vec<(&'static str, &Param<F>)> {
        self.ops().params()
    }

    /// [`Layer::params`], writable, in the same order.
    pub fn params_mut(&mut self) -> Vec<(&'static str, &mut Param<F>)> {
        self.ops_mut().params_mut()
    }
}
