//! Numerical gradient check: central differences over every trainable parameter, in f64.
//! State such as batch norm's running statistics (`trainable = false`) has no gradient
//! and is skipped.

use super::{Loss, Network};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct TensorCheck {
    /// e.g. "layers.0.weight".
    pub name: String,
    /// Index of the layer that owns the tensor.
    pub layer: usize,
    pub relative_error: f64,
    /// ||analytic - numeric||.
    pub absolute_error: f64,
}

impl TensorCheck {
    /// Below this absolute error the difference is the rounding noise of the central
    /// difference (a few 1e-9 per entry at eps 1e-6): a tensor whose true gradient is zero,
    /// such as a bias right before batch norm, has a large relative error of pure noise.
    pub const NOISE: f64 = 1e-7;

    pub fn passed(&self) -> bool {
        self.relative_error < GradCheckReport::TOLERANCE || self.absolute_error < Self::NOISE
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    pub tensors: Vec<TensorCheck>,
    /// ||analytic - numeric|| / (||analytic|| + ||numeric||) over all parameters at once.
    pub total: f64,
}

impl GradCheckReport {
    pub const TOLERANCE: f64 = 1e-4;
    pub fn passed(&self) -> bool {
        self.total < Self::TOLERANCE && self.total.is_finite()
    }
}

/// Denominator floor: a tensor whose true gradient is exactly zero (e.g. a bias that feeds
/// batch norm) would otherwise divide rounding noise by zero.
const FLOOR: f64 = 1e-8;

/// Relative and absolute error of analytic against numeric gradients.
fn errors(pairs: &[(f64, f64)]) -> (f64, f64) {
    let (mut diff, mut a, mut n) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        diff += (x - y) * (x - y);
        a += x * x;
        n += y * y;
    }
    let diff = diff.sqrt();
    (diff / (a.sqrt() + n.sqrt()).max(FLOOR), diff)
}

/// Compares back-propagated gradients with central differences (step `eps`) of `loss`
/// on the batch `x` / `target`, for every parameter of `net`.
pub fn check_gradients(
    net: &mut Network<f64>,
    loss: Loss,
    x: ArrayView2<f64>,
    target: ArrayView2<f64>,
    eps: f64,
) -> GradCheckReport {
    check_gradient_sample(net, loss, x, target, eps, usize::MAX, 0)
}

/// [`check_gradients`] on at most `per_tensor` entries of each tensor, drawn from `seed`
/// (a big network's full check costs two forward passes per parameter).
pub fn check_gradient_sample(
    net: &mut Network<f64>,
    loss: Loss,
    x: ArrayView2<f64>,
    target: ArrayView2<f64>,
    eps: f64,
    per_tensor: usize,
    seed: u64,
) -> GradCheckReport {
    let mut grad = Array2::zeros((0, 0));
    let out = net.forward(x, true).to_owned();
    loss.evaluate(out.view(), target, &mut grad);
    net.backward(x, grad.view());
    compare_gradients(net, loss, x, target, eps, per_tensor, seed)
}

/// Compares the gradients stored in `net` (those of the caller's backward pass on `x` /
/// `target`) with central differences, as [`check_gradient_sample`] does after its own
/// backward pass.
pub fn compare_gradients(
    net: &mut Network<f64>,
    loss: Loss,
    x: ArrayView2<f64>,
    target: ArrayView2<f64>,
    eps: f64,
    per_tensor: usize,
    seed: u64,
) -> GradCheckReport {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let eval = |net: &mut Network<f64>| {
        let mut g = Array2::zeros((0, 0));
        let out = net.forward(x, true).to_owned();
        loss.evaluate(out.view(), target, &mut g).loss
    };

    let names: Vec<(usize, &'static str, bool)> = net
        .params()
        .iter()
        .map(|(i, n, p)| (*i, *n, p.trainable))
        .collect();
    let mut all = Vec::new();
    let mut tensors = Vec::new();
    for (k, (layer, name, trainable)) in names.into_iter().enumerate() {
        if !trainable {
            continue;
        }
        let len = net.params()[k].2.value.len();
        let entries = if len <= per_tensor {
            (0..len).collect()
        } else {
            rand::seq::index::sample(&mut rng, len, per_tensor).into_vec()
        };
        let mut pairs = Vec::with_capacity(entries.len());
        for j in entries {
            let analytic = net.params()[k].2.grad.as_slice().expect("contiguous")[j];
            let numeric = {
                let original = param_entry(net, k, j);
                set_param_entry(net, k, j, original + eps);
                let plus = eval(net);
                set_param_entry(net, k, j, original - eps);
                let minus = eval(net);
                set_param_entry(net, k, j, original);
                (plus - minus) / (2.0 * eps)
            };
            pairs.push((analytic, numeric));
        }
        let (relative_error, absolute_error) = errors(&pairs);
        tensors.push(TensorCheck {
            name: format!("layers.{layer}.{name}"),
            layer,
            relative_error,
            absolute_error,
        });
        all.extend(pairs);
    }
    GradCheckReport {
        tensors,
        total: errors(&all).0,
    }
}

/// Element `j` of parameter tensor `k` (in [`Network::params`] order).
fn param_entry(net: &Network<f64>, k: usize, j: usize) -> f64 {
    net.params()[k].2.value.as_slice().expect("contiguous")[j]
}

/// Sets element `j` of parameter tensor `k` to `value`.
fn set_param_entry(net: &mut Network<f64>, k: usize, j: usize, value: f64) {
    let mut seen = 0;
    net.for_each_param(|_, _, p| {
        if seen == k {
            p.value.as_slice_mut().expect("contiguous")[j] = value;
        }
        seen += 1;
    });
}
