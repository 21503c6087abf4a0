//! Max pooling over each channel of rows that hold `C x H x W` images.

use super::Float;
use super::buffer::ensure_shape;
use super::init::Init;
use super::layer_kind::{LayerKind, RowArgs};
use super::layer_ops::LayerOps;
use super::limits::{MAX_SIDE, at_most};
use super::parallel;
use super::shape::Shape;
use super::window::{Window, window_output};
use ndarray::{Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The largest value of each `size x size` window, windows `stride` apart. Its row is
/// `pool SIZE [STRIDE]` (the stride is the size if left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxPool2dSpec {
    pub size: usize,
    pub stride: usize,
}

impl LayerKind for MaxPool2dSpec {
    type Layer<F: Float> = MaxPool2d<F>;
    const ROW_NAMES: &'static [&'static str] = &["pool"];

    fn parse_row(_name: &str, args: RowArgs) -> Result<Self, String> {
        args.arity(1, 2, "pool SIZE [STRIDE]")?;
        let size = args.count(0)?;
        Ok(Self {
            size,
            stride: args.count_or(1, size)?,
        })
    }

    fn row_text(&self) -> String {
        match *self {
            Self { size, stride } if size == stride => format!("pool {size}"),
            Self { size, stride } => format!("pool {size} {stride}"),
        }
    }

    fn label(&self) -> String {
        match *self {
            Self { size, stride } if size == stride => format!("MaxPool({size})"),
            Self { size, stride } => format!("MaxPool({size}, stride {stride})"),
        }
    }

    fn check_limits(&self) -> Result<(), String> {
        at_most("the pool size", self.size, MAX_SIDE)?;
        at_most("the stride", self.stride, MAX_SIDE).map(drop)
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let Self { size, stride } = *self;
        let fit = |side| window_output(side, size, stride, 0);
        match (fit(input.h), fit(input.w)) {
            (Some(h), Some(w)) => Ok(Shape::image(input.c, h, w)),
            _ => Err(format!(
                "a {size}x{size} pool (stride {stride}) does not fit a {}x{} image",
                input.h, input.w
            )),
        }
    }

    fn build<F: Float>(
        &self,
        input: Shape,
        output: Shape,
        _: Init,
        _: &mut impl Rng,
    ) -> MaxPool2d<F> {
        MaxPool2d::new(Window {
            input,
            output,
            kernel: self.size,
            stride: self.stride,
            padding: 0,
        })
    }
}

#[derive(Clone, Debug)]
pub struct MaxPool2d<F> {
    pub window: Window,
    out: Array2<F>,
    /// For every output value, the index (within its row) of the input that won.
    winners: Vec<u32>,
    grad_in: Array2<F>,
}

impl<F: Float> MaxPool2d<F> {
    pub fn new(window: Window) -> Self {
        Self {
            window,
            out: Array2::zeros((0, 0)),
            winners: Vec::new(),
            grad_in: Array2::zeros((0, 0)),
        }
    }

    pub fn forward(&mut self, x: ArrayView2<F>) {
        let win = self.window;
        let (n, plane_in, plane_out) = (
            x.nrows(),
            win.input.h * win.input.w,
            win.output.h * win.output.w,
        );
        ensure_shape(&mut self.out, n, win.output.len());
        self.winners.resize(n * win.output.len(), 0);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let out = self.out.as_slice_mut().expect("owned");
        let per = parallel::planes_per_core(xs.len() / plane_in.max(1), plane_in);
        let parts = xs
            .chunks(per * plane_in)
            .zip(out.chunks_mut(per * plane_out))
            .zip(self.winners.chunks_mut(per * plane_out))
            .enumerate();
        parallel::for_each(parts, |(part, ((xs, out), winners))| {
            let planes = xs
                .chunks_exact(plane_in)
                .zip(out.chunks_exact_mut(plane_out))
                .zip(winners.chunks_exact_mut(plane_out));
            for (i, ((src, dst), winners)) in planes.enumerate() {
                // Index of this plane's first pixel within its row.
                let base = ((part * per + i) % win.input.c) * plane_in;
                // The usual 2x2 / stride 2 window as constants, so its loops unroll.
                match (win.kernel, win.stride) {
                    (2, 2) => pool_plane(&win, 2, 2, src, dst, winners, base),
                    (k, s) => pool_plane(&win, k, s, src, dst, winners, base),
                }
            }
        });
    }

    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Each output's gradient goes to the input that won it; rows are independent, so the
    /// cores share them.
    pub fn backward(&mut self, grad_out: ArrayView2<F>) {
        let (n, in_len, out_len) = (
            grad_out.nrows(),
            self.window.input.len(),
            self.window.output.len(),
        );
        ensure_shape(&mut self.grad_in, n, in_len);
        let grad_out = grad_out.as_standard_layout();
        let g = grad_out.as_slice().expect("standard layout");
        let grad_in = self.grad_in.as_slice_mut().expect("owned");
        let per = parallel::planes_per_core(n, in_len);
        let parts = grad_in
            .chunks_mut(per * in_len)
            .zip(g.chunks(per * out_len))
            .zip(self.winners.chunks(per * out_len));
        parallel::for_each(parts, |((grad_in, g), winners)| {
            grad_in.fill(F::zero());
            let rows = grad_in
                .chunks_exact_mut(in_len)
                .zip(g.chunks_exact(out_len))
                .zip(winners.chunks_exact(out_len));
            for ((dst, src), winners) in rows {
                for (&v, &at) in src.iter().zip(winners) {
                    dst[at as usize] += v;
                }
            }
        });
    }

    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_in.view()
    }
}

/// The maxima of one plane's windows (`kernel` x `kernel`, every `stride` pixels) and, in
/// `winners`, the index within the row (`base` + index in the plane) of the first input
/// that holds each.
#[inline(always)]
fn pool_plane<F: Float>(
    win: &Window,
    kernel: usize,
    stride: usize,
    src: &[F],
    dst: &mut [F],
    winners: &mut [u32],
    base: usize,
) {
    let w = win.input.w;
    let rows = dst
        .chunks_exact_mut(win.output.w)
        .zip(winners.chunks_exact_mut(win.output.w));
    for (oh, (dst, winners)) in rows.enumerate() {
        let top = oh * stride * w;
        for (ow, (d, won)) in dst.iter_mut().zip(winners.iter_mut()).enumerate() {
            let corner = top + ow * stride;
            let (mut best, mut max) = (corner, src[corner]);
            for ki in 0..kernel {
                let at = corner + ki * w;
                for (kj, &v) in src[at..at + kernel].iter().enumerate() {
                    // Selects, not branches: which input wins is data, not a pattern.
                    let wins = v > max;
                    best = if wins { at + kj } else { best };
                    max = if wins { v } else { max };
                }
            }
            *d = max;
            *won = (base + best) as u32;
        }
    }
}

/// No parameters: its backward pass only routes the gradient to the winners.
impl<F: Float> LayerOps<F> for MaxPool2d<F> {
    fn forward(&mut self, x: ArrayView2<F>, _train: bool) {
        MaxPool2d::forward(self, x);
    }
    fn output(&self) -> ArrayView2<'_, F> {
        MaxPool2d::output(self)
    }
    fn backward(&mut self, _x: ArrayView2<F>, grad_out: ArrayView2<F>, _need_grad_in: bool) {
        MaxPool2d::backward(self, grad_out);
    }
    fn grad_input(&self) -> ArrayView2<'_, F> {
        MaxPool2d::grad_input(self)
    }
}
