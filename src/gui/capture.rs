//! PNG captures of the window or part of it, through the integration's screenshot
//! command (so what is saved is exactly what was rendered).

use super::job::Job;
use anyhow::{Context, Result, anyhow};
use eframe::egui;
use egui::{ColorImage, Rect};
use std::path::{Path, PathBuf};

/// Requests captures and collects their results (they arrive a frame or two later).
#[derive(Default)]
pub struct Capture {
    pending: Vec<Job<PathBuf>>,
}

impl Capture {
    /// Saves the next rendered frame to `path`, cropped to `area` (in points) if given.
    pub fn request(&mut self, ctx: &egui::Context, path: PathBuf, area: Option<Rect>) {
        let (job, done) = Job::new(ctx, "the screenshot");
        let pixels_per_point = ctx.pixels_per_point();
        ctx.request_screenshot(move |image| {
            done.finish(|| {
                save_png(&image, area.map(|r| r * pixels_per_point), &path)
                    .map(|()| path)
                    .map_err(|e| format!("{e:#}"))
            });
        });
        ctx.request_repaint();
        self.pending.push(job);
    }

    /// Captures finished since the last call.
    pub fn finished(&mut self) -> Vec<Result<PathBuf>> {
        let mut finished = Vec::new();
        self.pending.retain(|job| match job.poll() {
            Some(outcome) => {
                finished.push(outcome.map_err(|e| anyhow!(e)));
                false
            }
            None => true,
        });
        finished
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
