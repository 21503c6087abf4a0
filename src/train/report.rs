//! A run's report folder, so a run can be shared or reproduced: `config.json` (the
//! [`RunConfig`]; `nnlab train --config DIR/config.json` retrains it bit for bit),
//! `model.safetensors`, `metrics.csv` (one line per epoch) and PNGs of the curves, the
//! first layer's weights and the validation confusion matrix. The CLI
//! (`train --save-run DIR`) and the GUI ("Export run...") both write it with [`write_run`].

use super::snapshots::{Classified, first_layer};
use super::{EpochStats, Task, Trainer};
use crate::data::grid::save_grid_png;
use ab_glyph::FontRef;
use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_hollow_rect_mut, draw_line_segment_mut, draw_text_mut,
};
use imageproc::rect::Rect;
use ndarray::{Array1, Array2};
use std::fmt::Write;
use std::path::Path;

/// Writes the report of `t`'s run as the folder `dir`, which must be missing or empty.
pub fn write_run(dir: &Path, t: &mut Trainer) -> Result<()> {
    write_run_folder(dir, t, false)
}

/// Writes the report of `t`'s run as the folder `dir` at once (through a temporary folder
/// and a rename, [`crate::files::write_folder_atomic`]): a crash or a failure leaves the
/// old folder, never a mix. A non-empty `dir` is replaced only with `replace`.
pub fn write_run_folder(dir: &Path, t: &mut Trainer, replace: bool) -> Result<()> {
    crate::files::write_folder_atomic(dir, replace, |tmp| write_files(tmp, t))
}

fn write_files(dir: &Path, t: &mut Trainer) -> Result<()> {
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
        let m = Classified::of(&valid.outputs, &data.valid).confusion;
        let image = confusion_image(&m, &data.valid.classes);
        save_png(&image, &dir.join("confusion.png"))?;
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
/// Pixels left of and above the cells, for the class names.
const HEADER: u32 = 14;
const TEXT: Rgb<u8> = Rgb([60, 60, 60]);
/// Pixel height of the labels.
const TEXT_PX: f32 = 12.0;

/// The sans-serif face egui draws its own labels with (compiled in with egui).
fn label_font() -> FontRef<'static> {
    FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("egui's bundled font")
}

fn label(img: &mut RgbImage, x: f32, y: f32, colour: Rgb<u8>, text: &str) {
    draw_text_mut(
        img,
        colour,
        x as i32,
        y as i32,
        TEXT_PX,
        &label_font(),
        text,
    );
}

/// Rows: true class, columns: predicted, each named by its class; darker is a larger share
/// of the row (square root, so single mistakes stay visible next to a full diagonal, as in
/// the GUI's heatmap).
fn confusion_image(m: &Array2<usize>, classes: &[String]) -> RgbImage {
    let n = m.nrows() as u32;
    let side = HEADER + n * CELL;
    let mut img = RgbImage::from_pixel(side, side, Rgb([255, 255, 255]));
    for (i, name) in classes.iter().enumerate() {
        let at = (HEADER + i as u32 * CELL) as f32 + 2.0;
        label(&mut img, at, 0.0, TEXT, name);
        label(&mut img, 2.0, at - 2.0, TEXT, name);
    }
    for (t, row) in m.rows().into_iter().enumerate() {
        let total = row.sum().max(1) as f32;
        for (p, &count) in row.iter().enumerate() {
            let share = (count as f32 / total).sqrt();
            let shade = |paper: f32, ink: f32| (paper + (ink - paper) * share).round() as u8;
            let colour = Rgb([shade(250.0, 20.0), shade(250.0, 60.0), shade(250.0, 140.0)]);
            for y in 0..CELL - 1 {
                for x in 0..CELL - 1 {
                    let (px, py) = (p as u32 * CELL + x, t as u32 * CELL + y);
                    img.put_pixel(HEADER + px, HEADER + py, colour);
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
        "loss",
        max_loss.max(1e-12),
        &[
            (series(|e| e.train_loss), TRAIN),
            (series(|e| e.valid_loss), VALID),
        ],
    );
    plot_panel(
        &mut img,
        PANEL.1,
        "accuracy",
        1.0,
        &[
            (series(|e| e.train_acc), TRAIN),
            (series(|e| e.valid_acc), VALID),
        ],
    );
    img
}

/// Draws `lines` (one value per epoch, from 0 to `y_max`) in the panel starting at row `top`,
/// titled `name`, with the y range, the epochs and a legend written beside the frame.
fn plot_panel(img: &mut RgbImage, top: u32, name: &str, y_max: f64, lines: &[(Vec<f64>, Rgb<u8>)]) {
    const MARGIN: f32 = 20.0;
    const LEFT: f32 = 44.0;
    let (w, h) = (
        PANEL.0 as f32 - LEFT - MARGIN,
        PANEL.1 as f32 - 2.0 * MARGIN,
    );
    let (left, top) = (LEFT, top as f32 + MARGIN);
    label(img, left, top - 16.0, TEXT, name);
    for (text, colour, x) in [("train", TRAIN, w - 80.0), ("valid", VALID, w - 30.0)] {
        label(img, left + x, top - 16.0, colour, text);
    }
    label(img, 4.0, top - 6.0, TEXT, &format!("{y_max:.3}"));
    label(img, 4.0, top + h - 6.0, TEXT, "0");
    let count = lines.first().map_or(0, |(v, _)| v.len());
    label(img, left, top + h + 3.0, TEXT, "epoch 1");
    let last = format!("{count}");
    label(
        img,
        left + w - 6.0 * last.len() as f32,
        top + h + 3.0,
        TEXT,
        &last,
    );
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
