//! The page's angle: which direction the writing runs, found from the letters' centres,
//! and the rotation that makes it level.

use super::components::Blob;
use image::{GrayImage, Luma};

/// The largest tilt searched, in degrees either way.
pub const MAX_TILT: f32 = 30.0;
/// The largest angle a user may give instead of the estimate (beyond it, a quarter turn
/// is the better way), in degrees either way.
pub const MAX_OVERRIDE: f32 = 45.0;
/// The coarse search step and the fine one around the coarse best, in degrees.
const COARSE_STEP: f32 = 0.5;
const FINE_STEP: f32 = 0.1;
/// Centres closer than this many letter heights across the text direction count as one
/// line (letters of a line scatter by much less, neighbouring lines are over a letter apart).
const SAME_LINE: f32 = 0.5;
/// A tilt under this many degrees is left alone: letters that little askew read as well as
/// level ones (the classifier's training warps rotate by up to 12 degrees), and the lines
/// follow the slope anyway.
pub const MIN_ROTATION: f32 = 1.0;

/// The angle of the writing in degrees (positive: the lines run down to the right), from
/// the centres of the letter boxes: the angle at which, looking along the lines, the
/// centres bunch up most tightly (each pair of centres closer than [`SAME_LINE`] letter
/// heights across the writing scores by how close). None with fewer than three letters.
pub fn estimate_angle(blobs: &[Blob], letter_height: f32) -> Option<f32> {
    if blobs.len() < 3 {
        return None;
    }
    let centres: Vec<(f32, f32)> = blobs
        .iter()
        .map(|b| {
            let c = |lo: u32, hi: u32| (lo + hi) as f32 / 2.0;
            (c(b.bbox.left, b.bbox.right), c(b.bbox.top, b.bbox.bottom))
        })
        .collect();
    let width = SAME_LINE * letter_height.max(1.0);
    let best_of = |angles: &mut dyn Iterator<Item = f32>| {
        angles
            .map(|a| (a, sharpness(&centres, a, width)))
            .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.abs().total_cmp(&x.0.abs())))
            .map(|(a, _)| a)
            .expect("at least one angle")
    };
    let steps = (MAX_TILT / COARSE_STEP).round() as i32;
    let coarse = best_of(&mut (-steps..=steps).map(|i| i as f32 * COARSE_STEP));
    let fine_steps = (COARSE_STEP / FINE_STEP).round() as i32;
    let fine = best_of(
        &mut (-fine_steps..=fine_steps)
            .map(|i| coarse + i as f32 * FINE_STEP)
            .filter(|a| a.abs() <= MAX_TILT),
    );
    Some(fine)
}

/// How tightly the centres bunch across the direction `degrees`: the sum over pairs
/// closer than `width` of how much closer.
fn sharpness(centres: &[(f32, f32)], degrees: f32, width: f32) -> f32 {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let mut across: Vec<f32> = centres.iter().map(|&(x, y)| y * cos - x * sin).collect();
    across.sort_by(f32::total_cmp);
    let mut score = 0.0;
    for (i, &a) in across.iter().enumerate() {
        for &b in &across[i + 1..] {
            let d = b - a;
            if d >= width {
                break;
            }
            score += 1.0 - d / width;
        }
    }
    score
}

/// A rotation of the working image by `degrees` about its centre into a canvas large
/// enough to hold all of it (so no corner is lost).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation {
    pub degrees: f32,
    /// The source image's size.
    pub from: (u32, u32),
    /// The rotated canvas's size.
    pub to: (u32, u32),
}

