//! Segmentation by recognition: where a box may hold touching letters (wide for its line,
//! or read with low confidence), candidate cut paths are traced through it (around the
//! ink, slanted or curved where the letters are), and the cuts (none to three) whose
//! pieces the classifier reads best, together, win (where letters overlap, the strip
//! between two neighbouring cuts may go to both pieces); two close boxes that read better,
//! and surely, as one letter (a broken stroke) are merged by the same rule. Every candidate
//! piece of the page is classified in one batch.

use super::classify;
use super::components::{Blob, Labels, PieceBounds};
use crate::data::touching::least_ink_path;
use crate::nn::{SavedModel, parallel};
use anyhow::Result;
use image::GrayImage;
use std::sync::{Mutex, OnceLock};

/// Boxes cropped per part of the shared crop pass (parts are claimed as the cores free up).
const CROPS_PER_PART: usize = 8;
/// A box wider than this many of its line's letter heights may hold touching letters...
const WIDE: f32 = 0.9;
/// ...and so may one whose best guess is less probable than this.
const UNSURE: f32 = 0.6;
/// At most this many cuts per box (four letters).
const MAX_CUTS: usize = 3;
/// Candidate cut paths traced per box (the best by ink crossed, spread apart): where
/// letters overlap, the cut that reads best is often not the cleanest.
const MAX_PATHS: usize = 8;
/// A piece narrower than this many pen widths is no letter (an I is about one).
const MIN_PIECE_PENS: f32 = 1.5;
/// Candidate cuts closer than this many letter heights are one cut.
const MIN_CUT_SPACING: f32 = 0.08;
/// A cut path wanders at most this many letter heights left or right of its column.
const PATH_BAND: f32 = 0.2;
/// Each letter read costs this much log-probability: a split must read clearly better
/// than the whole (two mediocre guesses do not beat one fair one).
const LETTER_COST: f32 = 1.0;
/// Letters are at most about this many letter heights wide (M and W); a piece wider is
/// penalised by the square of the excess in units of [`PRIOR_SCALE`] letter heights...
const WIDEST_LETTER: f32 = 1.4;
/// ...one shorter than this many letter heights likewise...
const MIN_LETTER_HEIGHT: f32 = 0.4;
const PRIOR_SCALE: f32 = 0.2;
/// ...and a piece or merge wider than this is not read at all.
const MAX_LETTER_WIDTH: f32 = 1.4;
/// Two boxes closer than this many pen widths (or overlapping) may be one letter broken in
/// two, when one of them reads as no letter with confidence.
const MERGE_GAP_PENS: f32 = 1.5;

/// A box holding the dot of an i or j is another letter this many times less likely than
/// its crop says: it is an i or a j, or holds one among letters joined to it.
const DOT_DOUBT: f32 = 0.1;

/// A box and what the classifier read in it.
#[derive(Clone, Debug)]
pub struct ReadBox {
    pub blob: Blob,
    /// The 32x32 input the model saw.
    pub crop: Vec<f32>,
    /// Class probabilities.
    pub probs: Vec<f32>,
}

impl ReadBox {
    /// How sure the classifier is that this is one character: the probability of its best
    /// shape, summed over the classes drawn alike (O and 0, I and 1, S and 5, c and C: which
    /// of them is the word step's and the line's choice, not the cut's), with
    /// [`DOT_DOUBT`] for a box holding a dot.
    fn confidence(&self, classes: &[String]) -> f32 {
        let mut shapes: Vec<(char, f32)> = Vec::new();
        for (&p, c) in self.probs.iter().zip(classes) {
            let p = match self.blob.dot.is_some() && !has_dot(c) {
                true => p * DOT_DOUBT,
                false => p,
            };
            let shape = classify::shape_of(c);
            match shapes.iter_mut().find(|(s, _)| *s == shape) {
                Some((_, sum)) => *sum += p,
                None => shapes.push((shape, p)),
            }
        }
        shapes.iter().map(|&(_, p)| p).fold(0.0, f32::max).min(1.0)
    }

    /// Whether the classifier reads an i or a j here: a letter with its dot, whole.
    fn dotted(&self, classes: &[String]) -> bool {
        let best = classify::argmax(&ndarray::ArrayView1::from(&self.probs));
        classes.get(best).is_some_and(|c| has_dot(c))
    }
}

