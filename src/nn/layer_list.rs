//! A network written as a list of layers, the form the side panel's editor, the command
//! line (`--layers "conv 8 3, bn, relu, pool 2, flatten, dense 36"`) and config files share,
//! its check row by row (output shape, parameter count, the first row that cannot work) and
//! the presets.
//!
//! Rows, separated by commas, start with a kind's name and its numbers (`dense 64`,
//! `conv 8 3`, `relu`); each kind's file says how its row reads
//! ([`super::LayerKind::parse_row`]).

use super::dense::DenseSpec;
use super::layer::LayerSpec;
use super::layer_kind::RowArgs;
use super::shape::Shape;

/// Reads one row, e.g. `conv 8 3` or `dropout 0.25`.
pub fn parse_row(text: &str) -> Result<LayerSpec, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Err("an empty row".into());
    };
    let name = name.to_ascii_lowercase();
    LayerSpec::parse_row(&name, RowArgs(args)).unwrap_or_else(|| {
        Err(format!(
            "unknown layer '{name}' ({})",
            LayerSpec::row_names().join(", ")
        ))
    })
}

/// Reads a comma-separated list of rows; an error names the row (1-based).
pub fn parse(text: &str) -> Result<Vec<LayerSpec>, String> {
    text.split(',')
        .enumerate()
        .map(|(i, row)| parse_row(row).map_err(|e| format!("row {} '{}': {e}", i + 1, row.trim())))
        .collect()
}

