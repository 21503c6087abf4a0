//! The registry of layer kinds. Each kind lives in its own file: its layer implements
//! [`LayerOps`], its spec struct [`LayerKind`]. One line per kind in [`register_layers!`]
//! generates [`LayerSpec`] (the serialisable description, one variant per kind), [`Layer`]
//! (the closed set a [`super::Network`] holds, so code that needs one kind, such as the
//! weight views or the gradient check's dropout, can still match on it) and their dispatch.

use super::Float;
use super::init::Init;
use super::layer_kind::{LayerKind, ParamShape, RowArgs};
use super::layer_ops::LayerOps;
use super::param::Param;
use super::shape::Shape;
use ndarray::ArrayView2;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Declares [`LayerSpec`] and [`Layer`] with one variant per registered kind
/// (`Variant(module::{LayerType, SpecType})`, the module a sibling of this one), and their
/// dispatch to [`LayerKind`] and [`LayerOps`].
macro_rules! register_layers {
    ($($variant:ident($module:ident::{$layer:ident, $spec:ident})),+ $(,)?) => {
        /// One layer of a network description, saved in model files as its spec's fields
        /// with `"type"` the variant's name in snake case (`{"type":"dense","out":64}`).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum LayerSpec {
            $($variant(super::$module::$spec)),+
        }

        /// A layer of a network, with its parameters and buffers.
        // A network holds a handful of layers, so variant sizes do not matter.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug)]
        pub enum Layer<F> {
            $($variant(super::$module::$layer<F>)),+
        }

        impl LayerSpec {
            /// Every name a layer list row can start with, in registration order.
            pub fn row_names() -> Vec<&'static str> {
                [$(<super::$module::$spec as LayerKind>::ROW_NAMES),+].concat()
            }

            /// Reads the row `name args...`; `None` if no kind has that name.
            pub fn parse_row(name: &str, args: RowArgs) -> Option<Result<Self, String>> {
                $(
                    let kind = <super::$module::$spec as LayerKind>::ROW_NAMES;
                    if kind.contains(&name) {
                        let spec = <super::$module::$spec as LayerKind>::parse_row(name, args);
                        return Some(spec.map(Self::$variant));
                    }
                )+
                None
            }

            /// See [`LayerKind::row_text`].
            pub fn row_text(&self) -> String {
                match self {
                    $(Self::$variant(s) => s.row_text()),+
                }
            }

            /// See [`LayerKind::label`].
            pub fn label(&self) -> String {
                match self {
                    $(Self::$variant(s) => s.label()),+
                }
            }

            /// See [`LayerKind::check_limits`].
            pub fn check_limits(&self) -> Result<(), String> {
                match self {
                    $(Self::$variant(s) => s.check_limits()),+
                }
            }

            /// See [`LayerKind::output_shape`].
            pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
                match self {
                    $(Self::$variant(s) => s.output_shape(input)),+
                }
            }

            /// See [`LayerKind::param_shapes`].
            pub fn param_shapes(&self, input: Shape) -> Vec<ParamShape> {
                match self {
                    $(Self::$variant(s) => s.param_shapes(input)),+
                }
            }
        }

        impl<F: Float> Layer<F> {
            /// Builds the layer `spec` for inputs of shape `input` (already checked by
            /// [`super::NetworkSpec::shapes`]).
            pub fn new(spec: &LayerSpec, input: Shape, init: Init, rng: &mut impl Rng) -> Self {
                let output = spec
                    .output_shape(input)
                    .expect("shapes checked by NetworkSpec::shapes");
                match spec {
                    $(LayerSpec::$variant(s) => Self::$variant(s.build::<F>(input, output, init, rng))),+
                }
            }

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

// The order is the one the layer list's "unknown layer" message names the rows in.
register_layers! {
    Dense(dense::{Dense, DenseSpec}),
    Conv2d(conv::{Conv2d, Conv2dSpec}),
    MaxPool2d(pool::{MaxPool2d, MaxPool2dSpec}),
    BatchNorm2d(batchnorm::{BatchNorm2d, BatchNorm2dSpec}),
    Dropout(dropout::{Dropout, DropoutSpec}),
    Flatten(flatten::{Flatten, FlattenSpec}),
    Activation(activation::{ActivationLayer, ActivationSpec}),
}

/// How many values a layer holds: a model file stores all of them, the optimiser trains
/// some (batch norm's running statistics are state). Counted in `u128`, so any description,
/// however hostile, is counted without overflow before its limits are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParameterCount {
    pub stored: u128,
    pub trainable: u128,
}

