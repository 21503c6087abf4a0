//! Fully connected layer `y = x W + b`, W is `in x out`.

use super::Float;
use super::buffer::ensure_shape;
use super::gemm::{gemm, gemm_bias};
use super::init::Init;
use super::layer_kind::{LayerKind, ParamShape, RowArgs};
use super::layer_ops::{LayerOps, layer_params};
use super::limits::{MAX_UNITS, at_most};
use super::param::Param;
use super::shape::Shape;
use ndarray::{Array1, Array2, ArrayView2, Axis, Ix2};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A dense layer of `out` units: `y = x W + b`, W is in x out. Its row is `dense N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseSpec {
    pub out: usize,
}

impl LayerKind for DenseSpec {
    type Layer<F: Float> = Dense<F>;
    const ROW_NAMES: &'static [&'static str] = &["dense"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(1, 1, "dense N")?;
        Ok(Self {
            out: args.count(0)?,
        })
    }

    fn row_text(&self) -> String {
        format!("dense {}", self.out)
    }

    fn label(&self) -> String {
        format!("Dense({})", self.out)
    }

    fn check_limits(&self) -> Result<(), String> {
        at_most("the number of units", self.out, MAX_UNITS).map(drop)
    }

    fn output_shape(&self, _input: Shape) -> Result<Shape, String> {
        if self.out == 0 {
            return Err("a dense layer needs at least one output".into());
        }
        Ok(Shape::flat(self.out))
    }

    fn param_shapes(&self, input: Shape) -> Vec<ParamShape> {
        vec![
            ParamShape::trained("weight", vec![input.len(), self.out]),
            ParamShape::trained("bias", vec![self.out]),
        ]
    }

    fn build<F: Float>(&self, input: Shape, _: Shape, init: Init, rng: &mut impl Rng) -> Dense<F> {
        Dense::new(input.len(), self.out, init, rng)
    }
}

#[derive(Clone, Debug)]
pub struct Dense<F> {
    pub weight: Param<F>,
    pub bias: Param<F>,
    out: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> Dense<F> {
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut impl Rng) -> Self {
        let weight = match init {
            Init::Xavier => {
                let limit = (6.0 / (inputs + outputs) as f64).sqrt();
                Array2::from_shape_simple_fn((inputs, outputs), || {
                    F::from_f64_lossy(rng.random_range(-limit..limit))
                })
            }
            Init::Zero => Array2::zeros((inputs, outputs)),
        };
        Self {
            weight: Param::new(weight.into_dyn()),
            bias: Param::new(Array1::zeros(outputs).into_dyn()),
            out: Array2::zeros((0, 0)),
            grad_in: Array2::zeros((0, 0)),
        }
    }

    /// The weight matrix, `in x out`.
    pub fn w(&self) -> ArrayView2<'_, F> {
        matrix(&self.weight)
    }

    pub fn forward(&mut self, x: ArrayView2<F>) {
        let w = matrix(&self.weight);
        ensure_shape(&mut self.out, x.nrows(), w.ncols());
        let b = self
            .bias
            .value
            .view()
            .into_dimensionality::<ndarray::Ix1>()
            .expect("1-D");
        gemm_bias(&x, &w, &b, &mut self.out.view_mut());
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        let mut gw = self
            .weight
            .grad
            .view_mut()
            .into_dimensionality::<Ix2>()
            .expect("2-D");
        gemm(F::one(), &x.t(), &grad_out, F::zero(), &mut gw);
        // Column sums of grad_out, without allocating.
        self.bias.grad.fill(F::zero());
        let mut gb = self
            .bias
            .grad
            .view_mut()
            .into_dimensionality::<ndarray::Ix1>()
            .expect("1-D");
        for row in grad_out.axis_iter(Axis(0)) {
            gb += &row;
        }
        if need_grad_in {
            let w = matrix(&self.weight);
            ensure_shape(&mut self.grad_in, grad_out.nrows(), w.nrows());
            gemm(
                F::one(),
                &grad_out,
                &w.t(),
                F::zero(),
                &mut self.grad_in.view_mut(),
            );
        }
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}

/// The weight tensor as the `in x out` matrix it is (a free function, so it can borrow the
/// weight while the layer's output buffer is borrowed mutably).
fn matrix<F: Float>(weight: &Param<F>) -> ArrayView2<'_, F> {
    weight
        .value
        .view()
        .into_dimensionality::<Ix2>()
        .expect("dense weight is 2-D")
}

impl<F: Float> LayerOps<F> for Dense<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        Dense::forward(self, x);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        Dense::output(self)
    }
    fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        Dense::backward(self, x, grad_out, need_grad_in);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        Dense::grad_input(self)
    }
    layer_params!(weight, bias);
}
