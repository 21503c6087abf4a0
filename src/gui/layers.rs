//! The Layers tab: one sample followed through the network, layer by layer. Feature maps
//! of convolution, pooling and batch-norm layers as grids, vectors as strips of units, the
//! softmax as its top five; hover a map or unit for its value, click a convolution's map
//! for the kernel that made it. The sample is a validation image, or what the Draw or OCR
//! tab handed over with "Inspect". The network is the run's latest copy (so the view
//! follows training at the snapshot rate); it runs on a job thread, never in the frame.

use super::draw::top_ui;
use super::job::Job;
use super::palette::{diverging, sequential, texture};
use super::session::Session;
use super::tab::{TabContext, TabPanel};
use crate::data::builtin::DEFAULT_MODEL_IS;
use crate::nn::SavedModel;
use crate::nn::Shape;
use crate::nn::inspect::{Inspection, LayerOutput, inspect};
use crate::ocr::classify::top_guesses;
use eframe::egui;
use egui::{Color32, ColorImage, Rect, RichText, Sense, TextureHandle, Ui, Vec2, pos2};
use ndarray::ArrayView1;
use std::sync::Arc;

/// Largest side of a feature map on screen, in points.
const MAP_SIDE: f32 = 64.0;
/// Side of one unit of a strip, in points.
const UNIT: f32 = 10.0;
/// Units per row of a strip.
const UNITS_PER_ROW: usize = 64;
/// Points per weight of a kernel on screen.
const KERNEL_ZOOM: f32 = 10.0;

/// A sample handed to the tab (from the Draw canvas, an OCR box).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// What it is, e.g. "the Draw canvas".
    pub name: String,
    /// One row of the network's input.
    pub values: Vec<f32>,
}

/// What an inspection was computed from.
#[derive(Clone)]
struct Key {
    model: Arc<SavedModel>,
    sample: Sample,
    gradients: bool,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.model, &other.model)
            && self.sample == other.sample
            && self.gradients == other.gradients
    }
}

/// The pictures of one layer, uploaded once per inspection.
struct LayerTextures {
    values: TextureHandle,
    gradient: Option<TextureHandle>,
}

#[derive(Default)]
pub struct LayersPanel {
    /// The validation image shown when no sample was handed over.
    pub index: usize,
    /// The class "Random of class" draws from.
    pub class: usize,
    /// A sample from another tab; `None` browses the validation images.
    pub given: Option<Sample>,
    /// Show the gradient of the top class's score at every layer's output.
    pub show_gradients: bool,
    /// The shipped default, used when no run has a network.
    default_model: Option<Result<Arc<SavedModel>, String>>,
    job: Option<(Key, Job<Inspection>)>,
    /// The shown inspection and what it was computed from.
    pub inspection: Option<Result<Inspection, String>>,
    shown: Option<Key>,
    textures: Vec<LayerTextures>,
    input_texture: Option<TextureHandle>,
    /// The convolution map whose kernel is shown: (layer, channel).
    pub kernel_of: Option<(usize, usize)>,
    kernel_texture: Option<((usize, usize), TextureHandle)>,
}

impl LayersPanel {
    /// Shows `sample` (from another tab) from now on.
    pub fn inspect(&mut self, sample: Sample) {
        self.given = Some(sample);
    }

    /// True while an inspection is being computed.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The run's network, else the shipped default; `None` while a run has not sent its
    /// first copy yet.
    fn model(&mut self, session: &Session) -> Option<Result<Arc<SavedModel>, String>> {
        if let Some(m) = &session.model {
            return Some(Ok(m.clone()));
        }
        if session.data.is_some() {
            return None;
        }
        let default = self.default_model.get_or_insert_with(|| {
            crate::data::builtin::default_model()
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"))
        });
        Some(default.clone())
    }

    fn receive(&mut self) {
        let Some((_, job)) = &self.job else { return };
        let Some(result) = job.poll() else { return };
        let (key, _) = self.job.take().expect("a job");
        self.inspection = Some(result);
        self.shown = Some(key);
        self.textures.clear();
        self.input_texture = None;
        self.kernel_texture = None;
    }

    /// Starts computing `key` unless it is shown or a computation runs (its end brings
    /// the next frame, which starts the newest key).
    fn request(&mut self, ctx: &egui::Context, key: Key) {
        if self.job.is_some() || self.shown.as_ref() == Some(&key) {
            return;
        }
        let (model, values, gradients) =
            (key.model.clone(), key.sample.values.clone(), key.gradients);
        let job = Job::spawn(ctx, "the layer inspection", move || {
            let mut net = model.net.clone();
            inspect(&mut net, &values, gradients)
        });
        self.job = Some((key, job));
    }