impl LayerSpec {
    /// The values of [`LayerSpec::param_shapes`] on `input`.
    pub fn parameter_count(&self, input: Shape) -> ParameterCount {
        let shapes = self.param_shapes(input);
        let count = |trainable_only: bool| {
            let held = shapes.iter().filter(|p| p.trainable || !trainable_only);
            held.map(ParamShape::values).sum()
        };
        ParameterCount {
            stored: count(false),
            trainable: count(true),
        }
    }
}

impl<F: Float> Layer<F> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::NetworkSpec;
    use crate::nn::batchnorm::BatchNorm2dSpec;
    use crate::nn::dropout::DropoutSpec;
    use crate::nn::layer_list::Preset;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The spec of the model shipped in `assets/`, as its file's header holds it.
    const SHIPPED_SPEC: &str = r#"{"input":{"c":1,"h":32,"w":32},"layers":[{"type":"conv2d","out":8,"kernel":3,"stride":1,"padding":0},{"type":"batch_norm2d"},{"type":"activation","f":"relu"},{"type":"max_pool2d","size":2,"stride":2},{"type":"conv2d","out":16,"kernel":3,"stride":1,"padding":0},{"type":"batch_norm2d"},{"type":"activation","f":"relu"},{"type":"flatten"},{"type":"dense","out":48},{"type":"activation","f":"sigmoid"},{"type":"dense","out":36}]}"#;

    #[test]
    fn specs_keep_the_json_form_of_existing_model_files() {
        let spec = NetworkSpec::course_cnn();
        assert_eq!(serde_json::to_string(&spec).unwrap(), SHIPPED_SPEC);
        let read: NetworkSpec = serde_json::from_str(SHIPPED_SPEC).unwrap();
        assert_eq!(read, spec);
        let dropout = LayerSpec::Dropout(DropoutSpec { p: 0.25 });
        let text = r#"{"type":"dropout","p":0.25}"#;
        assert_eq!(serde_json::to_string(&dropout).unwrap(), text);
        assert_eq!(serde_json::from_str::<LayerSpec>(text).unwrap(), dropout);
        // Older files may leave out a convolution's stride and padding.
        let short: LayerSpec =
            serde_json::from_str(r#"{"type":"conv2d","out":4,"kernel":5}"#).unwrap();
        assert_eq!(short.row_text(), "conv 4 5");
    }

    #[test]
    fn every_kind_declares_the_tensors_its_layer_holds() {
        let input = Shape::image(1, 32, 32);
        let mut layers = Preset::DeepCnn.layers(36);
        layers.push(LayerSpec::BatchNorm2d(BatchNorm2dSpec));
        let spec = NetworkSpec { input, layers };
        let shapes = spec.shapes().unwrap();
        let mut kinds = std::collections::HashSet::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (layer_spec, &input) in spec.layers.iter().zip(&shapes) {
            let layer = Layer::<f32>::new(layer_spec, input, Init::Xavier, &mut rng);
            let held: Vec<ParamShape> = layer
                .params()
                .iter()
                .map(|&(name, p)| ParamShape {
                    name,
                    dims: p.value.shape().to_vec(),
                    trainable: p.trainable,
                })
                .collect();
            assert_eq!(
                held,
                layer_spec.param_shapes(input),
                "{}",
                layer_spec.label()
            );
            kinds.insert(std::mem::discriminant(layer_spec));
        }
        assert_eq!(
            kinds.len(),
            7,
            "the list covers the seven kinds registered today"
        );
    }
}
