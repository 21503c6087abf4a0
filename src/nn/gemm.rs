//! Matrix products for the engine: one GEMM, split across the cores by rows when it is big
//! enough to pay for the hand-off, and the small products of convolutions.
//!
//! f32 products run on the AVX-512 or AVX2 kernels of [`super::gemm_f32`] when the CPU has
//! them; everything else (f64 for the gradient check, an `alpha`, a CPU without AVX2) on
//! ndarray's general product.

use super::Float;
use super::gemm_f32::{Isa, Product};
use super::parallel;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use std::any::TypeId;

/// Multiply-adds below which a second thread costs more than it saves. (Sharing a batch-32
/// step's 2M-MAC products too measured 0.064-0.077 s per A/b32 epoch on a half-idle machine
/// against 0.097-0.100 s, but 0.11-0.14 s against 0.08-0.10 s on a busy one, where the
/// helper is often descheduled mid-part. On 2026-12-07's Xeon host, 1M shared A/b32's
/// products and the CNN's dense ones: 0.029 s per A/b32 epoch against 0.026, C 0.49 s
/// against 0.45; 3M and 8M measured the same as 4M.)
const PARALLEL_MACS: usize = 1 << 22;

/// Parts per core of a parallel product: more parts than cores, so a core that another
/// process holds up leaves its share to the others.
const PARTS_PER_CORE: usize = 2;

/// The fewest rows worth a part of their own, and the kernels' tile height, which every
/// part but the last is a multiple of.
const PART_ROWS: usize = 12;
const TILE_ROWS: usize = 6;

/// `c = alpha * a * b + beta * c`.
pub fn gemm<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    gemm_with(Isa::chosen(), alpha, a, b, beta, None, c);
}

/// `c = a * b + bias`, the bias added to every row of `c` as the product is written.
pub fn gemm_bias<F: Float>(
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    bias: &ArrayView1<F>,
    c: &mut ArrayViewMut2<F>,
) {
    gemm_with(Isa::chosen(), F::one(), a, b, F::zero(), Some(bias), c);
}

/// `c = alpha * a * b + beta * c (+ bias on every row)` with the f32 kernel `isa` where it
/// applies (`None`: ndarray's general product). Public so tests can compare the paths.
pub fn gemm_with<F: Float>(
    isa: Option<Isa>,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    bias: Option<&ArrayView1<F>>,
    c: &mut ArrayViewMut2<F>,
) {
    assert!(
        a.ncols() == b.nrows() && c.dim() == (a.nrows(), b.ncols()),
        "gemm of {:?} by {:?} into {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    assert!(
        bias.is_none_or(|v| v.len() == b.ncols()),
        "one bias per column"
    );
    if let Some(isa) = isa.filter(|isa| isa.supported())
        && kernel(isa, alpha, a, b, beta, bias, c)
    {
        return;
    }
    general(alpha, a, b, beta, c);
    if let Some(bias) = bias {
        *c += bias;
    }
}

/// The product on ndarray's general GEMM, split across the cores when it is big: by rows,
/// or by columns when `c` is wider than tall (an input gradient `g wᵀ` of a few dozen rows:
/// split by rows, every core would pack all of `wᵀ`). From half the kernel's threshold: the
/// course CNN's 4.15M-MAC input gradient measured 8% of its step faster shared.
fn general<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let (m, n) = c.dim();
    let macs = m * a.ncols() * n;
    let len = m.max(n);
    if macs < PARALLEL_MACS / 2 || len < 16 {
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    let part = len.div_ceil(parallel::cores());
    if m >= n {
        let blocks = a
            .axis_chunks_iter(Axis(0), part)
            .zip(c.axis_chunks_iter_mut(Axis(0), part));
        parallel::for_each(blocks, |(a, mut c)| {
            general_mat_mul(alpha, &a, b, beta, &mut c)
        });
    } else {
        let blocks = b
            .axis_chunks_iter(Axis(1), part)
            .zip(c.axis_chunks_iter_mut(Axis(1), part));
        parallel::for_each(blocks, |(b, mut c)| {
            general_mat_mul(alpha, a, &b, beta, &mut c)
        });
    }
}

/// A product that the cores share (its pointers stay valid for the whole pass).
struct SharedProduct(Product);
// SAFETY: the parts of one product write disjoint rows of `c` and only read the rest.
unsafe impl Sync for SharedProduct {}

impl SharedProduct {
    /// A copy for one part (a method, so closures capture the whole `Sync` wrapper).
    fn part(&self) -> Product {
        self.0
    }
}

