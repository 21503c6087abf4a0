//! Where a sliding window (a convolution's kernel, a pooling window) sits over an image.

use super::shape::Shape;

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
    pub(crate) fn valid_columns(&self, kj: usize) -> (usize, usize) {
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
    pub(crate) fn input_row(&self, oh: usize, ki: usize) -> Option<usize> {
        (oh * self.stride + ki)
            .checked_sub(self.padding)
            .filter(|&r| r < self.input.h)
    }
}

/// Output side of a window sliding over `side` pixels, if it fits at least once.
pub fn window_output(side: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = side + 2 * padding;
    (kernel > 0 && stride > 0 && padded >= kernel).then(|| (padded - kernel) / stride + 1)
}
