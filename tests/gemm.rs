//! The f32 GEMM kernels against ndarray's general product, on every kernel this CPU runs
//! (AVX-512 and AVX2: the one `NNLAB_NO_AVX512=1` forces), over the shapes and layouts
//! the engine passes them: tails of every width, transposed operands, `beta`, a bias.

use ndarray::{Array1, Array2, ArrayView2};
use nnlab::nn::gemm::{add_product_with, gemm_with};
use nnlab::nn::gemm_f32::Isa;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

/// The kernels this CPU can run; says which it cannot, so a skipped path is visible.
fn kernels() -> Vec<Isa> {
    let (run, skip): (Vec<Isa>, Vec<Isa>) = Isa::ALL.into_iter().partition(|i| i.supported());
    if !skip.is_empty() {
        eprintln!("this CPU cannot run {skip:?}: those kernels are not tested here");
    }
    run
}

/// The storage of an `rows x cols` operand: that shape, or its transpose when the operand
/// is to be read transposed.
fn operand(rows: usize, cols: usize, transposed: bool, rng: &mut ChaCha8Rng) -> Array2<f32> {
    if transposed {
        random(cols, rows, rng)
    } else {
        random(rows, cols, rng)
    }
}

fn view(x: &Array2<f32>, transposed: bool) -> ArrayView2<'_, f32> {
    if transposed { x.t() } else { x.view() }
}

/// Runs `c = a b + beta c (+ bias)` on `isa` and on the general path; returns the largest
/// difference relative to the sum of the magnitudes of the terms.
#[allow(clippy::too_many_arguments)]
fn compare(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    a_t: bool,
    b_t: bool,
    beta: f32,
    with_bias: bool,
    rng: &mut ChaCha8Rng,
) -> f32 {
    let a = operand(m, k, a_t, rng);
    let b = operand(k, n, b_t, rng);
    let (a, b) = (view(&a, a_t), view(&b, b_t));
    let bias = Array1::from_shape_simple_fn(n, || rng.random_range(-1.0..1.0));
    let bias = with_bias.then(|| bias.view());
    let start = random(m, n, rng);
    let mut fast = start.clone();
    let mut general = start.clone();
    gemm_with(
        Some(isa),
        1.0,
        &a,
        &b,
        beta,
        bias.as_ref(),
        &mut fast.view_mut(),
    );
    gemm_with(
        None,
        1.0,
        &a,
        &b,
        beta,
        bias.as_ref(),
        &mut general.view_mut(),
    );
    let scale = k as f32 + 2.0; // |a b| <= k, |beta c| + |bias| <= 2
    fast.iter()
        .zip(&general)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f32::max)
}

