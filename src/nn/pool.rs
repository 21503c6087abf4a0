//! Max pooling over each channel of rows that hold `C x H x W` images.

use super::Float;
use super::conv::Window;
use super::layer::ensure_shape;
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
        let (n, (h, w), (oh_n, ow_n)) = (
            x.nrows(),
            (win.input.h, win.input.w),
            (win.output.h, win.output.w),
        );
        ensure_shape(&mut self.out, n, win.output.len());
        self.winners.resize(n * win.output.len(), 0);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let out = self.out.as_slice_mut().expect("owned");
        let planes = xs
            .chunks_exact(h * w)
            .zip(out.chunks_exact_mut(oh_n * ow_n));
        for (plane, ((src, dst), winners)) in planes
            .zip(self.winners.chunks_exact_mut(oh_n * ow_n))
            .enumerate()
        {
            // Index of this plane's first pixel within its row.
            let base = (plane % win.input.c) * h * w;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let (top, left) = (oh * win.stride, ow * win.stride);
                    let mut best = top * w + left;
                    for i in top..top + win.kernel {
                        for j in left..left + win.kernel {
                            if src[i * w + j] > src[best] {
                                best = i * w + j;
                            }
                        }
                    }
                    dst[oh * ow_n + ow] = src[best];
                    winners[oh * ow_n + ow] = (base + best) as u32;
                }
            }
        }
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
