//! The Autoencoder tab: the loss and the mean validation PSNR over epochs, originals
//! beside their reconstructions for classes the user picks, the PSNR histogram over the
//! validation split, the worst reconstructions and a 2-D PCA view of the code.

use super::curves::{CurvePlot, VALID, loss_curves, lr_markers, psnr_curve};
use super::palette::texture;
use super::session::Session;
use super::settings::CurveOptions;
use super::tab::{TabContext, TabPanel};
use crate::data::{Dataset, grid::tile_grid};
use crate::train::Task;
use crate::train::metrics::{histogram, lowest, mean_finite, reconstruction_picks};
use crate::train::protocol::{ReconstructionSnapshot, ValidationSnapshot};
use eframe::egui;
use egui::{Color32, ColorImage, RichText, TextureHandle, Ui};
use egui_plot::{Bar, BarChart, Plot, Points};
use ndarray::ArrayView1;
use std::sync::Arc;

/// Rows of the reconstruction view (the course shows 5 classes x 2 images).
pub const SHOWN_CLASSES: usize = 5;
/// Worst reconstructions listed.
const WORST: usize = 10;
const HISTOGRAM_BINS: usize = 30;
/// Screen pixels per image pixel, at most (narrow windows shrink the pictures to fit).
const ZOOM: f32 = 2.0;
/// Room for a reconstruction row's class menu beside its pictures.
const CLASS_MENU_WIDTH: f32 = 80.0;

#[derive(Default)]
pub struct AutoencoderView {
    /// The class of each reconstruction row (chosen by the user).
    pub classes: Vec<usize>,
    rows: Option<RowsCache>,
    worst: Option<WorstCache>,
}

/// One texture per reconstruction row, rebuilt when the snapshot or the classes change.
struct RowsCache {
    snapshot: Arc<ReconstructionSnapshot>,
    classes: Vec<usize>,
    /// Per row: originals beside reconstructions, and the PSNR of each pair.
    rows: Vec<Option<(TextureHandle, Vec<f64>)>>,
}

struct WorstCache {
    snapshot: Arc<ValidationSnapshot>,
    /// Per image: its pair texture and its caption.
    items: Vec<(TextureHandle, String)>,
}

/// Originals beside their reconstructions, pair after pair in one row of tiles.
pub fn pairs_image<'a>(pairs: &[(ArrayView1<'a, f32>, ArrayView1<'a, f32>)]) -> ColorImage {
    let tiles: Vec<ArrayView1<f32>> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let gray = tile_grid(&tiles, tiles.len(), 1);
    ColorImage::from_gray(
        [gray.width() as usize, gray.height() as usize],
        gray.as_raw(),
    )
}

/// A colour per class, evenly spaced in hue.
fn class_color(class: usize, classes: usize) -> Color32 {
    let hue = class as f32 / classes.max(1) as f32;
    egui::ecolor::Hsva::new(hue, 0.75, 0.8, 1.0).into()
}

impl AutoencoderView {
    /// The number of reconstruction rows with pictures (for tests).
    pub fn rows_shown(&self) -> usize {
        self.rows
            .as_ref()
            .map_or(0, |c| c.rows.iter().flatten().count())
    }

