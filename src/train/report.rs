//! A run's report folder, so a run can be shared or reproduced: `config.json` (the
//! [`RunConfig`]; `nnlab train --config DIR/config.json` retrains it bit for bit),
//! `model.safetensors`, `metrics.csv` (one line per epoch), `health.csv` (per epoch and
//! layer, [`LayerHealth`]) and PNGs of the curves, the first layer's weights and the
//! validation confusion matrix. The CLI (`train --save-run DIR`) and the GUI ("Export
//! run...") both write it with [`write_run_folder`]; [`read_run`] reads it back for comparing runs
//! (`nnlab compare`, the Curves tab's "Open run...").

use super::config::limits;
use super::health::LayerHealth;
use super::snapshots::{Classified, first_layer};
use super::{EpochStats, RunConfig, Task, Trainer};
use crate::data::grid::save_grid_png;
use ab_glyph::FontRef;
use anyhow::{Context, Result, bail};
use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_hollow_rect_mut, draw_line_segment_mut, draw_text_mut,
};
use imageproc::rect::Rect;
use ndarray::{Array1, Array2};
use std::fmt::Write;
use std::path::{Path, PathBuf};

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
    if !t.health.is_empty() {
        write("health.csv", health_csv(&t.history, &t.health))?;
    }
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

const METRICS_HEADER: &str = "epoch,train_loss,train_acc,valid_loss,valid_acc,lr,seconds";
/// The label goes last: it may hold commas ("Conv(8, 3x3)").
const HEALTH_HEADER: &str = "epoch,layer,mean,spread,inactive,grad_norm,label";
/// The largest metrics.csv read: [`limits::MAX_EPOCHS`] lines of seven long numbers.
const MAX_METRICS_BYTES: u64 = limits::MAX_EPOCHS as u64 * 7 * 25;
/// The largest health.csv read.
const MAX_HEALTH_BYTES: u64 = 64 * crate::files::MB;

/// The per-epoch history as CSV (one header line, one line per epoch).
pub fn history_csv(history: &[EpochStats]) -> String {
    let mut s = format!("{METRICS_HEADER}\n");
    for e in history {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            e.epoch, e.train_loss, e.train_acc, e.valid_loss, e.valid_acc, e.lr, e.seconds
        );
    }
    s
}

/// Each epoch's layer health as CSV, one line per epoch and layer; a statistic that does
/// not apply to the layer is left empty.
fn health_csv(history: &[EpochStats], health: &[Vec<LayerHealth>]) -> String {
    let field = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut s = format!("{HEALTH_HEADER}\n");
    for (stats, layers) in history.iter().zip(health) {
        for h in layers {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                stats.epoch,
                h.layer,
                field(h.mean),
                field(h.spread),
                field(h.inactive),
                field(h.grad_norm),
                h.label
            );
        }
    }
    s
}

/// A run folder read back.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub history: Vec<EpochStats>,
    /// Per epoch (its number, the layers' health); empty when the folder has no health.csv.
    pub health: Vec<(usize, Vec<LayerHealth>)>,
}

/// Reads the run folder `dir` as [`write_run_folder`] wrote it: config.json and metrics.csv, and
/// health.csv if there is one. Every problem is an error naming the file and the line.
pub fn read_run(dir: &Path) -> Result<ExportedRun> {
    const HOLDS: &str = "a run folder holds config.json and metrics.csv, as Export run... \
                         and train --save-run write them";
    if !dir.is_dir() {
        bail!(
            "{}: not a run folder (no such folder; {HOLDS})",
            dir.display()
        );
    }
    for name in ["config.json", "metrics.csv"] {
        if !dir.join(name).exists() {
            bail!(
                "{}: not a run folder (it has no {name}; {HOLDS})",
                dir.display()
            );
        }
    }
    let config = RunConfig::from_file(&dir.join("config.json"))?;
    let metrics = dir.join("metrics.csv");
    let text = crate::files::read_regular_text(&metrics, MAX_METRICS_BYTES)?;
    let history = parse_metrics(&text).with_context(|| metrics.display().to_string())?;
    let health_path = dir.join("health.csv");
    let health = if health_path.exists() {
        let text = crate::files::read_regular_text(&health_path, MAX_HEALTH_BYTES)?;
        parse_health(&text).with_context(|| health_path.display().to_string())?
    } else {
        Vec::new()
    };
    Ok(ExportedRun {
        dir: dir.to_path_buf(),
        config,
        history,
        health,
    })
}

