//! Touching letters: the cut that separates them, shared by OCR and training, and the
//! training-time augmentation that shows the classifier what such cuts leave.
//!
//! When two handwritten letters touch, OCR cuts their joined ink along a path of least
//! ink ([`least_ink_path`]) and reads each piece. A piece carries a fragment of its
//! neighbour's strokes and has lost a bit of its own, which a classifier trained on clean
//! glyphs reads badly; and the joined pair, read whole, often looks like an M or a W to it,
//! with confidence. [`TouchingLetters`] trains on both: a share of training images get a
//! neighbour drawn over their edge and are cut off it as OCR would (labels kept), and a
//! smaller share become the whole pair, whose target is the uniform distribution, so the
//! classifier learns to be unsure of a pair ("outlier exposure") and the OCR's choice
//! between reading a box whole and cutting it can trust its confidence.

use super::SIDE;
use super::crop::normalize_glyph;
use crate::nn::{Shape, parallel};
use anyhow::{Result, bail};
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Share of training images made into a piece cut off a touching pair.
const PIECE_SHARE: f64 = 0.15;
/// Share of training images made into a whole touching pair (target: uniform).
const PAIR_SHARE: f64 = 0.05;
/// The neighbour's ink reaches this share of the image's ink width into it (at most).
const MAX_OVERLAP: f32 = 0.4;
/// The neighbour sits up to this many pixels higher or lower.
const MAX_DROP: i32 = 2;
/// The cut starts up to this many pixels off the middle of the overlap (OCR's candidate
/// cuts are not always where the letters meet).
const SEAM_JITTER: i32 = 3;
/// The cut wanders at most this many pixels left or right of its start (OCR's band: a
/// fifth of a letter height).
const CUT_BAND: usize = 5;
/// Ink above this counts when cutting.
pub(crate) const INK: f32 = 0.5;
/// A sideways step of a cut costs this much, in crossed ink pixels (straight cuts are
/// preferred among equally clean ones).
const PATH_STEP_COST: f32 = 0.05;

/// The path from top to bottom of an ink mask (`w` columns, `rows` rows, row-major)
/// crossing the least ink (one column per row, a step of at most one column per row),
/// within `band` columns of `start`; its cost and its column in every row.
pub fn least_ink_path(
    ink: &[bool],
    w: usize,
    rows: usize,
    start: usize,
    band: usize,
) -> (f32, Vec<usize>) {
    let lo = start.saturating_sub(band);
    let hi = (start + band).min(w - 1);
    let span = hi - lo + 1;
    let pixel = |y: usize, i: usize| {
        let x = lo + i;
        (if ink[y * w + x] { 1.0 } else { 0.0 }) + 0.01 * x.abs_diff(start) as f32
    };
    let mut cost: Vec<f32> = (0..span).map(|i| pixel(0, i)).collect();
    // from[y * span + i]: the column (index in the band) row y - 1 came from.
    let mut from = vec![0usize; rows * span];
    let mut next = vec![0f32; span];
    for y in 1..rows {
        for (i, n) in next.iter_mut().enumerate() {
            let mut best = (cost[i], i);
            if i > 0 && cost[i - 1] + PATH_STEP_COST < best.0 {
                best = (cost[i - 1] + PATH_STEP_COST, i - 1);
            }
            if i + 1 < span && cost[i + 1] + PATH_STEP_COST < best.0 {
                best = (cost[i + 1] + PATH_STEP_COST, i + 1);
            }
            *n = best.0 + pixel(y, i);
            from[y * span + i] = best.1;
        }
        std::mem::swap(&mut cost, &mut next);
    }
    let (mut i, total) = cost
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &c)| (i, c))
        .expect("a non-empty band");
    let mut path = vec![0usize; rows];
    for y in (0..rows).rev() {
        path[y] = lo + i;
        i = from[y * span + i];
    }
    (total, path)
}