#[cfg(test)]
impl ReadBox {
    /// A box from column `left` to `right` (40 rows) read as `probs`, for tests.
    pub(crate) fn for_test(left: u32, right: u32, probs: &[f32]) -> Self {
        use super::components::BBox;
        let bbox = BBox {
            left,
            top: 0,
            right,
            bottom: 40,
        };
        Self {
            blob: Blob {
                bbox,
                labels: Vec::new(),
                area: 1,
                bounds: None,
                dot: None,
            },
            crop: Vec::new(),
            probs: probs.into(),
        }
    }
}

/// A box as the cuts read it: the pieces of its best reading (the box itself when no cut
/// reads better) and that reading's score, with the best reading of each other number of
/// pieces (the word step may take one that spells a word).
#[derive(Clone, Debug)]
pub struct CutBox {
    pub pieces: Vec<ReadBox>,
    pub score: f32,
    pub others: Vec<(f32, Vec<ReadBox>)>,
}

impl CutBox {
    /// A box read whole, with no other reading.
    pub fn whole(b: ReadBox) -> Self {
        Self {
            pieces: vec![b],
            score: 0.0,
            others: Vec::new(),
        }
    }
}

/// Whether letters of `class` have a dot.
fn has_dot(class: &str) -> bool {
    matches!(class, "i" | "j")
}

/// Crops and classifies `blobs` in one batch.
pub fn read_boxes(
    blobs: Vec<Blob>,
    labels: &Labels,
    binary: &GrayImage,
    model: &mut SavedModel,
) -> Result<Vec<ReadBox>> {
    let classes = model.classes.len();
    read_with(blobs, model, classes, |blob| {
        classify::crop(blob, labels, binary)
    })
}

/// Crops `blobs` with `crop` and classifies them in one batch, keeping the probabilities
/// of the first `classes` classes and the first plane of the crops.
fn read_with(
    blobs: Vec<Blob>,
    model: &mut SavedModel,
    classes: usize,
    crop: impl Fn(&Blob) -> Vec<f32> + Sync,
) -> Result<Vec<ReadBox>> {
    if blobs.is_empty() {
        return Ok(Vec::new());
    }
    let crops = crop_all(&blobs, crop);
    let probs = classify::probabilities(model, &crops)?;
    Ok(blobs
        .into_iter()
        .zip(crops)
        .zip(probs.rows())
        .map(|((blob, mut crop), p)| {
            crop.truncate(crate::data::PIXELS);
            ReadBox {
                blob,
                crop,
                probs: p.iter().take(classes).copied().collect(),
            }
        })
        .collect())
}

/// Crops every blob with `crop`, the cores sharing them: cropping (a resample and a
/// thinning per box) costs more than reading the crops, and a page's recognition cuts make
/// hundreds.
fn crop_all(blobs: &[Blob], crop: impl Fn(&Blob) -> Vec<f32> + Sync) -> Vec<Vec<f32>> {
    let mut crops: Vec<Vec<f32>> = vec![Vec::new(); blobs.len()];
    let parts = crops
        .chunks_mut(CROPS_PER_PART)
        .zip(blobs.chunks(CROPS_PER_PART));
    parallel::for_each(parts, |(crops, blobs)| {
        for (crop_of, blob) in crops.iter_mut().zip(blobs) {
            *crop_of = crop(blob);
        }
    });
    crops
}

/// The shipped piece reader (the `train_piece_reader` binary): it reads the pieces cut out of
/// touching letters with the ink around them, beside the shipped default model.
static PIECE_READER: &[u8] = include_bytes!("../../assets/piece_reader.safetensors");

/// The piece reader, when `model` is the shipped default model it was trained beside (a
/// model of the user's reads its own pieces).
pub fn piece_reader_for(model: &SavedModel) -> Option<&'static Mutex<SavedModel>> {
    static READER: OnceLock<Option<Mutex<SavedModel>>> = OnceLock::new();
    if !crate::data::builtin::is_default_model(model) {
        return None;
    }
    let reader = READER.get_or_init(|| SavedModel::from_bytes(PIECE_READER).ok().map(Mutex::new));
    reader.as_ref().filter(|r| {
        let r = r.lock().unwrap_or_else(|e| e.into_inner());
        r.classes.len() == model.classes.len() + 1 && r.classes.starts_with(&model.classes)
    })
}