#[test]
fn kernels_match_the_general_product_on_every_shape() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for isa in kernels() {
        for m in [1, 2, 3, 5, 6, 7, 13, 32] {
            for n in [1, 7, 8, 9, 16, 17, 36, 48, 63, 64, 65, 100] {
                for k in [0, 1, 3, 64, 300] {
                    for (a_t, b_t) in [(false, false), (true, false), (false, true)] {
                        let beta = [0.0, 1.0, 0.5][(m + n + k) % 3];
                        let bias = (m + k) % 2 == 0;
                        let err = compare(isa, (m, n, k), a_t, b_t, beta, bias, &mut rng);
                        assert!(
                            err < 1e-6,
                            "{isa:?} m {m} n {n} k {k} a_t {a_t} b_t {b_t} beta {beta} \
                             bias {bias}: relative error {err:e}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_product_shared_by_the_cores_matches_too() {
    // 10,800 x 1,024 x 64 is the forward pass D; a quarter of it is enough to be split.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for isa in kernels() {
        let err = compare(isa, (2700, 64, 1024), false, false, 0.0, true, &mut rng);
        assert!(err < 1e-6, "{isa:?}: relative error {err:e}");
        let err = compare(isa, (1024, 64, 128), true, false, 0.0, false, &mut rng);
        assert!(err < 1e-6, "{isa:?}: relative error {err:e}");
    }
}

/// The general product shared by the cores, by rows or by columns, gives the bits of one
/// thread's product: each entry sums the same terms in the same order whichever core
/// computes it.
#[test]
fn the_general_product_shared_by_rows_or_columns_gives_one_threads_bits() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // An input gradient g wᵀ of the course CNN (wide: split by columns), its transpose
    // (tall: split by rows), and one whose sums run past a packing block.
    for (m, n, k) in [(32, 2704, 48), (2704, 32, 48), (24, 3000, 300)] {
        let a = random(m, k, &mut rng);
        let b = random(n, k, &mut rng);
        let mut shared = Array2::<f32>::zeros((m, n));
        gemm_with(
            None,
            1.0,
            &a.view(),
            &b.t(),
            0.0,
            None,
            &mut shared.view_mut(),
        );
        let mut one = Array2::<f32>::zeros((m, n));
        ndarray::linalg::general_mat_mul(1.0, &a, &b.t(), 0.0, &mut one);
        assert_eq!(shared, one, "{m} x {n} x {k}");
    }
}

#[test]
fn the_kernels_give_the_same_bits() {
    // Each entry is summed in the order of k with one FMA per term on every kernel, so
    // a CPU without AVX-512 trains exactly as one with it.
    let kernels = kernels();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let a = random(37, 300, &mut rng);
    let b = random(300, 71, &mut rng);
    let results: Vec<Array2<f32>> = kernels
        .iter()
        .map(|&isa| {
            let mut c = Array2::zeros((37, 71));
            gemm_with(
                Some(isa),
                1.0,
                &a.view(),
                &b.view(),
                0.0,
                None,
                &mut c.view_mut(),
            );
            c
        })
        .collect();
    for (isa, c) in kernels.iter().zip(&results) {
        assert_eq!(c, &results[0], "{isa:?} against {:?}", kernels[0]);
    }
}

#[test]
fn beta_zero_never_reads_the_old_output() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let (a, b) = (random(9, 20, &mut rng), random(20, 17, &mut rng));
    for isa in kernels() {
        let mut c = Array2::from_elem((9, 17), f32::NAN);
        gemm_with(
            Some(isa),
            1.0,
            &a.view(),
            &b.view(),
            0.0,
            None,
            &mut c.view_mut(),
        );
        assert!(
            c.iter().all(|v| v.is_finite()),
            "{isa:?} read the NaNs in c"
        );
    }
}

#[test]
fn the_kernel_leaves_columns_outside_c_alone() {
    // c as a window of a wider matrix: the masked tail must not spill into the next columns.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (a, b) = (random(7, 30, &mut rng), random(30, 21, &mut rng));
    for isa in kernels() {
        let mut wide = Array2::from_elem((7, 40), 5.0f32);
        let mut c = wide.slice_mut(ndarray::s![.., 3..24]);
        gemm_with(Some(isa), 1.0, &a.view(), &b.view(), 0.0, None, &mut c);
        let untouched = wide
            .indexed_iter()
            .filter(|((_, j), _)| !(3..24).contains(j))
            .all(|(_, &v)| v == 5.0);
        assert!(untouched, "{isa:?} wrote outside its columns");
        let mut expected = Array2::zeros((7, 21));
        gemm_with(
            None,
            1.0,
            &a.view(),
            &b.view(),
            0.0,
            None,
            &mut expected.view_mut(),
        );
        let got = wide.slice(ndarray::s![.., 3..24]);
        let err = got
            .iter()
            .zip(&expected)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-5, "{isa:?}: error {err:e}");
    }
}

#[test]
fn the_convolution_products_sum_as_a_plain_loop_does() {
    // Each tile sums every entry over k in order from c's old value, so every tiling (and
    // the plain build) gives the same bits; the shapes leave rows and columns over.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (m, k, n) in [
        (1, 1, 1),
        (7, 9, 900),
        (16, 72, 784),
        (5, 3, 71),
        (9, 16, 200),
    ] {
        let (a, b, c0) = (
            random(m, k, &mut rng),
            random(k, n, &mut rng),
            random(m, n, &mut rng),
        );
        let mut expected = c0.clone();
        for i in 0..m {
            for j in 0..n {
                expected[[i, j]] = (0..k).fold(c0[[i, j]], |s, q| s + a[[i, q]] * b[[q, j]]);
            }
        }
        for isa in [Some(Isa::Avx512), Some(Isa::Avx2), None] {
            let mut c = c0.clone();
            let (a, b) = (a.as_slice().unwrap(), b.as_slice().unwrap());
            add_product_with(isa, a, b, c.as_slice_mut().unwrap(), k);
            assert_eq!(c, expected, "{m}x{k}x{n} in the tiles of {isa:?}");
        }
    }
}
