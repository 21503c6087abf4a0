//! The autoencoder's code: what the middle hidden layer makes of each image, and a 2-D
//! view of it by principal component analysis.

use crate::nn::{Layer, Network};
use ndarray::{Array1, Array2, ArrayView2, Axis, s};

/// Index of the layer whose output is the code: the activation of the middle hidden
/// layer (the second of three in the course's 1024-32-32-32-1024). `None` when the
/// network has no hidden layer.
pub fn code_layer(net: &Network<f32>) -> Option<usize> {
    let layers = net.layers();
    // Hidden activations are those followed by another dense layer.
    let hidden: Vec<usize> = (0..layers.len())
        .filter(|&i| matches!(layers[i], Layer::Activation(_)))
        .filter(|&i| layers[i + 1..].iter().any(|l| matches!(l, Layer::Dense(_))))
        .collect();
    hidden.get(hidden.len() / 2).copied()
}

/// The code of every row of `images` (one row per image), or `None` without a hidden layer.
pub fn codes(net: &mut Network<f32>, images: ArrayView2<f32>) -> Option<Array2<f32>> {
    const CHUNK: usize = 512;
    let layer = code_layer(net)?;
    let mut out: Option<Array2<f32>> = None;
    for start in (0..images.nrows()).step_by(CHUNK) {
        let end = (start + CHUNK).min(images.nrows());
        net.forward(images.slice(s![start..end, ..]), false);
        let code = net.layers()[layer].output();
        out.get_or_insert_with(|| Array2::zeros((images.nrows(), code.ncols())))
            .slice_mut(s![start..end, ..])
            .assign(&code);
    }
    out
}

/// Projects the rows of `x` onto their first two principal components (`n x 2`). Each
/// component's sign is fixed so its largest entry is positive, so the view does not flip
/// between two snapshots of a slowly changing code. A direction without variance
/// projects to 0.
pub fn pca_2d(x: ArrayView2<f32>) -> Array2<f32> {
    let x = x.mapv(f64::from);
    let n = x.nrows().max(1) as f64;
    let centered = match x.mean_axis(Axis(0)) {
        Some(mean) => &x - &mean,
        None => return Array2::zeros((0, 2)),
    };
    let mut covariance = centered.t().dot(&centered) / n;
    let mut projection = Array2::zeros((x.nrows(), 2));
    for k in 0..2 {
        let (value, vector) = leading_eigenvector(&covariance);
        if value <= 1e-12 {
            break;
        }
        projection
            .column_mut(k)
            .assign(&centered.dot(&vector).mapv(|v| v as f32));
        // Deflate: remove this component so the next iteration finds the following one.
        let outer = vector
            .view()
            .insert_axis(Axis(1))
            .dot(&vector.view().insert_axis(Axis(0)));
        covariance = covariance - outer * value;
    }
    projection
}

/// The largest eigenvalue of the symmetric positive semi-definite `m` and its unit
/// eigenvector (power iteration from a fixed start, so results are reproducible).
fn leading_eigenvector(m: &Array2<f64>) -> (f64, Array1<f64>) {
    let d = m.nrows();
    let mut v = Array1::from_shape_fn(d, |i| 1.0 + i as f64 / d.max(1) as f64);
    v /= v.dot(&v).sqrt().max(1e-300);
    let mut value = 0.0;
    for _ in 0..500 {
        let next = m.dot(&v);
        let norm = next.dot(&next).sqrt();
        if norm <= 1e-300 {
            return (0.0, v);
        }
        let next = next / norm;
        let change = (&next - &v).mapv(f64::abs).sum();
        v = next;
        value = norm;
        if change < 1e-12 {
            break;
        }
    }
    let largest = v
        .iter()
        .copied()
        .fold(0.0, |a: f64, b| if b.abs() > a.abs() { b } else { a });
    if largest < 0.0 {
        v.mapv_inplace(|x| -x);
    }
    (value, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Init, NetworkSpec};
    use ndarray::{Array2, array};

    #[test]
    fn pca_finds_the_direction_of_largest_spread_first() {
        // Points spread widely along (1, 1, 0), a little along (0, 0, 1).
        let x = Array2::from_shape_fn((40, 3), |(i, j)| {
            let t = i as f32 - 20.0;
            // Signs + - - + repeating: uncorrelated with t, so the axes stay the components.
            let small = if matches!(i % 4, 0 | 3) { 0.5 } else { -0.5 };
            [t, t, small][j] + 3.0
        });
        let p = pca_2d(x.view());
        assert_eq!(p.dim(), (40, 2));
        let norm = 2f32.sqrt();
        for i in 0..40 {
            let t = i as f32 - 20.0;
            // Centered projection on (1,1,0)/sqrt 2: the mean of t is -0.5.
            assert!((p[[i, 0]] - (t + 0.5) * norm).abs() < 1e-3, "{}", p[[i, 0]]);
            assert!((p[[i, 1]].abs() - 0.5).abs() < 1e-3, "{}", p[[i, 1]]);
        }
    }

    #[test]
    fn pca_without_variance_projects_to_zero() {
        let x = array![[1.0f32, 2.0], [1.0, 2.0], [1.0, 2.0]];
        assert!(pca_2d(x.view()).iter().all(|&v| v == 0.0));
        let line = array![[0.0f32, 0.0], [1.0, 0.0], [2.0, 0.0]];
        let p = pca_2d(line.view());
        assert_eq!(p.column(0).to_vec(), vec![-1.0, 0.0, 1.0]);
        assert!(
            p.column(1).iter().all(|&v| v == 0.0),
            "only one direction varies"
        );
    }

    #[test]
    fn the_code_is_the_middle_hidden_layer() {
        let config = crate::train::RunConfig {
            hidden: 4,
            depth: 3,
            ..crate::train::RunConfig::autoencoder()
        };
        let spec = config.network_spec(crate::nn::Shape::flat(16), 0).unwrap();
        let mut net = Network::<f32>::new(spec, Init::Xavier, 1).unwrap();
        // Dense, ReLU, Dense, ReLU, Dense, ReLU, Dense, Sigmoid: the second ReLU.
        assert_eq!(code_layer(&net), Some(3));
        let images = Array2::from_elem((3, 16), 0.5f32);
        let c = codes(&mut net, images.view()).unwrap();
        assert_eq!(c.dim(), (3, 4));
        assert!(c.iter().all(|&v| v >= 0.0), "ReLU outputs");
        let linear = Network::<f32>::new(
            NetworkSpec::mlp(16, &[], crate::nn::Activation::Relu, 16),
            Init::Xavier,
            1,
        )
        .unwrap();
        assert_eq!(code_layer(&linear), None);
    }
}
