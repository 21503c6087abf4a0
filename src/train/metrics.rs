//! Measures of a trained model.

use ndarray::{Array2, ArrayView1, ArrayView2};

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

/// The PSNR of every row of `reconstructions` against the same row of `originals`.
pub fn psnr_rows(originals: ArrayView2<f32>, reconstructions: ArrayView2<f32>) -> Vec<f64> {
    originals
        .rows()
        .into_iter()
        .zip(reconstructions.rows())
        .map(|(a, b)| psnr(a, b))
        .collect()
}

/// Counts of the finite `values` in `bins` equal bins spanning their range:
/// `(lower edge, bin width, counts)`. Empty counts when no value is finite.
pub fn histogram(values: &[f64], bins: usize) -> (f64, f64, Vec<usize>) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if bins == 0 || lo > hi {
        return (0.0, 0.0, Vec::new());
    }
    // A single value (or all equal) still gets a visible bin.
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0; bins];
    for v in finite {
        let bin = (((v - lo) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    (lo, width, counts)
}

/// Indices of the `n` smallest finite values, smallest first (ties by index).
pub fn lowest(values: &[f64], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    order.truncate(n);
    order
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

    #[test]
    fn psnr_rows_pairs_rows_and_mean_skips_perfect_copies() {
        let originals = array![[0.0f32, 1.0], [1.0, 1.0]];
        let recon = array![[0.0f32, 1.0], [0.9, 0.9]];
        let p = psnr_rows(originals.view(), recon.view());
        assert!(p[0].is_infinite());
        assert!((p[1] - 20.0).abs() < 1e-4);
        assert!((mean_finite(&p) - 20.0).abs() < 1e-4);
    }

    #[test]
    fn histogram_counts_finite_values_into_equal_bins() {
        let (lo, width, counts) = histogram(&[10.0, 11.0, 19.9, 20.0, f64::INFINITY], 2);
        assert_eq!((lo, width), (10.0, 5.0));
        assert_eq!(counts, vec![2, 2], "the maximum falls into the last bin");
        let (_, width, counts) = histogram(&[7.0, 7.0], 4);
        assert_eq!(width, 1.0);
        assert_eq!(counts.iter().sum::<usize>(), 2);
        assert!(histogram(&[f64::NAN], 3).2.is_empty());
    }

    #[test]
    fn lowest_picks_the_worst_finite_values_in_order() {
        let v = [12.0, f64::INFINITY, 9.0, 15.0, 9.0];
        assert_eq!(lowest(&v, 3), vec![2, 4, 0]);
        assert_eq!(
            lowest(&v, 10).len(),
            4,
            "infinite values are never the worst"
        );
    }
}
