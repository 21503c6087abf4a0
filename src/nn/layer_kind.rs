//! What a kind of layer says about itself before it exists: the spec side of
//! [`super::LayerOps`]. Each kind's file implements [`LayerKind`] on its spec struct (the
//! saved form of the layer), and [`super::layer`] registers the kind with one line that
//! generates [`super::LayerSpec`], [`super::Layer`] and their dispatch.

use super::Float;
use super::init::Init;
use super::layer_ops::LayerOps;
use super::shape::Shape;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// One kind of layer, implemented by its spec struct.
pub trait LayerKind: Clone + Debug + PartialEq + Serialize + DeserializeOwned {
    /// The layer this spec builds.
    type Layer<F: Float>: LayerOps<F>;

    /// The names its row in a layer list starts with (`dense`, `conv`, ...).
    const ROW_NAMES: &'static [&'static str];

    /// Reads a row that starts with `name` (one of [`LayerKind::ROW_NAMES`]).
    fn parse_row(name: &str, args: RowArgs) -> Result<Self, String>;

    /// The row as [`LayerKind::parse_row`] reads it.
    fn row_text(&self) -> String;

    /// A short human name, e.g. "Dense(64)".
    fn label(&self) -> String;

    /// An error unless this layer's own numbers are within [`super::limits`]; checked
    /// before [`LayerKind::output_shape`], so that may assume them.
    fn check_limits(&self) -> Result<(), String> {
        Ok(())
    }

    /// The shape this layer produces from `input`, or why it cannot take it.
    fn output_shape(&self, input: Shape) -> Result<Shape, String>;

    /// The tensors the layer holds on `input`, in the order of [`LayerOps::params`].
    fn param_shapes(&self, _input: Shape) -> Vec<ParamShape> {
        Vec::new()
    }

    /// The layer for inputs of shape `input`, whose output is `output` (both checked).
    fn build<F: Float>(
        &self,
        input: Shape,
        output: Shape,
        init: Init,
        rng: &mut impl Rng,
    ) -> Self::Layer<F>;
}

/// The name, dimensions and kind of one tensor a layer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamShape {
    pub name: &'static str,
    pub dims: Vec<usize>,
    /// False for state that is saved but not trained (batch norm's running statistics).
    pub trainable: bool,
}

impl ParamShape {
    pub fn trained(name: &'static str, dims: Vec<usize>) -> Self {
        Self {
            name,
            dims,
            trainable: true,
        }
    }

    pub fn state(name: &'static str, dims: Vec<usize>) -> Self {
        Self {
            name,
            dims,
            trainable: false,
        }
    }

    /// The number of values, counted without overflow for any dimensions.
    pub fn values(&self) -> u128 {
        self.dims.iter().map(|&d| d as u128).product()
    }
}

/// The words after a row's name, e.g. `8 3` of `conv 8 3`.
#[derive(Clone, Copy, Debug)]
pub struct RowArgs<'a>(pub &'a [&'a str]);

impl<'a> RowArgs<'a> {
    /// An error showing `usage` unless there are `min..=max` words.
    pub fn arity(self, min: usize, max: usize, usage: &str) -> Result<(), String> {
        if (min..=max).contains(&self.0.len()) {
            Ok(())
        } else {
            Err(format!("write it as '{usage}'"))
        }
    }

    /// Word `i` as a whole number.
    pub fn count(self, i: usize) -> Result<usize, String> {
        let word = self.word(i)?;
        word.parse()
            .map_err(|_| format!("'{word}' is not a whole number"))
    }

    fn word(self, i: usize) -> Result<&'a str, String> {
        self.0
            .get(i)
            .copied()
            .ok_or_else(|| format!("a number is missing after {} words", self.0.len()))
    }

    /// Word `i` as a whole number, `default` if the row stops before it.
    pub fn count_or(self, i: usize, default: usize) -> Result<usize, String> {
        if i < self.0.len() {
            self.count(i)
        } else {
            Ok(default)
        }
    }

    /// Word `i` as a probability (range checked by the layer's output shape).
    pub fn probability(self, i: usize) -> Result<f64, String> {
        let word = self.word(i)?;
        word.parse()
            .map_err(|_| format!("'{word}' is not a probability"))
    }
}
