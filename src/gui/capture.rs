//! PNG captures of the window or part of it, through the integration's screenshot
//! command (so what is saved is exactly what was rendered).

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, unbounded};
use eframe::egui;
use egui::{ColorImage, Rect};
use std::path::{Path, PathBuf};

/// Requests captures and collects their results (they arrive a frame or two later).
pub struct Capture {
    done_tx: Sender<Result<PathBuf>>,
    done_rx: Receiver<Result<PathBuf>>,
}

impl Default for Capture {
    fn default() -> Self {
        let (done_tx, done_rx) = unbounded();
        Self { done_tx, done_rx }
    }
}

impl Capture {
    /// Saves the next rendered frame to `path`, cropped to `area` (in points) if given.
    pub fn request(&self, ctx: &egui::Context, path: PathBuf, area: Option<Rect>) {
        let done = self.done_tx.clone();
        let repaint = ctx.clone();
        let pixels_per_point = ctx.pixels_per_point();
        ctx.request_screenshot(move |image| {
            let result = save_png(&image, area.map(|r| r * pixels_per_point), &path).map(|()| path);
            let _ = done.send(result);
            repaint.request_repaint();
        });
        ctx.request_repaint();
    }

    /// Captures finished since the last call.
    pub fn finished(&self) -> Vec<Result<PathBuf>> {
        self.done_rx.try_iter().collect()
    }
}

/// Writes `image` (cropped to `area` in pixels) as a PNG.
pub fn save_png(image: &ColorImage, area: Option<Rect>, path: &Path) -> Result<()> {
    let [w, h] = image.size;
    let (x0, y0, x1, y1) = match area {
        Some(r) => (
            (r.left().floor().max(0.0) as usize).min(w),
            (r.top().floor().max(0.0) as usize).min(h),
            (r.right().ceil().max(0.0) as usize).min(w),
            (r.bottom().ceil().max(0.0) as usize).min(h),
        ),
        None => (0, 0, w, h),
    };
    anyhow::ensure!(
        x1 > x0 && y1 > y0,
        "{}: nothing to save, the area is empty",
        path.display()
    );
    let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
    for y in y0..y1 {
        for p in &image.pixels[y * w + x0..y * w + x1] {
            rgba.extend_from_slice(&p.to_srgba_unmultiplied());
        }
    }
    image::save_buffer(
        path,
        &rgba,
        (x1 - x0) as u32,
        (y1 - y0) as u32,
        image::ColorType::Rgba8,
    )
    .with_context(|| format!("writing {}", path.display()))
}
