//! The f32 matrix product of the engine's dense passes on x86-64: register-blocked
//! microkernels for AVX-512 and for AVX2 with FMA, picked at run time.
//!
//! The products of a small network are thin (`n` = a layer's 36-64 outputs, `m` a batch, or
//! `k` a batch in a weight gradient), where a packed GEMM spends a large part of its time
//! copying. Nothing is packed here: a tile of `c` stays in registers while the rows of `b`
//! stream past it, and `a` is read through its strides one broadcast value at a time, so a
//! transposed `a` (the input of a weight gradient) costs no copy either. Each entry of `c` is
//! summed in the order of `k` with one FMA per term in both kernels, so they give the same
//! bits.

use std::sync::OnceLock;

/// The instruction sets with a kernel here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
}

impl Isa {
    pub const ALL: [Isa; 2] = [Isa::Avx512, Isa::Avx2];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        match self {
            Isa::Avx512 => std::is_x86_feature_detected!("avx512f"),
            Isa::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// The kernel the engine uses: the fastest this CPU has, but AVX2 when the environment
    /// says `NNLAB_NO_AVX512=1`; `None` without AVX2 and FMA (then the caller's general path
    /// runs).
    pub fn chosen() -> Option<Isa> {
        static CHOSEN: OnceLock<Option<Isa>> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let no_avx512 = std::env::var("NNLAB_NO_AVX512").is_ok_and(|v| v == "1");
            Isa::ALL
                .into_iter()
                .find(|&isa| isa.supported() && !(no_avx512 && isa == Isa::Avx512))
        })
    }
}

/// `c = a * b + beta * c + bias` (the bias added to every row), for strided f32 matrices.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// `a[i, q]` is at `a + i * a_rs + q * a_cs`.
    pub a: *const f32,
    pub a_rs: isize,
    pub a_cs: isize,
    /// `b[q, j]` is at `b + q * b_rs + j`.
    pub b: *const f32,
    pub b_rs: isize,
    /// `c[i, j]` is at `c + i * c_rs + j`.
    pub c: *mut f32,
    pub c_rs: isize,
    /// How much of `c`'s old value to keep; at 0 `c` is only written.
    pub beta: f32,
    /// `n` values added to every row of `c`, or null.
    pub bias: *const f32,
}

