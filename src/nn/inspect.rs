//! One sample followed through a network: every layer's output and, if asked, the
//! gradient of the most probable class's score with respect to it (the saliency map of
//! the input, extended to every layer). The Layers tab draws these.

use super::loss::{argmax, softmax_rows};
use super::{Layer, Network, Shape};
use ndarray::{Array2, Array4};

/// One layer's output for the inspected sample.
#[derive(Clone, Debug)]
pub struct LayerOutput {
    /// e.g. "Conv(8, 3x3)".
    pub label: String,
    pub shape: Shape,
    /// `shape.len()` values, `C x H x W` in row-major order.
    pub values: Vec<f32>,
    /// d(top class score) / d(this output), same layout as `values`.
    pub gradient: Option<Vec<f32>>,
    /// Convolutions only: the kernels, `[out, in, k, k]`; kernel `o` made map `o`.
    pub kernels: Option<Array4<f32>>,
}

/// A sample's way through the network.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub layers: Vec<LayerOutput>,
    /// Softmax of the last layer's output.
    pub probabilities: Vec<f32>,
    /// The most probable output, whose score the gradients are of.
    pub top: usize,
}

/// Runs `sample` (one row of the network's input) through `net` in inference mode; with
/// `gradients`, back-propagates the top output's score too.
pub fn inspect(
    net: &mut Network<f32>,
    sample: &[f32],
    gradients: bool,
) -> Result<Inspection, String> {
    let spec = net.spec().clone();
    let inputs = spec.input.len();
    if sample.len() != inputs {
        return Err(format!(
            "the sample has {} values but the network takes {inputs} ({}x{}x{})",
            sample.len(),
            spec.input.c,
            spec.input.h,
            spec.input.w
        ));
    }
    let shapes = spec.shapes()?;
    let x = Array2::from_shape_vec((1, inputs), sample.to_vec()).expect("length checked");
    let logits = net.forward(x.view(), false).to_owned();
    let top = argmax(logits.row(0));
    let probabilities = softmax_rows(logits.view()).row(0).to_vec();
    let mut layers: Vec<LayerOutput> = net
        .layers()
        .iter()
        .zip(&spec.layers)
        .zip(&shapes[1..])
        .map(|((layer, layer_spec), &shape)| LayerOutput {
            label: layer_spec.label(),
            shape,
            values: layer.output().iter().copied().collect(),
            gradient: None,
            kernels: match layer {
                Layer::Conv2d(c) => Some(
                    c.weight
                        .value
                        .clone()
                        .into_dimensionality()
                        .expect("a conv weight is [out, in, k, k]"),
                ),
                _ => None,
            },
        })
        .collect();
    if gradients {
        let mut pick = Array2::zeros(logits.raw_dim());
        pick[[0, top]] = 1.0;
        net.backward(x.view(), pick.view());
        // Layer i+1's input gradient is the gradient at layer i's output.
        let n = layers.len();
        for (i, out) in layers.iter_mut().enumerate() {
            out.gradient = Some(if i + 1 == n {
                pick.iter().copied().collect()
            } else {
                net.layers()[i + 1].grad_input().iter().copied().collect()
            });
        }
    }
    Ok(Inspection {
        layers,
        probabilities,
        top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Init, NetworkSpec};

    #[test]
    fn every_layer_is_reported_in_order_with_its_shape_and_the_last_gradient_is_the_pick() {
        let spec = NetworkSpec::cnn(Shape::image(1, 8, 8), 3);
        let mut net = Network::<f32>::new(spec.clone(), Init::Xavier, 1).unwrap();
        let sample: Vec<f32> = (0..64).map(|i| (i % 7) as f32 / 7.0).collect();
        let seen = inspect(&mut net, &sample, true).unwrap();
        assert_eq!(seen.layers.len(), spec.layers.len());
        assert_eq!(seen.layers[0].label, "Conv(8, 3x3)");
        assert_eq!(seen.layers[0].shape, Shape::image(8, 6, 6));
        assert_eq!(seen.layers[0].values.len(), 8 * 36);
        assert_eq!(seen.layers[0].kernels.as_ref().unwrap().dim(), (8, 1, 3, 3));
        assert!(seen.layers[1].kernels.is_none());
        let last = seen.layers.last().unwrap();
        let mut pick = [0.0; 3];
        pick[seen.top] = 1.0;
        assert_eq!(last.gradient.as_deref(), Some(&pick[..]));
        let sum: f32 = seen.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }

    #[test]
    fn the_gradient_at_a_hidden_layer_is_the_top_scores_weights_through_the_linear_layer() {
        // Dense(4) identity Dense(2): d(score_top)/d(hidden) is the top column of W2.
        let spec = NetworkSpec::mlp(3, &[4], Activation::Identity, 2);
        let mut net = Network::<f32>::new(spec, Init::Xavier, 2).unwrap();
        let seen = inspect(&mut net, &[0.5, -1.0, 2.0], true).unwrap();
        let Layer::Dense(d) = &net.layers()[2] else {
            panic!("third layer is dense")
        };
        let column: Vec<f32> = d.w().column(seen.top).to_vec();
        assert_eq!(seen.layers[1].gradient.as_deref(), Some(&column[..]));
    }

    #[test]
    fn a_sample_of_the_wrong_length_is_refused_with_the_expected_shape() {
        let spec = NetworkSpec::mlp(4, &[2], Activation::Relu, 2);
        let mut net = Network::<f32>::new(spec, Init::Xavier, 0).unwrap();
        let e = inspect(&mut net, &[1.0; 3], false).unwrap_err();
        assert!(e.contains("3 values") && e.contains("takes 4"), "{e}");
    }
}
