//! The printed rules of ruled and squared paper, and margin lines: long thin straight lines
//! across the page. Left in the ink they join every letter they touch into one wide
//! component and hide the writing's size, so they are taken out before letters are looked
//! for. A rule is found by its shape: ink that runs unbroken along one direction for a
//! good part of the page, which no handwritten stroke does. Where a letter's stroke
//! crosses a rule the ink there is thicker than the rule, and stays.

use super::binarize::INK;
use image::{GrayImage, Luma};

/// A rule runs unbroken over at least this fraction of the width of the ink on the page
/// (its height for a margin line): of the page, not of the photo, which may show a desk...
const MIN_SPAN: f32 = 0.25;
/// ...and over at least this many pen widths (letters are 10 to 20 high), so that the
/// longest stroke on a page of a few words is not a rule.
const MIN_RULE_PENS: f32 = 50.0;
/// Rules are looked for up to this many degrees off level (off vertical for margins): in
/// coarse steps on the image shrunk a lot, then in fine steps around the best on the image
/// shrunk less. Each step is small enough for its shrink that a rule a step off stays
/// unbroken over its span.
const MAX_ANGLE: f32 = 30.0;
const COARSE: Search = Search {
    shrink: 8,
    step: 2.0,
};
const FINE: Search = Search {
    shrink: 4,
    step: 0.5,
};

/// Ink at most this many pen widths thick across a rule is the rule's own; thicker, a
/// stroke crosses or touches it there.
const MAX_THICKNESS_PENS: f32 = 1.6;
/// Pixels (blocks in the search) a rule may stray up or down from a straight line: a page
/// not quite flat, a line one block thick that the rounding of a path crosses.
const STRAY: i64 = 1;

/// One pass of the angle search.
struct Search {
    shrink: u32,
    step: f32,
}

/// What [`remove_rules`] took out.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RulesRemoved {
    /// Ink pixels turned to paper.
    pub pixels: usize,
    /// The rules' angle in degrees (positive: running down to the right), when there were
    /// any across the page.
    pub across: Option<f32>,
    /// The angle of the margin lines off vertical, when there were any.
    pub down: Option<f32>,
}

impl RulesRemoved {
    /// "ruled lines removed (at 2.5 deg), margin lines removed (at 0.0 deg)", or `None`
    /// when none were.
    pub fn describe(&self) -> Option<String> {
        if self.pixels == 0 {
            return None;
        }
        let parts: Vec<String> = [(self.across, "ruled lines"), (self.down, "margin lines")]
            .into_iter()
            .filter_map(|(angle, what)| angle.map(|a| format!("{what} removed (at {a:.1} deg)")))
            .collect();
        Some(parts.join(", "))
    }
}

/// Takes the rules across the page and down it out of `binary` (ink 255), keeping the
/// strokes that cross them.
pub fn remove_rules(binary: &mut GrayImage, stroke_width: f32) -> RulesRemoved {
    let max_thickness = (MAX_THICKNESS_PENS * stroke_width).max(3.0).round() as i64;
    // Both directions are found on the image as it is, so that a rule taken out first
    // does not break the other across it.
    let across = find_rules(binary, stroke_width, max_thickness);
    let turned = image::imageops::rotate90(binary);
    let mut down = find_rules(&turned, stroke_width, max_thickness);
    // `rotate90` moves the pixel (x, y) of an image h pixels high to (h - 1 - y, x).
    let h = binary.height();
    for p in down.own.iter_mut().chain(down.band.iter_mut()) {
        *p = (p.1, h - 1 - p.0);
    }
    // Where two rules cross, each is as thick as the other is long there: the pixels in
    // both rules' bands are theirs.
    let w = binary.width() as usize;
    let mut in_across = vec![false; w * h as usize];
    for &(x, y) in &across.band {
        in_across[y as usize * w + x as usize] = true;
    }
    let crossings = down
        .band
        .iter()
        .filter(|&&(x, y)| in_across[y as usize * w + x as usize]);
    let mut pixels = 0;
    for &(x, y) in across.own.iter().chain(&down.own).chain(crossings) {
        let p = binary.get_pixel_mut(x, y);
        if p[0] == INK {
            *p = Luma([255 - INK]);
            pixels += 1;
        }
    }
    RulesRemoved {
        pixels,
        across: across.angle,
        down: down.angle.map(|a| -a),
    }
}

/// The rules across an image.
struct FoundRules {
    angle: Option<f32>,
    /// The pixels that are the rules' alone: where the ink across a rule is no thicker
    /// than the rule is along most of its length.
    own: Vec<(u32, u32)>,
    /// The rules' bands: their typical thickness either side of their paths.
    band: Vec<(u32, u32)>,
}

