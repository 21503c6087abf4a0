//! Connected ink components and which of them are letters.

use super::binarize::INK;
use image::{GrayImage, ImageBuffer, Luma};
use imageproc::region_labelling::{Connectivity, connected_components};
use serde::Serialize;

/// Component labels per pixel (0 = paper).
pub type Labels = ImageBuffer<Luma<u32>, Vec<u32>>;

/// An axis-aligned box, `right` and `bottom` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BBox {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

impl BBox {
    pub fn width(&self) -> u32 {
        self.right - self.left
    }

    pub fn height(&self) -> u32 {
        self.bottom - self.top
    }

    pub fn union(&self, o: &BBox) -> BBox {
        BBox {
            left: self.left.min(o.left),
            top: self.top.min(o.top),
            right: self.right.max(o.right),
            bottom: self.bottom.max(o.bottom),
        }
    }

    /// Length of the overlap of the two boxes' column ranges (0 when apart).
    pub fn x_overlap(&self, o: &BBox) -> u32 {
        self.right
            .min(o.right)
            .saturating_sub(self.left.max(o.left))
    }

    /// Length of the overlap of the two boxes' row ranges (0 when apart).
    pub fn y_overlap(&self, o: &BBox) -> u32 {
        self.bottom
            .min(o.bottom)
            .saturating_sub(self.top.max(o.top))
    }

    /// The box in another coordinate system, `factor` times larger.
    pub fn scaled(&self, factor: f32) -> BBox {
        let s = |v: u32| (v as f32 * factor).round() as u32;
        BBox {
            left: s(self.left),
            top: s(self.top),
            right: s(self.right),
            bottom: s(self.bottom),
        }
    }
}

/// One candidate character: a box and the component labels whose ink it owns.
#[derive(Clone, Debug, PartialEq)]
pub struct Blob {
    pub bbox: BBox,
    pub labels: Vec<u32>,
    /// Ink pixels (of the joined-stroke image).
    pub area: u32,
    /// For a piece cut out of touching letters: the columns it keeps in each row.
    pub bounds: Option<PieceBounds>,
    /// The dot of an i or j that this blob took though it is no narrow stem: one of its
    /// letters is an i or a j.
    pub dot: Option<BBox>,
}

/// The columns `[left[i], right[i])` a piece keeps in row `top + i` (a cut may be slanted
/// or curved, so a neighbour's ink can reach into the piece's box).
#[derive(Clone, Debug, PartialEq)]
pub struct PieceBounds {
    pub top: u32,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
}

impl PieceBounds {
    /// The columns `[left, right)` the piece keeps in row `y` (`None` outside its rows).
    fn columns(&self, y: u32) -> Option<(u32, u32)> {
        let i = y.checked_sub(self.top)? as usize;
        Some((*self.left.get(i)?, *self.right.get(i)?))
    }
}

impl Blob {
    /// Calls `f(x, y)` for every pixel of this blob's components in its box (a piece: only
    /// between its cuts), row by row. A neighbour reaching into the box is left out.
    pub fn for_each_pixel(&self, labels: &Labels, mut f: impl FnMut(u32, u32)) {
        let b = self.bbox;
        let width = labels.width() as usize;
        for y in b.top..b.bottom {
            let (from, to) = match &self.bounds {
                None => (b.left, b.right),
                Some(p) => p
                    .columns(y)
                    .map_or((0, 0), |(l, r)| (l.max(b.left), r.min(b.right))),
            };
            let row = &labels.as_raw()[y as usize * width..][..width];
            for x in from..to {
                let label = row[x as usize];
                if label != 0 && self.labels.contains(&label) {
                    f(x, y);
                }
            }
        }
    }

    /// This blob cut down to its pixels that `keep` keeps, the box tightened to them and the
    /// ink counted (`None` when none is kept).
    pub fn tightened(&self, labels: &Labels, keep: impl Fn(u32, u32) -> bool) -> Option<Blob> {
        let mut found: Option<BBox> = None;
        let mut area = 0;
        self.for_each_pixel(labels, |x, y| {
            if keep(x, y) {
                area += 1;
                let px = BBox {
                    left: x,
                    top: y,
                    right: x + 1,
                    bottom: y + 1,
                };
                found = Some(found.map_or(px, |f| f.union(&px)));
            }
        });
        found.map(|bbox| Blob {
            bbox,
            labels: self.labels.clone(),
            area,
            bounds: self.bounds.clone(),
            // The piece holds the dot when it reaches up to it over its columns.
            dot: self
                .dot
                .filter(|d| 2 * bbox.x_overlap(d) > d.width() && bbox.top <= d.bottom),
        })
    }

