//! The OCR tab: drop a photo of handwriting (or open one), see the boxes and the text.
//! The pipeline runs on a background thread and re-runs when a slider moves.

use super::Action;
use super::dialog::FileKind;
use super::job::Job;
use super::layers::Sample;
use super::palette::{ink_image, texture};
use super::tab::{TabContext, TabPanel};
use crate::data::SIDE;
use crate::data::corrections;
use crate::nn::SavedModel;
use crate::ocr::stages::Stage;
use crate::ocr::{Case, Character, OcrParams, Reading, Segmentation, load, read_with_any};
use anyhow::Context;
use eframe::egui;
use egui::{Color32, ColorImage, Pos2, Rect, Sense, Stroke, TextureHandle, Ui, Vec2};
use image::DynamicImage;
use ndarray::{ArrayView1, ArrayView2};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

pub const IMAGE: FileKind = FileKind {
    name: "Image (JPEG, PNG, WebP, TIFF, BMP, GIF)",
    extensions: &crate::data::IMAGE_EXTENSIONS,
};

/// Below this probability a character is drawn in the warning colour.
const LOW_CONFIDENCE: f32 = 0.5;
const SURE: Color32 = Color32::from_rgb(0, 150, 60);
const UNSURE: Color32 = Color32::from_rgb(230, 110, 0);
/// A box the user corrected: neither sure nor unsure, the user said what it is.
const CORRECTED: Color32 = Color32::from_rgb(60, 140, 255);
/// How far one may zoom out and in, relative to the zoom that fits the whole picture.
const ZOOM_RANGE: std::ops::RangeInclusive<f32> = 0.5..=40.0;
/// Points of mouse-wheel scrolling that double (or halve) the zoom.
const WHEEL_POINTS_PER_DOUBLING: f32 = 200.0;

/// Where the picture sits in its view: screen points per picture pixel, and the picture's
/// top-left corner relative to the view's.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Placement {
    scale: f32,
    offset: Vec2,
}

impl Placement {
    /// The whole picture (`size` pixels) centred in a view of `view` points.
    fn fit(view: Vec2, size: Vec2) -> Self {
        let scale = (view.x / size.x).min(view.y / size.y).max(1e-3);
        Self {
            scale,
            offset: (view - size * scale) / 2.0,
        }
    }

    /// Zoomed by `factor` (kept within [`ZOOM_RANGE`] of `fit_scale`) so that the picture
    /// point under `pointer` (view coordinates) stays under it.
    fn zoomed(self, factor: f32, pointer: Vec2, fit_scale: f32) -> Self {
        let scale = (self.scale * factor)
            .clamp(ZOOM_RANGE.start() * fit_scale, ZOOM_RANGE.end() * fit_scale);
        let under = (pointer - self.offset) / self.scale;
        Self {
            scale,
            offset: pointer - under * scale,
        }
    }
}

/// A finished run.
pub struct Done {
    pub seg: Segmentation,
    pub reading: Reading,
}

