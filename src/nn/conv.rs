//! 2-D convolution over rows that hold `C x H x W` images.
//!
//! im2col: the patches of the whole batch become the columns of one `[C*k*k, N*P]` matrix
//! (P = output pixels per image), so the forward pass and both gradients are one matrix
//! multiply each. The weight is `[out, in, k, k]` (PyTorch's layout), read as an
//! `[out, in*k*k]` matrix.

use super::gemm::gemm;
use super::layer::{Param, ensure_shape};
use super::{Float, Init, Shape};
use ndarray::{Array1, Array2, Array4, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD};
use rand::Rng;

/// Where a convolution (or pooling) window sits: input and output shapes and the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub input: Shape,
    pub output: Shape,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// Output pixels per image.
    pub fn out_pixels(&self) -> usize {
        self.output.h * self.output.w
    }

    /// The valid output columns `[lo, hi)` for kernel column `kj`: those whose input
    /// column `ow * stride + kj - padding` lies inside the image.
    fn valid_columns(&self, kj: usize) -> (usize, usize) {
        let (s, p, w) = (self.stride, self.padding, self.input.w);
        let lo = p.saturating_sub(kj).div_ceil(s);
        let hi = if w + p > kj {
            ((w + p - kj - 1) / s + 1).min(self.output.w)
        } else {
            0
        };
        (lo.min(hi), hi)
    }

    /// The input row of output row `oh` under kernel row `ki`, if inside the image.
    fn input_row(&self, oh: usize, ki: usize) -> Option<usize> {
        (oh * self.stride + ki)
            .checked_sub(self.padding)
            .filter(|&r| r < self.input.h)
    }
}

