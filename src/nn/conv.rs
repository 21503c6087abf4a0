//! 2-D convolution over rows that hold `C x H x W` images.
//!
//! im2col: the patches of each image become the columns of a `[C*k*k, P]` matrix
//! (P = output pixels per image), so per image the forward pass and both gradients are one
//! matrix multiply each, and the `[out, P]` product is already the image's output row. The weight is `[out, in, k, k]` (PyTorch's layout), read as an
//! `[out, in*k*k]` matrix.

use super::Float;
use super::buffer::ensure_shape;
use super::gemm::{add_product, add_product_t, gemm, sum};
use super::init::Init;
use super::layer_kind::{LayerKind, ParamShape, RowArgs};
use super::layer_ops::{LayerOps, layer_params};
use super::limits::{MAX_SIDE, MAX_UNITS, at_most};
use super::parallel;
use super::param::Param;
use super::shape::Shape;
use super::window::{Window, window_output};
use ndarray::{Array1, Array2, Array4, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `out` filters of `kernel x kernel` over all input channels. Its row is
/// `conv OUT KERNEL [STRIDE [PADDING]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conv2dSpec {
    pub out: usize,
    pub kernel: usize,
    #[serde(default = "one")]
    pub stride: usize,
    #[serde(default)]
    pub padding: usize,
}

fn one() -> usize {
    1
}

impl LayerKind for Conv2dSpec {
    type Layer<F: Float> = Conv2d<F>;
    const ROW_NAMES: &'static [&'static str] = &["conv"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(2, 4, "conv OUT KERNEL [STRIDE [PADDING]]")?;
        Ok(Self {
            out: args.count(0)?,
            kernel: args.count(1)?,
            stride: args.count_or(2, 1)?,
            padding: args.count_or(3, 0)?,
        })
    }

    fn row_text(&self) -> String {
        let Self {
            out,
            kernel,
            stride,
            padding,
        } = *self;
        match (stride, padding) {
            (1, 0) => format!("conv {out} {kernel}"),
            (_, 0) => format!("conv {out} {kernel} {stride}"),
            _ => format!("conv {out} {kernel} {stride} {padding}"),
        }
    }

    fn label(&self) -> String {
        let Self {
            out,
            kernel,
            stride,
            padding,
        } = *self;
        let mut s = format!("Conv({out}, {kernel}x{kernel}");
        if stride != 1 {
            s.push_str(&format!(", stride {stride}"));
        }
        if padding != 0 {
            s.push_str(&format!(", pad {padding}"));
        }
        s + ")"
    }

    fn check_limits(&self) -> Result<(), String> {
        at_most("the number of filters", self.out, MAX_UNITS)?;
        at_most("the kernel size", self.kernel, MAX_SIDE)?;
        at_most("the stride", self.stride, MAX_SIDE)?;
        at_most("the padding", self.padding, MAX_SIDE).map(drop)
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let Self {
            out,
            kernel,
            stride,
            padding,
        } = *self;
        if out == 0 {
            return Err("a convolution needs at least one output channel".into());
        }
        let fit = |side| window_output(side, kernel, stride, padding);
        match (fit(input.h), fit(input.w)) {
            (Some(h), Some(w)) => Ok(Shape::image(out, h, w)),
            _ => Err(format!(
                "a {kernel}x{kernel} kernel (stride {stride}, padding {padding}) does not fit a {}x{} image",
                input.h, input.w
            )),
        }
    }

    fn param_shapes(&self, input: Shape) -> Vec<ParamShape> {
        let (o, k) = (self.out, self.kernel);
        vec![
            ParamShape::trained("weight", vec![o, input.c, k, k]),
            ParamShape::trained("bias", vec![o]),
        ]
    }

    fn build<F: Float>(
        &self,
        input: Shape,
        output: Shape,
        init: Init,
        rng: &mut impl Rng,
    ) -> Conv2d<F> {
        let window = Window {
            input,
            output,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        };
        Conv2d::new(window, init, rng)
    }
}

