//! Max pooling over each channel of rows that hold `C x H x W` images.

use super::Float;
use super::buffer::ensure_shape;
use super::layer_ops::LayerOps;
use super::parallel;
use super::window::Window;
use ndarray::{Array2, ArrayView2};

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

    /// Each output's gradient goes to the input that won it.
    pub fn backward(&mut self, grad_out: ArrayView2<F>) {
        let (n, out_len) = (grad_out.nrows(), self.window.output.len());
        ensure_shape(&mut self.grad_in, n, self.window.input.len());
        self.grad_in.fill(F::zero());
        let grad_out = grad_out.as_standard_layout();
        let g = grad_out.as_slice().expect("standard layout");
        for ((mut dst, src), winners) in self
            .grad_in
            .rows_mut()
            .into_iter()
            .zip(g.chunks_exact(out_len))
            .zip(self.winners.chunks_exact(out_len))
        {
            for (&v, &at) in src.iter().zip(winners) {
                dst[at as usize] += v;
            }
        }
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
