//! Batch normalisation per channel of rows that hold `C x H x W` images.
//!
//! Training mode normalises with the batch's statistics (over all images and pixels of a
//! channel) and updates running averages; inference mode uses the running averages. The
//! running statistics are state, not trainable: they are stored as parameters with
//! `trainable = false` so model files keep them, and the optimiser and gradient check skip them.

use super::Float;
use super::buffer::ensure_shape;
use super::gemm::{dot, sum, sum_map};
use super::init::Init;
use super::layer_kind::{LayerKind, ParamShape, RowArgs};
use super::layer_ops::{LayerOps, layer_params};
use super::parallel::{self, planes_per_core};
use super::param::Param;
use super::shape::Shape;
use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Normalises each channel (batch statistics in training, running ones in inference). Its
/// row is `bn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchNorm2dSpec;

impl LayerKind for BatchNorm2dSpec {
    type Layer<F: Float> = BatchNorm2d<F>;
    const ROW_NAMES: &'static [&'static str] = &["bn"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(0, 0, "bn").map(|()| Self)
    }

    fn row_text(&self) -> String {
        "bn".into()
    }

    fn label(&self) -> String {
        "BatchNorm".into()
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        Ok(input)
    }

    /// Scale and shift are trained; the two running statistics are state.
    fn param_shapes(&self, input: Shape) -> Vec<ParamShape> {
        let c = vec![input.c];
        vec![
            ParamShape::trained("weight", c.clone()),
            ParamShape::trained("bias", c.clone()),
            ParamShape::state("running_mean", c.clone()),
            ParamShape::state("running_var", c),
        ]
    }

    fn build<F: Float>(&self, input: Shape, _: Shape, _: Init, _: &mut impl Rng) -> BatchNorm2d<F> {
        BatchNorm2d::new(input)
    }
}

/// Added to the variance before the square root (PyTorch's default).
pub(crate) const EPS: f64 = 1e-5;
/// Weight of the newest batch in the running statistics (PyTorch's default).
const MOMENTUM: f64 = 0.1;

#[derive(Clone, Debug)]
pub struct BatchNorm2d<F> {
    /// Scale per channel (gamma), starts at 1.
    pub weight: Param<F>,
    /// Shift per channel (beta), starts at 0.
    pub bias: Param<F>,
    pub running_mean: Param<F>,
    pub running_var: Param<F>,
    pub shape: Shape,
    /// The normalised input of the last forward pass.
    x_hat: Array2<F>,
    /// 1 / sqrt(var + eps) per channel as used by the last forward pass.
    inv_std: Vec<F>,
    trained: bool,
    out: Array2<F>,
    grad_in: Array2<F>,
}

/// A parameter that is saved but never trained.
fn state<F: Float>(value: Array1<F>) -> Param<F> {
    Param {
        trainable: false,
        ..Param::new(value.into_dyn())
    }
}

/// Per channel, the sum of `f(plane index, plane)` over its planes (a plane is one channel
/// of one image, `p` values); the planes are shared among the cores.
fn channel_sums<F: Float>(
    data: &[F],
    p: usize,
    c: usize,
    f: impl Fn(usize, &[F]) -> F + Sync + Send,
) -> Vec<F> {
    let mut per_plane = vec![F::zero(); data.len() / p.max(1)];
    let per = planes_per_core(per_plane.len(), p);
    let parts = data
        .chunks(per * p)
        .zip(per_plane.chunks_mut(per))
        .enumerate();
    parallel::for_each(parts, |(part, (planes, sums))| {
        for (i, (plane, s)) in planes.chunks_exact(p).zip(sums).enumerate() {
            *s = f(part * per + i, plane);
        }
    });
    let mut sums = vec![F::zero(); c];
    for (k, v) in per_plane.into_iter().enumerate() {
        sums[k % c] += v;
    }
    sums
}

impl<F: Float> BatchNorm2d<F> {
    pub fn new(shape: Shape) -> Self {
        let c = shape.c;
        let empty = || Array2::zeros((0, 0));
        Self {
            weight: Param::new(Array1::ones(c).into_dyn()),
            bias: Param::new(Array1::zeros(c).into_dyn()),
            running_mean: state(Array1::zeros(c)),
            running_var: state(Array1::ones(c)),
            shape,
            x_hat: empty(),
            inv_std: vec![F::one(); c],
            trained: false,
            out: empty(),
            grad_in: empty(),
        }
    }

