//! The Weights tab: the first layer's weights as one image tile per hidden unit (or per
//! kernel of a CNN's first convolution), the snapshot from before training beside the
//! current one.

use super::palette::{diverging, texture};
use super::session::EpochHistory;
use super::settings::WeightOptions;
use super::tab::{TabContext, TabPanel};
use crate::train::protocol::{EpochRecord, Histogram, WeightSnapshot};
use eframe::egui;
use egui::{Color32, ColorImage, Rect, RichText, Sense, TextureHandle, Ui, Vec2};
use std::sync::Arc;

/// Pixels between tiles.
const GAP: usize = 2;

/// A snapshot drawn as a grid of tiles.
pub struct TileImage {
    pub image: ColorImage,
    /// Largest |weight| over all tiles (the shared scale).
    pub max_abs: f32,
    pub columns: usize,
    pub side: usize,
}

/// The grid of `side x side` tiles for the columns of `weights` (inputs x units), or
/// `None` when the inputs are not a square image.
pub fn tiles(snapshot: &WeightSnapshot, shared_scale: bool) -> Option<TileImage> {
    let w = &snapshot.weights;
    let (inputs, units) = w.dim();
    let side = (inputs as f64).sqrt().round() as usize;
    if side * side != inputs || units == 0 {
        return None;
    }
    let columns = (units as f64).sqrt().ceil() as usize;
    let rows = units.div_ceil(columns);
    let cell = side + GAP;
    let size = [columns * cell - GAP, rows * cell - GAP];
    let mut image = ColorImage::filled(size, Color32::TRANSPARENT);
    let max_abs = w.iter().fold(0f32, |m, v| m.max(v.abs()));
    for unit in 0..units {
        let column = w.column(unit);
        let scale = if shared_scale {
            max_abs
        } else {
            column.iter().fold(0f32, |m, v| m.max(v.abs()))
        };
        let scale = scale.max(1e-12);
        let (x0, y0) = ((unit % columns) * cell, (unit / columns) * cell);
        for (i, v) in column.iter().enumerate() {
            image[(x0 + i % side, y0 + i / side)] = diverging(v / scale);
        }
    }
    Some(TileImage {
        image,
        max_abs,
        columns,
        side,
    })
}

/// Uploaded textures, rebuilt only when a snapshot or the scale option changes.
#[derive(Default)]
pub struct WeightsView {
    before: Option<Cached>,
    current: Option<Cached>,
}

struct Cached {
    snapshot: Arc<WeightSnapshot>,
    shared_scale: bool,
    texture: TextureHandle,
    max_abs: f32,
    columns: usize,
    side: usize,
}

impl Cached {
    fn refresh(
        slot: &mut Option<Cached>,
        ctx: &egui::Context,
        name: &str,
        s: &Arc<WeightSnapshot>,
        shared: bool,
    ) {
        if slot
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.snapshot, s) && c.shared_scale == shared)
        {
            return;
        }
        *slot = tiles(s, shared).map(|t| Cached {
            snapshot: s.clone(),
            shared_scale: shared,
            texture: texture(ctx, name, t.image),
            max_abs: t.max_abs,
            columns: t.columns,
            side: t.side,
        });
    }
}

impl WeightsView {
    fn show(
        &mut self,
        ui: &mut Ui,
        before: Option<&Arc<WeightSnapshot>>,
        current: Option<&Arc<WeightSnapshot>>,
        options: &mut WeightOptions,
    ) {
        ui.horizontal(|ui| {
            ui.label("Colour scale:");
            ui.radio_value(&mut options.shared_scale, true, "shared by all units");
            ui.radio_value(&mut options.shared_scale, false, "per unit");
        });
        let (Some(before), Some(current)) = (before, current) else {
            ui.weak("Press Train: the first layer's weights appear here, one 32x32 tile per hidden unit (a CNN: one tile per kernel of its first convolution).");
            return;
        };
        Cached::refresh(
            &mut self.before,
            ui.ctx(),
            "weights-before",
            before,
            options.shared_scale,
        );
        Cached::refresh(
            &mut self.current,
            ui.ctx(),
            "weights-current",
            current,
            options.shared_scale,
        );
        let (Some(b), Some(c)) = (&self.before, &self.current) else {
            ui.label("The first layer's inputs are not a square image, so its weights cannot be drawn as tiles.");
            return;
        };
        let width = (ui.available_width() - 16.0) / 2.0;
        ui.columns(2, |cols| {
            show_tiles(&mut cols[0], b, "Before training", width);
            show_tiles(
                &mut cols[1],
                c,
                &format!("After epoch {}", c.snapshot.epoch),
                width,
            );
        });
    }
}