/// The product on the f32 kernel `isa`; false (nothing done) for operands it does not take:
/// another float type, an `alpha`, columns of `b`, `c` or the bias not next to each other.
fn kernel<F: Float>(
    isa: Isa,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    bias: Option<&ArrayView1<F>>,
    c: &mut ArrayViewMut2<F>,
) -> bool {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let unit_columns = |stride: isize| n <= 1 || stride == 1;
    let bias = match bias {
        Some(v) if !unit_columns(v.strides()[0]) => return false,
        Some(v) => v.as_ptr().cast::<f32>(),
        None => std::ptr::null(),
    };
    // The kernel reads rows of `b`. For a transposed `b` (an input gradient's `wᵀ`) the
    // general product, which packs it anyway, measured 2-3 times faster than copying it
    // for the kernel.
    if TypeId::of::<F>() != TypeId::of::<f32>()
        || alpha != F::one()
        || !unit_columns(c.strides()[1])
        || !unit_columns(b.strides()[1])
    {
        return false;
    }
    let product = SharedProduct(Product {
        m,
        n,
        k,
        a: a.as_ptr().cast(),
        a_rs: a.strides()[0],
        a_cs: a.strides()[1],
        b: b.as_ptr().cast(),
        b_rs: b.strides()[0],
        c: c.as_mut_ptr().cast(),
        c_rs: c.strides()[0],
        beta: beta.to_f64_lossy() as f32,
        bias,
    });
    let parts = if m * k * n < PARALLEL_MACS {
        1
    } else {
        (parallel::cores() * PARTS_PER_CORE)
            .min(m / PART_ROWS)
            .max(1)
    };
    let rows = m.div_ceil(parts).next_multiple_of(TILE_ROWS);
    parallel::for_each((0..m).step_by(rows), |start| {
        let mut part = product.part();
        part.m = rows.min(m - start);
        // SAFETY: `F` is f32 (checked above), so the pointers address the views' f32
        // entries; rows `start..start + part.m` are inside `a` and `c`, and `isa` is
        // supported (checked by the caller). `c` is borrowed mutably, so it overlaps nothing.
        unsafe {
            part.a = part.a.offset(start as isize * part.a_rs);
            part.c = part.c.offset(start as isize * part.c_rs);
            part.run(isa);
        }
    });
    true
}

/// Runs `f` compiled for the vector instructions of [`Isa::chosen`] (AVX-512, or AVX2 and FMA),
/// so the loops inlined into it vectorise 16 or 8 floats wide (the default x86-64 target only
/// has SSE2's 4). Rust does not fuse a multiply and an add on its own, so the results are
/// those of the plain build on every path.
#[inline(always)]
pub(super) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match Isa::chosen() {
        Some(Isa::Avx512) => {
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn run<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            // SAFETY: `chosen` only names an instruction set this CPU has.
            return unsafe { run(f) };
        }
        Some(Isa::Avx2) => {
            #[target_feature(enable = "avx2,fma")]
            fn run<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            // SAFETY: as above.
            return unsafe { run(f) };
        }
        None => {}
    }
    f()
}

/// `c += a * b` for row-major `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`. This is the shape of a
/// convolution's per-image products (`m`, `k` small, `n` = pixels), where a packed GEMM
/// spends more time packing than multiplying: a tile of `c` stays in registers while the
/// rows of `b` stream past it, each loaded value used by every row of the tile.
pub fn add_product<F: Float>(a: &[F], b: &[F], c: &mut [F], k: usize) {
    add_product_with(Isa::chosen(), a, b, c, k);
}

/// [`add_product`] in the tiles of the kernel `isa` (public so tests can compare them).
pub fn add_product_with<F: Float>(isa: Option<Isa>, a: &[F], b: &[F], c: &mut [F], k: usize) {
    match isa {
        // 8 rows of 32 sums fill 16 of AVX-512's 32 registers (measured against 4 x 64,
        // 2 x 64 and one row of 64: C 0.43 s per epoch against 0.44-0.45 and 0.47).
        Some(Isa::Avx512) => vectorised(
            #[inline(always)]
            || add_product_tiled::<F, 8, 32>(isa, a, b, c, k),
        ),
        // 4 rows of 16 fill 8 of AVX2's 16 (C 0.45 s against 0.46 for 2 x 32 and one row of 64).
        _ => vectorised(
            #[inline(always)]
            || add_product_tiled::<F, 4, 16>(isa, a, b, c, k),
        ),
    }
}

