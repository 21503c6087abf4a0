//! Elementwise activations. Each derivative is written in terms of the activation's
//! *output*, so a layer only keeps what it produced.

use super::Float;
use super::buffer::ensure_shape;
use super::init::Init;
use super::layer_kind::{LayerKind, RowArgs};
use super::layer_ops::LayerOps;
use super::parallel::{self, per_core};
use super::shape::Shape;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Sigmoid,
    Tanh,
    Relu,
    Identity,
}

impl Activation {
    pub const ALL: [Activation; 4] = [Self::Sigmoid, Self::Tanh, Self::Relu, Self::Identity];
    /// The names of [`Activation::ALL`], in its order (the variants' declaration order).
    pub const NAMES: [&'static str; 4] = ["sigmoid", "tanh", "relu", "identity"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn apply<F: Float>(self, x: F) -> F {
        match self {
            Self::Sigmoid => sigmoid(x),
            Self::Tanh => x.tanh(),
            Self::Relu => x.max(F::zero()),
            Self::Identity => x,
        }
    }

    /// d(activation)/dx expressed through the output `y`.
    pub fn derivative_from_output<F: Float>(self, y: F) -> F {
        match self {
            Self::Sigmoid => y * (F::one() - y),
            Self::Tanh => F::one() - y * y,
            Self::Relu => {
                if y > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Self::Identity => F::one(),
        }
    }

    pub fn forward<F: Float>(self, x: ArrayView2<F>, mut out: ArrayViewMut2<F>) {
        let x = x.as_standard_layout();
        let (x, out) = (standard(&x), standard_mut(&mut out));
        // One loop per activation, with the activation a constant inside it, so each
        // loop vectorises.
        let run = |x: &[F], out: &mut [F]| match self {
            Self::Sigmoid => map(x, out, |v| Self::Sigmoid.apply(v)),
            Self::Tanh => map(x, out, |v| Self::Tanh.apply(v)),
            Self::Relu => map(x, out, |v| Self::Relu.apply(v)),
            Self::Identity => out.copy_from_slice(x),
        };
        let run_len = per_core(x.len());
        let parts = x.chunks(run_len).zip(out.chunks_mut(run_len));
        parallel::for_each(parts, |(x, out)| run(x, out));
    }

    /// `grad_in = grad_out * f'(x)`, with f' taken from the stored output.
    pub fn backward<F: Float>(
        self,
        out: ArrayView2<F>,
        grad_out: ArrayView2<F>,
        mut grad_in: ArrayViewMut2<F>,
    ) {
        let grad_out = grad_out.as_standard_layout();
        let out = out.as_standard_layout();
        let (y, d, g) = (
            standard(&out),
            standard(&grad_out),
            standard_mut(&mut grad_in),
        );
        let run = |y: &[F], d: &[F], g: &mut [F]| match self {
            Self::Sigmoid => map2(y, d, g, |y, d| d * Self::Sigmoid.derivative_from_output(y)),
            Self::Tanh => map2(y, d, g, |y, d| d * Self::Tanh.derivative_from_output(y)),
            Self::Relu => map2(y, d, g, |y, d| d * Self::Relu.derivative_from_output(y)),
            Self::Identity => g.copy_from_slice(d),
        };
        let run_len = per_core(y.len());
        let parts = y
            .chunks(run_len)
            .zip(d.chunks(run_len))
            .zip(g.chunks_mut(run_len));
        parallel::for_each(parts, |((y, d), g)| run(y, d, g));
    }
}

fn standard<'a, F: Float>(a: &'a ndarray::CowArray<'_, F, ndarray::Ix2>) -> &'a [F] {
    a.as_slice().expect("standard layout")
}

fn standard_mut<'a, F: Float>(a: &'a mut ArrayViewMut2<'_, F>) -> &'a mut [F] {
    a.as_slice_mut()
        .expect("layer buffers are owned, standard layout")
}

fn map<F: Float>(x: &[F], out: &mut [F], f: impl Fn(F) -> F) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

fn map2<F: Float>(a: &[F], b: &[F], out: &mut [F], f: impl Fn(F, F) -> F) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown activation '{s}' (sigmoid, tanh, relu, identity)"))
    }
}

/// Logistic function that never overflows: for negative x it is computed as
/// e^x / (1 + e^x), so `exp` only ever sees non-positive arguments.
pub fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_finite_for_large_inputs() {
        for x in [-1e4f32, -100.0, 0.0, 100.0, 1e4] {
            let y = sigmoid(x);
            assert!(y.is_finite() && (0.0..=1.0).contains(&y), "{x} -> {y}");
        }
        assert_eq!(sigmoid(0.0f64), 0.5);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &x in &[-1.3f64, -0.2, 0.4, 2.1] {
                let h = 1e-6;
                let numeric = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.apply(x));
                assert!((numeric - analytic).abs() < 1e-6, "{act:?} at {x}");
            }
        }
    }
}

/// An activation layer. Its row is the activation's name (`relu`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationSpec {
    pub f: Activation,
}

impl LayerKind for ActivationSpec {
    type Layer<F: Float> = ActivationLayer<F>;
    const ROW_NAMES: &'static [&'static str] = &Activation::NAMES;

    fn parse_row(name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(0, 0, name)?;
        Ok(Self { f: name.parse()? })
    }

    fn row_text(&self) -> String {
        self.f.name().into()
    }

    fn label(&self) -> String {
        self.f.name().into()
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        Ok(input)
    }

    fn build<F: Float>(&self, _: Shape, _: Shape, _: Init, _: &mut impl Rng) -> ActivationLayer<F> {
        ActivationLayer::new(self.f)
    }
}

/// An elementwise activation as a layer, its output kept for the backward pass.
#[derive(Clone, Debug)]
pub struct ActivationLayer<F> {
    pub f: Activation,
    out: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> ActivationLayer<F> {
    pub fn new(f: Activation) -> Self {
        Self {
            f,
            out: Array2::zeros((0, 0)),
            grad_in: Array2::zeros((0, 0)),
        }
    }
}

impl<F: Float> LayerOps<F> for ActivationLayer<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        ensure_shape(&mut self.out, x.nrows(), x.ncols());
        self.f.forward(x, self.out.view_mut());
    }
    fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        if need_grad_in {
            ensure_shape(&mut self.grad_in, grad_out.nrows(), grad_out.ncols());
            self.f
                .backward(self.out.view(), grad_out, self.grad_in.view_mut());
        }
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}
