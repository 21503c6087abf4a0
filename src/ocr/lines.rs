//! Text lines: group letter boxes by vertical overlap, order them, split touching letters,
//! find the spaces between words.

use super::components::{BBox, Blob, Labels, median};

/// Two boxes are on one line when their row ranges overlap by at least this fraction of
/// the shorter one (a low "1" or a slope still overlaps its neighbour a lot; the next line
/// does not).
const MIN_LINE_OVERLAP: f32 = 0.4;
/// A line's vertical extent where the next box must land: the median of its last few boxes
/// (so a sloping line is followed, and one odd box does not derail it).
const LINE_MEMORY: usize = 3;
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

/// Groups boxes into lines, top to bottom, each left to right.
pub fn group_lines(mut blobs: Vec<Blob>) -> Vec<Vec<Blob>> {
    blobs.sort_by_key(|b| b.bbox.left);
    let mut lines: Vec<Vec<Blob>> = Vec::new();
    for b in blobs {
        let best = lines
            .iter()
            .enumerate()
            .map(|(i, line)| (i, overlap_fraction(&recent_extent(line), &b.bbox)))
            .filter(|&(_, f)| f >= MIN_LINE_OVERLAP)
            .max_by(|a, b| a.1.total_cmp(&b.1));
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

/// The median top and bottom of the last [`LINE_MEMORY`] boxes of a line.
fn recent_extent(line: &[Blob]) -> BBox {
    let recent = &line[line.len().saturating_sub(LINE_MEMORY)..];
    let mut tops: Vec<u32> = recent.iter().map(|b| b.bbox.top).collect();
    let mut bottoms: Vec<u32> = recent.iter().map(|b| b.bbox.bottom).collect();
    let last = recent.last().expect("lines are never empty").bbox;
    BBox {
        top: median(&mut tops).unwrap_or(last.top),
        bottom: median(&mut bottoms).unwrap_or(last.bottom),
        ..last
    }
}

/// Row overlap as a fraction of the shorter box.
fn overlap_fraction(a: &BBox, b: &BBox) -> f32 {
    let shorter = a.height().min(b.height()).max(1);
    a.y_overlap(b) as f32 / shorter as f32
}

/// Splits the boxes of a line that are much wider than its median letter, marks spaces.
pub fn finish_line(blobs: Vec<Blob>, labels: &Labels) -> TextLine {
    let mut widths: Vec<u32> = blobs.iter().map(|b| b.bbox.width()).collect();
    let letter_width = median(&mut widths).unwrap_or(1).max(1) as f32;
    let mut heights: Vec<u32> = blobs.iter().map(|b| b.bbox.height()).collect();
    let letter_height = median(&mut heights).unwrap_or(1).max(1) as f32;
    let split: Vec<Blob> = blobs
        .into_iter()
        .flat_map(|b| {
            if b.bbox.width() as f32 > SPLIT_WIDTH * letter_height {
                let pieces = (b.bbox.width() as f32 / letter_width).round().max(2.0) as u32;
                split_blob(&b, pieces, labels)
            } else {
                vec![b]
            }
        })
        .collect();
    let gaps: Vec<u32> = split
        .windows(2)
        .map(|w| w[1].bbox.left.saturating_sub(w[0].bbox.right))
        .collect();
    let median_gap = median(&mut gaps.clone()).unwrap_or(0) as f32;
    let space_gap = (SPACE_GAP * letter_height).max(SPACE_GAP_TO_MEDIAN * median_gap);
    let space_before = std::iter::once(false)
        .chain(gaps.iter().map(|&g| g as f32 > space_gap))
        .collect();
    TextLine {
        blobs: split,
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
    })
}