fn show_tiles(ui: &mut Ui, c: &Cached, title: &str, width: f32) {
    ui.label(RichText::new(title).strong());
    let [w, h] = c.texture.size();
    let zoom = (width / w as f32)
        .min((ui.available_height() - 60.0) / h as f32)
        .max(0.5);
    let response = ui
        .image((c.texture.id(), Vec2::new(w as f32, h as f32) * zoom))
        .interact(egui::Sense::hover());
    if let Some(pos) = response.hover_pos() {
        let cell = (c.side + GAP) as f32 * zoom;
        let (col, row) = (
            ((pos.x - response.rect.left()) / cell) as usize,
            ((pos.y - response.rect.top()) / cell) as usize,
        );
        let unit = row * c.columns + col;
        if col < c.columns && unit < c.snapshot.weights.ncols() {
            let w = c.snapshot.weights.column(unit);
            let (lo, hi) = w
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let name = c.snapshot.tile_name(unit);
            response.on_hover_text(format!("{name}\nweights {lo:.3} .. {hi:.3}"));
        }
    }
    colour_bar(ui, c.max_abs, c.shared_scale, width.min(w as f32 * zoom));
}

/// The colour map with its end values.
fn colour_bar(ui: &mut Ui, max_abs: f32, shared: bool, width: f32) {
    let size = Vec2::new(width.max(100.0), 26.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let bar = egui::Rect::from_min_size(rect.min, Vec2::new(rect.width(), 10.0));
    let steps = 64;
    for i in 0..steps {
        let t = (i as f32 + 0.5) / steps as f32 * 2.0 - 1.0;
        let x0 = bar.left() + bar.width() * i as f32 / steps as f32;
        let x1 = bar.left() + bar.width() * (i + 1) as f32 / steps as f32;
        let r = egui::Rect::from_x_y_ranges(x0..=x1, bar.y_range());
        ui.painter().rect_filled(r, 0.0, diverging(t));
    }
    let end = if shared {
        format!("{max_abs:.3}")
    } else {
        "max |w| of each unit".into()
    };
    let font = egui::TextStyle::Small.resolve(ui.style());
    let colour = ui.visuals().text_color();
    let y = bar.bottom() + 2.0;
    let painter = ui.painter();
    painter.text(
        egui::pos2(bar.left(), y),
        egui::Align2::LEFT_TOP,
        format!("-{end}"),
        font.clone(),
        colour,
    );
    painter.text(
        egui::pos2(bar.center().x, y),
        egui::Align2::CENTER_TOP,
        "0",
        font.clone(),
        colour,
    );
    painter.text(
        egui::pos2(bar.right(), y),
        egui::Align2::RIGHT_TOP,
        format!("+{end}"),
        font,
        colour,
    );
}

/// The epoch slider, the weight tiles of the chosen epoch and, below, that epoch's
/// histograms.
impl TabPanel for WeightsView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        let session = &mut *cx.session;
        let replayed = epoch_slider(ui, &mut session.epochs).cloned();
        let shown = replayed
            .clone()
            .or_else(|| session.epochs.records().next_back().cloned());
        egui::Panel::bottom("histograms")
            .resizable(true)
            .min_size(140.0)
            .show(ui, |ui| histograms_ui(ui, shown.as_ref()));
        let current = replayed
            .as_ref()
            .map(|r| &r.weights)
            .or(session.weights.as_ref());
        self.show(
            ui,
            session.initial_weights.as_ref(),
            current,
            &mut cx.settings.weights,
        );
    }
}

