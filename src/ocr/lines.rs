//! Text lines: chain letter boxes into lines along the writing, order them, split touching
//! letters by width (when segmentation by recognition is off), find the spaces between words.

use super::components::{BBox, Blob, Labels, median};

/// A box joins the line whose predicted centre at its column is nearest, when nearer than
/// this many letter heights (neighbouring lines are over a letter height apart; letters of
/// one line scatter by a fraction of it)...
const MAX_DRIFT: f32 = 0.5;
/// ...or when this share of the box (or of a letter height, if the box is taller) lies
/// within a letter height around that centre: a q, g or y hangs below its line, so its
/// own centre sits off the line's.
const BAND_SHARE: f32 = 0.4;
/// A line's course where the next box must land is fitted to its last few boxes (so a
/// rising or curved line is followed, and one odd box does not derail it).
const LINE_MEMORY: usize = 5;
/// The slope fit counts as if one more box sat this many letter heights away on the
/// line's level: two close boxes alone do not set a steep slope.
const SLOPE_PRIOR: f32 = 2.0;
/// Slopes steeper than this are not followed (the page's tilt was already levelled).
const MAX_SLOPE: f32 = 0.5;
/// A box this many times wider than the line's letters are high holds touching letters
/// (the widest single capitals, M and W, stay under ~1.5).
const SPLIT_WIDTH: f32 = 1.6;
/// A gap is a space when wider than this many letter heights...
const SPACE_GAP: f32 = 0.5;
/// ...and this many times the line's median gap (some write their letters far apart).
const SPACE_GAP_TO_MEDIAN: f32 = 2.0;

/// One line of text: its boxes left to right and whether a space comes before each.
#[derive(Clone, Debug)]
pub struct TextLine {
    pub blobs: Vec<Blob>,
    pub space_before: Vec<bool>,
    /// Median box height of the line.
    pub letter_height: f32,
}

/// The points (x, y) a line's course is fitted to: its boxes' centres, or the course's own
/// centre at a box that hangs off it.
type Course = Vec<(f32, f32)>;

/// Groups boxes into lines, top to bottom, each left to right: going left to right, each
/// box joins the line whose course (fitted to its last boxes) passes nearest its centre.
pub fn group_lines(mut blobs: Vec<Blob>, letter_height: f32) -> Vec<Vec<Blob>> {
    blobs.sort_by(|a, b| a.centre().0.total_cmp(&b.centre().0));
    let tolerance = MAX_DRIFT * letter_height;
    let mut lines: Vec<(Vec<Blob>, Course)> = Vec::new();
    for b in blobs {
        let (x, y) = b.centre();
        let best = lines
            .iter()
            .enumerate()
            .map(|(i, (_, course))| (i, predicted_centre(course, x, letter_height)))
            .filter(|&(_, c)| (c - y).abs() < tolerance || in_band(&b.bbox, c, letter_height))
            .min_by(|a, b| (a.1 - y).abs().total_cmp(&(b.1 - y).abs()));
        match best {
            Some((i, c)) => {
                let (line, course) = &mut lines[i];
                line.push(b);
                // A box that hangs below the line (or rises above it) joins without
                // dragging its course along.
                course.push((x, if (c - y).abs() < tolerance { y } else { c }));
            }
            None => lines.push((vec![b], vec![(x, y)])),
        }
    }
    let mut lines = join_interleaved(
        lines.into_iter().map(|(line, _)| line).collect(),
        letter_height,
    );
    lines.sort_by_key(|line| middle(line));
    lines
}

/// Twice the median centre row of a line's boxes.
fn middle(line: &[Blob]) -> u32 {
    let mut centres: Vec<u32> = line.iter().map(|b| b.bbox.top + b.bbox.bottom).collect();
    median(&mut centres).unwrap_or(0)
}