/// The data lines of a CSV `text` after its `header` line, each with its line number.
fn data_lines<'a>(text: &'a str, header: &str) -> Result<impl Iterator<Item = (usize, &'a str)>> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    match lines.next() {
        Some((_, first)) if first == header => {}
        Some((_, first)) => bail!("the first line is {first:?}, not the header {header:?}"),
        None => bail!("the file is empty (no header {header:?})"),
    }
    Ok(lines.filter(|(_, l)| !l.is_empty()))
}

/// The value `text` of column `name` in line `line`.
fn number<T: std::str::FromStr>(text: &str, name: &str, line: usize) -> Result<T> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("line {line}: {name} {text:?} is not a number"))
}

fn parse_metrics(text: &str) -> Result<Vec<EpochStats>> {
    let columns: Vec<&str> = METRICS_HEADER.split(',').collect();
    let mut history: Vec<EpochStats> = Vec::new();
    for (line, row) in data_lines(text, METRICS_HEADER)? {
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() != columns.len() {
            bail!(
                "line {line}: {} values, not the {} of the header",
                fields.len(),
                columns.len()
            );
        }
        let value = |i: usize| number::<f64>(fields[i], columns[i], line);
        let epoch = number::<usize>(fields[0], "epoch", line)?;
        if epoch > limits::MAX_EPOCHS || history.last().is_some_and(|e| e.epoch >= epoch) {
            bail!("line {line}: epoch {epoch} does not follow the one before it");
        }
        history.push(EpochStats {
            epoch,
            train_loss: value(1)?,
            train_acc: value(2)?,
            valid_loss: value(3)?,
            valid_acc: value(4)?,
            valid_psnr: None,
            lr: value(5)?,
            seconds: value(6)?,
        });
    }
    Ok(history)
}

