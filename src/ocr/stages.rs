//! Pictures of the pipeline's stages, for `--debug-dir` and the GUI's stage viewer.

use super::{Reading, Segmentation};
use crate::data::SIDE;
use anyhow::{Context, Result};
use image::{GrayImage, Rgb, RgbImage};
use imageproc::drawing::{draw_hollow_rect_mut, draw_line_segment_mut};
use imageproc::rect::Rect;
use std::path::Path;

/// The stages a user can look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Grey,
    Flat,
    Binary,
    Joined,
    Components,
    Lines,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Grey,
        Stage::Flat,
        Stage::Binary,
        Stage::Joined,
        Stage::Components,
        Stage::Lines,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Grey => "grey",
            Stage::Flat => "lighting evened",
            Stage::Binary => "binary",
            Stage::Joined => "morphology",
            Stage::Components => "components",
            Stage::Lines => "lines",
        }
    }

    /// The stage as a colour picture at the working resolution.
    pub fn render(self, seg: &Segmentation) -> RgbImage {
        match self {
            Stage::Grey => grey_to_rgb(&seg.grey),
            Stage::Flat => grey_to_rgb(&seg.flat),
            Stage::Binary => ink_to_rgb(&seg.binary),
            Stage::Joined => ink_to_rgb(&seg.joined),
            Stage::Components => components(seg),
            Stage::Lines => lines(seg),
        }
    }
}

fn grey_to_rgb(g: &GrayImage) -> RgbImage {
    RgbImage::from_fn(g.width(), g.height(), |x, y| {
        let v = g.get_pixel(x, y)[0];
        Rgb([v, v, v])
    })
}

/// Ink black on white, as on paper.
fn ink_to_rgb(g: &GrayImage) -> RgbImage {
    RgbImage::from_fn(g.width(), g.height(), |x, y| {
        let v = 255 - g.get_pixel(x, y)[0];
        Rgb([v, v, v])
    })
}

/// A distinct, dark-enough colour for index `i`.
pub fn palette(i: usize) -> Rgb<u8> {
    const COLOURS: [[u8; 3]; 8] = [
        [230, 25, 75],
        [60, 150, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [0, 128, 128],
        [170, 110, 40],
        [128, 0, 0],
    ];
    Rgb(COLOURS[i % COLOURS.len()])
}

/// Each component in its own colour.
fn components(seg: &Segmentation) -> RgbImage {
    RgbImage::from_fn(seg.labels.width(), seg.labels.height(), |x, y| {
        match seg.labels.get_pixel(x, y)[0] {
            0 => Rgb([255, 255, 255]),
            l => palette(l as usize),
        }
    })
}

/// The colour of the page's angle in the lines view.
const ANGLE_COLOUR: Rgb<u8> = Rgb([255, 200, 0]);

/// The grey photo with each letter's box coloured by line, each line's course through its
/// letters, and the page's angle: the outline of the photo as it was before levelling
/// (tilted by the angle found), or, for a page read as it was, a line at that angle.
fn lines(seg: &Segmentation) -> RgbImage {
    let mut img = grey_to_rgb(&seg.grey);
    let (w, h) = (img.width() as f32, img.height() as f32);
    match &seg.rotation {
        Some(r) => {
            let (sw, sh) = (r.from.0 as f32, r.from.1 as f32);
            let corners =
                [(0.0, 0.0), (sw, 0.0), (sw, sh), (0.0, sh)].map(|(x, y)| r.target_of(x, y));
            for i in 0..4 {
                let (a, b) = (corners[i], corners[(i + 1) % 4]);
                draw_line_segment_mut(&mut img, a, b, ANGLE_COLOUR);
            }
        }
        None => {
            let rise = seg.angle.to_radians().tan() * w / 2.0;
            draw_line_segment_mut(
                &mut img,
                (0.0, h / 2.0 - rise),
                (w, h / 2.0 + rise),
                ANGLE_COLOUR,
            );
        }
    }
    for (i, line) in seg.lines.iter().enumerate() {
        for b in &line.blobs {
            let r = Rect::at(b.bbox.left as i32, b.bbox.top as i32)
                .of_size(b.bbox.width(), b.bbox.height());
            draw_hollow_rect_mut(&mut img, r, palette(i));
            let outer = Rect::at(r.left() - 1, r.top() - 1).of_size(r.width() + 2, r.height() + 2);
            draw_hollow_rect_mut(&mut img, outer, palette(i));
        }
        for pair in line.blobs.windows(2) {
            draw_line_segment_mut(&mut img, pair[0].centre(), pair[1].centre(), palette(i));
        }
    }
    img
}

/// The model's inputs, one row of 32x32 crops per line (ink black), to check orientation
/// and polarity by eye.
pub fn crop_sheet(reading: &Reading) -> GrayImage {
    let cols = reading
        .lines
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap_or(0)
        .max(1) as u32;
    let rows = reading.lines.len().max(1) as u32;
    let cell = SIDE as u32 + 2;
    let mut sheet = GrayImage::from_pixel(cols * cell, rows * cell, image::Luma([200]));
    for (r, line) in reading.lines.iter().enumerate() {
        for (c, ch) in line.iter().enumerate() {
            for (i, &v) in ch.crop.iter().enumerate() {
                let (x, y) = ((i % SIDE) as u32, (i / SIDE) as u32);
                let v = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
                sheet.put_pixel(
                    c as u32 * cell + 1 + x,
                    r as u32 * cell + 1 + y,
                    image::Luma([v]),
                );
            }
        }
    }
    sheet
}

/// Writes every stage, and the crops when there is a reading, as `<stem>_<stage>.png`.
pub fn write_all(
    dir: &Path,
    stem: &str,
    seg: &Segmentation,
    reading: Option<&Reading>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for stage in Stage::ALL {
        let path = dir.join(format!("{stem}_{}.png", stage.name().replace(' ', "_")));
        stage
            .render(seg)
            .save(&path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(r) = reading {
        let path = dir.join(format!("{stem}_crops.png"));
        crop_sheet(r)
            .save(&path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
