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

/// How the weights of dense and convolution layers start.
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
    /// `out` filters of `kernel x kernel` over all input channels.
    Conv2d {
        out: usize,
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: usize,
    },
    /// The largest value of each `size x size` window, windows `stride` apart.
    MaxPool2d {
        size: usize,
        stride: usize,
    },
    /// Normalises each channel (batch statistics in training, running ones in inference).
    BatchNorm2d,
    /// Reads a `C x H x W` image as a flat vector. Rows already are: the layer only marks
    /// where images end and vectors begin.
    Flatten,
    /// Zeroes each value with probability `p` in training.
    Dropout {
        p: f64,
    },
}

fn one() -> usize {
    1
}

/// Limits on a network description, which may come from outside (a model file, a run
/// configuration): generous for what the lab trains, small enough that building the
/// network can never exhaust memory. [`NetworkSpec::shapes`] checks them before anything is
/// allocated.
pub mod limits {
    /// Layers in one network.
    pub const MAX_LAYERS: usize = 256;
    /// Units of a dense layer, or output channels of a convolution.
    pub const MAX_UNITS: usize = 1 << 16;
    /// Any image side, kernel, stride or padding.
    pub const MAX_SIDE: usize = 4096;
    /// Values of one sample after any layer (64 MB as f32).
    pub const MAX_VALUES: usize = 1 << 24;
    /// Trained values of the whole network (256 MB as f32).
    pub const MAX_PARAMETERS: usize = 1 << 26;
}
use limits::*;

/// `value` if it is at most `max`, else an error naming `what` and the limit.
fn at_most(what: &str, value: usize, max: usize) -> Result<usize, String> {
    if value > max {
        Err(format!("{what} is {value}, at most {max} are accepted"))
    } else {
        Ok(value)
    }
}

impl Shape {
    /// An error unless every side and the number of values are within [`limits`]
    /// (computed without overflow, so any deserialised shape is safe to check).
    pub fn check_limits(self) -> Result<(), String> {
        at_most("the height", self.h, MAX_SIDE)?;
        at_most("the width", self.w, MAX_SIDE)?;
        let len = self
            .c
            .checked_mul(self.h)
            .and_then(|n| n.checked_mul(self.w))
            .unwrap_or(usize::MAX);
        at_most(
            &format!(
                "the number of values per sample ({}x{}x{})",
                self.c, self.h, self.w
            ),
            len,
            MAX_VALUES,
        )?;
        Ok(())
    }
}

/// Output side of a window sliding over `side` pixels, if it fits at least once.
pub fn window_output(side: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = side + 2 * padding;
    (kernel > 0 && stride > 0 && padded >= kernel).then(|| (padded - kernel) / stride + 1)
}