    pub fn centre(&self) -> (f32, f32) {
        let b = self.bbox;
        (
            (b.left + b.right) as f32 / 2.0,
            (b.top + b.bottom) as f32 / 2.0,
        )
    }

    /// Absorbs `other` (a broken stroke of the same letter).
    pub fn merge(&mut self, other: &Blob) {
        self.bbox = self.bbox.union(&other.bbox);
        self.labels.extend_from_slice(&other.labels);
        self.area += other.area;
        self.dot = self.dot.or(other.dot);
    }
}

/// Labels the 8-connected ink components of `joined` and returns one blob per component.
pub fn find_blobs(joined: &GrayImage) -> (Labels, Vec<Blob>) {
    let labels = connected_components(joined, Connectivity::Eight, Luma([0u8]));
    let mut blobs: Vec<Option<Blob>> = Vec::new();
    for (x, y, p) in labels.enumerate_pixels() {
        let l = p[0];
        if l == 0 {
            continue;
        }
        let i = l as usize - 1;
        if blobs.len() <= i {
            blobs.resize(i + 1, None);
        }
        let b = blobs[i].get_or_insert(Blob {
            bbox: BBox {
                left: x,
                top: y,
                right: x + 1,
                bottom: y + 1,
            },
            labels: vec![l],
            area: 0,
            bounds: None,
            dot: None,
        });
        b.area += 1;
        b.bbox.left = b.bbox.left.min(x);
        b.bbox.right = b.bbox.right.max(x + 1);
        b.bbox.bottom = b.bbox.bottom.max(y + 1);
    }
    debug_assert!(joined.iter().all(|&v| v == 0 || v == INK));
    (labels, blobs.into_iter().flatten().collect())
}

/// Components taller than this many typical letter heights are not letters (page edges,
/// desk, shadows, drawings).
const MAX_HEIGHT_IN_LETTERS: f32 = 3.0;
/// Components wider than this many letter heights are rules or page edges (touching
/// letters rarely join more than a short word).
const MAX_WIDTH_IN_LETTERS: f32 = 8.0;

/// The typical letter height: the median height of the components that are not tiny
/// (area at least a fifth of the mean, as the course did) and do not touch the border.
pub fn typical_height(blobs: &[Blob]) -> Option<f32> {
    let mean = blobs.iter().map(|b| b.area as f64).sum::<f64>() / blobs.len().max(1) as f64;
    let mut heights: Vec<u32> = blobs
        .iter()
        .filter(|b| b.area as f64 >= mean / 5.0)
        .map(|b| b.bbox.height())
        .collect();
    median(&mut heights).map(|h| h as f32)
}

/// The median of `v` (reorders it).
pub fn median(v: &mut [u32]) -> Option<u32> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    Some(*v.select_nth_unstable(mid).1)
}

/// Drops what cannot be a letter: components touching the image border or lying along what
/// is not page in `off_page` (255: the desk, outside the photo once levelled), which are
/// page edges and slivers of desk, and components far taller or wider than a letter.
pub fn drop_non_letters(blobs: Vec<Blob>, off_page: &GrayImage) -> (Vec<Blob>, Option<f32>) {
    let inside: Vec<Blob> = blobs
        .into_iter()
        .filter(|b| !touches(&b.bbox, off_page))
        .collect();
    let Some(letter) = typical_height(&inside) else {
        return (inside, None);
    };
    let kept: Vec<Blob> = inside
        .into_iter()
        .filter(|b| {
            (b.bbox.height() as f32) <= MAX_HEIGHT_IN_LETTERS * letter
                && (b.bbox.width() as f32) <= MAX_WIDTH_IN_LETTERS * letter
        })
        .collect();
    let letter = typical_height(&kept);
    (kept, letter)
}

/// A component whose surrounding ring is off the page for at least this fraction lies
/// along the page's edge (a sliver of desk); a letter written near the edge touches it at
/// a corner at most.
const ALONG_EDGE: f32 = 0.25;

/// Whether the ring of pixels around `bbox` leaves the image, or lies along `off_page`.
fn touches(bbox: &BBox, off_page: &GrayImage) -> bool {
    let (w, h) = off_page.dimensions();
    if bbox.left == 0 || bbox.top == 0 || bbox.right >= w || bbox.bottom >= h {
        return true;
    }
    let (left, top, right, bottom) = (bbox.left - 1, bbox.top - 1, bbox.right, bbox.bottom);
    let ring = (left..=right)
        .flat_map(|x| [(x, top), (x, bottom)])
        .chain((top + 1..bottom).flat_map(|y| [(left, y), (right, y)]));
    let (mut off, mut all) = (0, 0);
    for (x, y) in ring {
        all += 1;
        off += usize::from(off_page.get_pixel(x, y)[0] > 127);
    }
    off as f32 >= ALONG_EDGE * all as f32
}

