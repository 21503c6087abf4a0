//! The crop normalisation shared by `builtin`, OCR and the drawing canvas, so a model sees
//! the same kind of input everywhere: tight box of the ink -> square with a margin -> resize
//! -> stroke normalisation (thin the glyph to its skeleton and redraw it with one pen), so a
//! hair-line pen in a photo and a marker in a font give the same kind of stroke.

use super::{PIXELS, SIDE};
use ndarray::{Array1, Array2, ArrayView2};

/// Fraction of the square left blank on each side.
const MARGIN: f32 = 0.1;
/// Ink below this fraction of the darkest ink counts as paper.
const INK_LEVEL: f32 = 0.5;
/// An image whose darkest pixel is fainter than this has no ink at all.
const NO_INK: f32 = 0.05;
/// The stroke is thinned and redrawn on a grid this many times finer than the output, so
/// the redrawn pen is anti-aliased.
const FINE: usize = 2;
/// Radius of the redrawn pen in output pixels.
const PEN_RADIUS: f32 = 1.25;

/// Normalises an ink image (ink 1.0, paper 0.0, any size) to a 32x32 row.
/// An image with no ink gives a blank row.
pub fn normalize_glyph(ink: ArrayView2<f32>) -> Array1<f32> {
    let darkest = ink.iter().fold(0.0f32, |m, &v| m.max(v));
    if darkest < NO_INK {
        return Array1::zeros(PIXELS);
    }
    let level = INK_LEVEL * darkest;
    let Some(bounds) = ink_box(ink, level) else {
        return Array1::zeros(PIXELS);
    };
    redrawn(ink, bounds, level)
}

/// A letter read in its surroundings: [`normalize_glyph`] of `own` (the letter's ink),
/// followed by `context` (all ink around it, the letter's included, on the same grid)
/// resampled and redrawn in the very square `own` was, so strokes that a cut took from
/// the letter stay in view. `own` blank gives a blank row.
pub fn normalize_in_context(own: ArrayView2<f32>, context: ArrayView2<f32>) -> Array1<f32> {
    let mut out = Array1::zeros(2 * PIXELS);
    let darkest = own.iter().fold(0.0f32, |m, &v| m.max(v));
    let level = INK_LEVEL * darkest;
    let Some(bounds) = ink_box(own, level).filter(|_| darkest >= NO_INK) else {
        return out;
    };
    out.slice_mut(ndarray::s![..PIXELS])
        .assign(&redrawn(own, bounds, level));
    out.slice_mut(ndarray::s![PIXELS..])
        .assign(&redrawn(context, bounds, level));
    out
}