/// Copies the patches of one image `x` (`C*H*W`) into `cols` (`[C*k*k, P]`), with zeros
/// where a patch hangs over the padded border.
fn im2col<F: Float>(win: &Window, x: &[F], cols: &mut [F]) {
    let (k, p) = (win.kernel, win.out_pixels());
    let (h, w, ow_n) = (win.input.h, win.input.w, win.output.w);
    for (r, dst) in cols.chunks_exact_mut(p).enumerate() {
        let (c, ki, kj) = (r / (k * k), (r / k) % k, r % k);
        let (lo, hi) = win.valid_columns(kj);
        let src = &x[c * h * w..][..h * w];
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

/// The adjoint of [`im2col`]: adds every patch gradient of one image back onto its input
/// pixels in `grad_in` (`C*H*W`, which it overwrites).
fn col2im<F: Float>(win: &Window, cols: &[F], grad_in: &mut [F]) {
    let (k, p) = (win.kernel, win.out_pixels());
    grad_in.fill(F::zero());
    let (h, w, ow_n) = (win.input.h, win.input.w, win.output.w);
    for (r, src) in cols.chunks_exact(p).enumerate() {
        let (c, ki, kj) = (r / (k * k), (r / k) % k, r % k);
        let (lo, hi) = win.valid_columns(kj);
        let dst = &mut grad_in[c * h * w..][..h * w];
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

/// Images per parallel task: the batch is cut into one piece per core.
fn images_per_task(n: usize) -> usize {
    n.div_ceil(parallel::cores()).max(1)
}

/// One task's share of the backward pass: its sums of the parameter gradients and its
/// scratch matrix of patch gradients.
#[derive(Clone, Debug, Default)]
struct TaskGrads<F> {
    /// `[out, C*k*k]`.
    weight: Vec<F>,
    bias: Vec<F>,
    /// `[C*k*k, P]`.
    grad_cols: Vec<F>,
}

impl<F: Float> TaskGrads<F> {
    /// Sums the gradients of the images in `grad_out` (rows of `[out, P]`) whose patches are
    /// `cols` (rows of `[C*k*k, P]`), and writes their input gradients into `grad_in` if
    /// given; `weight_t` is the weight as a `[C*k*k, out]` matrix.
    fn accumulate(
        &mut self,
        win: &Window,
        weight_t: &[F],
        grad_out: &[F],
        cols: &[F],
        grad_in: Option<&mut [F]>,
    ) {
        let (o, p) = (win.output.c, win.out_pixels());
        let patch = weight_t.len() / o;
        let reset = |v: &mut Vec<F>, len| {
            v.clear();
            v.resize(len, F::zero());
        };
        reset(&mut self.weight, o * patch);
        reset(&mut self.bias, o);
        let images = grad_out
            .chunks_exact(o * p)
            .zip(cols.chunks_exact(patch * p));
        let mut grad_in = grad_in.map(|g| g.chunks_exact_mut(win.input.len()));
        for (g, c) in images {
            for (b, row) in self.bias.iter_mut().zip(g.chunks_exact(p)) {
                *b += sum(row);
            }
            add_weight_gradient(g, c, &mut self.weight, p);
            if let Some(dst) = grad_in.as_mut().and_then(|it| it.next()) {
                reset(&mut self.grad_cols, patch * p);
                add_product(weight_t, g, &mut self.grad_cols, o);
                col2im(win, &self.grad_cols, dst);
            }
        }
    }
}

/// `weight += g * colsᵀ` for one image: `g` `[out, P]`, `cols` `[C*k*k, P]`. Every entry is
/// a sum over the `P` pixels. When those sums are long next to the number of entries (a
/// first layer: few channels, many pixels), dot products beat a packed GEMM, which would
/// copy both operands to multiply them once; otherwise the GEMM's blocking wins.
fn add_weight_gradient<F: Float>(g: &[F], cols: &[F], weight: &mut [F], p: usize) {
    let (o, patch) = (g.len() / p, cols.len() / p);
    if p >= o * patch {
        add_product_t(g, cols, weight, p);
        return;
    }
    let g_m = ArrayView2::from_shape((o, p), g).expect("[out, P]");
    let c_m = ArrayView2::from_shape((patch, p), cols).expect("[C*k*k, P]");
    let mut w_m = ArrayViewMut2::from_shape((o, patch), weight).expect("[out, C*k*k]");
    gemm(F::one(), &g_m, &c_m.t(), F::one(), &mut w_m);
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
    /// Per image (row), its patches as a `[C*k*k, P]` matrix.
    cols: Array2<F>,
    out: Array2<F>,
    grad_in: Array2<F>,
    /// The weight as a `[C*k*k, out]` matrix, for the input gradient.
    weight_t: Vec<F>,
    tasks: Vec<TaskGrads<F>>,
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
            out: empty(),
            grad_in: empty(),
            weight_t: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Per image: its patches, then `bias + W * patches`, written straight into the
    /// image's `[out, P]` output row. The images are shared among the cores.
    pub fn forward(&mut self, x: ArrayView2<F>) {
        let win = self.window;
        let (n, o, p) = (x.nrows(), win.output.c, win.out_pixels());
        let patch = win.input.c * win.kernel * win.kernel;
        ensure_shape(&mut self.cols, n, patch * p);
        ensure_shape(&mut self.out, n, o * p);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let w = self.weight.value.as_slice().expect("contiguous");
        let bias = self.bias.value.as_slice().expect("contiguous");
        let per = images_per_task(n);
        let cols = self.cols.as_slice_mut().expect("owned");
        let out = self.out.as_slice_mut().expect("owned");
        let tasks = xs
            .chunks(per * win.input.len())
            .zip(cols.chunks_mut(per * patch * p))
            .zip(out.chunks_mut(per * o * p));
        parallel::for_each(tasks, |((xs, cols), out)| {
            let images = xs
                .chunks_exact(win.input.len())
                .zip(cols.chunks_exact_mut(patch * p))
                .zip(out.chunks_exact_mut(o * p));
            for ((x, cols), out) in images {
                im2col(&win, x, cols);
                for (row, &b) in out.chunks_exact_mut(p).zip(bias) {
                    row.fill(b);
                }
                add_product(w, cols, out, patch);
            }
        });
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    pub fn backward(&mut self, grad_out: ArrayView2<F>, need_grad_in: bool) {
        let win = self.window;
        let (n, o, p) = (grad_out.nrows(), win.output.c, win.out_pixels());
        let patch = win.input.c * win.kernel * win.kernel;
        let grad_out = grad_out.as_standard_layout();
        let g = grad_out.as_slice().expect("standard layout");
        let w = as_matrix(self.weight.value.view(), o);
        self.weight_t.clear();
        self.weight_t.extend(w.t().iter());
        let per = images_per_task(n);
        self.tasks.resize_with(n.div_ceil(per), TaskGrads::default);
        ensure_shape(&mut self.grad_in, n, win.input.len());
        let grad_in = self.grad_in.as_slice_mut().expect("owned");
        let cols = self.cols.as_slice().expect("owned, from forward");
        let weight_t = &self.weight_t;
        let tasks = g
            .chunks(per * o * p)
            .zip(cols.chunks(per * patch * p))
            .zip(grad_in.chunks_mut(per * win.input.len()))
            .zip(self.tasks.iter_mut());
        parallel::for_each(tasks, |(((g, cols), grad_in), task)| {
            task.accumulate(&win, weight_t, g, cols, need_grad_in.then_some(grad_in));
        });
        let mut gw = as_matrix_mut(self.weight.grad.view_mut(), o);
        let gb = self.bias.grad.as_slice_mut().expect("contiguous");
        gw.fill(F::zero());
        gb.fill(F::zero());
        for task in &self.tasks {
            let tw = ArrayView2::from_shape(gw.raw_dim(), &task.weight).expect("[out, C*k*k]");
            gw += &tw;
            for (b, &t) in gb.iter_mut().zip(&task.bias) {
                *b += t;
            }
        }
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}

impl<F: Float> LayerOps<F> for Conv2d<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        Conv2d::forward(self, x);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        Conv2d::output(self)
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool) {
        Conv2d::backward(self, grad_out, need_grad_in);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        Conv2d::grad_input(self)
    }
    layer_params!(weight, bias);
}