/// The rules that run across `binary` (ink at most `max_thickness` thick across them).
fn find_rules(binary: &GrayImage, stroke_width: f32, max_thickness: i64) -> FoundRules {
    let mut found = FoundRules {
        angle: rule_angle(binary, stroke_width),
        own: Vec::new(),
        band: Vec::new(),
    };
    let Some(angle) = found.angle else {
        return found;
    };
    let h = binary.height() as i64;
    let ink = |x: i64, y: i64| y >= 0 && y < h && binary.get_pixel(x as u32, y as u32)[0] == INK;
    let span = min_span(binary, stroke_width);
    long_runs(binary, angle.to_radians().tan(), span, STRAY, |run| {
        // Per point the column's ink around the rule (top and bottom row).
        let across: Vec<Option<(i64, i64, i64)>> = run
            .iter()
            .map(|&(x, y)| {
                let start = (-STRAY..=STRAY).map(|d| y + d).find(|&y| ink(x, y))?;
                let top = (0..).map(|d| start - d).take_while(|&y| ink(x, y)).last()?;
                let bottom = (0..).map(|d| start + d).take_while(|&y| ink(x, y)).last()?;
                Some((x, top, bottom))
            })
            .collect();
        let mut thickness: Vec<i64> = across.iter().flatten().map(|(_, t, b)| b - t).collect();
        thickness.sort_unstable();
        // A run as thick as a stroke is no printed rule (a solid area, a bar of ink).
        let Some(&typical) = thickness
            .get(thickness.len() / 2)
            .filter(|&&t| t < max_thickness)
        else {
            return;
        };
        // A stroke along the rule, or across it, makes the ink thicker than the rule.
        let own = (typical + 1).min(max_thickness - 1);
        for &(x, top, bottom) in across.iter().flatten() {
            if bottom - top <= own {
                found
                    .own
                    .extend((top..=bottom).map(|y| (x as u32, y as u32)));
            }
        }
        for &(x, y) in run {
            let rows = (y - typical - STRAY).max(0)..=(y + typical + STRAY).min(h - 1);
            found.band.extend(rows.map(|y| (x as u32, y as u32)));
        }
    });
    if found.own.is_empty() {
        found.angle = None; // runs as long as rules, none of them thin
    }
    found
}

/// Calls `on_run` with every run of at least `span` points where `img` has ink (within
/// `stray` rows) on the straight paths of `slope` across it (one path per starting row, a
/// point per column).
fn long_runs(
    img: &GrayImage,
    slope: f32,
    span: usize,
    stray: i64,
    mut on_run: impl FnMut(&[(i64, i64)]),
) {
    let (w, h) = (img.width() as usize, img.height() as i64);
    let raw = img.as_raw();
    let ink = |x: usize, y: i64| y >= 0 && y < h && raw[y as usize * w + x] == INK;
    let offsets: Vec<i64> = (0..w).map(|x| (slope * x as f32).round() as i64).collect();
    let rise = offsets.last().copied().unwrap_or(0);
    let mut run: Vec<(i64, i64)> = Vec::new();
    // Every path that crosses the image: its row at x = 0 may lie above or below it.
    for start in -rise.max(0)..h - rise.min(0) {
        for (x, &dy) in offsets.iter().enumerate() {
            let y = start + dy;
            if (-stray..=stray).any(|d| ink(x, y + d)) {
                run.push((x as i64, y));
                continue;
            }
            if run.len() >= span {
                on_run(&run);
            }
            run.clear();
        }
        if run.len() >= span {
            on_run(&run);
        }
        run.clear();
    }
}

/// The angle (degrees) along which the most ink lies in long straight runs; `None` when
/// no run is long enough.
fn rule_angle(binary: &GrayImage, stroke_width: f32) -> Option<f32> {
    let coarse = best_angle(binary, stroke_width, &COARSE, -MAX_ANGLE, MAX_ANGLE)?;
    best_angle(
        binary,
        stroke_width,
        &FINE,
        coarse - COARSE.step,
        coarse + COARSE.step,
    )
}

/// The angle in `from..=to` (in the search's steps) along which the ink lies in the
/// longest straight runs on `binary` shrunk as the search says (a block is ink when any of
/// its pixels is): the sum of the runs' squared lengths, so that one path along a rule beats
/// many a little off it; among equals the one nearest level.
fn best_angle(
    binary: &GrayImage,
    stroke_width: f32,
    search: &Search,
    from: f32,
    to: f32,
) -> Option<f32> {
    let small = shrink_any(binary, search.shrink);
    let span = min_span(&small, stroke_width / search.shrink as f32);
    let steps = ((to - from) / search.step).round() as i32;
    (0..=steps)
        .map(|i| {
            let angle = from + i as f32 * search.step;
            let mut on = 0;
            long_runs(&small, angle.to_radians().tan(), span, STRAY, |run| {
                on += run.len().pow(2)
            });
            (angle, on)
        })
        .filter(|&(angle, on)| on > 0 && angle.abs() <= MAX_ANGLE)
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.abs().total_cmp(&a.0.abs())))
        .map(|(angle, _)| angle)
}