    fn show(&mut self, ui: &mut Ui, session: &Session) {
        self.receive();
        let model = match self.model(session) {
            None => {
                ui.label("Waiting for the run's network...");
                return;
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e);
                return;
            }
            Some(Ok(m)) => m,
        };
        ui.label(match &session.model {
            Some(_) => format!("Network: this session's ({})", session.network),
            None => format!(
                "Network: the shipped default ({DEFAULT_MODEL_IS}); train or load a model to see \
                 yours."
            ),
        });
        let sample = self.sample_ui(ui, session);
        let Some(sample) = sample else {
            ui.label(
                "No sample: train or load a model to browse its validation images, or press \
                 Inspect in the Draw or OCR tab.",
            );
            return;
        };
        let key = Key {
            model: model.clone(),
            sample,
            gradients: self.show_gradients,
        };
        self.request(ui.ctx(), key);
        ui.separator();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| self.inspection_ui(ui, &model.classes));
    }

    /// The sample's source and the gradient toggle; returns the sample to show.
    fn sample_ui(&mut self, ui: &mut Ui, session: &Session) -> Option<Sample> {
        let mut sample = None;
        ui.horizontal_wrapped(|ui| {
            ui.label("Sample:");
            if let Some(given) = &self.given {
                ui.label(RichText::new(&given.name).strong());
                sample = Some(given.clone());
                if session.data.is_some() && ui.button("Validation images").clicked() {
                    self.given = None;
                }
            } else if let Some(data) = &session.data {
                sample = self.validation_ui(ui, &data.valid);
            }
            ui.checkbox(&mut self.show_gradients, "gradients")
                .on_hover_text(
                    "A second row under every layer: how the top class's score changes with \
                     each of the layer's outputs (the saliency map, at every layer).",
                );
        });
        sample
    }

    /// Browsing the validation split: an index, and a random image of a chosen class.
    fn validation_ui(&mut self, ui: &mut Ui, valid: &crate::data::Dataset) -> Option<Sample> {
        if valid.is_empty() {
            ui.label("the validation split is empty");
            return None;
        }
        let last = valid.len() - 1;
        self.index = self.index.min(last);
        self.class = self.class.min(valid.classes.len().saturating_sub(1));
        if ui.button("<").clicked() {
            self.index = self.index.saturating_sub(1);
        }
        let label = ui.label("validation image");
        ui.add(egui::DragValue::new(&mut self.index).range(0..=last))
            .labelled_by(label.id);
        if ui.button(">").clicked() {
            self.index = (self.index + 1).min(last);
        }
        let class_name = |c: usize| valid.classes.get(c).cloned().unwrap_or_default();
        egui::ComboBox::from_id_salt("layers class")
            .selected_text(class_name(self.class))
            .width(50.0)
            .show_ui(ui, |ui| {
                for c in 0..valid.classes.len() {
                    ui.selectable_value(&mut self.class, c, class_name(c));
                }
            });
        if ui.button("Random of class").clicked() {
            let rows: Vec<usize> = (0..valid.len())
                .filter(|&i| valid.labels[i] == self.class)
                .collect();
            if !rows.is_empty() {
                self.index = rows[rand::random_range(0..rows.len())];
            }
        }
        let i = self.index;
        Some(Sample {
            name: format!("validation image {i} ({})", class_name(valid.labels[i])),
            values: valid.images.row(i).to_vec(),
        })
    }

    fn inspection_ui(&mut self, ui: &mut Ui, classes: &[String]) {
        let Some(shown) = &self.shown else {
            ui.spinner();
            return;
        };
        let input_shape = shown.model.net.spec().input;
        let input = shown.sample.values.clone();
        match &self.inspection {
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e.as_str());
                return;
            }
            None => return,
            Some(Ok(_)) => {}
        }
        ui.label(RichText::new(format!("Input: {}", shown.sample.name)).strong());
        let tex = self.input_texture.get_or_insert_with(|| {
            texture(ui.ctx(), "layers input", tiles_image(&input, input_shape))
        });
        tiles_ui(ui, "input", &input, input_shape, tex, None);
        let Some(Ok(seen)) = &self.inspection else {
            return;
        };
        if self.textures.len() != seen.layers.len() {
            self.textures = seen
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| LayerTextures {
                    values: texture(
                        ui.ctx(),
                        &format!("layer {i}"),
                        tiles_image(&l.values, l.shape),
                    ),
                    gradient: l.gradient.as_ref().map(|g| {
                        texture(
                            ui.ctx(),
                            &format!("layer {i} gradient"),
                            tiles_image(g, l.shape),
                        )
                    }),
                })
                .collect();
        }
        let top_class = classes
            .get(seen.top)
            .cloned()
            .unwrap_or_else(|| seen.top.to_string());
        let mut clicked = None;
        for (i, (layer, tex)) in seen.layers.iter().zip(&self.textures).enumerate() {
            ui.add_space(6.0);
            ui.label(RichText::new(format!("{}. {}", i + 1, layer.label)).strong());
            ui.label(format!(
                "{}   {}",
                shape_text(layer.shape),
                range_text(&layer.values)
            ));
            if layer.label == "Flatten" {
                ui.label("(the values above, read as one vector)");
                continue;
            }
            let name = format!("layer {} {}", i + 1, layer.label);
            let selected = self.kernel_of.filter(|&(l, _)| l == i).map(|(_, c)| c);
            if let Some(c) = tiles_ui(ui, &name, &layer.values, layer.shape, &tex.values, selected)
                && layer.kernels.is_some()
            {
                clicked = Some((i, c));
            }
            if let (Some(g), Some(gt)) = (&layer.gradient, &tex.gradient) {
                ui.label(format!(
                    "gradient of the score of {top_class}   {}",
                    range_text(g)
                ));
                tiles_ui(ui, &format!("{name} gradient"), g, layer.shape, gt, None);
            }
            if let Some(c) = selected {
                kernel_ui(ui, &mut self.kernel_texture, layer, i, c);
            }
        }
        if let Some(c) = clicked {
            self.kernel_of = if self.kernel_of == Some(c) {
                None
            } else {
                Some(c)
            };
        }
        if !classes.is_empty() && seen.probabilities.len() == classes.len() {
            ui.add_space(6.0);
            ui.label(RichText::new("Softmax").strong());
            top_ui(
                ui,
                &top_guesses(ArrayView1::from(&seen.probabilities), classes),
            );
        }
    }
}