/// What one training image becomes.
#[derive(Clone, Copy, Debug)]
enum Touch {
    Alone,
    /// Cut off a neighbour (the batch row `neighbour`) drawn over its right (or left) edge.
    Piece(Pair),
    /// Read whole with its neighbour.
    Pair(Pair),
}

#[derive(Clone, Copy, Debug)]
struct Pair {
    neighbour: usize,
    right: bool,
    overlap: f32,
    drop: i32,
    seam: i32,
}

/// Training-time touching letters for whole batches, from its own seeded generator (a run
/// stays reproducible). Neighbours are other images of the same batch.
pub struct TouchingLetters {
    rng: ChaCha8Rng,
    touches: Vec<Touch>,
    source: Vec<f32>,
}

impl TouchingLetters {
    /// For character images (one channel, 32x32) only: pieces are normalised like OCR's
    /// crops, which are characters.
    pub fn new(shape: Shape, seed: u64) -> Result<Self> {
        if shape != Shape::image(1, SIDE, SIDE) {
            bail!(
                "touching letters are drawn from 32x32 character images, and these samples are \
                 {}x{}x{}; turn 'train on touching letters' off",
                shape.c,
                shape.h,
                shape.w
            );
        }
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            touches: Vec::new(),
            source: Vec::new(),
        })
    }

    /// Makes a share of the rows of `images` (one image each) into pieces of touching pairs
    /// and whole pairs, in place; a whole pair's row of `targets` (one-hot) becomes uniform.
    pub fn apply(&mut self, images: &mut Array2<f32>, targets: &mut Array2<f32>) {
        let n = images.nrows();
        // Drawn in row order before the parallel part, so the result never depends on threads.
        self.touches.clear();
        let has_ink = |row: usize| images.row(row).iter().any(|&v| v > INK);
        for row in 0..n {
            let touch = match self.draw(row, n) {
                // A blank image (or neighbour) has no letter to cut or pair.
                Touch::Piece(p) | Touch::Pair(p) if !(has_ink(row) && has_ink(p.neighbour)) => {
                    Touch::Alone
                }
                touch => touch,
            };
            self.touches.push(touch);
        }
        for (touch, mut target) in self.touches.iter().zip(targets.rows_mut()) {
            if matches!(touch, Touch::Pair(_)) {
                target.fill(1.0 / target.len() as f32);
            }
        }
        let rows = images
            .as_slice_mut()
            .expect("a batch is a standard-layout matrix");
        self.source.clear();
        self.source.extend_from_slice(rows);
        let source = &self.source;
        let len = SIDE * SIDE;
        let per_core = parallel::planes_per_core(n, len);
        let parts = rows
            .chunks_mut(per_core * len)
            .zip(self.touches.chunks(per_core));
        parallel::for_each(parts, |(dst, touches)| {
            for (dst, touch) in dst.chunks_exact_mut(len).zip(touches) {
                let (Touch::Piece(p) | Touch::Pair(p)) = *touch else {
                    continue;
                };
                let at = |row: usize| {
                    ArrayView2::from_shape((SIDE, SIDE), &source[row * len..(row + 1) * len])
                        .expect("32x32 rows")
                };
                let own = ArrayView2::from_shape((SIDE, SIDE), &*dst)
                    .expect("32x32 rows")
                    .to_owned();
                let made = touching(
                    own.view(),
                    at(p.neighbour),
                    p,
                    matches!(touch, Touch::Piece(_)),
                );
                if let Some(made) = made {
                    dst.copy_from_slice(made.as_slice().expect("a fresh row"));
                }
            }
        });
    }

    fn draw(&mut self, row: usize, n: usize) -> Touch {
        let roll: f64 = self.rng.random();
        if n < 2 || roll >= PIECE_SHARE + PAIR_SHARE {
            return Touch::Alone;
        }
        let pair = Pair {
            // Any other row of the batch.
            neighbour: (row + self.rng.random_range(1..n)) % n,
            right: self.rng.random(),
            overlap: self.rng.random_range(0.0..MAX_OVERLAP),
            drop: self.rng.random_range(-MAX_DROP..=MAX_DROP),
            seam: self.rng.random_range(-SEAM_JITTER..=SEAM_JITTER),
        };
        if roll < PIECE_SHARE {
            Touch::Piece(pair)
        } else {
            Touch::Pair(pair)
        }
    }
}

