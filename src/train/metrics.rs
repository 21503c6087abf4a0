//! Measures of a trained model.

use ndarray::{Array2, ArrayView1};

/// `counts[[true, predicted]]`.
pub fn confusion_matrix(truth: &[usize], predicted: &[usize], classes: usize) -> Array2<usize> {
    let mut m = Array2::zeros((classes, classes));
    for (&t, &p) in truth.iter().zip(predicted) {
        m[[t, p]] += 1;
    }
    m
}

/// The `n` largest off-diagonal cells as `(true, predicted, count)`, most first,
/// with a pair (a, b) and (b, a) counted together under the larger direction.
pub fn most_confused(m: &Array2<usize>, n: usize) -> Vec<(usize, usize, usize)> {
    let mut pairs = Vec::new();
    for a in 0..m.nrows() {
        for b in a + 1..m.ncols() {
            let total = m[[a, b]] + m[[b, a]];
            if total > 0 {
                let (t, p) = if m[[a, b]] >= m[[b, a]] {
                    (a, b)
                } else {
                    (b, a)
                };
                pairs.push((t, p, total));
            }
        }
    }
    pairs.sort_by(|x, y| y.2.cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    pairs.truncate(n);
    pairs
}

/// Peak signal-to-noise ratio in dB for pixel values with peak 1.0.
/// A perfect reconstruction gives `f64::INFINITY`.
pub fn psnr(original: ArrayView1<f32>, reconstruction: ArrayView1<f32>) -> f64 {
    let mse = original
        .iter()
        .zip(reconstruction)
        .map(|(&a, &b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / original.len().max(1) as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// Mean of the finite values (a perfect reconstruction's infinite PSNR would swamp it);
/// infinite when every value is infinite.
pub fn mean_finite(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() && !values.is_empty() {
        return f64::INFINITY;
    }
    finite.iter().sum::<f64>() / finite.len().max(1) as f64
}

/// The course's reconstruction view: `per_class` samples from each of the first `classes`
/// classes that occur in `labels` (evenly spread over the class list), in class order.
pub fn reconstruction_picks(labels: &[usize], classes: usize, per_class: usize) -> Vec<usize> {
    let present: std::collections::BTreeSet<usize> = labels.iter().copied().collect();
    let present: Vec<usize> = present.into_iter().collect();
    let step = (present.len() / classes.max(1)).max(1);
    let chosen: Vec<usize> = present
        .iter()
        .step_by(step)
        .take(classes)
        .copied()
        .collect();
    chosen
        .iter()
        .flat_map(|&c| {
            labels
                .iter()
                .enumerate()
                .filter(move |(_, l)| **l == c)
                .map(|(i, _)| i)
                .take(per_class)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn confusion_counts_and_pairs() {
        let m = confusion_matrix(&[0, 0, 1, 1, 2], &[0, 1, 0, 0, 2], 3);
        assert_eq!(m[[1, 0]], 2);
        assert_eq!(most_confused(&m, 5), vec![(1, 0, 3)]);
    }

    #[test]
    fn psnr_of_perfect_copy_is_infinite() {
        let a = array![0.0f32, 1.0, 0.5];
        assert!(psnr(a.view(), a.view()).is_infinite());
        let b = array![0.1f32, 0.9, 0.6];
        assert!((psnr(a.view(), b.view()) - 20.0).abs() < 1e-4);
    }
}