/// "8 x 30 x 30" for maps, "48 units" for vectors.
fn shape_text(s: Shape) -> String {
    if s.h * s.w > 1 {
        format!("{} x {} x {}", s.c, s.h, s.w)
    } else {
        format!("{} units", s.c)
    }
}

/// The values' range, or that they are all equal (the symmetry of a zero initialisation).
fn range_text(values: &[f32]) -> String {
    let (lo, hi) = min_max(values);
    if values.len() > 1 && lo == hi {
        format!("all {} values equal {lo:.3}", values.len())
    } else {
        format!("values {lo:.3} .. {hi:.3}")
    }
}

fn min_max(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// A colour per value: dark to bright when none is negative, else blue-white-red, scaled
/// to the largest magnitude.
fn colours(values: &[f32]) -> Vec<Color32> {
    let (lo, hi) = min_max(values);
    let scale = lo.abs().max(hi.abs());
    let scale = if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    };
    values
        .iter()
        .map(|&v| {
            if lo >= 0.0 {
                sequential(v / scale)
            } else {
                diverging(v / scale)
            }
        })
        .collect()
}

/// Maps (`h * w > 1`) stacked from top to bottom, one `w x h` tile per channel; a vector as
/// rows of [`UNITS_PER_ROW`] units.
fn tiles_image(values: &[f32], shape: Shape) -> ColorImage {
    let mut pixels = colours(values);
    if shape.h * shape.w > 1 {
        return ColorImage::new([shape.w, shape.c * shape.h], pixels);
    }
    let width = values.len().clamp(1, UNITS_PER_ROW);
    let rows = values.len().div_ceil(width).max(1);
    pixels.resize(width * rows, Color32::TRANSPARENT);
    ColorImage::new([width, rows], pixels)
}