/// The columns of `g` holding ink: (first, last + 1); `None` for a blank image.
pub fn ink_columns(g: ArrayView2<f32>) -> Option<(i32, i32)> {
    let has_ink = |x: usize| g.column(x).iter().any(|&v| v > INK);
    let first = (0..g.ncols()).find(|&x| has_ink(x))?;
    let last = (0..g.ncols()).rev().find(|&x| has_ink(x))?;
    Some((first as i32, last as i32 + 1))
}

/// Draws `img` onto `canvas` at (`dx`, `dy`), keeping the darker ink where they overlap.
pub(crate) fn paint(canvas: &mut Array2<f32>, img: ArrayView2<f32>, dx: i32, dy: i32) {
    let (rows, cols) = (canvas.nrows() as i32, canvas.ncols() as i32);
    for ((y, x), &v) in img.indexed_iter() {
        let (cy, cx) = (y as i32 + dy, x as i32 + dx);
        if (0..rows).contains(&cy) && (0..cols).contains(&cx) {
            let c = &mut canvas[[cy as usize, cx as usize]];
            *c = c.max(v);
        }
    }
}

/// `own` with `neighbour` drawn over its right (or left) edge, normalised as OCR crops
/// are: the piece on `own`'s side of the least-ink cut through the overlap (`piece`), or
/// the pair whole. `None` when either image is blank.
fn touching(
    own: ArrayView2<f32>,
    neighbour: ArrayView2<f32>,
    p: Pair,
    piece: bool,
) -> Option<ndarray::Array1<f32>> {
    let (o0, o1) = ink_columns(own)?;
    let (n0, n1) = ink_columns(neighbour)?;
    let reach = (p.overlap * (o1 - o0) as f32).round() as i32;
    // Where the neighbour's image starts relative to own's, and the middle of the overlap.
    let (shift, seam) = if p.right {
        (o1 - reach - n0, o1 - reach / 2)
    } else {
        (o0 + reach - n1, o0 + reach / 2)
    };
    // A canvas wide enough for both, own at column SIDE and row MAX_DROP.
    let side = SIDE as i32;
    let (rows, cols) = (side + 2 * MAX_DROP, 3 * side);
    let mut canvas = Array2::<f32>::zeros((rows as usize, cols as usize));
    paint(&mut canvas, own, side, MAX_DROP);
    paint(&mut canvas, neighbour, side + shift, MAX_DROP + p.drop);
    if !piece {
        return Some(normalize_glyph(canvas.view()));
    }
    let ink: Vec<bool> = canvas.iter().map(|&v| v > INK).collect();
    let start = (side + seam + p.seam).clamp(0, cols - 1) as usize;
    let (_, path) = least_ink_path(&ink, cols as usize, rows as usize, start, CUT_BAND);
    // OCR's pieces: columns left of the path belong to the left piece, the rest to the right.
    for (y, &cut) in path.iter().enumerate() {
        let mut row = canvas.row_mut(y);
        let (left, right) = row
            .as_slice_mut()
            .expect("a standard-layout canvas")
            .split_at_mut(cut);
        let other = if p.right { right } else { left };
        other.fill(0.0);
    }
    Some(normalize_glyph(canvas.view()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_cut_path_goes_around_the_ink() {
        // Two strokes 10 wide, 20 tall, 3 columns apart; a bar joins them in rows 8-9,
        // and the left stroke leans into the gap in rows 14-19.
        let (w, rows) = (23, 20);
        let ink: Vec<bool> = (0..rows)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| !(10..13).contains(&x) || (8..10).contains(&y) || (y >= 14 && x < 12))
            .collect();
        let (cost, path) = least_ink_path(&ink, w, rows, 11, 3);
        assert!(
            (1.9..2.5).contains(&cost),
            "crosses the bar only: cost {cost}"
        );
        for (y, &x) in path.iter().enumerate() {
            assert!(
                !ink[y * w + x] || (8..10).contains(&y),
                "row {y}: column {x} is ink"
            );
        }
        assert_eq!(path[19], 12, "bends around the leaning stroke");
    }

    /// The outline of a box 12 wide from column `x`, rows 4..28, 2 pixels thick.
    pub(crate) fn ring(x: usize) -> Array2<f32> {
        Array2::from_shape_fn((SIDE, SIDE), |(r, c)| {
            let inside = |lo: usize, hi: usize, v: usize| (lo..hi).contains(&v);
            let outer = inside(4, 28, r) && inside(x, x + 12, c);
            let inner = inside(6, 26, r) && inside(x + 2, x + 10, c);
            f32::from(u8::from(outer && !inner))
        })
    }

    #[test]
    fn pieces_keep_their_side_and_pairs_become_uncertain() {
        let mut images = Array2::zeros((64, SIDE * SIDE));
        let mut targets = Array2::zeros((64, 2));
        for (i, mut row) in images.rows_mut().into_iter().enumerate() {
            let img = ring(2 + i % 16);
            row.assign(&ndarray::Array1::from_iter(img.iter().copied()));
            targets[[i, i % 2]] = 1.0;
        }
        let before = images.clone();
        let mut t = TouchingLetters::new(Shape::image(1, SIDE, SIDE), 7).unwrap();
        t.apply(&mut images, &mut targets);
        let (mut pieces, mut pairs, mut changed) = (0, 0, 0);
        for (i, touch) in t.touches.iter().enumerate() {
            match touch {
                Touch::Alone => assert_eq!(images.row(i), before.row(i), "row {i} untouched"),
                Touch::Pair(_) => {
                    pairs += 1;
                    assert_eq!(targets.row(i).to_vec(), vec![0.5, 0.5], "row {i}: uniform");
                    // Two boxes side by side: wider ink than one box's normalised crop.
                    let wide = |r: ndarray::ArrayView1<f32>| {
                        let g = r.to_owned().into_shape_with_order((SIDE, SIDE)).unwrap();
                        let (a, b) = ink_columns(g.view()).unwrap();
                        b - a
                    };
                    let alone = normalize_glyph(ring(10).view());
                    assert!(wide(images.row(i)) > wide(alone.view()), "row {i}");
                }
                Touch::Piece(_) => {
                    pieces += 1;
                    assert_eq!(targets.row(i).iter().sum::<f32>(), 1.0);
                    assert!(targets.row(i).iter().any(|&v| v == 1.0), "label kept");
                    changed += usize::from(images.row(i) != before.row(i));
                }
            }
        }
        assert!(pieces > 5 && pairs > 0, "{pieces} pieces, {pairs} pairs");
        assert!(
            2 * changed > pieces,
            "{changed} of {pieces} pieces hold other ink"
        );
    }

    #[test]
    fn blank_images_keep_their_pixels_and_labels() {
        let mut images = Array2::zeros((64, SIDE * SIDE));
        let mut targets = Array2::zeros((64, 2));
        for i in 0..64 {
            targets[[i, i % 2]] = 1.0;
        }
        let before = targets.clone();
        let mut t = TouchingLetters::new(Shape::image(1, SIDE, SIDE), 3).unwrap();
        t.apply(&mut images, &mut targets);
        assert!(images.iter().all(|&v| v == 0.0));
        assert_eq!(
            targets, before,
            "no blank pair is trained towards 'no idea'"
        );
    }

    #[test]
    fn only_character_images_are_touched() {
        assert!(TouchingLetters::new(Shape::image(3, 32, 32), 1).is_err());
        assert!(TouchingLetters::new(Shape::image(1, 1, 2), 1).is_err());
    }
}
