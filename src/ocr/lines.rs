//! Text lines: chain letter boxes into lines along the writing, order them, split touching
//! letters by width (when segmentation by recognition is off), find the spaces between words.

use super::components::{BBox, Blob, Labels, median};

/// A box joins the line whose predicted centre at its column is nearest, when nearer than
/// this many letter heights (neighbouring lines are over a letter height apart; letters of
/// one line scatter by a fraction of it).
const MAX_DRIFT: f32 = 0.5;
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

/// Groups boxes into lines, top to bottom, each left to right: going left to right, each
/// box joins the line whose course (fitted to its last boxes) passes nearest its centre.
pub fn group_lines(mut blobs: Vec<Blob>, letter_height: f32) -> Vec<Vec<Blob>> {
    blobs.sort_by(|a, b| a.centre().0.total_cmp(&b.centre().0));
    let tolerance = MAX_DRIFT * letter_height;
    let mut lines: Vec<Vec<Blob>> = Vec::new();
    for b in blobs {
        let (x, y) = b.centre();
        let best = lines
            .iter()
            .enumerate()
            .map(|(i, line)| (i, (predicted_centre(line, x, letter_height) - y).abs()))
            .filter(|&(_, d)| d < tolerance)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => lines[i].push(b),
            None => lines.push(vec![b]),
        }
    }
    lines.sort_by_key(|line| {
        let mut centres: Vec<u32> = line.iter().map(|b| b.bbox.top + b.bbox.bottom).collect();
        median(&mut centres)
    });
    lines
}

/// The centre row of `line` at column `x`: a line through its last [`LINE_MEMORY`]
/// boxes' centres, its slope drawn towards level by [`SLOPE_PRIOR`].
pub fn predicted_centre(line: &[Blob], x: f32, letter_height: f32) -> f32 {
    let recent: Vec<(f32, f32)> = line[line.len().saturating_sub(LINE_MEMORY)..]
        .iter()
        .map(Blob::centre)
        .collect();
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
            let part = BBox {
                left: b.bbox.left + c[0],
                right: b.bbox.left + c[1],
                ..b.bbox
            };
            tighten(part, &b.labels, labels)
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

/// The part of `area` holding ink of the components `own` as a blob (None if it has none).
fn tighten(area: BBox, own: &[u32], labels: &Labels) -> Option<Blob> {
    let mut found: Option<BBox> = None;
    let mut count = 0;
    for y in area.top..area.bottom {
        for x in area.left..area.right {
            if own.contains(&labels.get_pixel(x, y)[0]) {
                count += 1;
                let px = BBox {
                    left: x,
                    top: y,
                    right: x + 1,
                    bottom: y + 1,
                };
                found = Some(found.map_or(px, |f| f.union(&px)));
            }
        }
    }
    found.map(|bbox| Blob {
        bbox,
        labels: own.to_vec(),
        area: count,
        bounds: None,
    })
}
