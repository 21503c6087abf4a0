//! A network written as a list of layers, the form the side panel's editor, the command
//! line (`--layers "conv 8 3, bn, relu, pool 2, flatten, dense 36"`) and config files share,
//! its check row by row (output shape, parameter count, the first row that cannot work) and
//! the presets.
//!
//! Rows, separated by commas: `dense N`, `conv OUT KERNEL [STRIDE [PADDING]]`,
//! `pool SIZE [STRIDE]`, `bn`, `dropout P`, `flatten` and the activations by name
//! (`sigmoid`, `tanh`, `relu`, `identity`).

use super::{Activation, LayerSpec, Shape};

/// Reads one row, e.g. `conv 8 3` or `dropout 0.25`.
pub fn parse_row(text: &str) -> Result<LayerSpec, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Err("an empty row".into());
    };
    let count = |n: &str| {
        n.parse::<usize>()
            .map_err(|_| format!("'{n}' is not a whole number"))
    };
    let arity = |min: usize, max: usize, usage: &str| {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else {
            Err(format!("write it as '{usage}'"))
        }
    };
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "dense" => {
            arity(1, 1, "dense N")?;
            Ok(LayerSpec::Dense {
                out: count(args[0])?,
            })
        }
        "conv" => {
            arity(2, 4, "conv OUT KERNEL [STRIDE [PADDING]]")?;
            Ok(LayerSpec::Conv2d {
                out: count(args[0])?,
                kernel: count(args[1])?,
                stride: args.get(2).map_or(Ok(1), |s| count(s))?,
                padding: args.get(3).map_or(Ok(0), |s| count(s))?,
            })
        }
        "pool" => {
            arity(1, 2, "pool SIZE [STRIDE]")?;
            let size = count(args[0])?;
            Ok(LayerSpec::MaxPool2d {
                size,
                stride: args.get(1).map_or(Ok(size), |s| count(s))?,
            })
        }
        "bn" => arity(0, 0, "bn").map(|()| LayerSpec::BatchNorm2d),
        "flatten" => arity(0, 0, "flatten").map(|()| LayerSpec::Flatten),
        "dropout" => {
            arity(1, 1, "dropout P")?;
            let p = args[0]
                .parse::<f64>()
                .map_err(|_| format!("'{}' is not a probability", args[0]))?;
            Ok(LayerSpec::Dropout { p })
        }
        _ => match name.parse::<Activation>() {
            Ok(f) => arity(0, 0, &name).map(|()| LayerSpec::Activation { f }),
            Err(_) => Err(format!(
                "unknown layer '{name}' (dense, conv, pool, bn, dropout, flatten, sigmoid, tanh, \
                 relu, identity)"
            )),
        },
    }
}

/// Reads a comma-separated list of rows; an error names the row (1-based).
pub fn parse(text: &str) -> Result<Vec<LayerSpec>, String> {
    text.split(',')
        .enumerate()
        .map(|(i, row)| parse_row(row).map_err(|e| format!("row {} '{}': {e}", i + 1, row.trim())))
        .collect()
}

/// The row as [`parse_row`] reads it.
pub fn row_text(layer: &LayerSpec) -> String {
    match *layer {
        LayerSpec::Dense { out } => format!("dense {out}"),
        LayerSpec::Conv2d {
            out,
            kernel,
            stride: 1,
            padding: 0,
        } => format!("conv {out} {kernel}"),
        LayerSpec::Conv2d {
            out,
            kernel,
            stride,
            padding: 0,
        } => format!("conv {out} {kernel} {stride}"),
        LayerSpec::Conv2d {
            out,
            kernel,
            stride,
            padding,
        } => format!("conv {out} {kernel} {stride} {padding}"),
        LayerSpec::MaxPool2d { size, stride } if size == stride => format!("pool {size}"),
        LayerSpec::MaxPool2d { size, stride } => format!("pool {size} {stride}"),
        LayerSpec::BatchNorm2d => "bn".into(),
        LayerSpec::Flatten => "flatten".into(),
        LayerSpec::Dropout { p } => format!("dropout {p}"),
        LayerSpec::Activation { f } => f.name().to_ascii_lowercase(),
    }
}

/// The list as [`parse`] reads it.
pub fn text(layers: &[LayerSpec]) -> String {
    layers.iter().map(row_text).collect::<Vec<_>>().join(", ")
}

/// Trainable parameters of `layer` on inputs of shape `input` (batch norm's running
/// statistics are state, not parameters).
pub fn parameter_count(layer: &LayerSpec, input: Shape) -> usize {
    match *layer {
        LayerSpec::Dense { out } => input.len() * out + out,
        LayerSpec::Conv2d { out, kernel, .. } => out * input.c * kernel * kernel + out,
        LayerSpec::BatchNorm2d => 2 * input.c,
        _ => 0,
    }
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
                LayerSpec::Dense { .. } if image => Err(format!(
                    "a dense layer needs a flat vector, not a {}x{}x{} image: put a flatten before it",
                    s.c, s.h, s.w
                )),
                _ => layer.output_shape(s),
            };
            match result {
                Ok(out) => Some((out, parameter_count(layer, s))),
                Err(e) => {
                    error = Some(format!("row {} ({}): {e}", i + 1, row_text(layer)));
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
        total: rows.iter().map(|r| r.parameters).sum(),
        rows,
        error,
    }
}

/// Why the list's end is not an output layer of `classes` classes, if it is not.
fn output_error(layers: &[LayerSpec], classes: usize) -> Option<String> {
    match layers.last() {
        None => Some("the list is empty: it needs at least an output layer".into()),
        Some(LayerSpec::Dense { out }) if *out == classes => None,
        Some(last) => Some(format!(
            "row {} ({}): the last row must be the output layer 'dense {classes}' (one \
             output per class)",
            layers.len(),
            row_text(last)
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
    /// Three padded conv-BN-ReLU-pool stages (16, 32, 64 channels), dropout, dense 128.
    DeepCnn,
}

impl Preset {
    pub const ALL: [Self; 4] = [
        Self::CourseMlp,
        Self::CourseCnn,
        Self::Lenet5,
        Self::DeepCnn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CourseMlp => "course-mlp",
            Self::CourseCnn => "course-cnn",
            Self::Lenet5 => "lenet5",
            Self::DeepCnn => "deep-cnn",
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
                 conv 64 3 1 1, bn, relu, pool 2, flatten, dropout 0.25, dense 128, relu"
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
                format!("unknown preset '{s}' (course-mlp, course-cnn, lenet5, deep-cnn)")
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