/// Joins lines that are one line begun twice: a j or y at the start of a line sets a
/// course too low for the letters after it, which then begin a second line along the same
/// stretch of page. Longest first, a line joins a longer one when their boxes interleave
/// along the page and every one of its boxes lies in the band of that line's middle (as
/// [`in_band`] lets a box join a line). One pass, so a page of specks stays quick.
fn join_interleaved(mut lines: Vec<Vec<Blob>>, letter_height: f32) -> Vec<Vec<Blob>> {
    lines.sort_by_key(|line| std::cmp::Reverse(line.len()));
    // Each kept line with its span along the page and its middle row.
    let mut kept: Vec<(Vec<Blob>, (u32, u32), f32)> = Vec::new();
    for line in lines {
        let left = line.iter().map(|b| b.bbox.left).min().unwrap_or(0);
        let right = line.iter().map(|b| b.bbox.right).max().unwrap_or(0);
        let longer = kept.iter_mut().find(|(_, (l, r), centre)| {
            left < *r
                && *l < right
                && line
                    .iter()
                    .all(|b| in_band(&b.bbox, *centre, letter_height))
        });
        match longer {
            Some((boxes, span, _)) => {
                boxes.extend(line);
                boxes.sort_by(|a, b| a.centre().0.total_cmp(&b.centre().0));
                *span = (span.0.min(left), span.1.max(right));
            }
            None => {
                let centre = middle(&line) as f32 / 2.0;
                kept.push((line, (left, right), centre));
            }
        }
    }
    kept.into_iter().map(|(line, _, _)| line).collect()
}

/// Whether a box lies in the band a letter height tall around row `centre`: at least
/// [`BAND_SHARE`] of it (or of a letter height, if the box is taller) inside.
fn in_band(b: &BBox, centre: f32, letter_height: f32) -> bool {
    let (top, bottom) = (b.top as f32, b.bottom as f32);
    let overlap = bottom.min(centre + letter_height / 2.0) - top.max(centre - letter_height / 2.0);
    overlap >= BAND_SHARE * (bottom - top).min(letter_height)
}

/// The centre row at column `x` of a line whose course runs through `points`: a line
/// through the last [`LINE_MEMORY`] of them, its slope drawn towards level by
/// [`SLOPE_PRIOR`].
fn predicted_centre(points: &[(f32, f32)], x: f32, letter_height: f32) -> f32 {
    let recent = &points[points.len().saturating_sub(LINE_MEMORY)..];
    let n = recent.len() as f32;
    let mean_x = recent.iter().map(|c| c.0).sum::<f32>() / n;
    let mean_y = recent.iter().map(|c| c.1).sum::<f32>() / n;
    let (sxy, sxx) = recent.iter().fold((0.0, 0.0), |(sxy, sxx), &(cx, cy)| {
        let dx = cx - mean_x;
        (sxy + dx * (cy - mean_y), sxx + dx * dx)
    });
    let prior = (SLOPE_PRIOR * letter_height).powi(2);
    let slope = (sxy / (sxx + prior)).clamp(-MAX_SLOPE, MAX_SLOPE);
    mean_y + slope * (x - mean_x)
}

/// Marks the spaces of a line; with `split_wide`, first splits the boxes much wider than
/// its median letter (segmentation by width alone, when recognition does not decide).
pub fn finish_line(blobs: Vec<Blob>, labels: &Labels, split_wide: bool) -> TextLine {
    let mut widths: Vec<u32> = blobs.iter().map(|b| b.bbox.width()).collect();
    let letter_width = median(&mut widths).unwrap_or(1).max(1) as f32;
    let mut heights: Vec<u32> = blobs.iter().map(|b| b.bbox.height()).collect();
    let letter_height = median(&mut heights).unwrap_or(1).max(1) as f32;
    let split: Vec<Blob> = blobs
        .into_iter()
        .flat_map(|b| {
            if split_wide && b.bbox.width() as f32 > SPLIT_WIDTH * letter_height {
                let pieces = (b.bbox.width() as f32 / letter_width).round().max(2.0) as u32;
                split_blob(&b, pieces, labels)
            } else {
                vec![b]
            }
        })
        .collect();
    with_spaces(split, letter_height)
}

