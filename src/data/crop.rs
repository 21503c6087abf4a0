//! The crop normalisation shared by `builtin`, OCR and the drawing canvas, so a model sees
//! the same kind of input everywhere: tight box of the ink -> square with a margin ->
//! resize to 32x32.

use super::{PIXELS, SIDE};
use ndarray::{Array1, ArrayView2};

/// Fraction of the square left blank on each side.
const MARGIN: f32 = 0.1;

/// Normalises an ink image (ink 1.0, paper 0.0, any size) to a 32x32 row.
/// An image with no ink gives a blank row.
pub fn normalize_glyph(ink: ArrayView2<f32>) -> Array1<f32> {
    let Some((top, left, bottom, right)) = ink_box(ink, 0.05) else {
        return Array1::zeros(PIXELS);
    };
    let (h, w) = (bottom - top, right - left);
    let side = h.max(w) as f32 / (1.0 - 2.0 * MARGIN);
    let scale = side / SIDE as f32;
    // Centre of the ink box in source pixels.
    let cy = (top + bottom) as f32 / 2.0;
    let cx = (left + right) as f32 / 2.0;
    let mut out = Array1::zeros(PIXELS);
    for y in 0..SIDE {
        for x in 0..SIDE {
            // Area-average the source pixels covered by this output pixel.
            let sy0 = cy + (y as f32 - SIDE as f32 / 2.0) * scale;
            let sx0 = cx + (x as f32 - SIDE as f32 / 2.0) * scale;
            out[y * SIDE + x] = box_average(ink, sy0, sx0, scale);
        }
    }
    out
}

/// Tight box `(top, left, bottom, right)` (exclusive ends) of pixels above `level`.
pub fn ink_box(ink: ArrayView2<f32>, level: f32) -> Option<(usize, usize, usize, usize)> {
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for ((y, x), &v) in ink.indexed_iter() {
        if v > level {
            b = Some(match b {
                None => (y, x, y + 1, x + 1),
                Some((t, l, bo, r)) => (t.min(y), l.min(x), bo.max(y + 1), r.max(x + 1)),
            });
        }
    }
    b
}

/// Mean of `ink` over the square `[y0, y0+size) x [x0, x0+size)`, pixels outside count as paper.
fn box_average(ink: ArrayView2<f32>, y0: f32, x0: f32, size: f32) -> f32 {
    let (h, w) = ink.dim();
    let (mut sum, mut area) = (0.0, 0.0);
    let y_end = y0 + size;
    let x_end = x0 + size;
    let mut y = y0.floor();
    while y < y_end {
        let cover_y = (y + 1.0).min(y_end) - y.max(y0);
        let mut x = x0.floor();
        while x < x_end {
            let cover_x = (x + 1.0).min(x_end) - x.max(x0);
            let a = cover_x * cover_y;
            if y >= 0.0 && x >= 0.0 && (y as usize) < h && (x as usize) < w {
                sum += a * ink[[y as usize, x as usize]];
            }
            area += a;
            x += 1.0;
        }
        y += 1.0;
    }
    if area > 0.0 { sum / area } else { 0.0 }
}
