//! 2-D toy problems: the course's four Gaussian clusters and the playground's circles,
//! xor and spirals. Every generator is seeded, so a run on them is reproducible.

use super::{Dataset, Splits};
use crate::nn::Shape;
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

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
    let classes = (0..4).map(|c| format!("cluster {c}")).collect();
    points(classes, per_class, |class, _| {
        let (mean, var) = CLUSTERS[class];
        [0, 1].map(|d| {
            let n = Normal::new(mean[d], var[d].sqrt()).expect("positive variance");
            n.sample(&mut rng)
        })
    })
}

/// A disc (class 0) inside a ring (class 1).
pub fn circles(per_class: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let classes = vec!["inner".into(), "ring".into()];
    points(classes, per_class, |class, _| {
        let r = if class == 0 {
            rng.random_range(0.0..0.5)
        } else {
            rng.random_range(0.7..1.0)
        };
        let angle = rng.random_range(0.0..2.0 * PI);
        [r * angle.cos(), r * angle.sin()]
    })
}

/// Points in the four quadrants: class 0 where x and y have the same sign, class 1 where
/// they differ (no straight line separates them).
pub fn xor(per_class: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let classes = vec!["same sign".into(), "opposite signs".into()];
    points(classes, per_class, |class, _| {
        let sign = |positive: bool| if positive { 1.0 } else { -1.0 };
        let x_positive = rng.random_bool(0.5);
        let y_positive = x_positive == (class == 0);
        let mut coordinate = |positive| sign(positive) * rng.random_range(0.05..1.0);
        [coordinate(x_positive), coordinate(y_positive)]
    })
}

/// Two interleaved spiral arms, one per class, each turning 1.5 times around the centre.
pub fn spirals(per_class: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.04).expect("positive deviation");
    let classes = vec!["arm 0".into(), "arm 1".into()];
    points(classes, per_class, |class, i| {
        let t = (i as f64 + 0.5) / per_class as f64;
        let angle = 3.0 * PI * t + PI * class as f64;
        let r = 0.1 + 0.9 * t;
        [
            r * angle.cos() + noise.sample(&mut rng),
            r * angle.sin() + noise.sample(&mut rng),
        ]
    })
}

/// `per_class` points of every class from `point(class, i)`, class after class.
fn points(
    classes: Vec<String>,
    per_class: usize,
    mut point: impl FnMut(usize, usize) -> [f64; 2],
) -> Dataset {
    let n = classes.len() * per_class;
    let mut images = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    for class in 0..classes.len() {
        for i in 0..per_class {
            let p = point(class, i);
            let row = class * per_class + i;
            images[[row, 0]] = p[0] as f32;
            images[[row, 1]] = p[1] as f32;
            labels.push(class);
        }
    }
    Dataset {
        images,
        labels,
        classes,
        shape: Shape::flat(2),
    }
}

/// The 2-D problems the toy playground trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToyKind {
    /// The course's four Gaussian clusters.
    FourClusters,
    Circles,
    Xor,
    Spirals,
}

/// Points per split of a toy set.
const TRAIN_POINTS: usize = 200;
const HELD_OUT_POINTS: usize = 100;

impl ToyKind {
    pub const ALL: [ToyKind; 4] = [Self::FourClusters, Self::Circles, Self::Xor, Self::Spirals];

    pub fn name(self) -> &'static str {
        match self {
            Self::FourClusters => "four clusters",
            Self::Circles => "circles",
            Self::Xor => "xor",
            Self::Spirals => "spirals",
        }
    }

    pub fn class_count(self) -> usize {
        if self == Self::FourClusters { 4 } else { 2 }
    }

    /// About `points` points of this problem (evenly over its classes), drawn from `seed`.
    pub fn generate(self, points: usize, seed: u64) -> Dataset {
        let per_class = points / self.class_count();
        match self {
            Self::FourClusters => four_clusters(per_class, seed),
            Self::Circles => circles(per_class, seed),
            Self::Xor => xor(per_class, seed),
            Self::Spirals => spirals(per_class, seed),
        }
    }

    /// Train, validation and test points, standardised with the training split's mean and
    /// deviation per axis (the clusters' axes differ tenfold in scale, and a net learns
    /// slowly from inputs far from unit size).
    pub fn splits(self) -> Splits {
        let mut train = self.generate(TRAIN_POINTS, 1);
        let mut valid = self.generate(HELD_OUT_POINTS, 2);
        let mut test = self.generate(HELD_OUT_POINTS, 3);
        let mean = train.images.mean_axis(Axis(0)).expect("points");
        let std = train.images.std_axis(Axis(0), 0.0).mapv(|s| s.max(1e-6));
        for ds in [&mut train, &mut valid, &mut test] {
            ds.images = (&ds.images - &mean) / &std;
        }
        Splits {
            name: format!("toy: {}", self.name()),
            train,
            valid,
            test,
        }
    }
}