/// [`add_product`] in tiles of `R` rows by `B` columns, then of narrower and fewer.
#[inline(always)]
fn add_product_tiled<F: Float, const R: usize, const B: usize>(
    isa: Option<Isa>,
    a: &[F],
    b: &[F],
    c: &mut [F],
    k: usize,
) {
    let (k, n) = (k.max(1), b.len() / k.max(1));
    let a_tiles = a.chunks_exact(R * k);
    let (a_rest, c_rest_start) = (a_tiles.remainder(), a.len() / (R * k) * R * n);
    for (a_rows, c_rows) in a_tiles.zip(c.chunks_exact_mut(R * n)) {
        add_rows::<F, R, B>(isa, a_rows, b, c_rows, n);
    }
    let rest = a_rest
        .chunks_exact(k)
        .zip(c[c_rest_start..].chunks_exact_mut(n));
    for (a_row, c_row) in rest {
        add_rows::<F, 1, B>(isa, a_row, b, c_row, n);
    }
}

/// `c += a * b` for `R` rows of `a` and of `c`.
#[inline(always)]
fn add_rows<F: Float, const R: usize, const B: usize>(
    isa: Option<Isa>,
    a: &[F],
    b: &[F],
    c: &mut [F],
    n: usize,
) {
    let mut start = 0;
    // Wide tiles keep enough independent sums in flight; narrow ones the rest.
    while start + B <= n {
        wide_tile::<F, R, B>(isa, a, b, n, start, c);
        start += B;
    }
    while start + 8 <= n {
        product_tile::<F, R, 8>(a, b, n, start, c);
        start += 8;
    }
    let k = a.len() / R;
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        for (j, s) in c_row.iter_mut().enumerate().skip(start) {
            let column = b.iter().skip(j).step_by(n);
            *s = a_row
                .iter()
                .zip(column)
                .fold(*s, |acc, (&x, &v)| acc + x * v);
        }
    }
}

/// A written-out vector tile of [`add_product`] (`gemm_f32`'s `add_tile`).
type VectorTile = unsafe fn(&[f32], &[f32], usize, usize, &mut [f32]);

/// [`product_tile`] of `R` rows by `W` columns, in the written-out vector tile of `isa`
/// when that is its shape and this CPU has it (f32 only), which gives the same bits.
#[inline(always)]
fn wide_tile<F: Float, const R: usize, const W: usize>(
    isa: Option<Isa>,
    a: &[F],
    b: &[F],
    n: usize,
    start: usize,
    c: &mut [F],
) {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        use super::gemm_f32::{avx2, avx512};
        let tile: Option<VectorTile> = match isa.filter(|i| i.supported()) {
            Some(Isa::Avx512) if (R, W) == (avx512::TILE_ROWS, avx512::TILE_COLUMNS) => {
                Some(avx512::add_tile)
            }
            Some(Isa::Avx2) if (R, W) == (avx2::TILE_ROWS, avx2::TILE_COLUMNS) => {
                Some(avx2::add_tile)
            }
            _ => None,
        };
        if let Some(tile) = tile {
            assert!(start + W <= n && b.len() >= a.len() / R * n && c.len() >= R * n);
            // SAFETY: `F` is f32 (checked above), so the slices hold f32 values; the bounds
            // are asserted, and this CPU has the tile's instruction set (checked above).
            unsafe {
                let f32s = |x: &[F]| std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len());
                let c = std::slice::from_raw_parts_mut(c.as_mut_ptr().cast::<f32>(), c.len());
                tile(f32s(a), f32s(b), n, start, c);
            }
            return;
        }
    }
    product_tile::<F, R, W>(a, b, n, start, c);
}