/// A dot is smaller than this many letter heights...
const DOT_SIZE: f32 = 0.45;
/// ...over a stem narrower than this...
const DOT_STEM_WIDTH: f32 = 0.6;
/// ...and at most this far above it.
const DOT_GAP: f32 = 0.6;
/// Over letters joined to an i (a blob wider than a stem) a dot is at most this many letter
/// heights above them (a period of the line above may be further up).
const JOINED_DOT_GAP: f32 = 0.2;
/// A dot's centre is at most this many letter heights left or right of its stem's.
const DOT_OFFSET: f32 = 0.3;

/// Merges blobs whose boxes overlap mostly horizontally (one above the other within a
/// letter height: broken strokes, the parts of a letter the threshold cut apart; the dot
/// of an i or j).
pub fn merge_stacked(blobs: Vec<Blob>, letter: f32) -> Vec<Blob> {
    let mut blobs = attach_dots(blobs, letter);
    blobs.sort_by_key(|b| b.bbox.left);
    let mut merged = true;
    while merged {
        merged = false;
        let mut i = 0;
        while i < blobs.len() {
            let mut j = i + 1;
            while j < blobs.len() && blobs[j].bbox.left < blobs[i].bbox.right {
                if stacked(&blobs[i].bbox, &blobs[j].bbox, letter) {
                    let other = blobs.remove(j);
                    blobs[i].merge(&other);
                    merged = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
    }
    blobs
}

/// Gives each dot to the letter it is the dot of, before boxes merge by overlap: the narrow
/// stem nearest by centre (the dot of the i in "ui" often leans over the u, which would take
/// it and then read, with the dotless stem beside it, as a w), else the blob right under it
/// (an i joined to its neighbours), which then knows it holds an i or a j.
fn attach_dots(mut blobs: Vec<Blob>, letter: f32) -> Vec<Blob> {
    let mut i = 0;
    while i < blobs.len() {
        let dot = blobs[i].bbox;
        let offset = |k: usize| (blobs[k].centre().0 - (dot.left + dot.right) as f32 / 2.0).abs();
        let others = (0..blobs.len()).filter(|&k| k != i);
        let stem = others
            .clone()
            .filter(|&k| dotted(&dot, &blobs[k].bbox, letter) && offset(k) < DOT_OFFSET * letter)
            .min_by(|&a, &b| offset(a).total_cmp(&offset(b)));
        let under = || {
            others
                .filter(|&k| dot.x_overlap(&blobs[k].bbox) > 0)
                .filter(|&k| dot_above(&dot, &blobs[k].bbox, letter, JOINED_DOT_GAP * letter))
                .min_by_key(|&k| blobs[k].bbox.top)
        };
        match stem.or_else(under) {
            Some(k) => {
                let dot = blobs.remove(i);
                let k = if k > i { k - 1 } else { k };
                let joined = (blobs[k].bbox.width() as f32) >= DOT_STEM_WIDTH * letter;
                blobs[k].merge(&dot);
                if joined {
                    blobs[k].dot = Some(dot.bbox);
                }
                // The blob now at `i` is the next one: look at it too.
            }
            None => i += 1,
        }
    }
    blobs
}

/// Whether two boxes belong to one letter: their columns overlap by more than half the
/// narrower one and, together, they are not taller than a letter and a half.
fn stacked(a: &BBox, b: &BBox, letter: f32) -> bool {
    let narrower = a.width().min(b.width());
    2 * a.x_overlap(b) > narrower
        && ((a.union(b).height() as f32) < 1.5 * letter
            || dotted(a, b, letter)
            || dotted(b, a, letter))
}

/// Whether `dot` is the dot of an i or j over the narrow stem `stem`: small, above it and
/// close (the stem of a j with its tail and dot spans more than a letter and a half).
fn dotted(dot: &BBox, stem: &BBox, letter: f32) -> bool {
    dot_above(dot, stem, letter, DOT_GAP * letter)
        && (stem.width() as f32) < DOT_STEM_WIDTH * letter
}

/// Whether `dot` is small enough for a dot (in `letter` heights) and at most `gap` pixels
/// above `b`.
fn dot_above(dot: &BBox, b: &BBox, letter: f32, within: f32) -> bool {
    let small = (dot.width().max(dot.height()) as f32) < DOT_SIZE * letter;
    let gap = b.top as f32 - dot.bottom as f32;
    small && (0.0..within).contains(&gap)
}

/// Drops specks: blobs whose larger side is under `min_size` letter heights or whose ink is
/// under `min_area` times the median blob's ink.
pub fn drop_specks(blobs: Vec<Blob>, letter: f32, min_size: f32, min_area: f32) -> Vec<Blob> {
    let mut areas: Vec<u32> = blobs.iter().map(|b| b.area).collect();
    let median_area = median(&mut areas).unwrap_or(0) as f32;
    blobs
        .into_iter()
        .filter(|b| {
            let size = b.bbox.width().max(b.bbox.height()) as f32;
            size >= min_size * letter && b.area as f32 >= min_area * median_area
        })
        .collect()
}

/// A blob of one component filling the box from (`left`, `top`) to (`right`, `bottom`), for
/// the tests of the stages that take boxes.
#[cfg(test)]
pub(crate) fn blob(left: u32, top: u32, right: u32, bottom: u32) -> Blob {
    Blob {
        bbox: BBox {
            left,
            top,
            right,
            bottom,
        },
        labels: vec![1],
        area: (right - left) * (bottom - top),
        bounds: None,
        dot: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slivers_along_the_desk_go_and_letters_near_it_stay() {
        // The desk is the top left corner of a tilted photo: x + y < 200.
        let off_page =
            GrayImage::from_fn(400, 300, |x, y| Luma([if x + y < 200 { 255 } else { 0 }]));
        let sliver = blob(90, 90, 115, 115); // along the desk's edge
        let near = blob(100, 98, 130, 128); // a letter whose corner touches it
        let letters: Vec<Blob> = (0..5)
            .map(|i| blob(150 + 40 * i, 160, 180 + 40 * i, 200))
            .collect();
        let mut blobs = letters.clone();
        blobs.extend([sliver, near.clone()]);
        let (kept, _) = drop_non_letters(blobs, &off_page);
        let boxes: Vec<BBox> = kept.iter().map(|b| b.bbox).collect();
        assert!(boxes.contains(&near.bbox), "the letter near the edge stays");
        assert_eq!(
            boxes.len(),
            letters.len() + 1,
            "only the sliver goes: {boxes:?}"
        );
        // Touching the image's own border drops a component whatever the mask says.
        let page = GrayImage::new(400, 300);
        let (kept, _) = drop_non_letters(vec![blob(0, 10, 20, 40), letters[0].clone()], &page);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn the_dot_of_a_j_joins_its_stem_and_a_period_above_a_wide_letter_does_not() {
        // Letter height 40: a j's stem with its tail (rows 100-160) and its dot 12 above.
        let dot = blob(20, 76, 30, 88);
        let merged = merge_stacked(vec![blob(15, 100, 35, 160), dot.clone()], 40.0);
        assert_eq!(merged.len(), 1, "the dot joins the j");
        assert_eq!(merged[0].bbox.top, 76);
        // The same dot over a wide letter (an M of the next line) stays apart.
        let apart = merge_stacked(vec![blob(0, 100, 45, 140), dot.clone()], 40.0);
        assert_eq!(apart.len(), 2);
        // And so does a dot far above a stem.
        let far = merge_stacked(vec![blob(15, 130, 35, 190), dot], 40.0);
        assert_eq!(far.len(), 2);
    }

    #[test]
    fn the_dot_of_the_i_in_ui_joins_the_i_though_it_leans_over_the_u() {
        // Letter height 40: a u (x 0-20) and an i's stem (24-28) at x-height, the i's dot
        // (14-24) over the gap and the u's right arm.
        let (u, stem, dot) = (
            blob(0, 110, 20, 130),
            blob(24, 108, 28, 130),
            blob(14, 96, 24, 104),
        );
        let merged = merge_stacked(vec![u.clone(), stem, dot], 40.0);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].bbox, u.bbox, "the u is left alone");
        assert_eq!(merged[1].bbox.top, 96, "the i has its dot");
        assert_eq!(merged[1].dot, None, "an i alone is read as one");
    }

    #[test]
    fn a_dot_over_letters_joined_to_their_i_joins_them_and_says_they_hold_an_i() {
        // Letter height 40: u and i joined into one blob (x 0-30) at x-height, the i's dot
        // over its right edge, too far out for the usual rule (which wants half the dot over
        // the blob).
        let (ui, dot) = (blob(0, 108, 30, 130), blob(26, 96, 34, 104));
        let merged = merge_stacked(vec![ui, dot.clone()], 40.0);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].bbox.top, 96);
        assert_eq!(merged[0].dot, Some(dot.bbox));
        // A speck far above stays apart.
        let far = blob(26, 60, 34, 68);
        assert_eq!(
            merge_stacked(vec![blob(0, 108, 30, 130), far], 40.0).len(),
            2
        );
    }
}
