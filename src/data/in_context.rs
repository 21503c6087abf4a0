//! Letters in context: the training data of the piece reader, the classifier that reads a
//! piece cut out of touching letters together with the ink around it.
//!
//! A cut through touching letters takes strokes from one letter and leaves it some of its
//! neighbour's, so a piece alone often looks like another letter (an O that lost its right
//! side reads C). The piece reader sees two planes: the piece, and all the ink of its box
//! in the same square ([`normalize_in_context`]), so it can tell which strokes went where.
//! It also learns to say "no letter" ([`NO_LETTER`]) for a part of one letter and for two
//! letters read as one, which is what the segmentation needs to choose between cuts.

use super::crop::normalize_in_context;
use super::touching::{INK, ink_columns, least_ink_path, paint};
use super::{Dataset, PIXELS, SIDE, Shape};
use crate::nn::parallel;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The class a piece reader gives a piece that is not one letter.
pub const NO_LETTER: &str = "no letter";
/// A neighbour's ink reaches at most this share of the letter's ink width into it.
const MAX_OVERLAP: f32 = 0.4;
/// Neighbours sit up to this many pixels higher or lower.
const MAX_DROP: i32 = 2;
/// A cut starts up to this many pixels off the middle of the overlap.
const SEAM_JITTER: i32 = 3;
/// A cut wanders at most this many pixels left or right of its start.
const CUT_BAND: usize = 5;
/// A part of a letter is cut between these shares of its ink width.
const PART_CUT: (f32, f32) = (0.3, 0.7);

/// A neighbour touching the letter: which sample, how far it reaches in, how much higher.
#[derive(Clone, Copy, Debug)]
struct Neighbour {
    sample: usize,
    overlap: f32,
    drop: i32,
    seam: i32,
}

/// What one training sample of the piece reader is.
#[derive(Clone, Copy, Debug)]
enum Sample {
    /// The letter cut off its neighbours (none, or on either side or both): its own class.
    Letter {
        left: Option<Neighbour>,
        right: Option<Neighbour>,
    },
    /// The left or right part of a letter cut at `at` of its ink width: no letter.
    Part { at: f32, keep_left: bool },
    /// The letter and its right neighbour as one piece: no letter.
    Two(Neighbour),
}

/// `copies` samples of the piece reader per image of `ds` (one channel, 32x32), drawn
/// from a seeded generator: two planes of 32x32 each, classes `ds`'s and [`NO_LETTER`].
pub fn pieces_in_context(ds: &Dataset, copies: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inked: Vec<usize> = (0..ds.len())
        .filter(|&i| ink_columns(ds.image(i)).is_some())
        .collect();
    let neighbour = |rng: &mut ChaCha8Rng| Neighbour {
        sample: inked[rng.random_range(0..inked.len())],
        overlap: rng.random_range(0.0..MAX_OVERLAP),
        drop: rng.random_range(-MAX_DROP..=MAX_DROP),
        seam: rng.random_range(-SEAM_JITTER..=SEAM_JITTER),
    };
    // Drawn in order before the parallel part, so the result never depends on threads.
    let plan: Vec<(usize, Sample)> = inked
        .iter()
        .flat_map(|&i| std::iter::repeat_n(i, copies))
        .map(|i| {
            let roll: f32 = rng.random();
            let sample = if roll < 0.2 {
                Sample::Letter {
                    left: None,
                    right: None,
                }
            } else if roll < 0.75 {
                let side: u8 = rng.random_range(0..3);
                Sample::Letter {
                    left: (side != 1).then(|| neighbour(&mut rng)),
                    right: (side != 0).then(|| neighbour(&mut rng)),
                }
            } else if roll < 0.9 {
                Sample::Part {
                    at: rng.random_range(PART_CUT.0..PART_CUT.1),
                    keep_left: rng.random(),
                }
            } else {
                Sample::Two(neighbour(&mut rng))
            };
            (i, sample)
        })
        .collect();
    let no_letter = ds.classes.len();
    let mut images = Array2::zeros((plan.len(), 2 * PIXELS));
    let rows = images.as_slice_mut().expect("a fresh matrix");
    let per_core = parallel::planes_per_core(plan.len(), 2 * PIXELS);
    let parts = rows
        .chunks_mut(per_core * 2 * PIXELS)
        .zip(plan.chunks(per_core));
    parallel::for_each(parts, |(dst, plan)| {
        for (dst, &(i, sample)) in dst.chunks_exact_mut(2 * PIXELS).zip(plan) {
            let made = draw(ds, i, sample);
            dst.copy_from_slice(made.as_slice().expect("a fresh row"));
        }
    });
    let mut classes = ds.classes.clone();
    classes.push(NO_LETTER.into());
    Dataset {
        images,
        labels: plan
            .iter()
            .map(|&(i, s)| match s {
                Sample::Letter { .. } => ds.labels[i],
                Sample::Part { .. } | Sample::Two(_) => no_letter,
            })
            .collect(),
        classes,
        shape: Shape::image(2, SIDE, SIDE),
    }
}

