//! From grey to ink: even out the lighting, denoise, threshold, join broken strokes.

use anyhow::{Result, bail};
use image::imageops;
use image::{GrayImage, Luma};
use imageproc::contrast::otsu_level;
use imageproc::distance_transform::Norm;
use imageproc::filter::{box_filter, gaussian_blur_f32};
use imageproc::morphology::{Mask, dilate_mut, erode_mut, grayscale_dilate};

/// Ink is 255 and paper 0 in every binary image of the pipeline.
pub const INK: u8 = 255;

/// The background is estimated on an image this many times smaller (it only varies slowly).
const BACKGROUND_SHRINK: u32 = 8;
/// Max-filter radius on the shrunk image: removes dark marks up to ~2 x 3 x 8 = 48 working
/// pixels wide (pen strokes), keeps what is larger (desk, shadows).
const BACKGROUND_MAX_RADIUS: u8 = 3;
/// Blur of the shrunk background, in shrunk pixels.
const BACKGROUND_SIGMA: f32 = 2.0;
/// Below this difference between the mean paper and the mean ink grey (out of 255 after the
/// lighting is evened out) there is no writing, only paper grain.
const MIN_INK_CONTRAST: f32 = 40.0;

/// The photo [`BACKGROUND_SHRINK`] times smaller: enough for the paper's brightness and
/// the desk, which only vary slowly.
pub fn shrink(grey: &GrayImage) -> GrayImage {
    let (w, h) = grey.dimensions();
    imageops::thumbnail(
        grey,
        (w / BACKGROUND_SHRINK).max(1),
        (h / BACKGROUND_SHRINK).max(1),
    )
}

/// Divides the photo by a heavily smoothed estimate of the paper's brightness (from its
/// shrunk copy `small`), so shadows and uneven light disappear: paper becomes ~255
/// everywhere, ink stays dark.
pub fn flatten_lighting(grey: &GrayImage, small: &GrayImage) -> GrayImage {
    let (w, h) = grey.dimensions();
    let (sw, sh) = small.dimensions();
    let paper = grayscale_dilate(small, &Mask::square(BACKGROUND_MAX_RADIUS));
    let paper = gaussian_blur_f32(&paper, BACKGROUND_SIGMA);
    let mut out = grey.clone();
    // Bilinear interpolation of the shrunk paper at each pixel's centre.
    let sample = |v: u32, n: u32, small: u32| {
        let s = ((v as f32 + 0.5) * small as f32 / n as f32 - 0.5).clamp(0.0, (small - 1) as f32);
        let i = (s as u32).min(small.saturating_sub(2));
        (i, (s - i as f32).min(1.0))
    };
    let columns: Vec<(u32, f32)> = (0..w).map(|x| sample(x, w, sw)).collect();
    let next = |i: u32, n: u32| (i + 1).min(n - 1);
    for y in 0..h {
        let (y0, fy) = sample(y, h, sh);
        let (row0, row1) = (y0, next(y0, sh));
        for (x, &(x0, fx)) in columns.iter().enumerate() {
            let p = |sx: u32, sy: u32| paper.get_pixel(sx, sy)[0] as f32;
            let x1 = next(x0, sw);
            let top = p(x0, row0) * (1.0 - fx) + p(x1, row0) * fx;
            let bottom = p(x0, row1) * (1.0 - fx) + p(x1, row1) * fx;
            let background = (top * (1.0 - fy) + bottom * fy).max(1.0);
            let o = out.get_pixel_mut(x as u32, y);
            o[0] = (o[0] as f32 * 255.0 / background).min(255.0) as u8;
        }
    }
    out
}

/// The desk is darker than this fraction of the paper (a shadow on the page is not).
const DESK_DARKNESS: f64 = 0.5;