/// Copies the patches of every image in `x` (`[N, C*H*W]`) into `cols` (`[C*k*k, N*P]`),
/// with zeros where a patch hangs over the padded border.
fn im2col<F: Float>(win: &Window, x: ArrayView2<F>, cols: &mut Array2<F>) {
    let (n, k, p) = (x.nrows(), win.kernel, win.out_pixels());
    ensure_shape(cols, win.input.c * k * k, n * p);
    let (h, w, ow_n) = (win.input.h, win.input.w, win.output.w);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let row_len = xs.len() / n.max(1);
    let cols_slice = cols.as_slice_mut().expect("owned");
    for (r, col_row) in cols_slice.chunks_exact_mut(n * p).enumerate() {
        let (c, ki, kj) = (r / (k * k), (r / k) % k, r % k);
        let (lo, hi) = win.valid_columns(kj);
        for (img, dst) in col_row.chunks_exact_mut(p).enumerate() {
            let src = &xs[img * row_len + c * h * w..][..h * w];
            for (oh, out_row) in dst.chunks_exact_mut(ow_n).enumerate() {
                let Some(ih) = win.input_row(oh, ki) else {
                    out_row.fill(F::zero());
                    continue;
                };
                out_row[..lo].fill(F::zero());
                out_row[hi..].fill(F::zero());
                if lo == hi {
                    continue;
                }
                let first = lo * win.stride + kj - win.padding;
                let line = &src[ih * w..][..w];
                if win.stride == 1 {
                    out_row[lo..hi].copy_from_slice(&line[first..first + hi - lo]);
                } else {
                    for (o, d) in out_row[lo..hi].iter_mut().enumerate() {
                        *d = line[first + o * win.stride];
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every patch gradient back onto its input pixels.
fn col2im<F: Float>(win: &Window, cols: ArrayView2<F>, grad_in: &mut Array2<F>, n: usize) {
    let (k, p) = (win.kernel, win.out_pixels());
    ensure_shape(grad_in, n, win.input.len());
    grad_in.fill(F::zero());
    let (h, w, ow_n) = (win.input.h, win.input.w, win.output.w);
    let gs = grad_in.as_slice_mut().expect("owned");
    let row_len = win.input.len();
    let cols = cols.as_slice().expect("owned, standard layout");
    for (r, col_row) in cols.chunks_exact(n * p).enumerate() {
        let (c, ki, kj) = (r / (k * k), (r / k) % k, r % k);
        let (lo, hi) = win.valid_columns(kj);
        for (img, src) in col_row.chunks_exact(p).enumerate() {
            let dst = &mut gs[img * row_len + c * h * w..][..h * w];
            for (oh, in_row) in src.chunks_exact(ow_n).enumerate() {
                let Some(ih) = win.input_row(oh, ki).filter(|_| lo < hi) else {
                    continue;
                };
                let first = lo * win.stride + kj - win.padding;
                let line = &mut dst[ih * w..][..w];
                if win.stride == 1 {
                    let run = line[first..first + hi - lo].iter_mut().zip(&in_row[lo..hi]);
                    run.for_each(|(d, &g)| *d += g);
                } else {
                    for (o, &g) in in_row[lo..hi].iter().enumerate() {
                        line[first + o * win.stride] += g;
                    }
                }
            }
        }
    }
}

/// A contiguous `[out, ...]` tensor as an `[out, rest]` matrix.
pub(crate) fn as_matrix<F: Float>(t: ArrayViewD<'_, F>, rows: usize) -> ArrayView2<'_, F> {
    let cols = t.len() / rows;
    t.into_shape_with_order((rows, cols))
        .expect("contiguous tensor")
}

fn as_matrix_mut<F: Float>(t: ArrayViewMutD<'_, F>, rows: usize) -> ArrayViewMut2<'_, F> {
    let cols = t.len() / rows;
    t.into_shape_with_order((rows, cols))
        .expect("contiguous tensor")
}

#[derive(Clone, Debug)]
pub struct Conv2d<F> {
    /// `[out, in, k, k]`.
    pub weight: Param<F>,
    /// `[out]`.
    pub bias: Param<F>,
    pub window: Window,
    cols: Array2<F>,
    /// `[out, N*P]`: the product before it is laid out as rows of images.
    product: Array2<F>,
    out: Array2<F>,
    grad_cols: Array2<F>,
    grad_in: Array2<F>,
}

impl<F: Float> Conv2d<F> {
    pub fn new(window: Window, init: Init, rng: &mut impl Rng) -> Self {
        let (o, c, k) = (window.output.c, window.input.c, window.kernel);
        let weight = match init {
            // Glorot's bound with the fan counted over the receptive field, as PyTorch does.
            Init::Xavier => {
                let limit = (6.0 / ((c + o) * k * k) as f64).sqrt();
                Array4::from_shape_simple_fn((o, c, k, k), || {
                    F::from_f64_lossy(rng.random_range(-limit..limit))
                })
            }
            Init::Zero => Array4::zeros((o, c, k, k)),
        };
        let empty = || Array2::zeros((0, 0));
        Self {
            weight: Param::new(weight.into_dyn()),
            bias: Param::new(Array1::zeros(o).into_dyn()),
            window,
            cols: empty(),
            product: empty(),
            out: empty(),
            grad_cols: empty(),
            grad_in: empty(),
        }
    }

    pub fn forward(&mut self, x: ArrayView2<F>) {
        let (n, p) = (x.nrows(), self.window.out_pixels());
        im2col(&self.window, x, &mut self.cols);
        let o = self.window.output.c;
        ensure_shape(&mut self.product, o, n * p);
        let w = as_matrix(self.weight.value.view(), o);
        gemm(F::one(), &w, &self.cols.view(), F::zero(), &mut self.product.view_mut());
        ensure_shape(&mut self.out, n, o * p);
        let bias = self.bias.value.as_slice().expect("contiguous");
        let product = self.product.as_slice().expect("owned");
        let out = self.out.as_slice_mut().expect("owned");
        for (img, out_row) in out.chunks_exact_mut(o * p).enumerate() {
            for (ch, dst) in out_row.chunks_exact_mut(p).enumerate() {
                let src = &product[ch * n * p + img * p..][..p];
                let b = bias[ch];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s + b;
                }
            }
        }
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    pub fn backward(&mut self, grad_out: ArrayView2<F>, need_grad_in: bool) {
        let (n, o, p) = (
            grad_out.nrows(),
            self.window.output.c,
            self.window.out_pixels(),
        );
        // Lay dL/dy out like the product, `[out, N*P]`, reusing its buffer.
        let grad_out = grad_out.as_standard_layout();
        let g = grad_out.as_slice().expect("standard layout");
        let gm = self
            .product
            .as_slice_mut()
            .expect("owned, [out, N*P] from forward");
        for (img, row) in g.chunks_exact(o * p).enumerate() {
            for (ch, src) in row.chunks_exact(p).enumerate() {
                gm[ch * n * p + img * p..][..p].copy_from_slice(src);
            }
        }
        let gb = self.bias.grad.as_slice_mut().expect("contiguous");
        for (b, row) in gb.iter_mut().zip(self.product.rows()) {
            *b = row.sum();
        }
        let mut gw = as_matrix_mut(self.weight.grad.view_mut(), o);
        gemm(F::one(), &self.product.view(), &self.cols.t(), F::zero(), &mut gw);
        if need_grad_in {
            let w = as_matrix(self.weight.value.view(), o);
            ensure_shape(&mut self.grad_cols, w.ncols(), n * p);
            gemm(
                F::one(),
                &w.t(),
                &self.product.view(),
                F::zero(),
                &mut self.grad_cols.view_mut(),
            );
            col2im(&self.window, self.grad_cols.view(), &mut self.grad_in, n);
        }
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}
