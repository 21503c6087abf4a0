//! Flatten: reads a `C x H x W` image as a flat vector. Rows already are flat, so the
//! layer only marks where images end and vectors begin; it copies its input so every layer
//! owns its output.

use super::Float;
use super::buffer::copy_into;
use super::init::Init;
use super::layer_kind::{LayerKind, RowArgs};
use super::layer_ops::LayerOps;
use super::shape::Shape;
use ndarray::{Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Reads a `C x H x W` image as a flat vector. Its row is `flatten`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlattenSpec;

impl LayerKind for FlattenSpec {
    type Layer<F: Float> = Flatten<F>;
    const ROW_NAMES: &'static [&'static str] = &["flatten"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(0, 0, "flatten").map(|()| Self)
    }

    fn row_text(&self) -> String {
        "flatten".into()
    }

    fn label(&self) -> String {
        "Flatten".into()
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        Ok(Shape::flat(input.len()))
    }

    fn build<F: Float>(&self, _: Shape, _: Shape, _: Init, _: &mut impl Rng) -> Flatten<F> {
        Flatten::default()
    }
}

/// Passes values through unchanged (forward and backward).
#[derive(Clone, Debug)]
pub struct Flatten<F> {
    out: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> Default for Flatten<F> {
    fn default() -> Self {
        Self {
            out: Array2::zeros((0, 0)),
            grad_in: Array2::zeros((0, 0)),
        }
    }
}

impl<F: Float> LayerOps<F> for Flatten<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        copy_into(&mut self.out, x);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, _need_grad_in: bool) {
        copy_into(&mut self.grad_in, grad_out);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}