/// The shortest run that is a rule in `binary`: [`MIN_SPAN`] of the columns from the first
/// with ink to the last, and [`MIN_RULE_PENS`] pens of `stroke_width`.
fn min_span(binary: &GrayImage, stroke_width: f32) -> usize {
    let (w, raw) = (binary.width() as usize, binary.as_raw());
    let mut has_ink = vec![false; w];
    for (i, &p) in raw.iter().enumerate() {
        if p == INK {
            has_ink[i % w] = true;
        }
    }
    let first = has_ink.iter().position(|&i| i);
    let last = has_ink.iter().rposition(|&i| i);
    let extent = match (first, last) {
        (Some(f), Some(l)) => l - f + 1,
        _ => 0,
    };
    (MIN_SPAN * extent as f32)
        .max(MIN_RULE_PENS * stroke_width)
        .max(2.0)
        .ceil() as usize
}

/// `binary` shrunk `factor` times; a block with any ink is ink.
fn shrink_any(binary: &GrayImage, factor: u32) -> GrayImage {
    let (w, h) = (
        binary.width().div_ceil(factor),
        binary.height().div_ceil(factor),
    );
    let mut small = GrayImage::from_pixel(w, h, Luma([255 - INK]));
    for (x, y, p) in binary.enumerate_pixels() {
        if p[0] == INK {
            small.put_pixel(x / factor, y / factor, Luma([INK]));
        }
    }
    small
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(w: u32, h: u32) -> GrayImage {
        GrayImage::from_pixel(w, h, Luma([255 - INK]))
    }

    fn ink_count(img: &GrayImage) -> usize {
        img.pixels().filter(|p| p[0] == INK).count()
    }

    #[test]
    fn a_tilted_rule_goes_and_the_stroke_across_it_stays() {
        let (w, h) = (800, 400);
        let mut page = blank(w, h);
        // A rule 2 px thick running down 6 degrees across the whole page.
        let slope = 6f32.to_radians().tan();
        for x in 0..w {
            let y = 150 + (slope * x as f32).round() as u32;
            for dy in 0..2 {
                page.put_pixel(x, y + dy, Luma([INK]));
            }
        }
        // A letter's stroke 4 px wide and 80 px long crosses it at x = 400 (y = 192).
        let stroke = 152u32..232;
        for y in stroke.clone() {
            for x in 398..402 {
                page.put_pixel(x, y, Luma([INK]));
            }
        }
        let removed = remove_rules(&mut page, 4.0);
        let across = removed.across.expect("a rule was found");
        assert!((across - 6.0).abs() <= FINE.step, "angle {across}");
        assert_eq!(removed.down, None, "the stroke is no margin line");
        // All the rule is gone except where the stroke crosses it; the stroke is whole.
        assert!(
            ink_count(&page) <= 80 * 4 + 4 * 2,
            "ink left: {}",
            ink_count(&page)
        );
        assert!(
            stroke
                .clone()
                .all(|y| (398..402).all(|x| page.get_pixel(x, y)[0] == INK))
        );
    }

    #[test]
    fn squared_paper_loses_its_grid_and_keeps_the_writing() {
        let (w, h) = (600, 600);
        let mut page = blank(w, h);
        for i in (30..h).step_by(60) {
            for t in 0..w {
                page.put_pixel(t, i, Luma([INK]));
                page.put_pixel(i, t, Luma([INK]));
            }
        }
        // A letter-sized blob of thick strokes (an H) in one square.
        let mut letter = Vec::new();
        for y in 100..140 {
            for x in (100..106).chain(124..130) {
                letter.push((x, y));
            }
        }
        for y in 118..124 {
            for x in 106..124 {
                letter.push((x, y));
            }
        }
        for &(x, y) in &letter {
            page.put_pixel(x, y, Luma([INK]));
        }
        let removed = remove_rules(&mut page, 6.0);
        assert_eq!(removed.across, Some(0.0));
        assert_eq!(removed.down, Some(0.0));
        // The letter is whole, and besides it only the grid's crossings are left (a pixel
        // each, where each rule is as thick as the other is long), which are specks.
        assert!(letter.iter().all(|&(x, y)| page.get_pixel(x, y)[0] == INK));
        assert!(
            ink_count(&page) <= letter.len() + 10 * 10,
            "ink left: {}",
            ink_count(&page)
        );
    }

    #[test]
    fn handwriting_alone_loses_nothing() {
        // Short strokes in rows, as letters are: no run spans a quarter of the page.
        let mut page = blank(800, 300);
        for row in 0..3 {
            for letter in 0..12 {
                let (x0, y0) = (20 + letter * 62, 30 + row * 90);
                for y in y0..y0 + 50 {
                    for x in x0..x0 + 5 {
                        page.put_pixel(x, y, Luma([INK]));
                    }
                }
                for x in x0..x0 + 40 {
                    for y in y0 + 45..y0 + 50 {
                        page.put_pixel(x, y, Luma([INK]));
                    }
                }
            }
        }
        let before = page.clone();
        assert_eq!(remove_rules(&mut page, 5.0), RulesRemoved::default());
        assert_eq!(page, before);
    }
}
