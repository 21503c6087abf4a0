//! A run's report folder, so a run can be shared or reproduced: `config.json` (the
//! [`RunConfig`]; `nnlab train --config DIR/config.json` retrains it bit for bit),
//! `model.safetensors`, `metrics.csv` (one line per epoch) and PNGs of the curves, the
//! first layer's weights and the validation confusion matrix. The CLI
//! (`train --save-run DIR`) and the GUI ("Export run...") both write it with [`write_run`].

use super::metrics::confusion_matrix;
use super::trainer::predictions;
use super::worker::first_layer;
use super::{EpochStats, Task, Trainer};
use crate::data::grid::save_grid_png;
use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_rect_mut, draw_line_segment_mut};
use imageproc::rect::Rect;
use ndarray::{Array1, Array2};
use std::fmt::Write;
use std::path::Path;

/// Writes the report of `t`'s run into `dir` (created if missing).
pub fn write_run(dir: &Path, t: &mut Trainer) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("config.json", serde_json::to_string_pretty(&t.config)?)?;
    t.saved_model().save(&dir.join("model.safetensors"))?;
    write("metrics.csv", history_csv(&t.history))?;
    save_png(&curves_image(&t.history), &dir.join("curves.png"))?;
    let weights = first_layer(t).weights;
    let side = (weights.nrows() as f64).sqrt().round() as usize;
    if side * side == weights.nrows() && side > 1 && weights.ncols() > 0 {
        save_weights_png(&weights, side, &dir.join("weights.png"))?;
    }
    if t.config.task == Task::Classify {
        let data = t.data.clone();
        let valid = t.evaluate(&data.valid);
        let m = confusion_matrix(
            &data.valid.labels,
            &predictions(&valid.outputs),
            data.valid.classes.len(),
        );
        save_png(&confusion_image(&m), &dir.join("confusion.png"))?;
    }
    Ok(())
}

/// The per-epoch history as CSV (one header line, one line per epoch).
pub fn history_csv(history: &[EpochStats]) -> String {
    let mut s = String::from("epoch,train_loss,train_acc,valid_loss,valid_acc,lr,seconds\n");
    for e in history {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            e.epoch, e.train_loss, e.train_acc, e.valid_loss, e.valid_acc, e.lr, e.seconds
        );
    }
    s
}

fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    image
        .save(path)
        .with_context(|| format!("writing {}", path.display()))
}

/// One tile per hidden unit (or conv kernel) of `side x side` weights, each scaled by its
/// largest |weight|: mid grey is 0, dark positive, light negative. Small kernels are
/// enlarged to about 64 pixels.
fn save_weights_png(weights: &Array2<f32>, side: usize, path: &Path) -> Result<()> {
    let tiles: Vec<Array1<f32>> = weights
        .columns()
        .into_iter()
        .map(|w| {
            let scale = w.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
            w.mapv(|v| 0.5 + 0.5 * v / scale)
        })
        .collect();
    let views: Vec<_> = tiles.iter().map(|t| t.view()).collect();
    let columns = (views.len() as f64).sqrt().ceil() as usize;
    save_grid_png(path, &views, columns, (64 / side).max(2) as u32)
}

/// Pixels per cell of the confusion image.
const CELL: u32 = 12;

/// Rows: true class, columns: predicted; darker is a larger share of the row (square root,
/// so single mistakes stay visible next to a full diagonal, as in the GUI's heatmap).
fn confusion_image(m: &Array2<usize>) -> RgbImage {
    let n = m.nrows() as u32;
    let mut img = RgbImage::from_pixel(n * CELL, n * CELL, Rgb([200, 200, 200]));
    for (t, row) in m.rows().into_iter().enumerate() {
        let total = row.sum().max(1) as f32;
        for (p, &count) in row.iter().enumerate() {
            let share = (count as f32 / total).sqrt();
            let shade = |paper: f32, ink: f32| (paper + (ink - paper) * share).round() as u8;
            let colour = Rgb([shade(250.0, 20.0), shade(250.0, 60.0), shade(250.0, 140.0)]);
            for y in 0..CELL - 1 {
                for x in 0..CELL - 1 {
                    img.put_pixel(p as u32 * CELL + x, t as u32 * CELL + y, colour);
                }
            }
        }
    }
    img
}

const TRAIN: Rgb<u8> = Rgb([70, 140, 230]);
const VALID: Rgb<u8> = Rgb([240, 140, 40]);
const PANEL: (u32, u32) = (640, 240);

/// Loss (top) and accuracy (bottom, 0..1) per epoch, train in blue and valid in orange.
fn curves_image(history: &[EpochStats]) -> RgbImage {
    let mut img = RgbImage::from_pixel(PANEL.0, 2 * PANEL.1, Rgb([255, 255, 255]));
    let losses = history.iter().flat_map(|e| [e.train_loss, e.valid_loss]);
    let max_loss = losses.filter(|v| v.is_finite()).fold(0.0, f64::max);
    let series = |f: fn(&EpochStats) -> f64| -> Vec<f64> { history.iter().map(f).collect() };
    plot_panel(
        &mut img,
        0,
        max_loss.max(1e-12),
        &[
            (series(|e| e.train_loss), TRAIN),
            (series(|e| e.valid_loss), VALID),
        ],
    );
    plot_panel(
        &mut img,
        PANEL.1,
        1.0,
        &[
            (series(|e| e.train_acc), TRAIN),
            (series(|e| e.valid_acc), VALID),
        ],
    );
    img
}

/// Draws `lines` (one value per epoch, from 0 to `y_max`) in the panel starting at row `top`.
fn plot_panel(img: &mut RgbImage, top: u32, y_max: f64, lines: &[(Vec<f64>, Rgb<u8>)]) {
    const MARGIN: f32 = 16.0;
    let (w, h) = (PANEL.0 as f32 - 2.0 * MARGIN, PANEL.1 as f32 - 2.0 * MARGIN);
    let (left, top) = (MARGIN, top as f32 + MARGIN);
    let grid = Rgb([225, 225, 225]);
    for i in 1..4 {
        let y = top + h * i as f32 / 4.0;
        draw_line_segment_mut(img, (left, y), (left + w, y), grid);
    }
    let frame = Rect::at(left as i32, top as i32).of_size(w as u32 + 1, h as u32 + 1);
    draw_hollow_rect_mut(img, frame, Rgb([120, 120, 120]));
    for (values, colour) in lines {
        let epochs = values.len().max(2) - 1;
        let points: Vec<(f32, f32)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| {
                let x = left + w * i as f32 / epochs as f32;
                (x, top + h * (1.0 - (v / y_max).clamp(0.0, 1.0) as f32))
            })
            .collect();
        for pair in points.windows(2) {
            draw_line_segment_mut(img, pair[0], pair[1], *colour);
        }
        for &(x, y) in &points {
            draw_filled_circle_mut(img, (x as i32, y as i32), 2, *colour);
        }
    }
}