    fn show(&mut self, ui: &mut Ui, session: &mut Session, options: &CurveOptions) {
        let autoencoder = session
            .config
            .as_ref()
            .is_some_and(|c| c.task == Task::Autoencode);
        let Some(data) = session.data.clone().filter(|_| autoencoder) else {
            ui.weak(
                "Choose the autoencoder task in the side panel and press Train: the loss, \
                 the PSNR and the reconstructions appear here as it learns.",
            );
            return;
        };
        let valid = &data.valid;
        if let Some(v) = &session.validation
            && !v.psnr.is_empty()
        {
            ui.label(
                RichText::new(format!(
                    "mean valid PSNR {:.2} dB over {} images (epoch {})",
                    mean_finite(&v.psnr),
                    v.psnr.len(),
                    v.epoch
                ))
                .strong(),
            );
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            curves_ui(ui, session, options);
            ui.add_space(6.0);
            ui.columns(3, |cols| {
                self.reconstructions_ui(&mut cols[0], session.reconstructions.as_ref(), valid);
                self.worst_ui(&mut cols[1], session.validation.as_ref(), valid);
                if let Some(v) = &session.validation {
                    histogram_ui(&mut cols[2], &v.psnr);
                    latent_ui(&mut cols[2], v, valid);
                }
            });
        });
    }

    fn reconstructions_ui(
        &mut self,
        ui: &mut Ui,
        snapshot: Option<&Arc<ReconstructionSnapshot>>,
        valid: &Dataset,
    ) {
        ui.label(RichText::new("Original | reconstruction (valid)").strong());
        let Some(snapshot) = snapshot else {
            ui.weak("waiting for the first reconstructions...");
            return;
        };
        let classes = &valid.classes;
        if self.classes.len() != SHOWN_CLASSES || self.classes.iter().any(|&c| c >= classes.len()) {
            let spread = reconstruction_picks(&valid.labels, SHOWN_CLASSES, 1);
            self.classes = spread.iter().map(|&i| valid.labels[i]).collect();
            self.classes.resize(SHOWN_CLASSES, 0);
        }
        self.refresh_rows(ui.ctx(), snapshot, valid);
        let Some(cache) = &self.rows else { return };
        let mut chosen = self.classes.clone();
        egui::Grid::new("ae-rows")
            .num_columns(2)
            .spacing([6.0, 4.0])
            .show(ui, |ui| {
                for (row, class) in chosen.iter_mut().enumerate() {
                    egui::ComboBox::from_id_salt(("ae-class", row))
                        .width(48.0)
                        .selected_text(&classes[*class])
                        .show_ui(ui, |ui| {
                            for (c, name) in classes.iter().enumerate() {
                                ui.selectable_value(class, c, name);
                            }
                        });
                    match &cache.rows[row] {
                        Some((texture, psnr)) => {
                            let room = ui.available_width() - CLASS_MENU_WIDTH;
                            let size = texture.size_vec2() * fitting_zoom(room, texture);
                            let caption: Vec<String> =
                                psnr.iter().map(|p| format!("{p:.1} dB")).collect();
                            ui.add(
                                egui::Image::new((texture.id(), size))
                                    .alt_text(format!("reconstructions of {}", classes[*class])),
                            )
                            .on_hover_text(format!("PSNR {}", caption.join(", ")));
                        }
                        None => {
                            ui.weak("no validation image of this class");
                        }
                    }
                    ui.end_row();
                }
            });
        self.classes = chosen;
    }

    fn refresh_rows(
        &mut self,
        ctx: &egui::Context,
        snapshot: &Arc<ReconstructionSnapshot>,
        valid: &Dataset,
    ) {
        if self
            .rows
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.snapshot, snapshot) && c.classes == self.classes)
        {
            return;
        }
        let rows = self
            .classes
            .iter()
            .enumerate()
            .map(|(row, &class)| {
                let shown: Vec<usize> = (0..snapshot.indices.len())
                    .filter(|&k| valid.labels[snapshot.indices[k]] == class)
                    .collect();
                if shown.is_empty() {
                    return None;
                }
                let pairs: Vec<_> = shown
                    .iter()
                    .map(|&k| {
                        let i = snapshot.indices[k];
                        (valid.images.row(i), snapshot.outputs.row(k))
                    })
                    .collect();
                let psnr = shown.iter().map(|&k| snapshot.psnr[k]).collect();
                let name = format!("ae-row-{row}");
                Some((texture(ctx, &name, pairs_image(&pairs)), psnr))
            })
            .collect();
        self.rows = Some(RowsCache {
            snapshot: snapshot.clone(),
            classes: self.classes.clone(),
            rows,
        });
    }

    fn worst_ui(&mut self, ui: &mut Ui, v: Option<&Arc<ValidationSnapshot>>, valid: &Dataset) {
        ui.label(RichText::new(format!("Worst {WORST} (valid)")).strong());
        let Some(v) = v.filter(|v| !v.psnr.is_empty()) else {
            ui.weak("after the first epoch");
            return;
        };
        if !self
            .worst
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.snapshot, v))
        {
            let items = lowest(&v.psnr, WORST)
                .into_iter()
                .enumerate()
                .map(|(rank, i)| {
                    let image = pairs_image(&[(valid.images.row(i), v.outputs.row(i))]);
                    let caption = format!(
                        "{} #{i}  {:.1} dB",
                        valid.classes[valid.labels[i]], v.psnr[i]
                    );
                    (
                        texture(ui.ctx(), &format!("ae-worst-{rank}"), image),
                        caption,
                    )
                })
                .collect();
            self.worst = Some(WorstCache {
                snapshot: v.clone(),
                items,
            });
        }
        let Some(cache) = &self.worst else { return };
        // Two pairs a row, each caption under its pair: beside them the captions would run
        // into the next column.
        let room = (ui.available_width() - 6.0) / 2.0;
        egui::Grid::new("ae-worst")
            .num_columns(2)
            .spacing([6.0, 2.0])
            .show(ui, |ui| {
                for row in cache.items.chunks(2) {
                    for (texture, _) in row {
                        let size = texture.size_vec2() * fitting_zoom(room, texture);
                        ui.image((texture.id(), size));
                    }
                    ui.end_row();
                    for (_, caption) in row {
                        ui.small(caption);
                    }
                    ui.end_row();
                }
            });
    }
}

