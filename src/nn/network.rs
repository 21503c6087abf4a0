//! A network is a stack of layers built from a [`NetworkSpec`].

use super::{Float, Init, Layer, NetworkSpec, Param};
use anyhow::{Result, anyhow};
use ndarray::{Array2, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct Network<F> {
    spec: NetworkSpec,
    layers: Vec<Layer<F>>,
}

impl<F: Float> Network<F> {
    /// Builds the layers of `spec`, drawing initial weights from `seed`.
    pub fn new(spec: NetworkSpec, init: Init, seed: u64) -> Result<Self> {
        let shapes = spec.shapes().map_err(|e| anyhow!("invalid network: {e}"))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = spec
            .layers
            .iter()
            .zip(&shapes)
            .map(|(l, &input)| Layer::new(l, input, init, &mut rng))
            .collect();
        Ok(Self { spec, layers })
    }

    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    pub fn layers(&self) -> &[Layer<F>] {
        &self.layers
    }

    pub fn layers_mut(&mut self) -> &mut [Layer<F>] {
        &mut self.layers
    }

    /// Runs the batch `x` (one sample per row) through every layer; returns the last output.
    pub fn forward(&mut self, x: ArrayView2<F>, train: bool) -> ArrayView2<'_, F> {
        for i in 0..self.layers.len() {
            let (done, rest) = self.layers.split_at_mut(i);
            let input = if i == 0 {
                x.view()
            } else {
                done[i - 1].output()
            };
            rest[0].forward(input, train);
        }
        self.layers.last().expect("a network has layers").output()
    }

    /// Back-propagates dLoss/dOutput through the layers of the last forward pass on `x`,
    /// leaving each parameter's gradient (summed over the batch) in its `grad`.
    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>) {
        let n = self.layers.len();
        for i in (0..n).rev() {
            let (before, rest) = self.layers.split_at_mut(i);
            let (layer, after) = rest.split_first_mut().expect("i < n");
            let input = if i == 0 {
                x.view()
            } else {
                before[i - 1].output()
            };
            let grad = if i + 1 == n {
                grad_out.view()
            } else {
                after[0].grad_input()
            };
            // The first layer's input gradient would be d/d(pixels): nobody needs it.
            layer.backward(input, grad, i > 0);
        }
    }

    /// The gradient of the loss with respect to the input of the last backward pass
    /// (for saliency maps); recomputes the first layer's input gradient.
    pub fn input_gradient(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>) -> Array2<F> {
        self.backward(x, grad_out);
        let n = self.layers.len();
        let grad = if n == 1 {
            grad_out.to_owned()
        } else {
            self.layers[1].grad_input().to_owned()
        };
        self.layers[0].backward(x, grad.view(), true);
        self.layers[0].grad_input().to_owned()
    }

    /// Outputs for many samples, `chunk` rows at a time, in inference mode.
    pub fn predict(&mut self, x: ArrayView2<F>, chunk: usize) -> Array2<F> {
        let out_len = self.spec.output().map(|s| s.len()).unwrap_or(0);
        let mut out = Array2::zeros((x.nrows(), out_len));
        let chunk = chunk.max(1);
        for start in (0..x.nrows()).step_by(chunk) {
            let end = (start + chunk).min(x.nrows());
            let y = self.forward(x.slice(s![start..end, ..]), false);
            out.slice_mut(s![start..end, ..]).assign(&y);
        }
        out
    }

    /// Visits every parameter as `(layer index, name, param)`.
    pub fn for_each_param(&mut self, mut f: impl FnMut(usize, &'static str, &mut Param<F>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            for (name, p) in layer.params_mut() {
                f(i, name, p);
            }
        }
    }

    /// Every parameter tensor as `(layer index, name, param)`, in visiting order.
    pub fn params(&self) -> Vec<(usize, &'static str, &Param<F>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.params().into_iter().map(move |(n, p)| (i, n, p)))
            .collect()
    }

    /// The same network in another float type (f32 <-> f64).
    pub fn cast<G: Float>(&self) -> Network<G> {
        let mut other =
            Network::<G>::new(self.spec.clone(), Init::Zero, 0).expect("spec was valid for self");
        let source = self.params();
        let mut k = 0;
        other.for_each_param(|_, _, p| {
            let src = source[k].2;
            p.value = src.value.mapv(|v| G::from_f64_lossy(v.to_f64_lossy()));
            p.trainable = src.trainable;
            k += 1;
        });
        other
    }
}

/// Index of the largest value in each row.
pub fn argmax_rows<F: Float>(x: ArrayView2<F>) -> Vec<usize> {
    x.axis_iter(Axis(0)).map(super::loss::argmax).collect()
}
