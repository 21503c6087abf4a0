//! Colour maps and image conversions shared by the panels.

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

/// White to dark blue; `t` in [0, 1].
pub fn sequential(t: f32) -> Color32 {
    mix(
        [250.0, 250.0, 252.0],
        [20.0, 50.0, 130.0],
        t.clamp(0.0, 1.0),
    )
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