/// The zoom at which `texture` fits `width` points, between 1 and [`ZOOM`].
fn fitting_zoom(width: f32, texture: &TextureHandle) -> f32 {
    (width / texture.size_vec2().x).clamp(1.0, ZOOM)
}

/// The shared curve plot twice: the loss (batches, train, valid) and the mean valid PSNR.
fn curves_ui(ui: &mut Ui, session: &mut Session, options: &CurveOptions) {
    let curves = &mut session.curves;
    let markers = lr_markers(curves);
    let link = ui.make_persistent_id("ae-curves-x");
    ui.columns(2, |cols| {
        CurvePlot {
            id: "ae-loss",
            y_label: "loss",
            log_y: options.log_y,
            smoothing: options.smoothing,
            markers: &markers,
            y_include: None,
            height: 190.0,
            link_x: Some(link),
        }
        .show(&mut cols[0], &loss_curves(curves, options));
        CurvePlot {
            id: "ae-psnr",
            y_label: "PSNR (dB)",
            log_y: false,
            smoothing: 0.0,
            markers: &[],
            y_include: None,
            height: 190.0,
            link_x: Some(link),
        }
        .show(&mut cols[1], &[psnr_curve(curves)]);
    });
}

fn histogram_ui(ui: &mut Ui, psnr: &[f64]) {
    ui.label(RichText::new("PSNR histogram (valid)").strong());
    let (lo, width, counts) = histogram(psnr, HISTOGRAM_BINS);
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| Bar::new(lo + (i as f64 + 0.5) * width, n as f64).width(width * 0.9))
        .collect();
    Plot::new("ae-histogram")
        .height(150.0)
        .x_axis_label("PSNR (dB)")
        .y_axis_label("images")
        .include_y(0.0)
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("images", bars).color(VALID));
        });
}

fn latent_ui(ui: &mut Ui, v: &ValidationSnapshot, valid: &Dataset) {
    ui.label(RichText::new("Code, first two principal components").strong());
    let Some(latent) = &v.latent else {
        ui.weak("the network has no hidden layer");
        return;
    };
    let classes = valid.classes.len();
    Plot::new("ae-latent")
        .height(200.0)
        .data_aspect(1.0)
        .x_axis_label("PC 1")
        .y_axis_label("PC 2")
        .show(ui, |plot| {
            for (class, name) in valid.classes.iter().enumerate() {
                let points: Vec<[f64; 2]> = latent
                    .rows()
                    .into_iter()
                    .zip(&valid.labels)
                    .filter(|&(_, &l)| l == class)
                    .map(|(p, _)| [p[0] as f64, p[1] as f64])
                    .collect();
                if !points.is_empty() {
                    plot.points(
                        Points::new(name.as_str(), points)
                            .color(class_color(class, classes))
                            .radius(1.5),
                    );
                }
            }
        });
}

impl TabPanel for AutoencoderView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        self.show(ui, cx.session, &cx.settings.curves);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PIXELS;
    use ndarray::Array1;

    #[test]
    fn a_pair_is_two_tiles_ink_dark_on_white() {
        let ink = Array1::from_elem(PIXELS, 1.0f32);
        let paper = Array1::zeros(PIXELS);
        let image = pairs_image(&[(ink.view(), paper.view())]);
        // Two 32-pixel tiles with a 2-pixel gap around and between them.
        assert_eq!(image.size, [2 + 32 + 2 + 32 + 2, 2 + 32 + 2]);
        assert_eq!(image[(2, 2)], Color32::from_gray(0), "ink is black");
        assert_eq!(image[(36, 2)], Color32::from_gray(255), "paper is white");
    }
}
