//! Colour maps and image conversions shared by the panels.

use crate::train::report::SERIES;
use eframe::egui;
use egui::{Color32, ColorImage, TextureHandle, TextureOptions};
use ndarray::ArrayView2;

const NEGATIVE: [f32; 3] = [40.0, 90.0, 190.0];
const ZERO: [f32; 3] = [245.0, 245.0, 245.0];
const POSITIVE: [f32; 3] = [200.0, 40.0, 40.0];

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> Color32 {
    let c = |i: usize| (a[i] + (b[i] - a[i]) * t).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Blue for negative, near-white for zero, red for positive; `t` in [-1, 1].
pub fn diverging(t: f32) -> Color32 {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    if t < 0.0 {
        mix(ZERO, NEGATIVE, -t)
    } else {
        mix(ZERO, POSITIVE, t)
    }
}

/// Near-black through blue to pale yellow; `t` in [0, 1] (reads well on the dark theme).
pub fn sequential(t: f32) -> Color32 {
    const DARK: [f32; 3] = [30.0, 32.0, 40.0];
    const MID: [f32; 3] = [40.0, 110.0, 200.0];
    const BRIGHT: [f32; 3] = [250.0, 230.0, 140.0];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if t < 0.5 {
        mix(DARK, MID, 2.0 * t)
    } else {
        mix(MID, BRIGHT, 2.0 * t - 1.0)
    }
}

/// Distinct colours for the lines of several runs (e.g. the rates of a sweep), those of
/// the run reports' PNGs.
pub fn series_colour(i: usize) -> Color32 {
    let [r, g, b] = SERIES[i % SERIES.len()];
    Color32::from_rgb(r, g, b)
}

/// A character image (ink 1.0, paper 0.0) as dark ink on white paper.
pub fn ink_image(image: ArrayView2<f32>) -> ColorImage {
    let (h, w) = image.dim();
    let pixels = image
        .iter()
        .map(|&v| {
            let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
            Color32::from_gray(g)
        })
        .collect();
    ColorImage::new([w, h], pixels)
}

/// Uploads `image` as a texture with sharp pixels.
pub fn texture(ctx: &egui::Context, name: &str, image: ColorImage) -> TextureHandle {
    ctx.load_texture(name, image, TextureOptions::NEAREST)
}