/// The epoch slider; returns the record to show instead of the live one, if any.
pub fn epoch_slider<'a>(
    ui: &mut Ui,
    history: &'a mut EpochHistory,
) -> Option<&'a Arc<EpochRecord>> {
    let last = history.last_epoch();
    if last == 0 {
        return None;
    }
    ui.horizontal(|ui| {
        let mut epoch = history.replay.unwrap_or(last).min(last);
        let label = ui.label("Replay epoch");
        let slider = ui
            .add(egui::Slider::new(&mut epoch, 1..=last))
            .labelled_by(label.id)
            .on_hover_text(format!(
                "{} of {last} epochs kept; a long run keeps them evenly spread",
                history.kept()
            ));
        if slider.changed() {
            history.replay = (epoch < last).then_some(epoch);
        }
        if history.replay.is_some() {
            if ui.button("Live").clicked() {
                history.replay = None;
            }
        } else {
            ui.weak("(live)");
        }
    });
    history.replayed()
}

/// Histograms of every tensor's values and of the epoch's last-batch gradient.
pub fn histograms_ui(ui: &mut Ui, record: Option<&Arc<EpochRecord>>) {
    let Some(record) = record else {
        ui.weak("Histograms of each layer's weights and gradients appear after the first epoch.");
        return;
    };
    ui.label(
        RichText::new(format!(
            "Epoch {}: values and last-batch gradients of each tensor",
            record.weights.epoch
        ))
        .strong(),
    );
    // Two tensors per row (a layer's weight beside its bias) where they fit, else one.
    const TENSOR_WIDTH: f32 = 520.0;
    let per_row = if ui.available_width() >= 2.0 * TENSOR_WIDTH {
        2
    } else {
        1
    };
    egui::ScrollArea::vertical()
        .id_salt("histograms")
        .show(ui, |ui| {
            egui::Grid::new("histogram-grid")
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    for (i, h) in record.histograms.iter().enumerate() {
                        if i % per_row == 0 && i > 0 {
                            ui.end_row();
                        }
                        ui.label(&h.name);
                        histogram_ui(ui, &h.values, Color32::from_rgb(70, 140, 230), "values");
                        histogram_ui(
                            ui,
                            &h.gradients,
                            Color32::from_rgb(200, 90, 200),
                            "gradients",
                        );
                    }
                });
        });
}

/// Bars of `h` with its range written under them.
fn histogram_ui(ui: &mut Ui, h: &Histogram, colour: Color32, what: &str) {
    ui.vertical(|ui| {
        let (rect, response) = ui.allocate_exact_size(Vec2::new(180.0, 36.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let top = h.counts.iter().copied().max().unwrap_or(0).max(1) as f32;
        let bar = rect.width() / h.counts.len().max(1) as f32;
        for (i, &count) in h.counts.iter().enumerate() {
            let height = rect.height() * count as f32 / top;
            let x = rect.left() + i as f32 * bar;
            let r =
                Rect::from_x_y_ranges(x..=x + bar - 1.0, rect.bottom() - height..=rect.bottom());
            painter.rect_filled(r, 0.0, colour);
        }
        let hi = h.lo + h.width * h.counts.len() as f64;
        let range = format!("{what} {:.3} .. {:.3}", h.lo, hi);
        response.on_hover_text(format!(
            "{range}\n{} values",
            h.counts.iter().sum::<usize>()
        ));
        ui.small(range);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn tiles_put_each_unit_in_its_own_square() {
        let t = tiles(
            &WeightSnapshot {
                epoch: 0,
                weights: two_units(),
                kernel_channels: None,
            },
            true,
        )
        .unwrap();
        assert_eq!(t.image.size, [2 * 2 + GAP, 2]);
        assert_eq!(
            t.image[(2 + GAP, 0)],
            diverging(1.0),
            "unit 1, pixel (0, 0)"
        );
        assert_eq!(
            t.image[(1, 1)],
            diverging(-0.5),
            "unit 0, pixel (1, 1), shared scale"
        );
        let per = tiles(
            &WeightSnapshot {
                epoch: 0,
                weights: two_units(),
                kernel_channels: None,
            },
            false,
        )
        .unwrap();
        assert_eq!(
            per.image[(1, 1)],
            diverging(-1.0),
            "per-unit scale stretches unit 0"
        );
    }

    /// Two units on 2x2 inputs: unit 1's first input is +1, unit 0's last is -0.5.
    fn two_units() -> Array2<f32> {
        let mut w = Array2::zeros((4, 2));
        w[[0, 1]] = 1.0;
        w[[3, 0]] = -0.5;
        w
    }
}