impl Rotation {
    /// The rotation that levels writing at `degrees` in an image of `size`.
    pub fn levelling(degrees: f32, size: (u32, u32)) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = (size.0 as f32, size.1 as f32);
        let to = (
            (w * cos.abs() + h * sin.abs()).ceil() as u32,
            (w * sin.abs() + h * cos.abs()).ceil() as u32,
        );
        Self {
            degrees,
            from: size,
            to,
        }
    }

    /// Where the point `(x, y)` of the rotated canvas was in the source image.
    pub fn source_of(&self, x: f32, y: f32) -> (f32, f32) {
        let (sin, cos) = self.degrees.to_radians().sin_cos();
        let (dx, dy) = (x - self.to.0 as f32 / 2.0, y - self.to.1 as f32 / 2.0);
        (
            dx * cos - dy * sin + self.from.0 as f32 / 2.0,
            dx * sin + dy * cos + self.from.1 as f32 / 2.0,
        )
    }

    /// Where the point `(x, y)` of the source image lands on the rotated canvas.
    pub fn target_of(&self, x: f32, y: f32) -> (f32, f32) {
        let (sin, cos) = self.degrees.to_radians().sin_cos();
        let (dx, dy) = (x - self.from.0 as f32 / 2.0, y - self.from.1 as f32 / 2.0);
        (
            dx * cos + dy * sin + self.to.0 as f32 / 2.0,
            -dx * sin + dy * cos + self.to.1 as f32 / 2.0,
        )
    }

    /// The image turned so that its writing is level (bilinear; `fill` where the source
    /// has no pixel).
    pub fn apply(&self, img: &GrayImage, fill: u8) -> GrayImage {
        let (w, h) = img.dimensions();
        let (sin, cos) = self.degrees.to_radians().sin_cos();
        let mut out = GrayImage::from_pixel(self.to.0, self.to.1, Luma([fill]));
        let src = img.as_raw();
        let at = |x: i64, y: i64| -> f32 {
            if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
                fill as f32
            } else {
                src[y as usize * w as usize + x as usize] as f32
            }
        };
        for (y, row) in out.chunks_exact_mut(self.to.0 as usize).enumerate() {
            // Step along the row in source coordinates (pixel centres).
            let (mut sx, mut sy) = self.source_of(0.5, y as f32 + 0.5);
            for o in row.iter_mut() {
                let (fx, fy) = (sx - 0.5, sy - 0.5);
                let (x0, y0) = (fx.floor(), fy.floor());
                let (ax, ay) = (fx - x0, fy - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                if x0 >= -1 && y0 >= -1 && x0 < w as i64 && y0 < h as i64 {
                    let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1, y0) * ax;
                    let bottom = at(x0, y0 + 1) * (1.0 - ax) + at(x0 + 1, y0 + 1) * ax;
                    *o = (top * (1.0 - ay) + bottom * ay).round() as u8;
                }
                sx += cos;
                sy += sin;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_at(x: f32, y: f32) -> Blob {
        let (x, y) = (x.round() as u32, y.round() as u32);
        crate::ocr::components::blob(x - 10, y - 15, x + 10, y + 15)
    }

    #[test]
    fn the_angle_of_tilted_rows_of_letters_is_found() {
        for degrees in [-25.0f32, -12.0, -3.0, 0.0, 7.0, 20.0] {
            let (sin, cos) = degrees.to_radians().sin_cos();
            let mut blobs = Vec::new();
            for line in 0..4 {
                for letter in 0..12 {
                    let (u, v) = (letter as f32 * 36.0, line as f32 * 60.0);
                    blobs.push(blob_at(
                        400.0 + u * cos - v * sin,
                        300.0 + u * sin + v * cos,
                    ));
                }
            }
            let found = estimate_angle(&blobs, 30.0).unwrap();
            assert!((found - degrees).abs() < 0.6, "{degrees}: found {found}");
        }
    }

    #[test]
    fn a_rotation_maps_points_both_ways_and_keeps_the_corners() {
        let r = Rotation::levelling(17.0, (300, 200));
        let (x, y) = r.target_of(12.0, 190.0);
        let (bx, by) = r.source_of(x, y);
        assert!((bx - 12.0).abs() < 1e-3 && (by - 190.0).abs() < 1e-3);
        for (cx, cy) in [(0.0, 0.0), (300.0, 0.0), (0.0, 200.0), (300.0, 200.0)] {
            let (tx, ty) = r.target_of(cx, cy);
            assert!(tx >= -0.01 && ty >= -0.01 && tx <= r.to.0 as f32 + 0.01);
            assert!(
                ty <= r.to.1 as f32 + 0.01,
                "corner ({cx}, {cy}) -> ({tx}, {ty})"
            );
        }
        let img = GrayImage::from_fn(300, 200, |x, _| Luma([if x < 150 { 0 } else { 200 }]));
        let out = r.apply(&img, 255);
        let (tx, ty) = r.target_of(20.0, 100.0);
        assert_eq!(out.get_pixel(tx as u32, ty as u32)[0], 0);
        let (tx, ty) = r.target_of(280.0, 100.0);
        assert_eq!(out.get_pixel(tx as u32, ty as u32)[0], 200);
        assert_eq!(out.get_pixel(0, 0)[0], 255, "outside the source: the fill");
    }
}