/// Reads a line plan's `batch`: whole boxes with the page `model`, pieces cut out of boxes
/// with the piece reader when there is one (its "no letter" left out of the probabilities,
/// so a piece that is no letter reads as unlikely every letter).
fn read_batch(batch: Vec<Blob>, page: &Page, model: &mut SavedModel) -> Result<Vec<ReadBox>> {
    let Some(reader) = page.piece_reader else {
        return read_boxes(batch, page.labels, page.binary, model);
    };
    let (pieces, whole): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .enumerate()
        .partition(|(_, b)| b.bounds.is_some());
    let (piece_at, pieces): (Vec<usize>, Vec<Blob>) = pieces.into_iter().unzip();
    let (whole_at, whole): (Vec<usize>, Vec<Blob>) = whole.into_iter().unzip();
    let read_pieces = {
        let mut reader = reader.lock().unwrap_or_else(|e| e.into_inner());
        read_with(pieces, &mut reader, page.classes.len(), |blob| {
            classify::crop_in_context(blob, page.labels, page.binary)
        })?
    };
    let read_whole = read_boxes(whole, page.labels, page.binary, model)?;
    let mut read: Vec<(usize, ReadBox)> = piece_at
        .into_iter()
        .zip(read_pieces)
        .chain(whole_at.into_iter().zip(read_whole))
        .collect();
    read.sort_by_key(|(i, _)| *i);
    Ok(read.into_iter().map(|(_, b)| b).collect())
}

/// The page's image data and measures the cuts need.
pub struct Page<'a> {
    pub labels: &'a Labels,
    pub binary: &'a GrayImage,
    pub stroke_width: f32,
    /// The model's classes.
    pub classes: Vec<String>,
    /// What reads the pieces cut out of boxes, when not the model ([`piece_reader_for`]).
    pub piece_reader: Option<&'static Mutex<SavedModel>>,
}

/// The alternatives of one line: per box its pieces (`cuts[i]` lists, for box `i`, the
/// candidate pieces as (first cut, last cut, index into the batch)), and per pair of
/// neighbours the merged box's index.
struct LinePlan {
    pieces: Vec<Vec<(usize, usize, usize)>>,
    /// Cut count plus one (the number of nodes minus one) per box.
    nodes: Vec<usize>,
    /// Per box with cuts, the box whole as the piece reader reads it (none without one).
    whole: Vec<Option<usize>>,
    merges: Vec<Option<usize>>,
}

/// Re-segments each line (boxes left to right, already read whole) by recognition; the
/// result's boxes are read too.
pub fn refine_lines(
    lines: Vec<(Vec<ReadBox>, f32)>,
    page: &Page,
    model: &mut SavedModel,
) -> Result<Vec<Vec<CutBox>>> {
    let mut batch: Vec<Blob> = Vec::new();
    let plans: Vec<LinePlan> = lines
        .iter()
        .map(|(boxes, h)| plan_line(boxes, *h, page, &mut batch))
        .collect();
    let read = read_batch(batch, page, model)?;
    Ok(lines
        .into_iter()
        .zip(plans)
        .map(|((boxes, h), plan)| best_line(boxes, h, &plan, &read, page))
        .collect())
}

