//! Layer health at an epoch's end: how each layer's outputs and gradients look. Makes the
//! vanishing gradients of deep sigmoid networks, dead ReLUs and saturated units visible.

use crate::nn::{Activation, Layer, Network};
use ndarray::{ArrayView2, s};

/// Validation images the activation statistics are taken on (the first ones).
pub const SAMPLES: usize = 256;
/// A sigmoid or tanh output this close to a bound counts as saturated.
pub const SATURATION_MARGIN: f32 = 0.02;

/// One layer's statistics; each is `None` where it does not apply to the layer's kind.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerHealth {
    /// Index in the network.
    pub layer: usize,
    /// e.g. "relu" or "Dense(64)".
    pub label: String,
    /// Activation layers: mean and standard deviation of the outputs.
    pub mean: Option<f64>,
    pub spread: Option<f64>,
    /// ReLU: fraction of units never active on the images; sigmoid and tanh: fraction of
    /// outputs within [`SATURATION_MARGIN`] of a bound.
    pub inactive: Option<f64>,
    /// Dense and convolution layers: L2 norm of the weight gradient of the last batch.
    pub grad_norm: Option<f64>,
}

/// The health of every activation, dense and convolution layer of `net`, the activations
/// measured on `images` (at most [`SAMPLES`] rows, in inference mode).
pub fn layer_health(net: &mut Network<f32>, images: ArrayView2<f32>) -> Vec<LayerHealth> {
    let rows = images.nrows().min(SAMPLES);
    if rows > 0 {
        net.forward(images.slice(s![..rows, ..]), false);
    }
    let labels: Vec<String> = net.spec().layers.iter().map(|l| l.label()).collect();
    net.layers()
        .iter()
        .zip(labels)
        .enumerate()
        .filter_map(|(i, (layer, label))| {
            let mut h = LayerHealth {
                layer: i,
                label,
                mean: None,
                spread: None,
                inactive: None,
                grad_norm: None,
            };
            match layer {
                Layer::Activation(a) if rows > 0 => {
                    let out = layer.output();
                    let (mean, spread) = mean_spread(out);
                    (h.mean, h.spread) = (Some(mean), Some(spread));
                    h.inactive = inactive(a.f, out);
                }
                Layer::Dense(d) => h.grad_norm = Some(norm(d.weight.grad.iter())),
                Layer::Conv2d(c) => h.grad_norm = Some(norm(c.weight.grad.iter())),
                _ => return None,
            }
            Some(h)
        })
        .collect()
}

fn norm<'a>(values: impl Iterator<Item = &'a f32>) -> f64 {
    values.map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()
}

fn mean_spread(out: ArrayView2<f32>) -> (f64, f64) {
    let n = out.len().max(1) as f64;
    let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = out
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// The dead or saturated fraction of an activation's outputs (one image per row).
fn inactive(f: Activation, out: ArrayView2<f32>) -> Option<f64> {
    let fraction = |count: usize, of: usize| count as f64 / of.max(1) as f64;
    let saturated = |lo: f32, hi: f32| {
        let near = out
            .iter()
            .filter(|&&v| v <= lo + SATURATION_MARGIN || v >= hi - SATURATION_MARGIN)
            .count();
        fraction(near, out.len())
    };
    match f {
        Activation::Relu => {
            let dead = out
                .columns()
                .into_iter()
                .filter(|c| c.iter().all(|&v| v <= 0.0));
            Some(fraction(dead.count(), out.ncols()))
        }
        Activation::Sigmoid => Some(saturated(0.0, 1.0)),
        Activation::Tanh => Some(saturated(-1.0, 1.0)),
        Activation::Identity => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Init, NetworkSpec};
    use ndarray::Array2;

    #[test]
    fn statistics_of_a_zero_initialised_mlp_are_those_of_its_constant_outputs() {
        // Zero weights: every dense output is 0, sigmoid(0) = 0.5, ReLU(0) = 0 (all dead).
        let spec = NetworkSpec::mlp(3, &[4], Activation::Sigmoid, 2);
        let mut net = Network::<f32>::new(spec, Init::Zero, 0).unwrap();
        let images = Array2::from_elem((5, 3), 1.0);
        let h = layer_health(&mut net, images.view());
        let labels: Vec<&str> = h.iter().map(|h| h.label.as_str()).collect();
        assert_eq!(labels, ["Dense(4)", "sigmoid", "Dense(2)"]);
        assert_eq!(h[1].mean, Some(0.5));
        assert_eq!(h[1].spread, Some(0.0));
        assert_eq!(h[1].inactive, Some(0.0), "0.5 is far from both bounds");
        assert_eq!(h[0].grad_norm, Some(0.0));
        assert!(h[0].mean.is_none());

        let spec = NetworkSpec::mlp(3, &[4], Activation::Relu, 2);
        let mut net = Network::<f32>::new(spec, Init::Zero, 0).unwrap();
        let h = layer_health(&mut net, images.view());
        assert_eq!(h[1].inactive, Some(1.0), "every ReLU is dead");
    }

    #[test]
    fn saturation_counts_outputs_near_either_bound_and_dead_units_are_never_active() {
        let out = Array2::from_shape_vec((2, 3), vec![0.01, 0.5, 0.99, 0.3, 0.985, 0.2]).unwrap();
        assert_eq!(inactive(Activation::Sigmoid, out.view()), Some(3.0 / 6.0));
        let out = Array2::from_shape_vec((2, 3), vec![0.0, 1.0, 0.0, 0.0, 0.0, 2.0]).unwrap();
        assert_eq!(inactive(Activation::Relu, out.view()), Some(1.0 / 3.0));
        assert_eq!(inactive(Activation::Identity, out.view()), None);
    }
}