/// The line of `blobs` (left to right) with the spaces between its words marked.
pub fn with_spaces(blobs: Vec<Blob>, letter_height: f32) -> TextLine {
    let gaps: Vec<u32> = blobs
        .windows(2)
        .map(|w| w[1].bbox.left.saturating_sub(w[0].bbox.right))
        .collect();
    let median_gap = median(&mut gaps.clone()).unwrap_or(0) as f32;
    let space_gap = (SPACE_GAP * letter_height).max(SPACE_GAP_TO_MEDIAN * median_gap);
    let space_before = std::iter::once(false)
        .chain(gaps.iter().map(|&g| g as f32 > space_gap))
        .collect();
    TextLine {
        blobs,
        space_before,
        letter_height,
    }
}

/// Cuts a blob into `pieces` at the columns with the least of its own ink near the even
/// cut positions, each piece tightened to its ink.
fn split_blob(b: &Blob, pieces: u32, labels: &Labels) -> Vec<Blob> {
    let ink = column_ink(b, labels);
    let w = b.bbox.width() as f32;
    let step = w / pieces as f32;
    let mut cuts = vec![0u32];
    for k in 1..pieces {
        let target = k as f32 * step;
        let lo = ((target - step / 3.0).max(0.0) as u32).max(cuts[cuts.len() - 1] + 1);
        let hi = ((target + step / 3.0) as u32).min(b.bbox.width() - 1);
        if lo > hi {
            continue;
        }
        let cut = (lo..=hi)
            .min_by(|&a, &c| {
                let key = |x: u32| (ink[x as usize], (x as f32 - target).abs());
                key(a).partial_cmp(&key(c)).expect("finite")
            })
            .expect("non-empty range");
        cuts.push(cut);
    }
    cuts.push(b.bbox.width());
    cuts.windows(2)
        .filter_map(|c| {
            let (left, right) = (b.bbox.left + c[0], b.bbox.left + c[1]);
            b.tightened(labels, |x, _| left <= x && x < right)
        })
        .collect()
}

/// Ink pixels of the blob's own components in each of its columns.
fn column_ink(b: &Blob, labels: &Labels) -> Vec<u32> {
    (b.bbox.left..b.bbox.right)
        .map(|x| {
            (b.bbox.top..b.bbox.bottom)
                .filter(|&y| b.labels.contains(&labels.get_pixel(x, y)[0]))
                .count() as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::components::blob;
    use super::*;

    /// `n` boxes 40 wide, 50 apart, from column `x0`, between rows `top` and `bottom`.
    fn row(x0: u32, n: u32, top: u32, bottom: u32) -> Vec<Blob> {
        (0..n)
            .map(|i| blob(x0 + 50 * i, top, x0 + 50 * i + 40, bottom))
            .collect()
    }

    /// `field` of each box, line by line, as [`group_lines`] groups `blobs` (letters 50 high).
    fn grouped(blobs: Vec<Blob>, field: fn(&BBox) -> u32) -> Vec<Vec<u32>> {
        group_lines(blobs, 50.0)
            .iter()
            .map(|l| l.iter().map(|b| field(&b.bbox)).collect())
            .collect()
    }

    #[test]
    fn a_letter_hanging_below_its_line_joins_it_without_dragging_it_down() {
        // x-height letters 40 high on a line centred at row 120, a long tail hanging below
        // (its centre 60 off the line's, over half a letter height), then capitals a little
        // higher (centre 102.5); a second line far lower.
        let mut all = row(10, 4, 100, 140);
        all.push(blob(210, 100, 250, 260));
        all.extend(row(260, 3, 75, 130));
        all.extend(row(10, 6, 330, 370));
        assert_eq!(
            grouped(all, |b| b.top),
            [vec![100, 100, 100, 100, 100, 75, 75, 75], vec![330; 6]],
            "the tail and the capitals after it stay on the line"
        );
    }

    /// A line that begins with a long j: the letters after it start a line of their own
    /// (their centres are far from the j's), and a y further on joins the j's; they are
    /// one line, the line below stays apart.
    #[test]
    fn a_line_begun_by_a_descender_is_one_line() {
        let mut all = vec![blob(10, 100, 40, 230)];
        all.extend(row(60, 5, 100, 140));
        all.push(blob(310, 100, 350, 200));
        all.extend(row(10, 6, 330, 370));
        assert_eq!(
            grouped(all, |b| b.left),
            [
                vec![10, 60, 110, 160, 210, 260, 310],
                vec![10, 60, 110, 160, 210, 260]
            ]
        );
    }
}
