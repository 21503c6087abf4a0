//! The draw tab: draw a character with the mouse and watch the classifier read it. The
//! drawing goes through the same crop normalisation as OCR and training data, so the
//! 32x32 picture shown is exactly what the model sees.

use super::Action;
use super::layers::Sample;
use super::palette::{ink_image, texture};
use super::session::Session;
use super::tab::{TabContext, TabPanel};
use crate::data::SIDE;
use crate::data::builtin::DEFAULT_MODEL_IS;
use crate::data::crop::normalize_glyph;
use crate::nn::SavedModel;
use crate::ocr::classify::{Guess, argmax, probabilities, top_guesses};
use eframe::egui;
use egui::{Color32, ColorImage, Pos2, Rect, Sense, TextureHandle, Ui, Vec2};
use ndarray::{Array1, Array2, ArrayView2};
use std::sync::Arc;

/// Side of the canvas in pixels (and in points on screen).
pub const CANVAS: usize = 280;
/// How many times larger than 32x32 the model's input is shown.
const INPUT_ZOOM: f32 = 6.0;
const SALIENCY: [u8; 3] = [230, 30, 30];

/// What the model makes of the drawing.
pub struct Prediction {
    /// The normalised 32x32 input.
    pub input: Array1<f32>,
    /// The five most probable classes, most probable first.
    pub top: Vec<Guess>,
    /// |d(top class score) / d(pixel)|, scaled to a maximum of 1.
    pub saliency: Array1<f32>,
}

/// The classifier and where it came from.
struct Reader {
    /// Identity of the session's model this reader copied (None: the shipped default).
    source: Option<Arc<SavedModel>>,
    model: SavedModel,
}

pub struct DrawPanel {
    /// The drawing: ink 1.0, paper 0.0.
    pub canvas: Array2<f32>,
    /// Pen diameter in canvas pixels.
    pub pen_width: f32,
    pub show_saliency: bool,
    /// Where the pen was last frame while drawing.
    last: Option<Pos2>,
    reader: Option<Result<Reader, String>>,
    /// The drawing or the model changed since the last prediction.
    stale: bool,
    pub prediction: Option<Prediction>,
    /// Where the canvas was drawn last frame (tests draw on it).
    pub canvas_rect: Option<Rect>,
    canvas_texture: Option<TextureHandle>,
    input_textures: Option<(TextureHandle, TextureHandle)>,
}

impl Default for DrawPanel {
    fn default() -> Self {
        Self {
            canvas: Array2::zeros((CANVAS, CANVAS)),
            pen_width: 18.0,
            show_saliency: false,
            last: None,
            reader: None,
            stale: true,
            prediction: None,
            canvas_rect: None,
            canvas_texture: None,
            input_textures: None,
        }
    }
}

impl DrawPanel {
    pub fn clear(&mut self) {
        self.canvas.fill(0.0);
        self.last = None;
        self.changed();
    }

    fn changed(&mut self) {
        self.stale = true;
        self.canvas_texture = None;
    }

    /// Inks a round pen moved in a straight line from `a` to `b` (canvas pixels).
    pub fn stroke(&mut self, a: Pos2, b: Pos2) {
        let r = self.pen_width / 2.0;
        let (lo, hi) = (a.min(b) - Vec2::splat(r), a.max(b) + Vec2::splat(r));
        let clamp = |v: f32| (v.max(0.0) as usize).min(CANVAS);
        let ab = b - a;
        for y in clamp(lo.y)..clamp(hi.y + 1.0) {
            for x in clamp(lo.x)..clamp(hi.x + 1.0) {
                let p = Pos2::new(x as f32 + 0.5, y as f32 + 0.5);
                let t = if ab.length_sq() > 0.0 {
                    ((p - a).dot(ab) / ab.length_sq()).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if (a + ab * t).distance(p) <= r {
                    self.canvas[[y, x]] = 1.0;
                }
            }
        }
        self.changed();
    }

    /// Switches to the session's letter model when it changed (else the shipped default).
    fn update_reader(&mut self, session: &Session) {
        let wanted = session.letter_model();
        let up_to_date = match (&self.reader, &wanted) {
            (Some(Ok(r)), Some(m)) => r.source.as_ref().is_some_and(|s| Arc::ptr_eq(s, m)),
            (Some(Ok(r)), None) => r.source.is_none(),
            // The default could not be read: say so once instead of retrying every frame.
            (Some(Err(_)), None) => true,
            _ => false,
        };
        if up_to_date {
            return;
        }
        self.reader = Some(match wanted {
            Some(m) => Ok(Reader {
                model: (*m).clone(),
                source: Some(m),
            }),
            None => crate::data::builtin::default_model()
                .map(|model| Reader {
                    source: None,
                    model,
                })
                .map_err(|e| format!("{e:#}")),
        });
        self.stale = true;
    }

    fn predict(&mut self) {
        self.stale = false;
        self.input_textures = None;
        let input = normalize_glyph(self.canvas.view());
        let Some(Ok(reader)) = &mut self.reader else {
            self.prediction = None;
            return;
        };
        if input.iter().all(|&v| v == 0.0) {
            self.prediction = None;
            return;
        }
        self.prediction = read(&mut reader.model, input).ok();
    }

    /// Returns the drawing as a sample when "Inspect layers" was pressed.
    fn show(&mut self, ui: &mut Ui, session: &Session) -> Option<Sample> {
        self.update_reader(session);
        let mut inspect = None;
        ui.horizontal(|ui| {
            if ui.button("Clear").clicked() {
                self.clear();
            }
            let drawn = self.canvas.iter().any(|&v| v > 0.0);
            if ui
                .add_enabled(drawn, egui::Button::new("Inspect layers"))
                .on_hover_text("Follow the drawing through every layer in the Layers tab.")
                .clicked()
            {
                inspect = Some(Sample {
                    name: "the Draw canvas".into(),
                    values: normalize_glyph(self.canvas.view()).to_vec(),
                });
            }
            ui.add(egui::Slider::new(&mut self.pen_width, 4.0..=40.0).text("pen width"));
            ui.checkbox(&mut self.show_saliency, "saliency")
                .on_hover_text(
                    "Red where a change of the pixel would change the top class's score most \
                     (the gradient of that score with respect to the input).",
                );
        });
        match &self.reader {
            Some(Ok(r)) => {
                ui.label(match &r.source {
                    Some(_) => format!("Model: the network of this session ({})", session.network),
                    None => format!(
                        "Model: the shipped default ({DEFAULT_MODEL_IS}); train or load a letter \
                         classifier to use yours."
                    ),
                });
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e.as_str());
            }
            None => {}
        }
        ui.add_space(6.0);
        ui.horizontal_top(|ui| {
            self.canvas_ui(ui);
            if self.stale {
                self.predict();
            }
            ui.add_space(12.0);
            ui.vertical(|ui| self.input_ui(ui));
            ui.add_space(12.0);
            ui.vertical(|ui| self.top_ui(ui));
        });
        inspect
    }