#[derive(Default)]
pub struct OcrPanel {
    pub params: OcrParams,
    /// The shipped default classifier (loaded on first use) or the one a test gave.
    default_model: Option<Arc<SavedModel>>,
    /// The shipped mixed-case classifier, loaded on first use.
    mixed_case_model: Option<Arc<SavedModel>>,
    /// The classifier trained in this session, when it reads 32x32 characters.
    trained: Option<Arc<SavedModel>>,
    /// Read with the default even when a trained model exists.
    pub use_default: bool,
    /// The trained model changed since the last reading.
    model_changed: bool,
    /// The shipped default's classes the trained model cannot read (then it is not
    /// switched to by itself).
    lacks: Vec<String>,
    photo: Option<(String, Arc<DynamicImage>)>,
    running: Option<Job<Done>>,
    /// The parameters changed while a run was going: run again when it ends.
    stale: bool,
    pub result: Option<Result<Done, String>>,
    /// `None`: the photo; else a stage picture.
    stage: Option<Stage>,
    /// How the picture sits in its view once the user zoomed or panned; `None`: fitted to
    /// the view, whatever its size (a new photo, "Fit").
    placement: Option<Placement>,
    /// Where the view and the picture were drawn last frame (screen points).
    view_rect: Option<Rect>,
    picture_rect: Option<Rect>,
    picture: Option<(Option<Stage>, TextureHandle)>,
    hover_crop: Option<(usize, TextureHandle)>,
    /// The recognised text (the user may edit and copy it).
    pub text: String,
    /// The character being corrected (index in reading order) and what the user typed
    /// (empty at first: the field shows the current character as a hint).
    correcting: Option<(usize, String)>,
    /// Characters the user corrected (reading order), not yet added to the training data.
    corrected: BTreeSet<usize>,
    /// Where corrected crops go; [`corrections::default_folder`] when `None`.
    pub corrections_folder: Option<PathBuf>,
    /// What became of the last "Add to training data".
    added: Option<Result<String, String>>,
    /// Where each character's box was drawn last frame (screen points, reading order).
    box_rects: Vec<Rect>,
    /// The box clicked last (reading order): "Inspect" follows its crop through the network.
    inspected_box: Option<usize>,
    /// A box's crop to follow through the network in the Layers tab ("Inspect").
    inspect_request: Option<Sample>,
}

impl OcrPanel {
    /// A panel reading with `model` instead of the default.
    pub fn with_model(model: SavedModel) -> Self {
        Self {
            default_model: Some(Arc::new(model)),
            ..Self::default()
        }
    }