impl Product {
    /// Computes the product with `isa`'s kernel.
    ///
    /// # Safety
    /// The CPU has `isa` ([`Isa::supported`]); the pointers and strides address
    /// `m x k`, `k x n` and `m x n` matrices (and `n` bias values) inside live allocations;
    /// `c` is valid for writes and overlaps none of the others.
    pub unsafe fn run(&self, isa: Isa) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: passed on from the caller.
        unsafe {
            match isa {
                Isa::Avx512 => avx512::gemm(self),
                Isa::Avx2 => avx2::gemm(self),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{isa:?} is only supported on x86-64");
    }
}

/// The kernel body, the same for every instruction set. The module invoking it defines the
/// vector type `V`, the tail mask `Mask`, `LANES`, and `zero`, `splat`, `fma`, `add`,
/// `mask`, `load`, `load_masked`, `store`, `store_masked`, all compiled for `$feature`.
/// `c` is computed in tiles of `$rows` rows by up to `$widths[0]` vectors (`$widths` lists
/// every panel width, widest first), as many sums as the vector registers hold next to the
/// loaded values of `b` and the broadcast value of `a`.
macro_rules! kernel_body {
    ($feature:literal, rows: $rows:literal, widths: [$($width:literal),+]) => {
        /// The widest panel of `c`, in vectors.
        const WIDEST: usize = [$($width),+][0];

        /// # Safety
        /// As [`super::Product::run`], on a CPU with this module's instruction set.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn gemm(p: &Product) {
            let mut i = 0;
            while i < p.m {
                let rows = (p.m - i).min($rows);
                // SAFETY: rows `i..i + rows` are inside `a` and `c`, columns `j..j + cols`
                // inside `b`, `c` and `bias`.
                unsafe {
                    let tile = Product {
                        m: rows,
                        a: p.a.offset(i as isize * p.a_rs),
                        c: p.c.offset(i as isize * p.c_rs),
                        ..*p
                    };
                    let mut j = 0;
                    while j < p.n {
                        let cols = (p.n - j).min(WIDEST * LANES);
                        match (cols.div_ceil(LANES), cols % LANES != 0) {
                            $(
                                ($width, false) => rows_of::<$width, false>(&tile, j, cols),
                                ($width, true) => rows_of::<$width, true>(&tile, j, cols),
                            )+
                            _ => unreachable!("a panel is at most {WIDEST} vectors wide"),
                        }
                        j += cols;
                    }
                }
                i += rows;
            }
        }

        /// The `p.m` rows (at most a tile's) of columns `j..j + cols` of `c` (`W` vectors,
        /// the last one short of full if `TAIL`): one tile, or smaller tiles for the last
        /// rows.
        #[target_feature(enable = $feature)]
        unsafe fn rows_of<const W: usize, const TAIL: bool>(p: &Product, j: usize, cols: usize) {
            // SAFETY: rows `i..i + R` of each tile are inside `a` and `c`.
            unsafe {
                if p.m == $rows {
                    return tile::<$rows, W, TAIL>(p, 0, j, cols);
                }
                let mut i = 0;
                while p.m - i >= 4 {
                    tile::<4, W, TAIL>(p, i, j, cols);
                    i += 4;
                }
                if p.m - i >= 2 {
                    tile::<2, W, TAIL>(p, i, j, cols);
                    i += 2;
                }
                if p.m - i >= 1 {
                    tile::<1, W, TAIL>(p, i, j, cols);
                }
            }
        }

        /// Rows `i..i + R`, columns `j..j + cols` of `c`: `R x W` vectors of sums held in
        /// registers over the whole of `k`, then written once.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn tile<const R: usize, const W: usize, const TAIL: bool>(
            p: &Product,
            i: usize,
            j: usize,
            cols: usize,
        ) {
            let live = mask(cols - (W - 1) * LANES);
            let is_tail = |v: usize| TAIL && v + 1 == W;
            // SAFETY: every address below is an entry of `a`, `b`, `c` or `bias` in the
            // rows and columns of this tile.
            unsafe {
                let a = p.a.offset(i as isize * p.a_rs);
                let b = p.b.add(j);
                let mut acc = [[zero(); W]; R];
                for q in 0..p.k as isize {
                    let b_row = b.offset(q * p.b_rs);
                    let mut bv = [zero(); W];
                    for (v, x) in bv.iter_mut().enumerate() {
                        let at = b_row.add(v * LANES);
                        *x = if is_tail(v) { load_masked(at, live) } else { load(at) };
                    }
                    let a_q = a.offset(q * p.a_cs);
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let x = splat(*a_q.offset(r as isize * p.a_rs));
                        for (s, &y) in acc_r.iter_mut().zip(&bv) {
                            *s = fma(x, y, *s);
                        }
                    }
                }
                for (r, acc_r) in acc.iter().enumerate() {
                    let c_row = p.c.offset((i + r) as isize * p.c_rs).add(j);
                    for (v, &sum) in acc_r.iter().enumerate() {
                        let dst = c_row.add(v * LANES);
                        let mut out = sum;
                        if p.beta != 0.0 {
                            let old = if is_tail(v) { load_masked(dst, live) } else { load(dst) };
                            out = fma(splat(p.beta), old, out);
                        }
                        if !p.bias.is_null() {
                            let bias = p.bias.add(j + v * LANES);
                            let bias = if is_tail(v) { load_masked(bias, live) } else { load(bias) };
                            out = add(out, bias);
                        }
                        if is_tail(v) {
                            store_masked(dst, out, live);
                        } else {
                            store(dst, out);
                        }
                    }
                }
            }
        }
    };
}