/// Draws the tiles of [`tiles_image`] (`tex`), each map its own widget named
/// "`name` map `c`" with its value under the pointer; `selected` is outlined. Returns the
/// map clicked.
fn tiles_ui(
    ui: &mut Ui,
    name: &str,
    values: &[f32],
    shape: Shape,
    tex: &TextureHandle,
    selected: Option<usize>,
) -> Option<usize> {
    if shape.h * shape.w <= 1 {
        strip_ui(ui, name, values, tex);
        return None;
    }
    let zoom = (MAP_SIDE / shape.h.max(shape.w) as f32).floor().max(1.0);
    let size = Vec2::new(shape.w as f32, shape.h as f32) * zoom;
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        for c in 0..shape.c {
            let (rect, response) = ui.allocate_exact_size(size, Sense::click());
            let label = format!("{name} map {c}");
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
            let uv = Rect::from_min_max(
                pos2(0.0, c as f32 / shape.c as f32),
                pos2(1.0, (c + 1) as f32 / shape.c as f32),
            );
            ui.painter().image(tex.id(), rect, uv, Color32::WHITE);
            if selected == Some(c) {
                let stroke = egui::Stroke::new(2.0, Color32::YELLOW);
                ui.painter()
                    .rect_stroke(rect, 0.0, stroke, egui::StrokeKind::Outside);
            }
            if let Some(p) = response.hover_pos() {
                let (x, y) = cell(rect, p, zoom, shape.w, shape.h);
                let v = values[c * shape.h * shape.w + y * shape.w + x];
                response
                    .clone()
                    .on_hover_text_at_pointer(format!("map {c}, x {x}, y {y}: {v:.4}"));
            }
            if response.clicked() {
                clicked = Some(c);
            }
        }
    });
    clicked
}

/// The cell of a `w x h` grid of `zoom`-point cells in `rect` under `p`.
fn cell(rect: Rect, p: egui::Pos2, zoom: f32, w: usize, h: usize) -> (usize, usize) {
    let d = (p - rect.min) / zoom;
    let clamp = |v: f32, n: usize| (v.max(0.0) as usize).min(n - 1);
    (clamp(d.x, w), clamp(d.y, h))
}

/// A vector's units as a strip (rows of [`UNITS_PER_ROW`]), each unit's value on hover.
fn strip_ui(ui: &mut Ui, name: &str, values: &[f32], tex: &TextureHandle) {
    let [w, h] = tex.size();
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(w as f32, h as f32) * UNIT, Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, format!("{name} units"))
    });
    let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
    ui.painter().image(tex.id(), rect, uv, Color32::WHITE);
    if let Some(p) = response.hover_pos() {
        let (x, y) = cell(rect, p, UNIT, w, h);
        if let Some(v) = values.get(y * w + x) {
            response.on_hover_text_at_pointer(format!("unit {}: {v:.4}", y * w + x));
        }
    }
}

/// The kernel that made map `c` of convolution layer `i`: one `k x k` tile per input channel.
fn kernel_ui(
    ui: &mut Ui,
    cache: &mut Option<((usize, usize), TextureHandle)>,
    layer: &LayerOutput,
    i: usize,
    c: usize,
) {
    let Some(kernels) = &layer.kernels else {
        return;
    };
    let (_, inputs, k, _) = kernels.dim();
    let Some(kernel) = kernels.outer_iter().nth(c) else {
        return;
    };
    let weights: Vec<f32> = kernel.iter().copied().collect();
    let shape = Shape::image(inputs, k, k);
    if cache.as_ref().is_none_or(|(at, _)| *at != (i, c)) {
        let tex = texture(ui.ctx(), "layers kernel", tiles_image(&weights, shape));
        *cache = Some(((i, c), tex));
    }
    let Some((_, tex)) = cache else { return };
    ui.label(format!(
        "Kernel of map {c}: {inputs} input channel(s) of {k} x {k}   {}",
        range_text(&weights)
    ));
    let size = Vec2::splat(k as f32 * KERNEL_ZOOM);
    ui.horizontal_wrapped(|ui| {
        for ch in 0..inputs {
            let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
            let uv = Rect::from_min_max(
                pos2(0.0, ch as f32 / inputs as f32),
                pos2(1.0, (ch + 1) as f32 / inputs as f32),
            );
            ui.painter().image(tex.id(), rect, uv, Color32::WHITE);
            if let Some(p) = response.hover_pos() {
                let (x, y) = cell(rect, p, KERNEL_ZOOM, k, k);
                let v = weights[ch * k * k + y * k + x];
                response
                    .on_hover_text_at_pointer(format!("input channel {ch}, x {x}, y {y}: {v:.4}"));
            }
        }
    });
}

impl TabPanel for LayersPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        self.show(ui, cx.session);
    }
}