/// `c[.., start..start + W] += a * b[.., start..start + W]` for `R` rows, with the `R x W`
/// sums held in registers. Every sum runs over `k` in order, as a plain loop would.
#[inline(always)]
fn product_tile<F: Float, const R: usize, const W: usize>(
    a: &[F],
    b: &[F],
    n: usize,
    start: usize,
    c: &mut [F],
) {
    let k = a.len() / R;
    let a_rows: [&[F]; R] = std::array::from_fn(|r| &a[r * k..][..k]);
    let mut acc: [[F; W]; R] =
        std::array::from_fn(|r| c[r * n + start..][..W].try_into().expect("W long"));
    for (q, b_row) in b.chunks_exact(n).enumerate() {
        let b_block: &[F; W] = b_row[start..start + W].try_into().expect("W long");
        for (acc_r, a_row) in acc.iter_mut().zip(a_rows) {
            let x = a_row[q];
            for (s, &v) in acc_r.iter_mut().zip(b_block) {
                *s += x * v;
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        c[r * n + start..][..W].copy_from_slice(acc_r);
    }
}

/// Rows of `a` and of `b` in one block of [`add_product_t`].
const DOT_ROWS: usize = 4;
const DOT_COLS: usize = 3;

/// `c += a * bᵀ` for row-major `a` `[m, k]`, `b` `[n, k]`, `c` `[m, n]`: every entry is a
/// long dot product. This is a convolution's weight gradient per image (`m`, `n` small,
/// `k` = pixels); blocks of 4 rows of `a` against 3 rows of `b` reuse each loaded vector
/// 3 or 4 times, where a plain dot product loads two values per multiply-add.
/// (4 x 3 blocks measured fastest: 12 running sums and the 4 vectors they read fill AVX2's
/// 16 registers.)
pub fn add_product_t<F: Float>(a: &[F], b: &[F], c: &mut [F], k: usize) {
    let (m, n) = (a.len() / k.max(1), b.len() / k.max(1));
    vectorised(
        #[inline(always)]
        || {
            let mut i = 0;
            while i < m {
                let rows = if m - i >= DOT_ROWS { DOT_ROWS } else { 1 };
                let mut j = 0;
                while j < n {
                    let cols = if n - j >= DOT_COLS { DOT_COLS } else { 1 };
                    let a_rows = &a[i * k..(i + rows) * k];
                    let b_rows = &b[j * k..(j + cols) * k];
                    let c_block = &mut c[i * n + j..];
                    match (rows == DOT_ROWS, cols == DOT_COLS) {
                        (true, true) => {
                            add_dot_block::<F, DOT_ROWS, DOT_COLS>(a_rows, b_rows, k, c_block, n)
                        }
                        (true, false) => {
                            add_dot_block::<F, DOT_ROWS, 1>(a_rows, b_rows, k, c_block, n)
                        }
                        (false, true) => {
                            add_dot_block::<F, 1, DOT_COLS>(a_rows, b_rows, k, c_block, n)
                        }
                        _ => add_dot_block::<F, 1, 1>(a_rows, b_rows, k, c_block, n),
                    }
                    j += cols;
                }
                i += rows;
            }
        },
    )
}

/// Adds the `R x C` dot products of `R` rows of `a` with `C` rows of `b` (each `k` long) to
/// the block of `c` (rows `n` apart) that starts at `c[0]`, with eight running sums each.
#[inline(always)]
fn add_dot_block<F: Float, const R: usize, const C: usize>(
    a: &[F],
    b: &[F],
    k: usize,
    c: &mut [F],
    n: usize,
) {
    let mut acc = [[[F::zero(); 8]; C]; R];
    let a_rows: [&[F]; R] = std::array::from_fn(|r| &a[r * k..][..k]);
    let b_rows: [&[F]; C] = std::array::from_fn(|j| &b[j * k..][..k]);
    let whole = k - k % 8;
    for start in (0..whole / 8).map(|t| t * 8) {
        let bv: [[F; 8]; C] = std::array::from_fn(|j| lanes(b_rows[j], start));
        for (acc_r, a_row) in acc.iter_mut().zip(a_rows) {
            let av = lanes(a_row, start);
            for (acc_rj, bv_j) in acc_r.iter_mut().zip(&bv) {
                for l in 0..8 {
                    acc_rj[l] += av[l] * bv_j[l];
                }
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (j, acc_rj) in acc_r.iter().enumerate() {
            let tail = (whole..k).fold(F::zero(), |s, t| s + a[r * k + t] * b[j * k + t]);
            c[r * n + j] += acc_rj.iter().fold(tail, |s, &v| s + v);
        }
    }
}

/// The eight values of `xs` from `start` on.
#[inline(always)]
fn lanes<F: Float>(xs: &[F], start: usize) -> [F; 8] {
    xs[start..start + 8].try_into().expect("8 long")
}

/// Sum of a slice with several accumulators, so the compiler can vectorise it.
#[inline(always)]
pub fn sum<F: Float>(xs: &[F]) -> F {
    sum_map(xs, |v| v)
}

/// Sum of `f(x)` over a slice, with several accumulators.
#[inline(always)]
pub fn sum_map<F: Float>(xs: &[F], f: impl Fn(F) -> F) -> F {
    let mut acc = [F::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(F::zero(), |a, &b| a + f(b));
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().fold(tail, |a, &b| a + b)
}

/// Sum of elementwise products of two slices of equal length, with 32 running sums (enough
/// to hide the adder's latency).
#[inline(always)]
pub fn dot<F: Float>(xs: &[F], ys: &[F]) -> F {
    let mut acc = [F::zero(); 32];
    let (cx, cy) = (xs.chunks_exact(32), ys.chunks_exact(32));
    let tail = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .fold(F::zero(), |a, (&x, &y)| a + x * y);
    for (a32, b32) in cx.zip(cy) {
        for ((a, &x), &y) in acc.iter_mut().zip(a32).zip(b32) {
            *a += x * y;
        }
    }
    acc.iter().fold(tail, |a, &b| a + b)
}