    /// The characters of the last reading.
    pub fn characters(&self) -> Vec<Character> {
        match &self.result {
            Some(Ok(done)) => done.reading.characters().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The centre of character `i`'s box on screen, as drawn last frame.
    pub fn box_center(&self, i: usize) -> Option<Pos2> {
        self.box_rects.get(i).map(|r| r.center())
    }

    /// Where the picture was drawn last frame, and the view it was drawn in.
    pub fn picture_and_view(&self) -> Option<(Rect, Rect)> {
        self.picture_rect.zip(self.view_rect)
    }

    /// Whether the user corrected character `i` (reading order) of the last reading.
    pub fn is_corrected(&self, i: usize) -> bool {
        self.corrected.contains(&i)
    }

    /// Whether readings use the model trained in this session.
    pub fn uses_trained(&self) -> bool {
        self.trained.is_some() && !self.use_default
    }

    /// Offers the letter classifier trained in this session (see
    /// [`super::session::Session::letter_model`]). It reads the photos from now on when it
    /// knows every class the shipped default does (a photo of handwriting may hold any of
    /// them); one that knows fewer (e.g. only 0-9) can be picked but is not switched to,
    /// and the tab says which classes it lacks.
    pub fn offer_trained(&mut self, model: Option<Arc<SavedModel>>) {
        let same = match (&model, &self.trained) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if same {
            return;
        }
        let new_classes = match (&model, &self.trained) {
            (Some(a), Some(b)) => a.classes != b.classes,
            (a, _) => a.is_some(),
        };
        if new_classes && let Some(m) = &model {
            self.lacks = self.missing_classes(m);
            self.use_default = !self.lacks.is_empty();
        }
        self.trained = model;
        self.model_changed = true;
    }

    /// The shipped default's classes that `model` cannot read.
    fn missing_classes(&mut self, model: &SavedModel) -> Vec<String> {
        let Ok(default) = self.shipped() else {
            return Vec::new();
        };
        default
            .classes
            .iter()
            .filter(|c| !model.classes.contains(c))
            .cloned()
            .collect()
    }

    /// The shipped default classifier (or the one a test gave), loaded on first use.
    fn shipped(&mut self) -> Result<Arc<SavedModel>, String> {
        if self.default_model.is_none() {
            let m = crate::data::builtin::default_model().map_err(|e| format!("{e:#}"))?;
            self.default_model = Some(Arc::new(m));
        }
        Ok(self.default_model.clone().expect("loaded above"))
    }

    /// The shipped mixed-case classifier, loaded on first use.
    fn shipped_mixed_case(&mut self) -> Result<Arc<SavedModel>, String> {
        if self.mixed_case_model.is_none() {
            let m = crate::data::builtin::mixed_case_model().map_err(|e| format!("{e:#}"))?;
            self.mixed_case_model = Some(Arc::new(m));
        }
        Ok(self.mixed_case_model.clone().expect("loaded above"))
    }

    /// The classifiers the next reading uses: the trained one, or the shipped ones of the
    /// chosen case (both for "auto": the surer reading wins).
    fn models(&mut self) -> Result<Vec<Arc<SavedModel>>, String> {
        if !self.use_default
            && let Some(m) = &self.trained
        {
            return Ok(vec![m.clone()]);
        }
        Ok(match self.params.case {
            Case::Capitals => vec![self.shipped()?],
            Case::Mixed => vec![self.shipped_mixed_case()?],
            Case::Auto => vec![self.shipped()?, self.shipped_mixed_case()?],
        })
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Opens the image in `bytes` (named `name`) and starts reading it.
    pub fn open_bytes(&mut self, ctx: &egui::Context, name: String, bytes: &[u8]) {
        match load::decode_image(bytes) {
            Ok(img) => {
                self.photo = Some((name, Arc::new(img)));
                self.placement = None;
                self.start(ctx);
            }
            Err(e) => self.fail(format!("{name}: {e:#}")),
        }
    }

    /// Opens the image file at `path` and starts reading it.
    pub fn open_path(&mut self, ctx: &egui::Context, path: &std::path::Path) {
        match crate::files::read_regular(path, crate::data::image_file::MAX_FILE_BYTES) {
            Ok(bytes) => self.open_bytes(ctx, path.display().to_string(), &bytes),
            Err(e) => self.fail(format!("{e:#}")),
        }
    }

    fn fail(&mut self, message: String) {
        self.photo = None;
        self.result = Some(Err(message));
        self.text.clear();
        self.picture = None;
    }

    /// Runs the pipeline on the current photo in the background.
    fn start(&mut self, ctx: &egui::Context) {
        let Some((_, photo)) = &self.photo else {
            return;
        };
        if self.running.is_some() {
            self.stale = true;
            return;
        }
        let photo = photo.clone();
        let models = match self.models() {
            Ok(m) => m,
            Err(e) => return self.fail(e),
        };
        self.model_changed = false;
        let params = self.params.clone();
        self.running = Some(Job::spawn(ctx, "reading the photo", move || {
            // Its own copies: reading runs the networks, which keep their buffers.
            let mut models: Vec<SavedModel> = models.iter().map(|m| SavedModel::clone(m)).collect();
            read_with_any(&photo, &mut models, &params)
                .map(|(seg, reading)| Done { seg, reading })
                .map_err(|e| format!("{e:#}"))
        }));
    }

    fn receive(&mut self, ctx: &egui::Context) {
        let Some(outcome) = self.running.as_ref().and_then(Job::poll) else {
            return;
        };
        self.running = None;
        self.text = outcome
            .as_ref()
            .map(|d| d.reading.text())
            .unwrap_or_default();
        self.result = Some(outcome);
        self.picture = None;
        self.hover_crop = None;
        self.correcting = None;
        self.inspected_box = None;
        self.corrected.clear();
        if std::mem::take(&mut self.stale) {
            self.start(ctx);
        }
    }

    /// The tab's content; returns the folder corrected crops were added to, when they were.
    /// "Open photo" is an action: the window asks for the path.
    pub fn show(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) -> Option<PathBuf> {
        let mut added_to = None;
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        for file in ui.input(|i| i.raw.dropped_files.clone()) {
            let name = file.path().display().to_string();
            match file.bytes() {
                Ok(bytes) => self.open_bytes(&ctx, name, &bytes),
                Err(e) => self.fail(format!("{name}: cannot read it: {e}")),
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Open photo…").clicked() {
                actions.push(Action::OpenPhoto);
            }
            ui.label("or drop an image on the window.");
            if let Some((name, _)) = &self.photo {
                ui.label(name.as_str());
            }
            if self.running.is_some() {
                ui.spinner();
            }
        });
        let model_picked = self.model_ui(ui);
        // A newer trained model reads the photo again, unless the user is correcting it.
        let fresh_model = self.model_changed
            && !self.use_default
            && self.correcting.is_none()
            && self.corrected.is_empty();
        if self.controls_ui(ui) || model_picked || fresh_model {
            self.start(&ctx);
        }
        match &self.result {
            None => {
                ui.label("No photo yet.");
            }
            Some(Err(message)) => {
                ui.colored_label(Color32::RED, message.as_str());
            }
            Some(Ok(_)) => {
                egui::Panel::bottom("ocr text").show(ui, |ui| {
                    let label = ui
                        .horizontal(|ui| {
                            let label =
                                ui.label("Recognised text (click a box to correct a character):");
                            self.inspect_ui(ui);
                            label
                        })
                        .inner;
                    ui.add(
                        egui::TextEdit::multiline(&mut self.text)
                            .desired_width(f32::INFINITY)
                            .desired_rows(4)
                            .font(egui::TextStyle::Monospace),
                    )
                    .labelled_by(label.id);
                    self.correction_ui(ui);
                    added_to = self.corrections_ui(ui);
                });
                self.picture_ui(ui);
            }
        }
        added_to
    }

    /// Which classifier reads: the one trained here or the shipped default; true when the
    /// user switched.
    fn model_ui(&mut self, ui: &mut Ui) -> bool {
        let using_trained = self.trained.is_some() && !self.use_default;
        let mut picked = None;
        let mut picked_case = false;
        ui.horizontal(|ui| {
            ui.label("Model:");
            let trained = egui::RadioButton::new(using_trained, "trained in this session");
            if ui
                .add_enabled(self.trained.is_some(), trained)
                .on_disabled_hover_text("train a classifier on 32x32 characters first")
                .clicked()
            {
                picked = Some(false);
            }
            if ui.radio(!using_trained, "shipped:").clicked() {
                picked = Some(true);
            }
            egui::ComboBox::from_id_salt("letters")
                .selected_text(self.params.case.name())
                .show_ui(ui, |ui| {
                    for case in Case::ALL {
                        let text = match case {
                            Case::Capitals => "capitals (A-Z, 0-9)",
                            Case::Mixed => "mixed case (a-z too)",
                            Case::Auto => "auto (the surer of both)",
                        };
                        if ui
                            .selectable_label(self.params.case == case, text)
                            .clicked()
                        {
                            self.params.case = case;
                            self.use_default = true;
                            picked_case = true;
                        }
                    }
                })
                .response
                .on_hover_text("which shipped classifier reads the photo");
            if self.trained.is_some() && !self.lacks.is_empty() {
                ui.weak(format!(
                    "the trained one knows {} fewer classes (no {})",
                    self.lacks.len(),
                    abbreviated(&self.lacks)
                ));
            }
        });
        match picked {
            Some(default) if default != self.use_default => {
                self.use_default = default;
                true
            }
            _ => picked_case,
        }
    }

    /// The sliders and toggles; true when a setting changed.
    fn controls_ui(&mut self, ui: &mut Ui) -> bool {
        let mut changed = false;
        let found_angle = match &self.result {
            Some(Ok(done)) => done.seg.angle,
            _ => 0.0,
        };
        ui.horizontal_wrapped(|ui| {
            // Narrower tracks keep the four labels on one row in a 1280 px window.
            ui.spacing_mut().slider_width = 80.0;
            let p = &mut self.params;
            room_for_slider(ui, "threshold offset");
            changed |= ui
                .add(egui::Slider::new(&mut p.threshold_offset, -60..=60).text("threshold offset"))
                .changed();
            for (value, range, text) in [
                (&mut p.close_size, 0.0..=3.0, "closing (pen widths)"),
                (&mut p.dilate_size, 0.0..=3.0, "dilation (pen widths)"),
                (&mut p.min_area, 0.0..=1.0, "min area"),
            ] {
                room_for_slider(ui, text);
                changed |= ui.add(egui::Slider::new(value, range).text(text)).changed();
            }
            changed |= ui
                .checkbox(&mut p.one_kind_per_word, "one kind per word")
                .changed();
            changed |= ui
                .checkbox(&mut p.dictionary, "dictionary")
                .on_hover_text(
                    "a word of three or more letters that no English dictionary holds becomes \
                     the word its letters could as well be, when the classifier finds that \
                     not much less likely",
                )
                .changed();
            changed |= angle_ui(ui, &mut p.angle, found_angle);
            changed |= ui
                .checkbox(&mut p.orient_auto, "orient auto")
                .on_hover_text("also try the page turned by 90, 180 and 270 degrees")
                .changed();
            changed |= ui
                .checkbox(&mut p.by_recognition, "cut by recognition")
                .on_hover_text(
                    "touching letters are cut (and broken ones merged) where the pieces read \
                     best; off: by width alone",
                )
                .changed();
            changed |= ui
                .checkbox(&mut p.remove_rules, "remove ruled lines")
                .on_hover_text(
                    "take the printed lines of ruled or squared paper (and margin lines) out \
                     of the ink before looking for letters",
                )
                .changed();
            room_for(ui, ui.spacing().combo_width + 60.0);
            egui::ComboBox::from_label("view")
                .selected_text(self.stage.map_or("photo", Stage::name))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.stage, None, "photo");
                    for s in Stage::ALL {
                        ui.selectable_value(&mut self.stage, Some(s), s.name());
                    }
                });
            if ui
                .button("Fit")
                .on_hover_text(
                    "the whole picture in the view; wheel: zoom at the pointer, drag: pan",
                )
                .clicked()
            {
                self.placement = None;
            }
        });
        changed
    }

    /// The photo (or a stage) with the boxes and characters over it.
    fn picture_ui(&mut self, ui: &mut Ui) {
        let Some(Ok(done)) = &self.result else { return };
        let ctx = ui.ctx().clone();
        if self.picture.as_ref().is_none_or(|(s, _)| *s != self.stage) {
            let rgb = self.stage.unwrap_or(Stage::Grey).render(&done.seg);
            let image =
                ColorImage::from_rgb([rgb.width() as usize, rgb.height() as usize], rgb.as_raw());
            self.picture = Some((self.stage, texture(&ctx, "ocr picture", image)));
        }
        let Some((_, tex)) = &self.picture else {
            return;
        };
        let seg = &done.seg;
        let size = Vec2::new(seg.grey.width() as f32, seg.grey.height() as f32);
        let (view, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        let fit = Placement::fit(view.size(), size);
        let mut placed = self.placement.unwrap_or(fit);
        if response.dragged() && response.drag_delta() != Vec2::ZERO {
            placed.offset += response.drag_delta();
            self.placement = Some(placed);
        }
        if let Some(pointer) = response.hover_pos() {
            let (wheel, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = pinch * (wheel / WHEEL_POINTS_PER_DOUBLING).exp2();
            if factor != 1.0 {
                placed = placed.zoomed(factor, pointer - view.min, fit.scale);
                self.placement = Some(placed);
            }
        }
        let picture = Rect::from_min_size(view.min + placed.offset, size * placed.scale);
        (self.view_rect, self.picture_rect) = (Some(view), Some(picture));
        let painter = ui.painter_at(view);
        painter.image(
            tex.id(),
            picture,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        // Boxes are in photo pixels; the picture is at the working resolution.
        let to_screen = placed.scale / seg.scale;
        let (mut clicked, mut hovered) = (None, None);
        self.box_rects.clear();
        for (i, c) in done.reading.characters().enumerate() {
            let b = c.bbox;
            let r = Rect::from_min_max(
                picture.min + Vec2::new(b.left as f32, b.top as f32) * to_screen,
                picture.min + Vec2::new(b.right as f32, b.bottom as f32) * to_screen,
            );
            let sure = c
                .top
                .first()
                .is_some_and(|g| g.probability >= LOW_CONFIDENCE);
            let colour = match (self.corrected.contains(&i), sure) {
                (true, _) => CORRECTED,
                (false, true) => SURE,
                (false, false) => UNSURE,
            };
            painter.rect_stroke(r, 0.0, Stroke::new(1.5, colour), egui::StrokeKind::Outside);
            painter.text(
                r.left_top(),
                egui::Align2::LEFT_BOTTOM,
                &c.text,
                egui::FontId::proportional(16.0),
                colour,
            );
            self.box_rects.push(r);
            if response.hover_pos().is_some_and(|p| r.contains(p)) {
                hovered = Some(i);
            }
            if response.clicked()
                && response
                    .interact_pointer_pos()
                    .is_some_and(|p| r.contains(p))
            {
                clicked = Some(i);
            }
        }
        if let Some(i) = clicked {
            self.correcting = Some((i, String::new()));
            self.inspected_box = Some(i);
        }
        if let Some(i) = hovered.filter(|_| !response.dragged()) {
            self.hover_ui(ui, i);
        }
    }

    /// "Inspect" for the box clicked last: its crop goes to the Layers tab.
    fn inspect_ui(&mut self, ui: &mut Ui) {
        let Some(i) = self.inspected_box else { return };
        let Some(c) = self.characters().into_iter().nth(i) else {
            return;
        };
        if ui
            .button(format!("Inspect box {} in Layers", i + 1))
            .on_hover_text("Follow this box's crop through every layer of the network.")
            .clicked()
        {
            self.inspect_request = Some(Sample {
                name: format!("OCR box {} (read as {})", i + 1, c.text),
                values: c.crop,
            });
        }
    }

    /// The top-5 and the exact crop the model saw, beside the pointer.
    fn hover_ui(&mut self, ui: &mut Ui, i: usize) {
        let Some(Ok(done)) = &self.result else { return };
        let Some(c) = done.reading.characters().nth(i) else {
            return;
        };
        if self.hover_crop.as_ref().is_none_or(|(k, _)| *k != i) {
            let crop = ArrayView2::from_shape((SIDE, SIDE), &c.crop).expect("32x32 crop");
            self.hover_crop = Some((i, texture(ui.ctx(), "ocr crop", ink_image(crop))));
        }
        let Some((_, tex)) = &self.hover_crop else {
            return;
        };
        let lines: Vec<String> = c
            .top
            .iter()
            .map(|g| format!("{} {:.2}", g.class, g.probability))
            .collect();
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            ui.scope_id().with("ocr hover"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| {
            ui.image((tex.id(), Vec2::splat(4.0 * SIDE as f32)));
            ui.label(lines.join("\n"));
        });
    }

    /// The box being corrected: type the right character.
    fn correction_ui(&mut self, ui: &mut Ui) {
        let Some(i) = self.correcting.as_ref().map(|(i, _)| *i) else {
            return;
        };
        let current = self
            .characters()
            .get(i)
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let Some((_, typed)) = &mut self.correcting else {
            return;
        };
        let mut done_editing = false;
        ui.horizontal(|ui| {
            let label = ui.label(format!("Character {}:", i + 1));
            let r = ui
                .add(
                    egui::TextEdit::singleline(typed)
                        .hint_text(current)
                        .desired_width(30.0)
                        .char_limit(1),
                )
                .labelled_by(label.id);
            if typed.is_empty() && !r.has_focus() && !r.lost_focus() {
                r.request_focus();
            }
            done_editing = r.lost_focus() || ui.button("Set").clicked();
        });
        if !done_editing {
            return;
        }
        let (i, typed) = self.correcting.take().expect("correcting");
        let typed = typed.trim().to_uppercase();
        if let Some(Ok(done)) = &mut self.result
            && let Some(c) = done.reading.lines.iter_mut().flatten().nth(i)
            && !typed.is_empty()
        {
            c.text = typed;
            self.text = done.reading.text();
            self.corrected.insert(i);
        }
    }

    /// The corrected characters, and a button that adds their crops to the training data.
    /// Returns the folder they went to when they were added.
    fn corrections_ui(&mut self, ui: &mut Ui) -> Option<PathBuf> {
        let mut added_to = None;
        // Wrapped: the note after the button is longer than a 1024 px window has room for.
        ui.horizontal_wrapped(|ui| {
            let n = self.corrected.len();
            let crops = if n == 1 { "crop" } else { "crops" };
            let button = egui::Button::new(format!("Add {n} corrected {crops} to training data"));
            if ui
                .add_enabled(n > 0, button)
                .on_hover_text(
                    "Saves the 32x32 crops under the corrected class; the next training run \
                     adds them to its training split.",
                )
                .clicked()
            {
                self.added = Some(match self.save_corrections() {
                    Ok((folder, n)) => {
                        added_to = Some(folder.clone());
                        let crops = if n == 1 { "crop" } else { "crops" };
                        Ok(format!(
                            "added {n} {crops} to {}; training runs now include them",
                            folder.display()
                        ))
                    }
                    Err(e) => Err(format!("{e:#}")),
                });
            }
            match &self.added {
                Some(Ok(note)) => {
                    ui.label(note.as_str());
                }
                Some(Err(e)) => {
                    ui.colored_label(Color32::RED, e.as_str());
                }
                None => {}
            }
        });
        added_to
    }

    fn save_corrections(&mut self) -> anyhow::Result<(PathBuf, usize)> {
        let folder = self
            .corrections_folder
            .clone()
            .or_else(corrections::default_folder)
            .context("there is no home folder to keep corrections in")?;
        let Some(Ok(done)) = &self.result else {
            anyhow::bail!("no reading to take corrections from");
        };
        let chars: Vec<_> = done.reading.characters().collect();
        for &i in &self.corrected {
            let c = chars[i];
            corrections::save(&folder, &c.text, ArrayView1::from(&c.crop[..]))?;
        }
        let n = std::mem::take(&mut self.corrected).len();
        Ok((folder, n))
    }
}

/// Starts a new row of a wrapping layout when a slider labelled `text` would not fit in
/// this one: egui lays a slider, its value and its label out as one piece, and wraps
/// before a piece only when it knows its width in advance.
fn room_for_slider(ui: &mut Ui, text: &str) {
    let label = egui::WidgetText::from(text)
        .into_galley(
            ui,
            Some(egui::TextWrapMode::Extend),
            f32::INFINITY,
            egui::TextStyle::Button,
        )
        .size()
        .x;
    let s = ui.spacing();
    let needed = s.slider_width + s.interact_size.x + label + 3.0 * s.item_spacing.x;
    room_for(ui, needed);
}

/// Starts a new row of a wrapping layout unless `width` points are left in this one.
fn room_for(ui: &mut Ui, width: f32) {
    if ui.available_size_before_wrap().x < width {
        ui.end_row();
    }
}

/// The first few of `names` and how many more.
fn abbreviated(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        text += &format!(" and {} more", names.len() - SHOWN);
    }
    text
}

/// Reads with the run's letter classifier when there is one; corrected crops join the
/// next run's training data.
impl TabPanel for OcrPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        self.offer_trained(cx.session.letter_model());
        if let Some(folder) = self.show(ui, cx.actions) {
            cx.settings.config.extra_train = Some(folder);
        }
        if let Some(sample) = self.inspect_request.take() {
            cx.actions.push(Action::Inspect(sample));
        }
    }
}

/// The writing's angle: the one found (or given) on a slider that overrides it, and a
/// toggle back to the estimate; true when the user changed it.
fn angle_ui(ui: &mut Ui, angle: &mut Option<f32>, found: f32) -> bool {
    room_for_slider(ui, "angle");
    let mut shown = angle.unwrap_or(found);
    let max = crate::ocr::skew::MAX_OVERRIDE;
    let slid = ui
        .add(
            egui::Slider::new(&mut shown, -max..=max)
                .fixed_decimals(1)
                .suffix("°")
                .text("angle"),
        )
        .on_hover_text(
            "the writing's angle (positive: lines run down to the right); drag to set it",
        )
        .changed();
    if slid {
        *angle = Some(shown);
    }
    let mut estimate = angle.is_none();
    let toggled = ui.checkbox(&mut estimate, "estimate angle").changed();
    if toggled {
        *angle = (!estimate).then_some(shown);
    }
    slid || toggled
}