/// Lists the alternatives of a line, pushing the boxes to read onto `batch`.
fn plan_line(boxes: &[ReadBox], h: f32, page: &Page, batch: &mut Vec<Blob>) -> LinePlan {
    let mut pieces = Vec::new();
    let mut nodes = Vec::new();
    let mut whole = Vec::new();
    for b in boxes {
        let wide = b.blob.bbox.width() as f32 > WIDE * h;
        let paths = if wide || b.confidence(&page.classes) < UNSURE {
            cut_paths(&b.blob, h, page)
        } else {
            Vec::new()
        };
        let mut mine = Vec::new();
        // Node 0 is the box's left edge, node paths.len() + 1 its right edge.
        let n = paths.len() + 1;
        for i in 0..n {
            for j in i + 1..=n {
                if (i, j) == (0, n) {
                    continue; // the whole box, read already
                }
                let left = (i > 0).then(|| &paths[i - 1]);
                let right = (j < n).then(|| &paths[j - 1]);
                // Pieces too wide for a letter are not worth reading.
                let span = |p: Option<&Vec<u32>>, edge: u32| p.map_or(edge, |p| p[p.len() / 2]);
                let width =
                    span(right, b.blob.bbox.right).saturating_sub(span(left, b.blob.bbox.left));
                if width as f32 > MAX_LETTER_WIDTH * h {
                    continue;
                }
                if let Some(piece) = piece_between(&b.blob, left, right, page) {
                    mine.push((i, j, batch.len()));
                    batch.push(piece);
                }
            }
        }
        // The box whole, read by the piece reader as its pieces are, so that the choice
        // between them compares like with like (the model has read it whole already).
        let whole_piece = (page.piece_reader.is_some() && !paths.is_empty())
            .then(|| piece_between(&b.blob, None, None, page))
            .flatten()
            .map(|piece| {
                batch.push(piece);
                batch.len() - 1
            });
        whole.push(whole_piece);
        pieces.push(mine);
        nodes.push(n);
    }
    let merges = boxes
        .windows(2)
        .map(|w| {
            let (a, b) = (&w[0].blob, &w[1].blob);
            may_be_one_letter(&w[0], &w[1], h, page).then(|| {
                let mut m = a.clone();
                m.merge(b);
                batch.push(m);
                batch.len() - 1
            })
        })
        .collect();
    LinePlan {
        pieces,
        nodes,
        whole,
        merges,
    }
}

/// Whether neighbours `a` and `b` may be one letter broken in two: close, not too wide
/// together, one of them read unsure, and neither an i or a j with its dot (the i of "in"
/// and "it" is whole already; merged, they read as an m and an H).
fn may_be_one_letter(a: &ReadBox, b: &ReadBox, h: f32, page: &Page) -> bool {
    let unsure = [a, b].iter().any(|r| r.confidence(&page.classes) < UNSURE);
    let dotted = [a, b].iter().any(|r| r.dotted(&page.classes));
    let (a, b) = (&a.blob, &b.blob);
    let gap = b.bbox.left as f32 - a.bbox.right as f32;
    let merged_width = a.bbox.union(&b.bbox).width() as f32;
    unsure
        && !dotted
        && a.bounds.is_none()
        && b.bounds.is_none()
        && gap <= MERGE_GAP_PENS * page.stroke_width
        && merged_width <= MAX_LETTER_WIDTH * h
}

/// How well a box reads as one letter: the log-probability of its best guess, the width
/// and height priors and the cost of a letter.
fn score(b: &ReadBox, h: f32, classes: &[String]) -> f32 {
    let w = b.blob.bbox.width() as f32 / h;
    let tall = b.blob.bbox.height() as f32 / h;
    let excess = |v: f32| (v.max(0.0) / PRIOR_SCALE).powi(2);
    b.confidence(classes).max(1e-6).ln()
        - excess(w - WIDEST_LETTER)
        - excess(MIN_LETTER_HEIGHT - tall)
        - LETTER_COST
}

/// The best reading of a line: per box the best cuts (by the sum of the pieces' scores),
/// then whether neighbours read better merged.
fn best_line(
    boxes: Vec<ReadBox>,
    h: f32,
    plan: &LinePlan,
    read: &[ReadBox],
    page: &Page,
) -> Vec<CutBox> {
    let singles: Vec<CutBox> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let as_cut = plan.whole[i].map(|r| &read[r]);
            best_cuts(b, as_cut, h, plan.nodes[i], &plan.pieces[i], read, page)
        })
        .collect();
    // best[k]: the best score of the first k boxes, and whether box k-1 was merged with k-2.
    let mut best: Vec<(f32, bool)> = vec![(0.0, false)];
    for k in 1..=boxes.len() {
        let alone = best[k - 1].0 + singles[k - 1].score;
        let merged = (k >= 2)
            .then(|| plan.merges[k - 2])
            .flatten()
            // A letter mended reads surely; an unsure merge is two letters read as a guess.
            .filter(|&m| read[m].confidence(&page.classes) >= UNSURE)
            .map(|m| best[k - 2].0 + score(&read[m], h, &page.classes));
        best.push(match merged {
            Some(s) if s > alone => (s, true),
            _ => (alone, false),
        });
    }
    let mut out: Vec<CutBox> = Vec::new();
    let mut k = boxes.len();
    while k > 0 {
        if best[k].1 {
            let m = &read[plan.merges[k - 2].expect("merged")];
            out.push(CutBox {
                score: score(m, h, &page.classes),
                ..CutBox::whole(m.clone())
            });
            k -= 2;
        } else {
            out.push(singles[k - 1].clone());
            k -= 1;
        }
    }
    out.reverse();
    out
}