    fn canvas_ui(&mut self, ui: &mut Ui) {
        let size = Vec2::splat(CANVAS as f32);
        let (rect, response) = ui.allocate_exact_size(size, Sense::drag());
        self.canvas_rect = Some(rect);
        let to_canvas = |p: Pos2| Pos2::ZERO + (p - rect.min) / rect.size() * CANVAS as f32;
        match response.interact_pointer_pos() {
            Some(p) if response.is_pointer_button_down_on() => {
                let p = to_canvas(p);
                self.stroke(self.last.unwrap_or(p), p);
                self.last = Some(p);
            }
            _ => self.last = None,
        }
        let canvas = &self.canvas;
        let tex = self
            .canvas_texture
            .get_or_insert_with(|| texture(ui.ctx(), "draw canvas", ink_image(canvas.view())));
        let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        ui.painter().image(tex.id(), rect, uv, Color32::WHITE);
        ui.painter().rect_stroke(
            rect,
            0.0,
            egui::Stroke::new(1.0, Color32::GRAY),
            egui::StrokeKind::Outside,
        );
    }

    /// The 32x32 input, with the saliency map over it when asked for.
    fn input_ui(&mut self, ui: &mut Ui) {
        ui.label("What the model sees (32x32):");
        let Some(p) = &self.prediction else {
            ui.label("(draw a character)");
            return;
        };
        let (input, saliency) = self.input_textures.get_or_insert_with(|| {
            let ctx = ui.ctx();
            (
                texture(ctx, "draw input", ink_image(square(&p.input))),
                texture(ctx, "draw saliency", saliency_image(square(&p.saliency))),
            )
        });
        let (rect, _) =
            ui.allocate_exact_size(Vec2::splat(INPUT_ZOOM * SIDE as f32), Sense::hover());
        let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        ui.painter().image(input.id(), rect, uv, Color32::WHITE);
        if self.show_saliency {
            ui.painter().image(saliency.id(), rect, uv, Color32::WHITE);
        }
    }

    fn top_ui(&self, ui: &mut Ui) {
        ui.label("Top 5:");
        if let Some(p) = &self.prediction {
            top_ui(ui, &p.top);
        }
    }
}

/// The most probable classes as numbered bars, most probable first.
pub(super) fn top_ui(ui: &mut Ui, top: &[Guess]) {
    for (rank, g) in top.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(format!("{}. {}", rank + 1, g.class))
                    .monospace()
                    .size(18.0),
            );
            ui.add(
                egui::ProgressBar::new(g.probability)
                    .desired_width(220.0)
                    .text(format!("{:.1}%", 100.0 * g.probability)),
            );
        });
    }
}

/// The model's top five for `input`, and the saliency of the most probable class.
fn read(model: &mut SavedModel, input: Array1<f32>) -> anyhow::Result<Prediction> {
    let probs = probabilities(model, std::slice::from_ref(&input.to_vec()))?;
    let top = top_guesses(probs.row(0), &model.classes);
    let best = argmax(&probs.row(0));
    let x = input.view().insert_axis(ndarray::Axis(0));
    model.net.forward(x, false);
    let mut pick = Array2::zeros((1, model.classes.len()));
    pick[[0, best]] = 1.0;
    let gradient = model.net.input_gradient(x, pick.view());
    let largest = gradient.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let saliency = gradient.row(0).mapv(|v| {
        if largest > 0.0 {
            v.abs() / largest
        } else {
            0.0
        }
    });
    Ok(Prediction {
        input,
        top,
        saliency,
    })
}

fn square(row: &Array1<f32>) -> ArrayView2<'_, f32> {
    row.view()
        .into_shape_with_order((SIDE, SIDE))
        .expect("32x32 row")
}

/// Red, as opaque as the value in [0, 1].
fn saliency_image(values: ArrayView2<f32>) -> ColorImage {
    let (h, w) = values.dim();
    let [r, g, b] = SALIENCY;
    let pixels = values
        .iter()
        .map(|&v| Color32::from_rgba_unmultiplied(r, g, b, (220.0 * v.clamp(0.0, 1.0)) as u8))
        .collect();
    ColorImage::new([w, h], pixels)
}

impl TabPanel for DrawPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        if let Some(sample) = self.show(ui, cx.session) {
            cx.actions.push(Action::Inspect(sample));
        }
    }
}
