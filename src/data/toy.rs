//! The course's 2-D toy problem: four Gaussian clusters, ten points each.

use super::Dataset;
use crate::nn::Shape;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// (mean, variance) per axis of each cluster, as in the course's `run_q2.py`.
const CLUSTERS: [([f64; 2], [f64; 2]); 4] = [
    ([3.6, 40.0], [0.05, 10.0]),
    ([3.9, 10.0], [0.01, 5.0]),
    ([3.4, 30.0], [0.25, 5.0]),
    ([2.0, 10.0], [0.5, 10.0]),
];

/// `per_class` points from each of the four clusters, drawn from `seed`.
pub fn four_clusters(per_class: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut images = Array2::zeros((4 * per_class, 2));
    let mut labels = Vec::with_capacity(4 * per_class);
    for (class, (mean, var)) in CLUSTERS.iter().enumerate() {
        for i in 0..per_class {
            let row = class * per_class + i;
            for d in 0..2 {
                let n = Normal::new(mean[d], var[d].sqrt()).expect("positive variance");
                images[[row, d]] = n.sample(&mut rng) as f32;
            }
            labels.push(class);
        }
    }
    Dataset {
        images,
        labels,
        classes: (0..4).map(|c| format!("cluster {c}")).collect(),
        shape: Shape::flat(2),
    }
}