/// The best cuts of one box: a run of at most [`MAX_CUTS`] + 1 pieces from its left edge
/// to its right, maximising the sum of the pieces' scores, against the box read whole;
/// the best run of each other length (and the whole box) are kept as the others. A piece
/// may begin one node before the last one ended: the strip between two neighbouring cuts
/// is then read with both letters (where letters overlap, each needs the strokes they
/// share).
fn best_cuts(
    whole: &ReadBox,
    whole_as_cut: Option<&ReadBox>,
    h: f32,
    n: usize,
    pieces: &[(usize, usize, usize)],
    read: &[ReadBox],
    page: &Page,
) -> CutBox {
    let scores: Vec<(usize, usize, usize, f32)> = pieces
        .iter()
        .map(|&(i, j, r)| (i, j, r, score(&read[r], h, &page.classes)))
        .collect();
    // best[len]: the best run of len pieces.
    let mut best: Vec<Option<(f32, Vec<usize>)>> = vec![None; MAX_CUTS + 2];
    let mut run = Vec::new();
    extend_run(&scores, n, 0, None, 0.0, &mut run, &mut best);
    let mut readings: Vec<(f32, Vec<ReadBox>)> = best
        .into_iter()
        .flatten()
        .filter(|(_, run)| run.len() >= 2)
        .map(|(total, run)| (total, run.iter().map(|&r| read[r].clone()).collect()))
        .collect();
    // The whole box first: a split must read better, not as well.
    let whole_score = score(whole_as_cut.unwrap_or(whole), h, &page.classes);
    readings.insert(0, (whole_score, vec![whole.clone()]));
    let first = (0..readings.len())
        .max_by(|&a, &b| readings[a].0.total_cmp(&readings[b].0).then(b.cmp(&a)))
        .expect("the whole box");
    let (score, pieces) = readings.remove(first);
    CutBox {
        pieces,
        score,
        others: readings,
    }
}

/// Tries every next piece of a run that has reached node `at` (its last piece began at
/// `began`), keeping the best complete run of each length in `best`.
fn extend_run(
    scores: &[(usize, usize, usize, f32)],
    n: usize,
    at: usize,
    began: Option<usize>,
    total: f32,
    run: &mut Vec<usize>,
    best: &mut [Option<(f32, Vec<usize>)>],
) {
    if at == n {
        let kept = &mut best[run.len()];
        if kept.as_ref().is_none_or(|(b, _)| total > *b) {
            *kept = Some((total, run.clone()));
        }
        return;
    }
    if run.len() > MAX_CUTS {
        return;
    }
    for &(i, j, r, s) in scores {
        // At the node the run reached, or one node back (the strip read with both letters)
        // when that is not where its last piece began.
        let starts_here = i == at || (i + 1 == at && began.is_some_and(|b| i > b));
        if starts_here && j > at {
            run.push(r);
            extend_run(scores, n, j, Some(i), total + s, run, best);
            run.pop();
        }
    }
}

