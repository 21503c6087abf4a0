//! Plot series that stay small however long a run gets, and the display-only smoothing.
//!
//! egui_plot copies every point of every line each frame, so a series keeps a recent
//! window at full resolution and folds older points into min/max buckets: the shape of
//! the whole history survives (spikes included) in a bounded number of points.

use std::collections::VecDeque;

/// Points kept at full resolution.
const RECENT: usize = 500;
/// Most points kept for the older part of the history.
const COARSE: usize = 500;

#[derive(Clone, Debug, Default)]
pub struct BoundedSeries {
    /// Older points, min and max of each bucket (in x order).
    coarse: Vec<[f64; 2]>,
    recent: VecDeque<[f64; 2]>,
    /// How many original points each coarse pair stands for.
    bucket: usize,
    /// All points ever pushed.
    count: usize,
    /// `points()` rebuilt lazily after a push.
    joined: Vec<[f64; 2]>,
    dirty: bool,
}

impl BoundedSeries {
    pub fn push(&mut self, x: f64, y: f64) {
        self.recent.push_back([x, y]);
        self.count += 1;
        self.dirty = true;
        if self.recent.len() > 2 * RECENT {
            self.bucket = self.bucket.max(2);
            let old: Vec<[f64; 2]> = self.recent.drain(..RECENT).collect();
            self.coarse
                .extend(old.chunks(self.bucket).flat_map(min_max));
            if self.coarse.len() > COARSE {
                // Each pair of buckets becomes one: min and max of four points.
                self.coarse = self.coarse.chunks(4).flat_map(min_max).collect();
                self.bucket *= 2;
            }
        }
    }

    /// Number of points pushed (not kept).
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn last(&self) -> Option<[f64; 2]> {
        self.recent.back().copied()
    }

    /// The points to draw, oldest first; at most about `COARSE + 2 * RECENT`.
    pub fn points(&mut self) -> &[[f64; 2]] {
        if self.dirty {
            self.joined.clear();
            self.joined
                .extend(self.coarse.iter().chain(self.recent.iter()));
            self.dirty = false;
        }
        &self.joined
    }
}

/// The lowest and the highest point of `chunk`, in x order.
fn min_max(chunk: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let lo = chunk
        .iter()
        .copied()
        .reduce(|a, b| if b[1] < a[1] { b } else { a });
    let hi = chunk
        .iter()
        .copied()
        .reduce(|a, b| if b[1] > a[1] { b } else { a });
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo == hi => vec![lo],
        (Some(lo), Some(hi)) if lo[0] <= hi[0] => vec![lo, hi],
        (Some(lo), Some(hi)) => vec![hi, lo],
        _ => Vec::new(),
    }
}

/// TensorBoard's smoothing: an exponential moving average with weight in `[0, 1)`,
/// debiased so the first points are not pulled towards zero. Non-finite points are
/// passed through and do not disturb the average.
pub fn smooth(points: &[[f64; 2]], weight: f64) -> Vec<[f64; 2]> {
    let weight = weight.clamp(0.0, 0.999);
    let mut last = 0.0;
    let mut steps = 0;
    points
        .iter()
        .map(|&[x, y]| {
            if !y.is_finite() {
                return [x, y];
            }
            last = last * weight + (1.0 - weight) * y;
            steps += 1;
            let debias = 1.0 - weight.powi(steps);
            [x, if debias > 0.0 { last / debias } else { y }]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_extremes() {
        let mut s = BoundedSeries::default();
        for i in 0..100_000 {
            let y = if i == 1234 { 1e6 } else { (i % 7) as f64 };
            s.push(i as f64, y);
        }
        let p = s.points();
        assert!(p.len() <= COARSE + 2 * RECENT, "{} points", p.len());
        assert!(p.windows(2).all(|w| w[0][0] <= w[1][0]), "x stays ordered");
        assert!(
            p.iter().any(|q| q[1] == 1e6),
            "the spike survives downsampling"
        );
        assert_eq!(p.last().unwrap()[0], 99_999.0, "the newest point is kept");
        assert_eq!(s.count(), 100_000);
    }

    #[test]
    fn smoothing_is_debiased_and_zero_weight_is_identity() {
        let pts: Vec<[f64; 2]> = (0..5).map(|i| [i as f64, 3.0]).collect();
        for (s, p) in smooth(&pts, 0.9).iter().zip(&pts) {
            assert!(
                (s[1] - p[1]).abs() < 1e-12,
                "a constant stays constant from the first point"
            );
        }
        let noisy = vec![[0.0, 1.0], [1.0, 3.0]];
        assert_eq!(smooth(&noisy, 0.0), noisy);
        let s = smooth(&noisy, 0.5);
        assert!((s[1][1] - (0.5 * 0.5 * 1.0 + 0.5 * 3.0) / 0.75).abs() < 1e-12);
    }
}
