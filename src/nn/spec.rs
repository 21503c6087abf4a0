//! The serialisable description of a network: what a saved model, a run config and the
//! GUI's model settings all agree on. A `Network` is built from a `NetworkSpec`.

use super::activation::{Activation, ActivationSpec};
use super::batchnorm::BatchNorm2dSpec;
use super::conv::Conv2dSpec;
use super::dense::DenseSpec;
use super::flatten::FlattenSpec;
use super::layer::LayerSpec;
use super::limits::{MAX_LAYERS, MAX_PARAMETERS, at_most};
use super::pool::MaxPool2dSpec;
use super::shape::Shape;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub input: Shape,
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// Dense layers of the given widths with `activation` between them, ending in `outputs`
    /// linear units (the loss adds softmax or the caller adds a final activation).
    pub fn mlp(inputs: usize, hidden: &[usize], activation: Activation, outputs: usize) -> Self {
        let mut layers = Vec::new();
        for &h in hidden {
            layers.push(LayerSpec::Dense(DenseSpec { out: h }));
            layers.push(LayerSpec::Activation(ActivationSpec { f: activation }));
        }
        layers.push(LayerSpec::Dense(DenseSpec { out: outputs }));
        Self {
            input: Shape::flat(inputs),
            layers,
        }
    }

    /// The course's CNN for `input` images: Conv(8, 3x3) BN ReLU MaxPool(2) Conv(16, 3x3) BN
    /// ReLU Flatten Dense(48) sigmoid Dense(classes) (the loss adds softmax).
    pub fn cnn(input: Shape, classes: usize) -> Self {
        let conv = |out| {
            LayerSpec::Conv2d(Conv2dSpec {
                out,
                kernel: 3,
                stride: 1,
                padding: 0,
            })
        };
        let act = |f| LayerSpec::Activation(ActivationSpec { f });
        let dense = |out| LayerSpec::Dense(DenseSpec { out });
        let layers = vec![
            conv(8),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            act(Activation::Relu),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 2, stride: 2 }),
            conv(16),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            act(Activation::Relu),
            LayerSpec::Flatten(FlattenSpec),
            dense(48),
            act(Activation::Sigmoid),
            dense(classes),
        ];
        Self { input, layers }
    }

    /// [`NetworkSpec::cnn`] on 1 x 32 x 32 characters with 36 classes:
    /// 32 -> conv 30 -> pool 15 -> conv 13, so the first dense layer sees 16 x 13 x 13 = 2704.
    pub fn course_cnn() -> Self {
        Self::cnn(Shape::image(1, 32, 32), 36)
    }

    /// Shapes after every layer (index 0 is the input), or the first inconsistency or
    /// size beyond [`super::limits`]: a spec that passes can be built without exhausting memory.
    pub fn shapes(&self) -> Result<Vec<Shape>, String> {
        if self.layers.is_empty() {
            return Err("a network needs at least one layer".into());
        }
        at_most("the number of layers", self.layers.len(), MAX_LAYERS)?;
        self.input
            .check_limits()
            .map_err(|e| format!("the input: {e}"))?;
        let mut shapes = vec![self.input];
        let mut parameters = 0u128;
        for (i, layer) in self.layers.iter().enumerate() {
            let input = *shapes.last().expect("starts non-empty");
            let next = layer
                .check_limits()
                .and_then(|()| layer.output_shape(input))
                .and_then(|next| next.check_limits().map(|()| next))
                .map_err(|e| format!("layer {i} ({}): {e}", layer.label()))?;
            parameters += layer.parameter_count(input).stored;
            shapes.push(next);
        }
        if parameters > MAX_PARAMETERS as u128 {
            return Err(format!(
                "the network has {parameters} parameters, at most {MAX_PARAMETERS} are accepted"
            ));
        }
        Ok(shapes)
    }

    pub fn output(&self) -> Result<Shape, String> {
        Ok(*self.shapes()?.last().expect("starts non-empty"))
    }

    /// e.g. "1024 -> Dense(64) -> sigmoid -> Dense(36)" or "1x32x32 -> Conv(8, 3x3) -> ...".
    pub fn describe(&self) -> String {
        let i = self.input;
        let mut s = if i.h * i.w > 1 {
            format!("{}x{}x{}", i.c, i.h, i.w)
        } else {
            i.len().to_string()
        };
        for l in &self.layers {
            s.push_str(" -> ");
            s.push_str(&l.label());
        }
        s
    }
}