/// Candidate cut paths through a box, left to right, each the column (absolute) it takes
/// in every row of the box. A path starts from a column where the ink is thin (a minimum
/// of the column profile) or where the outline dips (a valley of the top or bottom
/// contour: where two letters meet) and follows the least ink to the bottom.
fn cut_paths(blob: &Blob, h: f32, page: &Page) -> Vec<Vec<u32>> {
    let (w, rows) = (blob.bbox.width() as usize, blob.bbox.height() as usize);
    let ink = classify::own_ink(blob, page.labels, page.binary);
    let margin = (MIN_PIECE_PENS * page.stroke_width).ceil().max(2.0) as usize;
    if w < 2 * margin + 1 || rows == 0 {
        return Vec::new();
    }
    let column = |x: usize| (0..rows).filter(|&y| ink[y * w + x]).count();
    let profile: Vec<usize> = (0..w).map(column).collect();
    let top: Vec<usize> = (0..w)
        .map(|x| (0..rows).find(|&y| ink[y * w + x]).unwrap_or(rows))
        .collect();
    let bottom: Vec<usize> = (0..w)
        .map(|x| {
            rows - (0..rows)
                .rev()
                .find(|&y| ink[y * w + x])
                .map_or(0, |y| y + 1)
        })
        .collect();
    let reach = ((0.1 * h) as usize).max(1);
    let is_peak = |v: &[usize], x: usize| {
        let lo = x.saturating_sub(reach);
        let hi = (x + reach).min(w - 1);
        (lo..=hi).all(|i| v[i] <= v[x]) && (lo..=hi).any(|i| v[i] < v[x])
    };
    let is_dip = |v: &[usize], x: usize| {
        let lo = x.saturating_sub(reach);
        let hi = (x + reach).min(w - 1);
        (lo..=hi).all(|i| v[i] >= v[x])
    };
    let starts: Vec<usize> = (margin..w - margin)
        .filter(|&x| is_dip(&profile, x) || is_peak(&top, x) || is_peak(&bottom, x))
        .collect();
    let band = ((PATH_BAND * h) as usize).max(1);
    let mut traced: Vec<(f32, Vec<usize>)> = starts
        .iter()
        .map(|&x| least_ink_path(&ink, w, rows, x, band))
        .collect();
    traced.sort_by(|a, b| a.0.total_cmp(&b.0));
    let spacing = MIN_CUT_SPACING * h;
    let mean = |p: &[usize]| p.iter().sum::<usize>() as f32 / p.len() as f32;
    let mut kept: Vec<(f32, Vec<usize>)> = Vec::new();
    for (cost, path) in traced {
        let m = mean(&path);
        let apart = kept.iter().all(|(_, k)| (mean(k) - m).abs() >= spacing);
        let inside = m >= margin as f32 && m <= (w - margin) as f32;
        if apart && inside && kept.len() < MAX_PATHS {
            kept.push((cost, path));
        }
    }
    kept.sort_by(|a, b| mean(&a.1).total_cmp(&mean(&b.1)));
    kept.into_iter()
        .map(|(_, p)| p.iter().map(|&x| blob.bbox.left + x as u32).collect())
        .collect()
}

