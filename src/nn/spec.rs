//! The serialisable description of a network: what a saved model, a run config and the
//! GUI's model settings all agree on. A `Network` is built from a `NetworkSpec`.

use super::Activation;
use serde::{Deserialize, Serialize};

/// The shape of one sample as it flows between layers: channels x height x width.
/// A plain feature vector of length n is `Shape { c: n, h: 1, w: 1 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub const fn image(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w }
    }
    pub const fn flat(n: usize) -> Self {
        Self { c: n, h: 1, w: 1 }
    }
    pub const fn len(self) -> usize {
        self.c * self.h * self.w
    }
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// How the weights of dense (and later convolution) layers start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Uniform in +-sqrt(6 / (fan_in + fan_out)), biases zero.
    #[default]
    Xavier,
    /// Every weight zero: every hidden unit stays identical (the symmetry problem).
    Zero,
}

impl std::str::FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "xavier" => Ok(Self::Xavier),
            "zero" => Ok(Self::Zero),
            _ => Err(format!("unknown init '{s}' (xavier, zero)")),
        }
    }
}

/// One layer of a network description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// `y = x W + b`, W is in x out.
    Dense {
        out: usize,
    },
    Activation {
        f: Activation,
    },
}

impl LayerSpec {
    /// The shape this layer produces from `input`, or why it cannot take it.
    pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        match *self {
            Self::Dense { out } if out > 0 => Ok(Shape::flat(out)),
            Self::Dense { .. } => Err("a dense layer needs at least one output".into()),
            Self::Activation { .. } => Ok(input),
        }
    }

    /// A short human name, e.g. "Dense(64)".
    pub fn label(&self) -> String {
        match self {
            Self::Dense { out } => format!("Dense({out})"),
            Self::Activation { f } => f.name().to_string(),
        }
    }
}

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
            layers.push(LayerSpec::Dense { out: h });
            layers.push(LayerSpec::Activation { f: activation });
        }
        layers.push(LayerSpec::Dense { out: outputs });
        Self {
            input: Shape::flat(inputs),
            layers,
        }
    }

    /// The course's autoencoder: `inputs -> hidden (ReLU) x depth -> inputs (sigmoid)`.
    pub fn autoencoder(inputs: usize, hidden: usize, depth: usize) -> Self {
        let mut spec = Self::mlp(inputs, &vec![hidden; depth], Activation::Relu, inputs);
        spec.layers.push(LayerSpec::Activation {
            f: Activation::Sigmoid,
        });
        spec
    }

    /// Shapes after every layer (index 0 is the input), or the first inconsistency.
    pub fn shapes(&self) -> Result<Vec<Shape>, String> {
        if self.layers.is_empty() {
            return Err("a network needs at least one layer".into());
        }
        let mut shapes = vec![self.input];
        for (i, layer) in self.layers.iter().enumerate() {
            let next = layer
                .output_shape(*shapes.last().expect("starts non-empty"))
                .map_err(|e| format!("layer {i} ({}): {e}", layer.label()))?;
            shapes.push(next);
        }
        Ok(shapes)
    }

    pub fn output(&self) -> Result<Shape, String> {
        Ok(*self.shapes()?.last().expect("starts non-empty"))
    }

    /// e.g. "1024 -> Dense(64) -> sigmoid -> Dense(36)".
    pub fn describe(&self) -> String {
        let mut s = self.input.len().to_string();
        for l in &self.layers {
            s.push_str(" -> ");
            s.push_str(&l.label());
        }
        s
    }
}