impl LayerSpec {
    /// The shape this layer produces from `input`, or why it cannot take it.
    pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        match *self {
            Self::Dense { out } if out > 0 => Ok(Shape::flat(out)),
            Self::Dense { .. } => Err("a dense layer needs at least one output".into()),
            Self::Activation { .. } | Self::BatchNorm2d => Ok(input),
            Self::Conv2d {
                out,
                kernel,
                stride,
                padding,
            } => {
                if out == 0 {
                    return Err("a convolution needs at least one output channel".into());
                }
                let fit = |side| window_output(side, kernel, stride, padding);
                match (fit(input.h), fit(input.w)) {
                    (Some(h), Some(w)) => Ok(Shape::image(out, h, w)),
                    _ => Err(format!(
                        "a {kernel}x{kernel} kernel (stride {stride}, padding {padding}) does not fit a {}x{} image",
                        input.h, input.w
                    )),
                }
            }
            Self::MaxPool2d { size, stride } => {
                match (
                    window_output(input.h, size, stride, 0),
                    window_output(input.w, size, stride, 0),
                ) {
                    (Some(h), Some(w)) => Ok(Shape::image(input.c, h, w)),
                    _ => Err(format!(
                        "a {size}x{size} pool (stride {stride}) does not fit a {}x{} image",
                        input.h, input.w
                    )),
                }
            }
            Self::Flatten => Ok(Shape::flat(input.len())),
            Self::Dropout { p } if (0.0..1.0).contains(&p) => Ok(input),
            Self::Dropout { p } => Err(format!("a dropout probability must be in [0, 1), not {p}")),
        }
    }

    /// An error unless this layer's own numbers are within [`limits`].
    fn check_limits(&self) -> Result<(), String> {
        match *self {
            Self::Dense { out } => at_most("the number of units", out, MAX_UNITS).map(drop),
            Self::Conv2d {
                out,
                kernel,
                stride,
                padding,
            } => {
                at_most("the number of filters", out, MAX_UNITS)?;
                at_most("the kernel size", kernel, MAX_SIDE)?;
                at_most("the stride", stride, MAX_SIDE)?;
                at_most("the padding", padding, MAX_SIDE).map(drop)
            }
            Self::MaxPool2d { size, stride } => {
                at_most("the pool size", size, MAX_SIDE)?;
                at_most("the stride", stride, MAX_SIDE).map(drop)
            }
            Self::Activation { .. } | Self::BatchNorm2d | Self::Flatten | Self::Dropout { .. } => {
                Ok(())
            }
        }
    }

    /// How many trained (or tracked) values this layer holds on `input`.
    pub fn parameter_count(&self, input: Shape) -> u128 {
        let wide = |n: usize| n as u128;
        match *self {
            Self::Dense { out } => wide(input.len()) * wide(out) + wide(out),
            Self::Conv2d { out, kernel, .. } => {
                wide(out) * wide(input.c) * wide(kernel) * wide(kernel) + wide(out)
            }
            // Scale, shift and the two running statistics per channel.
            Self::BatchNorm2d => 4 * wide(input.c),
            _ => 0,
        }
    }

    /// A short human name, e.g. "Dense(64)".
    pub fn label(&self) -> String {
        match self {
            Self::Dense { out } => format!("Dense({out})"),
            Self::Activation { f } => f.name().to_string(),
            Self::Conv2d {
                out,
                kernel,
                stride,
                padding,
            } => {
                let mut s = format!("Conv({out}, {kernel}x{kernel}");
                if *stride != 1 {
                    s.push_str(&format!(", stride {stride}"));
                }
                if *padding != 0 {
                    s.push_str(&format!(", pad {padding}"));
                }
                s + ")"
            }
            Self::MaxPool2d { size, stride } if size == stride => format!("MaxPool({size})"),
            Self::MaxPool2d { size, stride } => format!("MaxPool({size}, stride {stride})"),
            Self::BatchNorm2d => "BatchNorm".into(),
            Self::Flatten => "Flatten".into(),
            Self::Dropout { p } => format!("Dropout({p})"),
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

    /// The course's CNN for `input` images: Conv(8, 3x3) BN ReLU MaxPool(2) Conv(16, 3x3) BN
    /// ReLU Flatten Dense(48) sigmoid Dense(classes) (the loss adds softmax).
    pub fn cnn(input: Shape, classes: usize) -> Self {
        let conv = |out| LayerSpec::Conv2d {
            out,
            kernel: 3,
            stride: 1,
            padding: 0,
        };
        let act = |f| LayerSpec::Activation { f };
        let layers = vec![
            conv(8),
            LayerSpec::BatchNorm2d,
            act(Activation::Relu),
            LayerSpec::MaxPool2d { size: 2, stride: 2 },
            conv(16),
            LayerSpec::BatchNorm2d,
            act(Activation::Relu),
            LayerSpec::Flatten,
            LayerSpec::Dense { out: 48 },
            act(Activation::Sigmoid),
            LayerSpec::Dense { out: classes },
        ];
        Self { input, layers }
    }

    /// [`NetworkSpec::cnn`] on 1 x 32 x 32 characters with 36 classes:
    /// 32 -> conv 30 -> pool 15 -> conv 13, so the first dense layer sees 16 x 13 x 13 = 2704.
    pub fn course_cnn() -> Self {
        Self::cnn(Shape::image(1, 32, 32), 36)
    }

    /// Shapes after every layer (index 0 is the input), or the first inconsistency or
    /// size beyond [`limits`]: a spec that passes can be built without exhausting memory.
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
            parameters += layer.parameter_count(input);
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