/// The piece of `blob` between two cut paths (`None`: the box's own edge), tightened to
/// its ink; `None` when it has none.
fn piece_between(
    blob: &Blob,
    left: Option<&Vec<u32>>,
    right: Option<&Vec<u32>>,
    page: &Page,
) -> Option<Blob> {
    let b = blob.bbox;
    let rows = b.height() as usize;
    let bounds = PieceBounds {
        top: b.top,
        left: left.cloned().unwrap_or_else(|| vec![b.left; rows]),
        right: right.cloned().unwrap_or_else(|| vec![b.right; rows]),
    };
    let piece = blob.tightened(page.labels, |x, y| {
        let i = (y - b.top) as usize;
        bounds.left[i] <= x && x < bounds.right[i]
    })?;
    Some(Blob {
        bounds: Some(bounds),
        ..piece
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best run over `scores` (from node 0 to node `n`) as its pieces' indices.
    fn best_run(scores: &[(usize, usize, usize, f32)], n: usize) -> Vec<usize> {
        let mut best = vec![None; MAX_CUTS + 2];
        extend_run(scores, n, 0, None, 0.0, &mut Vec::new(), &mut best);
        let runs = best.into_iter().flatten();
        runs.max_by(|a, b| a.0.total_cmp(&b.0)).expect("a run").1
    }

    #[test]
    fn overlapping_letters_share_the_strip_between_two_cuts() {
        // Nodes 0..=3: the edges 0 and 3, cuts 1 and 2 around where two letters overlap.
        let scores = [
            (0, 1, 0, -3.0),
            (1, 3, 1, -3.0),
            (0, 2, 2, -0.5), // the first letter with the strip
            (2, 3, 3, -3.0),
            (1, 3, 4, -0.5), // the second letter with the strip
        ];
        assert_eq!(best_run(&scores, 3), vec![2, 4]);
        // A piece never begins where the last one began (it would hold it whole), however
        // well the two would score.
        let nested = [(0, 1, 0, 0.5), (0, 3, 1, -1.0), (1, 3, 2, -9.0)];
        assert_eq!(best_run(&nested, 3), vec![1]);
    }

    fn read_box(left: u32, right: u32, probs: &[f32]) -> ReadBox {
        ReadBox::for_test(left, right, probs)
    }

    #[test]
    fn a_box_read_as_either_of_two_classes_drawn_alike_is_sure() {
        let classes: Vec<String> = ["C", "O", "0", "c", "e", "o"].map(String::from).into();
        let read = |probs: [f32; 6]| read_box(0, 1, &probs);
        // c or C, o or O or 0: which one is the line's and the word's choice.
        assert_eq!(
            read([0.5, 0.0, 0.0, 0.5, 0.0, 0.0]).confidence(&classes),
            1.0
        );
        let o = read([0.0, 0.3, 0.3, 0.0, 0.1, 0.3]).confidence(&classes);
        assert!((o - 0.9).abs() < 1e-6, "{o}");
        // c or e are two shapes: the box is unsure.
        assert_eq!(
            read([0.0, 0.0, 0.0, 0.5, 0.5, 0.0]).confidence(&classes),
            0.5
        );
    }

    #[test]
    fn a_box_holding_an_i_dot_is_sure_only_as_an_i_or_j() {
        let classes: Vec<String> = ["i", "j", "w"].map(String::from).into();
        let dotted = |probs: &[f32]| {
            let mut b = read_box(0, 30, probs);
            b.blob.dot = Some(b.blob.bbox);
            b
        };
        assert_eq!(dotted(&[0.9, 0.1, 0.0]).confidence(&classes), 0.9);
        let w = dotted(&[0.0, 0.0, 1.0]).confidence(&classes);
        assert!(
            (w - DOT_DOUBT).abs() < 1e-6,
            "a u and an i joined, read as w: {w}"
        );
        assert_eq!(read_box(0, 30, &[0.0, 0.0, 1.0]).confidence(&classes), 1.0);
    }

    #[test]
    fn neighbours_merge_into_a_letter_read_surely_and_never_an_i_with_its_dot() {
        let classes: Vec<String> = ["i", "l", "n", "m", "H"].map(String::from).into();
        let (labels, binary) = (Labels::new(1, 1), GrayImage::new(1, 1));
        let page = Page {
            labels: &labels,
            binary: &binary,
            stroke_width: 4.0,
            classes: classes.clone(),
            piece_reader: None,
        };
        let h = 40.0;
        // A stroke and an unsure n, 4 px apart, may be one letter (an m broken in two)...
        let stroke = read_box(0, 6, &[0.0, 0.9, 0.1, 0.0, 0.0]);
        let n = read_box(10, 30, &[0.0, 0.0, 0.5, 0.3, 0.2]);
        assert!(may_be_one_letter(&stroke, &n, h, &page));
        // ...an i with its dot is whole: "in" is no m...
        let i = read_box(0, 6, &[0.9, 0.1, 0.0, 0.0, 0.0]);
        assert!(!may_be_one_letter(&i, &n, h, &page));
        // ...two sure letters stay two, and so do two far apart.
        let sure_n = read_box(10, 30, &[0.0, 0.0, 0.9, 0.1, 0.0]);
        assert!(!may_be_one_letter(&stroke, &sure_n, h, &page));
        let far_n = read_box(20, 40, &[0.0, 0.0, 0.5, 0.3, 0.2]);
        assert!(!may_be_one_letter(&stroke, &far_n, h, &page));

        // The merge wins only when it reads surely: an m at 0.9 does, an H at 0.5 does not
        // (though its log-probability beats the pair's).
        let line = |second: &ReadBox, merged: &[f32]| {
            let plan = LinePlan {
                pieces: vec![Vec::new(), Vec::new()],
                nodes: vec![1, 1],
                whole: vec![None, None],
                merges: vec![Some(0)],
            };
            let read = [read_box(0, 30, merged)];
            best_line(vec![stroke.clone(), second.clone()], h, &plan, &read, &page).len()
        };
        assert_eq!(line(&n, &[0.0, 0.0, 0.05, 0.9, 0.05]), 1, "an m mended");
        let broken = read_box(10, 30, &[0.0, 0.0, 0.2, 0.2, 0.2]);
        assert_eq!(line(&broken, &[0.0, 0.0, 0.2, 0.3, 0.5]), 2, "no H");
    }
}
