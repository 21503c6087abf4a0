//! Inverted dropout: in training each value is zeroed with probability `p` and the
//! survivors are scaled by `1 / (1 - p)`, so inference is the identity.

use super::Float;
use super::buffer::ensure_shape;
use super::init::Init;
use super::layer_kind::{LayerKind, RowArgs};
use super::layer_ops::LayerOps;
use super::shape::Shape;
use ndarray::{Array2, ArrayView2, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Zeroes each value with probability `p` in training. Its row is `dropout P`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropoutSpec {
    pub p: f64,
}

impl LayerKind for DropoutSpec {
    type Layer<F: Float> = Dropout<F>;
    const ROW_NAMES: &'static [&'static str] = &["dropout"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(1, 1, "dropout P")?;
        Ok(Self {
            p: args.probability(0)?,
        })
    }

    fn row_text(&self) -> String {
        format!("dropout {}", self.p)
    }

    fn label(&self) -> String {
        format!("Dropout({})", self.p)
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let p = self.p;
        if !(0.0..1.0).contains(&p) {
            return Err(format!("a dropout probability must be in [0, 1), not {p}"));
        }
        Ok(input)
    }

    fn build<F: Float>(&self, _: Shape, _: Shape, _: Init, rng: &mut impl Rng) -> Dropout<F> {
        Dropout::new(self.p, rng)
    }
}

#[derive(Clone, Debug)]
pub struct Dropout<F> {
    pub p: f64,
    /// Reuse the last mask instead of drawing a new one (for gradient checks, which must
    /// see the same function on every forward pass).
    pub hold_mask: bool,
    rng: ChaCha8Rng,
    /// 0 or 1 / (1 - p) per value of the last training batch.
    mask: Array2<F>,
    /// Whether the last forward pass applied the mask (training) or passed values through.
    masked: bool,
    out: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> Dropout<F> {
    pub fn new(p: f64, rng: &mut impl Rng) -> Self {
        let empty = || Array2::zeros((0, 0));
        Self {
            p,
            hold_mask: false,
            rng: ChaCha8Rng::seed_from_u64(rng.random()),
            mask: empty(),
            masked: false,
            out: empty(),
            grad_in: empty(),
        }
    }

    pub fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        ensure_shape(&mut self.out, x.nrows(), x.ncols());
        self.masked = train;
        if !train {
            self.out.assign(&x);
            return;
        }
        if !(self.hold_mask && self.mask.dim() == x.dim()) {
            ensure_shape(&mut self.mask, x.nrows(), x.ncols());
            let keep = 1.0 - self.p;
            let scale = F::from_f64_lossy(1.0 / keep);
            let rng = &mut self.rng;
            self.mask.mapv_inplace(|_| {
                if rng.random::<f64>() < keep {
                    scale
                } else {
                    F::zero()
                }
            });
        }
        Zip::from(&mut self.out)
            .and(&x)
            .and(&self.mask)
            .for_each(|o, &v, &m| *o = v * m);
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    pub fn backward(&mut self, grad_out: ArrayView2<F>) {
        ensure_shape(&mut self.grad_in, grad_out.nrows(), grad_out.ncols());
        if !self.masked {
            self.grad_in.assign(&grad_out);
            return;
        }
        Zip::from(&mut self.grad_in)
            .and(&grad_out)
            .and(&self.mask)
            .for_each(|d, &g, &m| *d = g * m);
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}

impl<F: Float> LayerOps<F> for Dropout<F> {
    fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        Dropout::forward(self, x, train);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        Dropout::output(self)
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, _need_grad_in: bool) {
        Dropout::backward(self, grad_out);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        Dropout::grad_input(self)
    }
}
