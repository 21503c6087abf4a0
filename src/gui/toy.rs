//! The toy playground: 2-D problems trained by the ordinary worker with the side panel's
//! settings, the decision regions drawn as a live heatmap under the points (as TensorFlow
//! Playground does) from the network copies the worker sends.

use super::session::Session;
use super::settings::Settings;
use super::tab::{TabContext, TabPanel};
use crate::data::DataSource;
use crate::data::Splits;
use crate::data::toy::ToyKind;
use crate::nn::network::argmax_rows;
use crate::nn::{SavedModel, softmax_rows};
use crate::train::{RunConfig, Task};
use eframe::egui;
use egui::{Color32, ColorImage, Pos2, Rect, RichText, Sense, Stroke, TextureHandle, Ui, Vec2};
use ndarray::Array2;
use std::sync::Arc;

/// The heatmap is the network evaluated on a grid of this many points per side.
pub const GRID: usize = 60;
/// Class colours (up to four classes).
const CLASS_COLOURS: [Color32; 4] = [
    Color32::from_rgb(230, 120, 30),
    Color32::from_rgb(40, 120, 220),
    Color32::from_rgb(60, 170, 80),
    Color32::from_rgb(200, 60, 160),
];
/// How much of the class colour the regions get (the rest is the background).
const REGION_STRENGTH: f32 = 0.55;
const BACKGROUND: [f32; 3] = [250.0, 250.0, 250.0];

#[derive(Default)]
pub struct ToyPanel {
    /// The points shown before a run loaded them: the selected set, generated here.
    preview: Option<(ToyKind, Arc<Splits>)>,
    /// The points drawn in the last frame.
    shown: Option<Arc<Splits>>,
    /// The model the heatmap shows and its texture.
    heatmap: Option<(Arc<SavedModel>, TextureHandle)>,
    /// The predicted class of every grid cell (row-major, top row first) and the grid's
    /// extent in data coordinates.
    regions: Option<(Vec<usize>, Rect)>,
}

impl ToyPanel {
    /// True once the decision regions of a trained network are drawn.
    pub fn has_heatmap(&self) -> bool {
        self.heatmap.is_some()
    }

    /// The points drawn in the last frame, if any.
    pub fn shown_points(&self) -> Option<&Splits> {
        self.shown.as_deref()
    }

    /// The class the heatmap shows at `p` (data coordinates), if there is a heatmap there.
    pub fn region_class(&self, p: Pos2) -> Option<usize> {
        let (classes, b) = self.regions.as_ref().filter(|_| self.has_heatmap())?;
        let cell = |v: f32, lo: f32, span: f32| ((v - lo) / span * GRID as f32).floor();
        let (col, row) = (
            cell(p.x, b.min.x, b.width()),
            cell(b.max.y - p.y, 0.0, b.height()),
        );
        let inside = (0.0..GRID as f32).contains(&col) && (0.0..GRID as f32).contains(&row);
        inside.then(|| classes[row as usize * GRID + col as usize])
    }