/// The wide tile of [`super::gemm::add_product`] in this module's vectors: `$rows` rows of
/// `c` by two vectors of columns, `c += a * b` summed over `k` in order with a multiply and
/// an add (not fused), as the generic tile does, so the results are the same bits. Written
/// out because the generic tile only vectorises when the compiler unrolls its rows, which
/// it stopped doing once (a 3.5 times slower network from an unrelated change).
macro_rules! tile_body {
    ($feature:literal, rows: $rows:literal) => {
        /// Rows of the tile.
        pub(crate) const TILE_ROWS: usize = $rows;
        /// Columns of the tile.
        pub(crate) const TILE_COLUMNS: usize = 2 * LANES;

        /// `c[r * n + start..][..TILE_COLUMNS] += a[r] * b[.., start..][..TILE_COLUMNS]` for
        /// the `TILE_ROWS` rows of `a` (each `k = a.len() / TILE_ROWS` long) and of `c`
        /// (`n` apart); `b` is `k` rows of `n`.
        ///
        /// # Safety
        /// `start + TILE_COLUMNS <= n`, `b.len() >= k * n`, `c.len() >= TILE_ROWS * n`, on a
        /// CPU with this module's instruction set.
        #[target_feature(enable = $feature)]
        pub(crate) unsafe fn add_tile(a: &[f32], b: &[f32], n: usize, start: usize, c: &mut [f32]) {
            const R: usize = $rows;
            let k = a.len() / R;
            // SAFETY: the caller's bounds above cover every address.
            unsafe {
                let c = c.as_mut_ptr().add(start);
                let mut acc = [[zero(); 2]; R];
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    acc_r[0] = load(c.add(r * n));
                    acc_r[1] = load(c.add(r * n + LANES));
                }
                for q in 0..k {
                    let b_row = b.as_ptr().add(q * n + start);
                    let (b0, b1) = (load(b_row), load(b_row.add(LANES)));
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let x = splat(*a.get_unchecked(r * k + q));
                        acc_r[0] = add(acc_r[0], mul(x, b0));
                        acc_r[1] = add(acc_r[1], mul(x, b1));
                    }
                }
                for (r, acc_r) in acc.iter().enumerate() {
                    store(c.add(r * n), acc_r[0]);
                    store(c.add(r * n + LANES), acc_r[1]);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::Product;
    use std::arch::x86_64::*;

    type V = __m512;
    type Mask = __mmask16;
    const LANES: usize = 16;

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn zero() -> V {
        _mm512_setzero_ps()
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn splat(x: f32) -> V {
        _mm512_set1_ps(x)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn fma(a: V, b: V, c: V) -> V {
        _mm512_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add(a: V, b: V) -> V {
        _mm512_add_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mul(a: V, b: V) -> V {
        _mm512_mul_ps(a, b)
    }
    /// The first `live` lanes (1..=16).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mask(live: usize) -> Mask {
        (((1u32 << live) - 1) & 0xffff) as Mask
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load(at: *const f32) -> V {
        // SAFETY: the caller's 16 values.
        unsafe { _mm512_loadu_ps(at) }
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load_masked(at: *const f32, live: Mask) -> V {
        // SAFETY: the caller's `live` values; the others are not touched.
        unsafe { _mm512_maskz_loadu_ps(live, at) }
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn store(at: *mut f32, v: V) {
        // SAFETY: the caller's 16 values.
        unsafe { _mm512_storeu_ps(at, v) }
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn store_masked(at: *mut f32, v: V, live: Mask) {
        // SAFETY: the caller's `live` values; the others are not touched.
        unsafe { _mm512_mask_storeu_ps(at, live, v) }
    }

    // 32 registers: 6 x 4 sums, 4 values of `b`, 1 of `a`.
    kernel_body!("avx512f", rows: 6, widths: [4, 3, 2, 1]);
    tile_body!("avx512f", rows: 8);
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::Product;
    use std::arch::x86_64::*;

    type V = __m256;
    type Mask = __m256i;
    const LANES: usize = 8;

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn zero() -> V {
        _mm256_setzero_ps()
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn splat(x: f32) -> V {
        _mm256_set1_ps(x)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn fma(a: V, b: V, c: V) -> V {
        _mm256_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn add(a: V, b: V) -> V {
        _mm256_add_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn mul(a: V, b: V) -> V {
        _mm256_mul_ps(a, b)
    }
    /// The first `live` lanes (1..=8): all bits set where the lane index is below `live`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn mask(live: usize) -> Mask {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(live as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load(at: *const f32) -> V {
        // SAFETY: the caller's 8 values.
        unsafe { _mm256_loadu_ps(at) }
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load_masked(at: *const f32, live: Mask) -> V {
        // SAFETY: the caller's `live` values; the others are not touched.
        unsafe { _mm256_maskload_ps(at, live) }
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store(at: *mut f32, v: V) {
        // SAFETY: the caller's 8 values.
        unsafe { _mm256_storeu_ps(at, v) }
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store_masked(at: *mut f32, v: V, live: Mask) {
        // SAFETY: the caller's `live` values; the others are not touched.
        unsafe { _mm256_maskstore_ps(at, live, v) }
    }

    // 16 registers: 6 x 2 sums, 2 values of `b`, 1 of `a`.
    kernel_body!("avx2,fma", rows: 6, widths: [2, 1]);
    tile_body!("avx2,fma", rows: 4);
}