/// The two planes of one sample.
fn draw(ds: &Dataset, i: usize, sample: Sample) -> ndarray::Array1<f32> {
    let own = ds.image(i);
    let (o0, o1) = ink_columns(own).expect("an inked sample");
    let width = (o1 - o0) as f32;
    let side = SIDE as i32;
    // A canvas wide enough for a neighbour on each side, own at column SIDE.
    let (rows, cols) = (side + 2 * MAX_DROP, 3 * side);
    let mut canvas = Array2::<f32>::zeros((rows as usize, cols as usize));
    paint(&mut canvas, own, side, MAX_DROP);
    // Each neighbour drawn: where the cut between it and own starts.
    let touch = |n: Neighbour, right: bool, canvas: &mut Array2<f32>| {
        let img = ds.image(n.sample);
        let (n0, n1) = ink_columns(img).expect("an inked neighbour");
        let reach = (n.overlap * width).round() as i32;
        let (shift, seam) = match right {
            true => (o1 - reach - n0, o1 - reach / 2),
            false => (o0 + reach - n1, o0 + reach / 2),
        };
        paint(canvas, img, side + shift, MAX_DROP + n.drop);
        (side + seam + n.seam).clamp(0, cols - 1) as usize
    };
    let (from, to) = match sample {
        Sample::Letter { left, right } => {
            let l = left.map(|n| touch(n, false, &mut canvas));
            let r = right.map(|n| touch(n, true, &mut canvas));
            (l, r)
        }
        Sample::Part { at, keep_left } => {
            let cut = (side + o0 + (at * width).round() as i32) as usize;
            match keep_left {
                true => (None, Some(cut)),
                false => (Some(cut), None),
            }
        }
        Sample::Two(n) => {
            touch(n, true, &mut canvas);
            (None, None)
        }
    };
    let ink: Vec<bool> = canvas.iter().map(|&v| v > INK).collect();
    let path = |start: Option<usize>| {
        start.map(|s| least_ink_path(&ink, cols as usize, rows as usize, s, CUT_BAND).1)
    };
    let (left_cut, right_cut) = (path(from), path(to));
    let piece = Array2::from_shape_fn(canvas.dim(), |(y, x)| {
        let inside = left_cut.as_ref().is_none_or(|p| x >= p[y])
            && right_cut.as_ref().is_none_or(|p| x < p[y]);
        if inside { canvas[[y, x]] } else { 0.0 }
    });
    normalize_in_context(piece.view(), canvas.view())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::crop::normalize_glyph;
    use crate::data::touching::tests::ring;
    use ndarray::s;

    #[test]
    fn a_piece_in_context_keeps_in_view_the_strokes_its_cut_took() {
        let whole = ring(10);
        // The ring cut down the middle: its left half is the piece.
        let mut piece = whole.clone();
        piece.slice_mut(s![.., 16..]).fill(0.0);
        let planes = normalize_in_context(piece.view(), whole.view());
        assert_eq!(planes.slice(s![..PIXELS]), normalize_glyph(piece.view()));
        let (own, around) = (planes.slice(s![..PIXELS]), planes.slice(s![PIXELS..]));
        // The right half of the ring is in the context plane only.
        let right_of = |plane: ndarray::ArrayView1<f32>| {
            (0..PIXELS)
                .filter(|i| i % SIDE > 21 && plane[*i] > 0.5)
                .count()
        };
        assert_eq!(right_of(own), 0);
        assert!(right_of(around) > 10, "context holds the rest of the ring");
        // A letter alone is its own context; a blank piece gives blank planes.
        let alone = normalize_in_context(whole.view(), whole.view());
        assert_eq!(alone.slice(s![..PIXELS]), alone.slice(s![PIXELS..]));
        let blank = Array2::zeros((SIDE, SIDE));
        assert!(
            normalize_in_context(blank.view(), whole.view())
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn pieces_are_letters_in_context_or_no_letter() {
        let n = 40;
        let mut images = Array2::zeros((n, PIXELS));
        for (i, mut row) in images.rows_mut().into_iter().enumerate() {
            row.assign(&ndarray::Array1::from_iter(
                ring(2 + i % 16).iter().copied(),
            ));
        }
        let ds = Dataset {
            images,
            labels: (0..n).map(|i| i % 2).collect(),
            classes: vec!["a".into(), "b".into()],
            shape: Shape::image(1, SIDE, SIDE),
        };
        let pieces = pieces_in_context(&ds, 5, 3);
        assert_eq!(pieces.shape, Shape::image(2, SIDE, SIDE));
        assert_eq!(pieces.classes, ["a", "b", NO_LETTER]);
        assert_eq!(pieces.len(), 5 * n);
        let no_letter = pieces.labels.iter().filter(|&&l| l == 2).count();
        assert!(
            (20..=80).contains(&no_letter),
            "a quarter is no letter: {no_letter} of 200"
        );
        // A piece with neighbours sees more ink around it than it owns.
        let wider = pieces
            .images
            .rows()
            .into_iter()
            .filter(|r| r.slice(s![PIXELS..]).sum() > r.slice(s![..PIXELS]).sum() + 10.0)
            .count();
        assert!(wider > 50, "{wider} of 200 pieces have neighbours in view");
        assert_eq!(pieces_in_context(&ds, 5, 3).images, pieces.images, "seeded");
    }
}