/// The ink of `bounds` squared, resampled, thinned to its skeleton and redrawn with the
/// one pen.
fn redrawn(ink: ArrayView2<f32>, bounds: (usize, usize, usize, usize), level: f32) -> Array1<f32> {
    let square = resample_square(ink, bounds, SIDE * FINE);
    let mut mask = square.mapv(|v| v > level);
    thin(&mut mask);
    let pen = draw_pen(&mask, PEN_RADIUS * FINE as f32);
    downsample(&pen, FINE)
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

/// The ink box centred in a `side` x `side` square with `MARGIN` on the longer side.
fn resample_square(
    ink: ArrayView2<f32>,
    (top, left, bottom, right): (usize, usize, usize, usize),
    side: usize,
) -> Array2<f32> {
    let (h, w) = (bottom - top, right - left);
    let source_side = h.max(w) as f32 / (1.0 - 2.0 * MARGIN);
    let scale = source_side / side as f32;
    // Centre of the ink box in source pixels.
    let cy = (top + bottom) as f32 / 2.0;
    let cx = (left + right) as f32 / 2.0;
    Array2::from_shape_fn((side, side), |(y, x)| {
        // Area-average the source pixels covered by this output pixel.
        let sy0 = cy + (y as f32 - side as f32 / 2.0) * scale;
        let sx0 = cx + (x as f32 - side as f32 / 2.0) * scale;
        box_average(ink, sy0, sx0, scale)
    })
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

/// Zhang-Suen thinning: peels the stroke's border until a one-pixel skeleton is left
/// (a lone dot stays a dot). Each sub-step judges every ink pixel on the mask as the
/// sub-step found it, so only the ink is visited (most of the square is paper, and OCR
/// thins hundreds of crops a page).
fn thin(mask: &mut Array2<bool>) {
    let (h, w) = mask.dim();
    // A frame of paper around the mask gives every pixel eight neighbours.
    let stride = w + 2;
    let mut grid = vec![false; (h + 2) * stride];
    let mut ink = Vec::new();
    for ((y, x), &on) in mask.indexed_iter() {
        if on {
            let i = (y + 1) * stride + x + 1;
            grid[i] = true;
            ink.push(i);
        }
    }
    // Neighbours clockwise from north: P2..P9.
    let offsets = [
        -(stride as isize),
        1 - stride as isize,
        1,
        stride as isize + 1,
        stride as isize,
        stride as isize - 1,
        -1,
        -(stride as isize) - 1,
    ];
    let mut removed = Vec::new();
    loop {
        let mut changed = false;
        for step in 0..2 {
            removed.clear();
            for &i in &ink {
                let n = offsets.map(|o| grid[i.wrapping_add_signed(o)]);
                let count = n.iter().filter(|&&v| v).count();
                let crossings = (0..8).filter(|&k| !n[k] && n[(k + 1) % 8]).count();
                let (p2, p4, p6, p8) = (n[0], n[2], n[4], n[6]);
                let side_clear = if step == 0 {
                    !(p4 && p6 && (p2 || p8))
                } else {
                    !(p2 && p8 && (p4 || p6))
                };
                if (2..=6).contains(&count) && crossings == 1 && side_clear {
                    removed.push(i);
                }
            }
            for &i in &removed {
                grid[i] = false;
            }
            if !removed.is_empty() {
                ink.retain(|&i| grid[i]);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for ((y, x), on) in mask.indexed_iter_mut() {
        *on = grid[(y + 1) * stride + x + 1];
    }
}

/// Redraws a skeleton with a round, anti-aliased pen of `radius` pixels.
fn draw_pen(skeleton: &Array2<bool>, radius: f32) -> Array2<f32> {
    let (h, w) = skeleton.dim();
    let reach = (radius + 1.0).ceil() as isize;
    let stamp: Vec<(isize, isize, f32)> = (-reach..=reach)
        .flat_map(|dy| (-reach..=reach).map(move |dx| (dy, dx)))
        .map(|(dy, dx)| {
            (
                dy,
                dx,
                (radius + 0.5 - ((dy * dy + dx * dx) as f32).sqrt()).clamp(0.0, 1.0),
            )
        })
        .filter(|&(_, _, v)| v > 0.0)
        .collect();
    let mut out = Array2::zeros((h, w));
    for ((y, x), _) in skeleton.indexed_iter().filter(|(_, on)| **on) {
        for &(dy, dx, v) in &stamp {
            let (yy, xx) = (y as isize + dy, x as isize + dx);
            if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                let p = &mut out[[yy as usize, xx as usize]];
                *p = f32::max(*p, v);
            }
        }
    }
    out
}

/// Averages `factor` x `factor` blocks into a row of `SIDE` x `SIDE`.
fn downsample(fine: &Array2<f32>, factor: usize) -> Array1<f32> {
    let norm = (factor * factor) as f32;
    Array1::from_shape_fn(PIXELS, |i| {
        let (y, x) = (i / SIDE * factor, i % SIDE * factor);
        let mut sum = 0.0;
        for dy in 0..factor {
            for dx in 0..factor {
                sum += fine[[y + dy, x + dx]];
            }
        }
        sum / norm
    })
}