/// Paints the desk around a photographed sheet as paper, so its texture and the page's
/// edge give no ink. The desk is the dark part of the shrunk photo `small` (darker than
/// Otsu's level, whose dark side must be under [`DESK_DARKNESS`] of the bright side's
/// brightness) that is connected to the photo's border, grown by one shrunk pixel to
/// cover the blurred edge of the page. Returns where the desk is (255), if there is one.
pub fn blank_desk(flat: &mut GrayImage, small: &GrayImage) -> Option<GrayImage> {
    let level = otsu_level(small);
    let (dark, bright): (Vec<f64>, Vec<f64>) = small
        .iter()
        .map(|&v| v as f64)
        .partition(|&v| v <= level as f64);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    if dark.is_empty() || mean(&dark) > DESK_DARKNESS * mean(&bright) {
        return None;
    }
    let mut desk = dark_from_border(small, level);
    if desk.iter().all(|&v| v == 0) {
        return None;
    }
    dilate_mut(&mut desk, Norm::LInf, 1);
    let (w, h) = flat.dimensions();
    let (sw, sh) = desk.dimensions();
    let mut mask = GrayImage::new(w, h);
    for (x, y, p) in flat.enumerate_pixels_mut() {
        let (sx, sy) = ((x * sw / w).min(sw - 1), (y * sh / h).min(sh - 1));
        if desk.get_pixel(sx, sy)[0] != 0 {
            p[0] = 255;
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    Some(mask)
}

/// The pixels of `img` at or under `level` that a 4-connected path of such pixels joins
/// to the border (255), others 0.
fn dark_from_border(img: &GrayImage, level: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let mut seen = GrayImage::new(w, h);
    let mut stack: Vec<(u32, u32)> = (0..w)
        .flat_map(|x| [(x, 0), (x, h - 1)])
        .chain((0..h).flat_map(|y| [(0, y), (w - 1, y)]))
        .collect();
    while let Some((x, y)) = stack.pop() {
        if seen.get_pixel(x, y)[0] != 0 || img.get_pixel(x, y)[0] > level {
            continue;
        }
        seen.put_pixel(x, y, Luma([255]));
        if x > 0 {
            stack.push((x - 1, y));
        }
        if y > 0 {
            stack.push((x, y - 1));
        }
        if x + 1 < w {
            stack.push((x + 1, y));
        }
        if y + 1 < h {
            stack.push((x, y + 1));
        }
    }
    seen
}

/// A light blur (3x3 mean) against sensor noise and paper grain.
pub fn denoise(img: &GrayImage) -> GrayImage {
    box_filter(img, 1, 1)
}

/// The binary ink image (ink = [`INK`]) at Otsu's level plus `offset` grey levels, and the
/// level used. Fails when the page holds no writing.
pub fn threshold(img: &GrayImage, offset: i32) -> Result<(GrayImage, u8)> {
    let level = (otsu_level(img) as i32 + offset).clamp(0, 254) as u8;
    let binary = ink_at(img, level);
    let (mut ink_sum, mut ink_n, mut paper_sum, mut paper_n) = (0f64, 0u64, 0f64, 0u64);
    for (&b, &v) in binary.iter().zip(img.iter()) {
        if b == INK {
            ink_sum += v as f64;
            ink_n += 1;
        } else {
            paper_sum += v as f64;
            paper_n += 1;
        }
    }
    let contrast = paper_sum / paper_n.max(1) as f64 - ink_sum / ink_n.max(1) as f64;
    if ink_n == 0 || paper_n == 0 || (contrast as f32) < MIN_INK_CONTRAST {
        bail!("no writing found: the page looks blank (ink contrast {contrast:.0} of 255)");
    }
    Ok((binary, level))
}

/// Ink ([`INK`]) where `img` is at or under `level`.
pub fn ink_at(img: &GrayImage, level: u8) -> GrayImage {
    let mut binary = GrayImage::new(img.width(), img.height());
    for (b, &v) in binary.iter_mut().zip(img.iter()) {
        if v <= level {
            *b = INK;
        }
    }
    binary
}

/// The typical pen width in pixels: the median length of the horizontal and vertical
/// runs of ink (each stroke crossed across gives one short run).
pub fn stroke_width(binary: &GrayImage) -> f32 {
    let (w, h) = binary.dimensions();
    let mut counts = vec![0u64; (w.max(h) + 1) as usize];
    // Lengths of the ink runs along one line of pixels.
    let mut count_line = |pixels: &mut dyn Iterator<Item = bool>| {
        let mut len = 0usize;
        for ink in pixels.chain(std::iter::once(false)) {
            if ink {
                len += 1;
            } else if len > 0 {
                counts[len] += 1;
                len = 0;
            }
        }
    };
    let ink = |x, y| binary.get_pixel(x, y)[0] == INK;
    for y in 0..h {
        count_line(&mut (0..w).map(|x| ink(x, y)));
    }
    for x in 0..w {
        count_line(&mut (0..h).map(|y| ink(x, y)));
    }
    let total: u64 = counts.iter().sum();
    let mut seen = 0;
    for (len, &c) in counts.iter().enumerate() {
        seen += c;
        if seen * 2 >= total {
            return len.max(1) as f32;
        }
    }
    1.0
}

/// Thickens strokes and closes gaps so that a letter's strokes form one component: a
/// dilation of `dilate_radius`, then a closing of `close_radius` (pixels), done as one
/// dilation of their sum and one erosion (two distance transforms instead of three).
pub fn join_strokes(binary: &GrayImage, close_radius: u8, dilate_radius: u8) -> GrayImage {
    let mut joined = binary.clone();
    let grow = close_radius.saturating_add(dilate_radius);
    if grow > 0 {
        dilate_mut(&mut joined, Norm::LInf, grow);
    }
    if close_radius > 0 {
        erode_mut(&mut joined, Norm::LInf, close_radius);
    }
    joined
}