    pub fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        let (n, c, p) = (x.nrows(), self.shape.c, self.shape.h * self.shape.w);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let mut mean = vec![F::zero(); c];
        if train {
            let count = F::from_usize(n * p).expect("small count");
            mean = channel_sums(xs, p, c, |_, plane| sum(plane));
            mean.iter_mut().for_each(|m| *m = *m / count);
            // Two passes (mean, then squared deviations) keep the variance accurate.
            let mut var = channel_sums(xs, p, c, |k, plane| {
                let m = mean[k % c];
                sum_map(plane, |v| (v - m) * (v - m))
            });
            var.iter_mut().for_each(|v| *v = *v / count);
            self.update_running(&mean, &var, n * p);
            for (s, &v) in self.inv_std.iter_mut().zip(&var) {
                *s = (v + F::from_f64_lossy(EPS)).sqrt().recip();
            }
        } else {
            mean.copy_from_slice(self.running_mean.value.as_slice().expect("contiguous"));
            let rv = self.running_var.value.as_slice().expect("contiguous");
            for (s, &v) in self.inv_std.iter_mut().zip(rv) {
                *s = (v + F::from_f64_lossy(EPS)).sqrt().recip();
            }
        }
        self.trained = train;
        ensure_shape(&mut self.x_hat, n, c * p);
        ensure_shape(&mut self.out, n, c * p);
        let gamma = self.weight.value.as_slice().expect("contiguous");
        let beta = self.bias.value.as_slice().expect("contiguous");
        let xh = self.x_hat.as_slice_mut().expect("owned");
        let out = self.out.as_slice_mut().expect("owned");
        let inv_std = &self.inv_std;
        let per = planes_per_core(xs.len() / p.max(1), p);
        let parts = xs
            .chunks(per * p)
            .zip(xh.chunks_mut(per * p))
            .zip(out.chunks_mut(per * p))
            .enumerate();
        parallel::for_each(parts, |(part, ((xs, xh), out))| {
            let planes = xs.chunks_exact(p).zip(xh.chunks_exact_mut(p));
            for (i, ((src, h), o)) in planes.zip(out.chunks_exact_mut(p)).enumerate() {
                let ch = (part * per + i) % c;
                let (m, s, g, b) = (mean[ch], inv_std[ch], gamma[ch], beta[ch]);
                for ((&v, h), o) in src.iter().zip(h.iter_mut()).zip(o.iter_mut()) {
                    *h = (v - m) * s;
                    *o = g * *h + b;
                }
            }
        });
    }

    /// Moves the running statistics towards this batch's (unbiased variance, as PyTorch).
    fn update_running(&mut self, mean: &[F], var: &[F], count: usize) {
        let mu = F::from_f64_lossy(MOMENTUM);
        let unbias = F::from_f64_lossy(count as f64 / (count.max(2) - 1) as f64);
        let rm = self.running_mean.value.as_slice_mut().expect("contiguous");
        for (r, &m) in rm.iter_mut().zip(mean) {
            *r = (F::one() - mu) * *r + mu * m;
        }
        let rv = self.running_var.value.as_slice_mut().expect("contiguous");
        for (r, &v) in rv.iter_mut().zip(var) {
            *r = (F::one() - mu) * *r + mu * v * unbias;
        }
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    pub fn backward(&mut self, grad_out: ArrayView2<F>, need_grad_in: bool) {
        let (n, c, p) = (grad_out.nrows(), self.shape.c, self.shape.h * self.shape.w);
        let grad_out = grad_out.as_standard_layout();
        let g = grad_out.as_slice().expect("standard layout");
        let xh = self.x_hat.as_slice().expect("owned");
        let dbeta = channel_sums(g, p, c, |_, plane| sum(plane));
        let dgamma = channel_sums(g, p, c, |k, plane| dot(plane, &xh[k * p..(k + 1) * p]));
        self.bias
            .grad
            .as_slice_mut()
            .expect("contiguous")
            .copy_from_slice(&dbeta);
        self.weight
            .grad
            .as_slice_mut()
            .expect("contiguous")
            .copy_from_slice(&dgamma);
        if !need_grad_in {
            return;
        }
        ensure_shape(&mut self.grad_in, n, c * p);
        let gamma = self.weight.value.as_slice().expect("contiguous");
        let count = F::from_usize(n * p).expect("small count");
        let gi = self.grad_in.as_slice_mut().expect("owned");
        let (inv_std, trained) = (&self.inv_std, self.trained);
        let per = planes_per_core(g.len() / p.max(1), p);
        let parts = g
            .chunks(per * p)
            .zip(xh.chunks(per * p))
            .zip(gi.chunks_mut(per * p))
            .enumerate();
        parallel::for_each(parts, |(part, ((g, xh), gi))| {
            let planes = g.chunks_exact(p).zip(xh.chunks_exact(p));
            for (i, ((dy, h), dx)) in planes.zip(gi.chunks_exact_mut(p)).enumerate() {
                let ch = (part * per + i) % c;
                let scale = gamma[ch] * inv_std[ch];
                if trained {
                    // dx = gamma / sigma * (dy - mean(dy) - x_hat * mean(dy * x_hat))
                    let (mb, mg) = (dbeta[ch] / count, dgamma[ch] / count);
                    for ((d, &y), &h) in dx.iter_mut().zip(dy).zip(h) {
                        *d = scale * (y - mb - h * mg);
                    }
                } else {
                    for (d, &y) in dx.iter_mut().zip(dy) {
                        *d = scale * y;
                    }
                }
            }
        });
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}

/// The running statistics are listed too (as `trainable = false`), so model files keep them.
impl<F: Float> LayerOps<F> for BatchNorm2d<F> {
    fn forward(&mut self, x: ArrayView2<F>, train: bool) {
        BatchNorm2d::forward(self, x, train);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        BatchNorm2d::output(self)
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        BatchNorm2d::backward(self, grad_out, need_grad_in);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        BatchNorm2d::grad_input(self)
    }
    layer_params!(weight, bias, running_mean, running_var);
}