/// The list as [`parse`] reads it.
pub fn text(layers: &[LayerSpec]) -> String {
    layers
        .iter()
        .map(LayerSpec::row_text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of a checked list.
#[derive(Clone, Debug, PartialEq)]
pub struct RowCheck {
    /// The shape this row produces (`None` from the first row that cannot work on).
    pub output: Option<Shape>,
    pub parameters: usize,
}

/// A list checked against its input and class count.
#[derive(Clone, Debug, PartialEq)]
pub struct ListCheck {
    pub rows: Vec<RowCheck>,
    /// Parameters of the rows that work.
    pub total: usize,
    /// Why the list cannot train, naming the row (1-based).
    pub error: Option<String>,
}

/// Checks `layers` on inputs of shape `input` for `classes` classes: every row must take
/// its input (dense layers only flat vectors, so images need a `flatten` first), and the
/// last row must be a dense layer of `classes` outputs (the loss adds softmax).
pub fn check(input: Shape, layers: &[LayerSpec], classes: usize) -> ListCheck {
    let mut rows = Vec::with_capacity(layers.len());
    let mut error = None;
    let mut shape = Some(input);
    for (i, layer) in layers.iter().enumerate() {
        let next = shape.and_then(|s| {
            let image = s.h * s.w > 1;
            let result = match layer {
                LayerSpec::Dense(_) if image => Err(format!(
                    "a dense layer needs a flat vector, not a {}x{}x{} image: put a flatten before it",
                    s.c, s.h, s.w
                )),
                _ => layer.check_limits().and_then(|()| layer.output_shape(s)),
            };
            match result {
                Ok(out) => Some((out, trainable_count(layer, s))),
                Err(e) => {
                    error = Some(format!("row {} ({}): {e}", i + 1, layer.row_text()));
                    None
                }
            }
        });
        shape = next.map(|(s, _)| s);
        rows.push(RowCheck {
            output: shape,
            parameters: next.map_or(0, |(_, p)| p),
        });
    }
    if error.is_none() {
        error = output_error(layers, classes);
    }
    ListCheck {
        total: rows
            .iter()
            .fold(0, |sum, r| sum.saturating_add(r.parameters)),
        rows,
        error,
    }
}

/// The trainable parameters of `layer` on `input` (batch norm's running statistics are
/// state, not parameters), saturated: a row beyond the limits cannot train anyway.
fn trainable_count(layer: &LayerSpec, input: Shape) -> usize {
    let count = layer.parameter_count(input).trainable;
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Why the list's end is not an output layer of `classes` classes, if it is not.
fn output_error(layers: &[LayerSpec], classes: usize) -> Option<String> {
    match layers.last() {
        None => Some("the list is empty: it needs at least an output layer".into()),
        Some(LayerSpec::Dense(DenseSpec { out })) if *out == classes => None,
        Some(last) => Some(format!(
            "row {} ({}): the last row must be the output layer 'dense {classes}' (one \
             output per class)",
            layers.len(),
            last.row_text()
        )),
    }
}

/// Networks to start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The course's MLP: 64 sigmoid units.
    CourseMlp,
    /// The course's CNN ([`super::NetworkSpec::cnn`]).
    CourseCnn,
    /// LeNet-5's layout on 32x32 images, with ReLU.
    Lenet5,
    /// Three padded conv-BN-ReLU-pool stages (16, 32, 64 channels), dropout, dense 128,
    /// dropout.
    DeepCnn,
    /// The same stages with two convolutions each, as VGG builds them: four times the
    /// arithmetic of [`Preset::DeepCnn`], twice its time per epoch.
    VggCnn,
}

impl Preset {
    pub const ALL: [Self; 5] = [
        Self::CourseMlp,
        Self::CourseCnn,
        Self::Lenet5,
        Self::DeepCnn,
        Self::VggCnn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CourseMlp => "course-mlp",
            Self::CourseCnn => "course-cnn",
            Self::Lenet5 => "lenet5",
            Self::DeepCnn => "deep-cnn",
            Self::VggCnn => "vgg-cnn",
        }
    }

    /// The preset's rows, ending in a dense layer of `classes` outputs.
    pub fn text(self, classes: usize) -> String {
        let body = match self {
            Self::CourseMlp => "flatten, dense 64, sigmoid",
            Self::CourseCnn => {
                "conv 8 3, bn, relu, pool 2, conv 16 3, bn, relu, flatten, dense 48, sigmoid"
            }
            Self::Lenet5 => {
                "conv 6 5, relu, pool 2, conv 16 5, relu, pool 2, flatten, dense 120, relu, \
                 dense 84, relu"
            }
            Self::DeepCnn => {
                "conv 16 3 1 1, bn, relu, pool 2, conv 32 3 1 1, bn, relu, pool 2, \
                 conv 64 3 1 1, bn, relu, pool 2, flatten, dropout 0.5, dense 128, relu, \
                 dropout 0.25"
            }
            Self::VggCnn => {
                "conv 16 3 1 1, bn, relu, conv 16 3 1 1, bn, relu, pool 2, \
                 conv 32 3 1 1, bn, relu, conv 32 3 1 1, bn, relu, pool 2, \
                 conv 64 3 1 1, bn, relu, conv 64 3 1 1, bn, relu, pool 2, flatten, \
                 dropout 0.5, dense 128, relu, dropout 0.25"
            }
        };
        format!("{body}, dense {classes}")
    }

    pub fn layers(self, classes: usize) -> Vec<LayerSpec> {
        parse(&self.text(classes)).expect("presets are valid lists")
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
                format!("unknown preset '{s}' ({})", names.join(", "))
            })
    }
}

/// Serde for a layer list as its text (`#[serde(with = "layer_list::as_text")]`), so a
/// config file holds the same line the command line takes.
pub mod as_text {
    use super::{LayerSpec, parse, text};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(layers: &[LayerSpec], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(layers))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LayerSpec>, D::Error> {
        let line = String::deserialize(d)?;
        if line.trim().is_empty() {
            return Ok(Vec::new());
        }
        parse(&line).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_beyond_the_limits_is_refused_before_its_shape_is_computed() {
        // Twice this padding overflows: the shape arithmetic must never see it.
        let layers = parse("conv 8 3 1 9223372036854775807, flatten, dense 36").unwrap();
        let checked = check(Shape::image(1, 32, 32), &layers, 36);
        let error = checked.error.unwrap();
        assert!(error.starts_with("row 1 (conv 8 3 1 9223372036854775807): the padding is"));
        assert_eq!(checked.total, 0);
    }

    #[test]
    fn an_unknown_row_names_every_kind() {
        let e = parse_row("softmax").unwrap_err();
        assert_eq!(
            e,
            "unknown layer 'softmax' (dense, conv, pool, bn, dropout, flatten, sigmoid, tanh, \
             relu, identity)"
        );
    }
}