fn parse_health(text: &str) -> Result<Vec<(usize, Vec<LayerHealth>)>> {
    let columns: Vec<&str> = HEALTH_HEADER.split(',').collect();
    let mut epochs: Vec<(usize, Vec<LayerHealth>)> = Vec::new();
    for (line, row) in data_lines(text, HEALTH_HEADER)? {
        let fields: Vec<&str> = row.splitn(columns.len(), ',').collect();
        if fields.len() != columns.len() {
            bail!(
                "line {line}: {} values, not the {} of the header",
                fields.len(),
                columns.len()
            );
        }
        let optional = |i: usize| -> Result<Option<f64>> {
            match fields[i].trim() {
                "" => Ok(None),
                v => number(v, columns[i], line).map(Some),
            }
        };
        let epoch = number::<usize>(fields[0], "epoch", line)?;
        let health = LayerHealth {
            layer: number(fields[1], "layer", line)?,
            label: fields[6].to_string(),
            mean: optional(2)?,
            spread: optional(3)?,
            inactive: optional(4)?,
            grad_norm: optional(5)?,
        };
        match epochs.last_mut() {
            Some((last, layers)) if *last == epoch => layers.push(health),
            Some((last, _)) if *last > epoch => {
                bail!("line {line}: epoch {epoch} comes after epoch {last}")
            }
            _ => epochs.push((epoch, vec![health])),
        }
    }
    Ok(epochs)
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
/// Distinct colours for several runs (the GUI's lines of runs use the same).
pub const SERIES: [[u8; 3]; 6] = [
    [70, 140, 230],
    [240, 140, 40],
    [80, 180, 90],
    [220, 70, 80],
    [170, 110, 220],
    [200, 190, 60],
];

/// One line of a panel: a value per epoch (the first is epoch 1), its colour and weight.
struct PanelLine {
    values: Vec<f64>,
    colour: Rgb<u8>,
    bold: bool,
}

/// Loss (top) and accuracy (bottom, 0..1) per epoch, train in blue and valid in orange.
fn curves_image(history: &[EpochStats]) -> RgbImage {
    let line = |f: fn(&EpochStats) -> f64, colour| PanelLine {
        values: history.iter().map(f).collect(),
        colour,
        bold: false,
    };
    panels_image(
        [
            vec![line(|e| e.train_loss, TRAIN), line(|e| e.valid_loss, VALID)],
            vec![line(|e| e.train_acc, TRAIN), line(|e| e.valid_acc, VALID)],
        ],
        &[("train", TRAIN), ("valid", VALID)],
    )
}

/// The loss and accuracy of `runs` (name, history) overlaid, as `nnlab compare --png`
/// writes them: one colour per run, train thin, valid bold.
pub fn compare_image(runs: &[(String, &[EpochStats])]) -> RgbImage {
    let colour = |i: usize| Rgb(SERIES[i % SERIES.len()]);
    let lines = |pair: fn(&EpochStats) -> (f64, f64)| -> Vec<PanelLine> {
        runs.iter()
            .enumerate()
            .flat_map(|(i, (_, history))| {
                [false, true].map(|bold| PanelLine {
                    values: history
                        .iter()
                        .map(|e| if bold { pair(e).1 } else { pair(e).0 })
                        .collect(),
                    colour: colour(i),
                    bold,
                })
            })
            .collect()
    };
    let legend: Vec<(&str, Rgb<u8>)> = std::iter::once(("thin: train, bold: valid", TEXT))
        .chain(
            runs.iter()
                .enumerate()
                .map(|(i, (name, _))| (name.as_str(), colour(i))),
        )
        .collect();
    panels_image(
        [
            lines(|e| (e.train_loss, e.valid_loss)),
            lines(|e| (e.train_acc, e.valid_acc)),
        ],
        &legend,
    )
}

/// The loss panel (0 to the largest finite loss) over the accuracy panel (0..1).
fn panels_image([loss, accuracy]: [Vec<PanelLine>; 2], legend: &[(&str, Rgb<u8>)]) -> RgbImage {
    let mut img = RgbImage::from_pixel(PANEL.0, 2 * PANEL.1, Rgb([255, 255, 255]));
    let losses = loss.iter().flat_map(|l| l.values.iter().copied());
    let max_loss = losses.filter(|v| v.is_finite()).fold(0.0, f64::max);
    plot_panel(&mut img, 0, "loss", max_loss.max(1e-12), &loss, legend);
    plot_panel(&mut img, PANEL.1, "accuracy", 1.0, &accuracy, legend);
    img
}

/// Draws `lines` (from 0 to `y_max`, on a shared epoch axis) in the panel starting at row
/// `top`, titled `name`, with the y range, the epochs and the `legend` written above the
/// frame, right-aligned.
fn plot_panel(
    img: &mut RgbImage,
    top: u32,
    name: &str,
    y_max: f64,
    lines: &[PanelLine],
    legend: &[(&str, Rgb<u8>)],
) {
    const MARGIN: f32 = 20.0;
    const LEFT: f32 = 44.0;
    /// About the width of a character of the labels.
    const CHAR_PX: f32 = 6.5;
    let (w, h) = (
        PANEL.0 as f32 - LEFT - MARGIN,
        PANEL.1 as f32 - 2.0 * MARGIN,
    );
    let (left, top) = (LEFT, top as f32 + MARGIN);
    label(img, left, top - 16.0, TEXT, name);
    let mut x = left + w;
    for (text, colour) in legend.iter().rev() {
        x -= CHAR_PX * text.chars().count() as f32 + 12.0;
        label(img, x, top - 16.0, *colour, text);
    }
    label(img, 4.0, top - 6.0, TEXT, &format!("{y_max:.3}"));
    label(img, 4.0, top + h - 6.0, TEXT, "0");
    let count = lines.iter().map(|l| l.values.len()).max().unwrap_or(0);
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
    let epochs = count.max(2) - 1;
    for line in lines {
        let points: Vec<(f32, f32)> = line
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| {
                let x = left + w * i as f32 / epochs as f32;
                (x, top + h * (1.0 - (v / y_max).clamp(0.0, 1.0) as f32))
            })
            .collect();
        let offsets: &[f32] = if line.bold { &[-1.0, 0.0, 1.0] } else { &[0.0] };
        for pair in points.windows(2) {
            for dy in offsets {
                let (a, b) = ((pair[0].0, pair[0].1 + dy), (pair[1].0, pair[1].1 + dy));
                draw_line_segment_mut(img, a, b, line.colour);
            }
        }
        let radius = if line.bold { 3 } else { 2 };
        for &(x, y) in &points {
            draw_filled_circle_mut(img, (x as i32, y as i32), radius, line.colour);
        }
    }
}