    fn show(&mut self, ui: &mut Ui, settings: &mut Settings, session: &Session) {
        ui.horizontal(|ui| {
            ui.label("Data set:");
            ui.add_enabled_ui(!session.is_active(), |ui| {
                for kind in ToyKind::ALL {
                    let selected = settings.config.data == DataSource::Toy(kind);
                    if ui.radio(selected, kind.name()).clicked() && !selected {
                        // The toy sets are classification problems.
                        settings.choose_task(Task::Classify);
                        settings.choose_data(DataSource::Toy(kind));
                    }
                }
            });
        });
        let run = own_run(&settings.config, session);
        self.shown = self.points(&settings.config, run);
        let Some(data) = self.shown.clone() else {
            ui.label(
                "Choose a data set above, then press Train: the side panel's settings \
                 (rate, init, hidden units) apply.",
            );
            return;
        };
        if let Some(session) = run {
            status_ui(ui, session);
        }
        let model = run.and_then(|s| s.model.clone());
        let bounds = bounds(&data);
        self.update_heatmap(ui.ctx(), model, bounds);
        let side = ui.available_width().min(ui.available_height()).max(100.0);
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::from_rgb(250, 250, 250));
        if let Some((_, tex)) = &self.heatmap {
            let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
            painter.image(tex.id(), rect, uv, Color32::WHITE);
        }
        let to_screen = |x: f32, y: f32| {
            Pos2::new(
                rect.left() + (x - bounds.min.x) / bounds.width() * rect.width(),
                rect.bottom() - (y - bounds.min.y) / bounds.height() * rect.height(),
            )
        };
        let train = &data.train;
        for (i, &label) in train.labels.iter().enumerate() {
            let p = to_screen(train.images[[i, 0]], train.images[[i, 1]]);
            painter.circle(
                p,
                4.0,
                CLASS_COLOURS[label % CLASS_COLOURS.len()],
                Stroke::new(1.0, Color32::WHITE),
            );
        }
    }

    /// The points to draw: the selected toy set's, those of its run once there is one.
    fn points(&mut self, config: &RunConfig, run: Option<&Session>) -> Option<Arc<Splits>> {
        let DataSource::Toy(kind) = config.data else {
            return None;
        };
        if let Some(d) = run.and_then(|s| s.data.clone()) {
            return Some(d);
        }
        if self.preview.as_ref().is_none_or(|(k, _)| *k != kind) {
            self.preview = Some((kind, Arc::new(kind.splits())));
        }
        self.preview.as_ref().map(|(_, d)| d.clone())
    }

    /// Re-evaluates the grid when a new network copy arrived.
    fn update_heatmap(&mut self, ctx: &egui::Context, model: Option<Arc<SavedModel>>, b: Rect) {
        let Some(model) = model else {
            self.heatmap = None;
            return;
        };
        if self
            .heatmap
            .as_ref()
            .is_some_and(|(m, _)| Arc::ptr_eq(m, &model))
        {
            return;
        }
        let grid = Array2::from_shape_fn((GRID * GRID, 2), |(i, d)| {
            let (row, col) = (i / GRID, i % GRID);
            let t = |k: usize| (k as f32 + 0.5) / GRID as f32;
            if d == 0 {
                b.min.x + t(col) * b.width()
            } else {
                b.max.y - t(row) * b.height()
            }
        });
        let mut net = model.net.clone();
        let probabilities = softmax_rows(net.predict(grid.view(), GRID * GRID).view());
        let pixels = probabilities
            .rows()
            .into_iter()
            .map(|p| region_colour(p.as_slice().expect("row")))
            .collect();
        let image = ColorImage::new([GRID, GRID], pixels);
        self.regions = Some((argmax_rows(probabilities.view()), b));
        let tex = ctx.load_texture("toy regions", image, egui::TextureOptions::LINEAR);
        self.heatmap = Some((model, tex));
    }
}

/// The session if its run trains on the selected toy set (not on another set or the
/// letters): only then are its accuracy, points and regions this set's.
fn own_run<'a>(config: &RunConfig, session: &'a Session) -> Option<&'a Session> {
    let on_this_set = session
        .config
        .as_ref()
        .is_some_and(|c| c.data == config.data);
    (on_this_set && matches!(config.data, DataSource::Toy(_))).then_some(session)
}

/// Epoch and accuracy, and whether the hidden units are still all alike.
fn status_ui(ui: &mut Ui, session: &Session) {
    ui.horizontal(|ui| {
        if let Some(s) = session.history.last() {
            ui.label(format!(
                "epoch {}: train accuracy {:.2}, valid accuracy {:.2}",
                s.epoch, s.train_acc, s.valid_acc
            ));
        }
        if let Some(w) = &session.weights
            && w.weights.ncols() > 1
        {
            let first = w.weights.column(0);
            let alike = w
                .weights
                .columns()
                .into_iter()
                .all(|c| c.iter().zip(first).all(|(a, b)| (a - b).abs() < 1e-6));
            let text = if alike {
                RichText::new(format!(
                    "all {} hidden units of the first layer are identical",
                    w.weights.ncols()
                ))
                .color(Color32::from_rgb(220, 50, 40))
            } else {
                RichText::new("the hidden units differ")
            };
            ui.label(text).on_hover_text(
                "Symmetry breaking: with zero init every hidden unit computes the same \
                 function and gets the same gradient, so the units stay identical and the \
                 layer acts like a single unit. Xavier init starts them at different random \
                 weights, so each can learn its own feature.",
            );
        }
    });
}

/// The points' extent with a margin, in data coordinates.
fn bounds(data: &Splits) -> Rect {
    let mut r = Rect::NOTHING;
    for p in data.train.images.rows() {
        r.extend_with(Pos2::new(p[0], p[1]));
    }
    r.expand(0.15 * r.width().max(r.height()))
}

/// The class colours mixed by probability, faded towards the background.
fn region_colour(p: &[f32]) -> Color32 {
    let mut rgb = [0.0f32; 3];
    for (k, &pk) in p.iter().enumerate() {
        let c = CLASS_COLOURS[k % CLASS_COLOURS.len()];
        for (v, channel) in rgb.iter_mut().zip([c.r(), c.g(), c.b()]) {
            *v += pk * f32::from(channel);
        }
    }
    let mix = |i: usize| (BACKGROUND[i] + REGION_STRENGTH * (rgb[i] - BACKGROUND[i])).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

impl TabPanel for ToyPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        self.show(ui, cx.settings, cx.session);
    }
}
