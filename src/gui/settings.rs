//! The side panel: the run's settings and the buttons that drive the worker.

use super::Action;
use super::profiles::Profiles;
use super::session::{Phase, Session};
use crate::data::{DataSource, corrections};
use crate::nn::{Activation, Init, OptimizerKind};
use crate::train::config::MAX_LABEL_SMOOTHING;
use crate::train::schedule::Schedule;
use crate::train::trainer::Weights;
use crate::train::{Model, RunConfig, Task};
use eframe::egui;
use egui::{DragValue, RichText, Slider, Ui};
use serde::{Deserialize, Serialize};

macro_rules! tab_table {
    ($($tab:ident, $title:literal, $slug:literal, $field:ident: $panel:ty;)+) => {
        /// The tabs of the central area (listed in [`super::with_tabs`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Tab {
            $($tab),+
        }

        impl Tab {
            /// In the tab bar's order.
            pub const ALL: &[Tab] = &[$(Tab::$tab),+];

            pub fn title(self) -> &'static str {
                match self {
                    $(Tab::$tab => $title),+
                }
            }

            /// The name `--tab` takes.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Tab::$tab => $slug),+
                }
            }
        }
    };
}
with_tabs!(tab_table);

impl Default for Tab {
    fn default() -> Self {
        Tab::ALL[0]
    }
}

impl Tab {
    /// The tab that shows a task's results best.
    pub fn for_task(task: Task) -> Tab {
        match task {
            Task::Classify => Tab::Curves,
            Task::Autoencode => Tab::Autoencoder,
        }
    }
}

impl std::str::FromStr for Tab {
    type Err = String;
    /// A tab by its `--tab` name; case, `-`, `_` and spaces do not matter.
    fn from_str(s: &str) -> Result<Self, String> {
        let plain = |t: &str| t.replace(['-', '_', ' '], "").to_ascii_lowercase();
        Tab::ALL
            .iter()
            .copied()
            .find(|t| plain(t.slug()) == plain(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Tab::ALL.iter().map(|t| t.slug()).collect();
                format!("unknown tab '{s}' ({})", names.join(", "))
            })
    }
}

/// The view settings of the Curves tab (remembered between launches).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CurveOptions {
    pub log_y: bool,
    /// EMA weight in [0, 0.99]; 0 shows the raw series only.
    pub smoothing: f64,
    pub show_batches: bool,
}

impl Default for CurveOptions {
    fn default() -> Self {
        Self {
            log_y: false,
            smoothing: 0.6,
            show_batches: true,
        }
    }
}

/// The view settings of the Weights tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightOptions {
    /// One colour scale for all tiles (compare units) or one per tile (see each unit's pattern).
    pub shared_scale: bool,
}

impl Default for WeightOptions {
    fn default() -> Self {
        Self { shared_scale: true }
    }
}

/// Everything the window remembers between launches.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub config: RunConfig,
    pub tab: Tab,
    pub curves: CurveOptions,
    pub weights: WeightOptions,
    pub fine_tune: FineTuneOptions,
    /// Which weights Save and Export write.
    pub keep: Weights,
    /// The settings of the data kinds and tasks not in use.
    pub profiles: Profiles,
}

impl Settings {
    /// Trains on `data` from now on, with the settings last used on its kind.
    pub fn choose_data(&mut self, data: DataSource) {
        let task = self.config.task;
        self.profiles.switch(&mut self.config, data, task);
    }

    /// Trains for `task` from now on, with the settings last used for it on this data.
    pub fn choose_task(&mut self, task: Task) {
        let data = self.config.data.clone();
        self.profiles.switch(&mut self.config, data, task);
    }
}

/// Which layers of a saved model keep their weights when fine-tuning from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FineTuneOptions {
    /// Freeze every layer but the new last one.
    pub freeze_all: bool,
    /// Otherwise freeze only this many first layers.
    pub freeze_first: usize,
}

impl Default for FineTuneOptions {
    fn default() -> Self {
        Self {
            freeze_all: true,
            freeze_first: 0,
        }
    }
}

impl FineTuneOptions {
    /// The layer count [`crate::train::finetune::freeze_first_layers`] takes.
    pub fn frozen_layers(&self) -> usize {
        if self.freeze_all {
            usize::MAX
        } else {
            self.freeze_first
        }
    }
}

/// Learning rates the slider spans.
const LR_RANGE: std::ops::RangeInclusive<f64> = 1e-5..=10.0;

/// The run's settings (no title: the 700 px a small window has are for them); returns
/// what the user asked for.
pub fn ui(ui: &mut Ui, settings: &mut Settings, session: &Session) -> Vec<Action> {
    let mut actions = Vec::new();
    // The network and data of a run are fixed while it exists; the rate is not.
    let locked = session.is_active();
    ui.add_enabled_ui(!locked, |ui| task_ui(ui, settings));
    ui.add_space(6.0);
    ui.add_enabled_ui(!locked, |ui| data_ui(ui, settings, &mut actions));
    ui.add_space(6.0);
    let config = &mut settings.config;
    ui.add_enabled_ui(!locked, |ui| network_ui(ui, config, session));
    ui.add_space(6.0);
    if let Some(lr) = learning_rate_ui(ui, &mut config.lr)
        && locked
    {
        actions.push(Action::SetLr(lr));
    }
    ui.add_enabled_ui(!locked, |ui| {
        optimizer_ui(ui, config);
        schedule_ui(ui, config);
        augment_ui(ui, config);
    });
    actions
}

/// The run's buttons and the model's, below the settings in a place of their own: the
/// settings above them change length (optimiser, schedule, data rows), the buttons never
/// move.
pub fn controls_ui(ui: &mut Ui, settings: &mut Settings, session: &Session) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.add_space(2.0);
    buttons_ui(ui, session, &mut actions);
    ui.add_space(4.0);
    ui.separator();
    model_ui(ui, settings, session, &mut actions);
    actions
}

fn model_ui(ui: &mut Ui, settings: &mut Settings, session: &Session, actions: &mut Vec<Action>) {
    let locked = session.is_active();
    let options = &mut settings.fine_tune;
    ui.label(RichText::new("Model").strong());
    ui.horizontal(|ui| {
        // Each radio is named by its own text ("best", "last"), not by the row's label.
        ui.label("Save/export weights");
        for (weights, name, hover) in [
            (Weights::Last, "last", "the weights of the last step"),
            (
                Weights::Best,
                "best",
                "the weights of the epoch with the lowest validation loss",
            ),
        ] {
            ui.radio_value(&mut settings.keep, weights, name)
                .on_hover_text(hover);
        }
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(session.has_network(), egui::Button::new("Save model..."))
            .clicked()
        {
            actions.push(Action::SaveModel);
        }
        if ui
            .add_enabled(!locked, egui::Button::new("Load model..."))
            .clicked()
        {
            actions.push(Action::LoadModel);
        }
    });
    // One row for both exports keeps the side panel short enough for 700 px windows.
    ui.horizontal(|ui| {
        let export = egui::Button::new("Export run...");
        if ui
            .add_enabled(session.has_network(), export)
            .on_hover_text(
                "config.json, model, metrics.csv and PNGs of the curves, weights and confusion",
            )
            .clicked()
        {
            actions.push(Action::ExportRun);
        }
        if ui
            .add_enabled(session.has_network(), egui::Button::new("Export ONNX..."))
            .on_hover_text(
                "The trained network as an ONNX file for ONNX Runtime, browsers and phones",
            )
            .clicked()
        {
            actions.push(Action::ExportOnnx);
        }
    });
    ui.add_enabled_ui(!locked, |ui| {
        if ui
            .button("Fine-tune from model...")
            .on_hover_text(
                "Start from a saved model's layers: its last layer is replaced for this \
                 data's classes and trained with the settings above.",
            )
            .clicked()
        {
            actions.push(Action::FineTune(options.frozen_layers()));
        }
        ui.horizontal(|ui| {
            ui.label("Freeze");
            ui.radio_value(&mut options.freeze_all, true, "all but last");
            ui.radio_value(&mut options.freeze_all, false, "first");
            ui.add_enabled(
                !options.freeze_all,
                DragValue::new(&mut options.freeze_first).range(0..=32),
            )
            .on_hover_text("layers (0: train every layer)");
        });
    });
}

/// `defaults` with the data (and its selection) and the seed of `config`: switching the
/// model loads its defaults but keeps what the user trains on.
fn keep_data(config: &RunConfig, defaults: RunConfig) -> RunConfig {
    RunConfig {
        seed: config.seed,
        ..defaults.on_data_of(config)
    }
}

/// Switching the task brings back its settings on this data (its defaults the first time).
fn task_ui(ui: &mut Ui, settings: &mut Settings) {
    ui.label(RichText::new("Task").strong());
    ui.horizontal(|ui| {
        for (task, name) in [
            (Task::Classify, "classifier"),
            (Task::Autoencode, "autoencoder"),
        ] {
            let selected = settings.config.task == task;
            if ui.radio(selected, name).clicked() && !selected {
                settings.choose_task(task);
            }
        }
    });
}

fn data_ui(ui: &mut Ui, settings: &mut Settings, actions: &mut Vec<Action>) {
    ui.label(RichText::new("Data").strong());
    ui.horizontal(|ui| {
        for (data, name, hover) in [
            (DataSource::Builtin, "builtin", "A-Z and 0-9, as NIST36"),
            (
                DataSource::BuiltinMixedCase,
                "builtin62",
                "A-Z, 0-9 and a-z",
            ),
        ] {
            let chosen = settings.config.data == data;
            if ui.radio(chosen, name).on_hover_text(hover).clicked() && !chosen {
                settings.choose_data(data);
            }
        }
        if ui
            .button("Open folder...")
            .on_hover_text(
                "NIST36 (nist36_{train,valid,test}.mat), CIFAR-10 batches \
                 (data_batch_1.bin ...) or one sub-folder of images per class",
            )
            .clicked()
        {
            actions.push(Action::PickDataFolder);
        }
    });
    let config = &mut settings.config;
    let folder = |dir: &std::path::Path| {
        dir.file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
    };
    match &mut config.data {
        DataSource::Builtin | DataSource::BuiltinMixedCase => {}
        DataSource::Nist36(dir) => {
            ui.label(format!("NIST36: {}", folder(dir)))
                .on_hover_text(dir.display().to_string());
        }
        DataSource::Cifar10(dir) => {
            ui.label(format!("CIFAR-10: {}", folder(dir)))
                .on_hover_text(dir.display().to_string());
        }
        DataSource::ImageFolder { path, side } => {
            ui.horizontal(|ui| {
                ui.label(format!("Images: {}", folder(path)))
                    .on_hover_text(path.display().to_string());
                ui.add(DragValue::new(side).range(8..=128).suffix(" px"))
                    .on_hover_text("side the images are resized to");
            });
        }
        DataSource::Toy(kind) => {
            ui.label(format!("toy: {} (see the Toy tab)", kind.name()));
        }
    }
    // Offered once corrections exist (the OCR tab ticks it when it adds some).
    let corrections = config
        .extra_train
        .clone()
        .or_else(|| corrections::default_folder().filter(|f| f.is_dir()));
    if let Some(folder) = corrections {
        let mut on = config.extra_train.is_some();
        if ui
            .checkbox(&mut on, "+ my corrected OCR crops")
            .on_hover_text(folder.display().to_string())
            .changed()
        {
            config.extra_train = on.then_some(folder);
        }
    }
    egui::Grid::new("selection")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            row(
                ui,
                "Classes",
                egui::TextEdit::singleline(&mut config.classes)
                    .hint_text("all (e.g. 0-9 or A,B,C)")
                    .desired_width(120.0),
            );
            row(
                ui,
                "Train per class",
                DragValue::new(&mut config.per_class)
                    .range(0..=100_000)
                    .custom_formatter(|v, _| {
                        if v == 0.0 {
                            "all".into()
                        } else {
                            format!("{v}")
                        }
                    }),
            );
        });
}

/// Switching to the layer list writes the network in use as its rows; switching to MLP
/// or CNN loads that model's defaults.
fn switch_model(c: &RunConfig, model: Model, session: &Session) -> RunConfig {
    let (input, classes) = super::gradcheck::input_of(c, session);
    match model {
        Model::Layers => c
            .as_layer_list(input, classes)
            .unwrap_or_else(|_| keep_data(c, RunConfig::for_model(model))),
        _ => keep_data(c, RunConfig::for_model(model)),
    }
}

fn network_ui(ui: &mut Ui, c: &mut RunConfig, session: &Session) {
    ui.label(RichText::new("Network").strong());
    if c.task == Task::Classify {
        ui.horizontal(|ui| {
            for (model, name) in [
                (Model::Mlp, "MLP"),
                (Model::Cnn, "CNN"),
                (Model::Layers, "Layers"),
            ] {
                if ui.radio(c.model == model, name).clicked() && c.model != model {
                    *c = switch_model(c, model, session);
                }
            }
        });
    }
    if c.task == Task::Classify && c.model == Model::Layers {
        super::network_editor::ui(ui, c, session);
    } else if c.task == Task::Classify && c.model == Model::Cnn {
        ui.weak("The course's CNN: conv 8 3x3, BN, ReLU, max-pool 2, conv 16 3x3, BN, ReLU, dense 48 sigmoid, dense per class.");
    } else {
        egui::Grid::new("network")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                row(
                    ui,
                    "Hidden units",
                    DragValue::new(&mut c.hidden).range(1..=1024),
                );
                row(
                    ui,
                    "Hidden layers",
                    DragValue::new(&mut c.depth).range(1..=4),
                );
                let label = ui.label("Activation");
                egui::ComboBox::from_id_salt("activation")
                    .selected_text(c.activation.name())
                    .show_ui(ui, |ui| {
                        for a in Activation::ALL {
                            ui.selectable_value(&mut c.activation, a, a.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
            });
    }
    ui.horizontal(|ui| {
        ui.label("Init");
        ui.radio_value(&mut c.init, Init::Xavier, "Xavier");
        ui.radio_value(&mut c.init, Init::Zero, "zero");
    });
}

/// A grid row: a label and the widget it names.
fn row(ui: &mut Ui, label: &str, widget: impl egui::Widget) {
    let label = ui.label(label);
    ui.add(widget).labelled_by(label.id);
    ui.end_row();
}

/// The rate as a number and on a log slider; returns the new rate once the user is done
/// changing it (at the end of a drag, not on every pixel of it).
fn learning_rate_ui(ui: &mut Ui, lr: &mut f64) -> Option<f64> {
    let (label, field) = ui
        .horizontal(|ui| {
            let label = ui.label(RichText::new("Learning rate").strong());
            let field = ui
                .add(
                    DragValue::new(lr)
                        .range(LR_RANGE)
                        .speed(0.0)
                        .update_while_editing(false)
                        .custom_formatter(|v, _| format!("{v:.1e}"))
                        .custom_parser(|s| s.trim().parse().ok()),
                )
                .labelled_by(label.id);
            (label, field)
        })
        .inner;
    let slider = rate_slider(ui, lr, label.id.with("slider centre")).labelled_by(label.id);
    let done = slider.drag_stopped() || (slider.changed() && !slider.dragged()) || field.changed();
    done.then_some(*lr)
}

/// Screen points of the rate slider per tenfold change of the rate.
pub const LR_DECADE_POINTS: f32 = 100.0;

/// A log slider across the panel around the rate (its value when a drag began, kept under
/// `centre_id` during the drag), a decade per [`LR_DECADE_POINTS`]: over the whole
/// [`LR_RANGE`] a pixel would be too coarse. Dragging again goes further.
fn rate_slider(ui: &mut Ui, lr: &mut f64, centre_id: egui::Id) -> egui::Response {
    let centre = ui.data(|d| d.get_temp::<f64>(centre_id)).unwrap_or(*lr);
    let width = ui.available_width();
    // The handle's travel is the rail less about one handle.
    let decades = f64::from((width - ui.spacing().interact_size.y) / LR_DECADE_POINTS);
    let half = 10f64.powf(decades / 2.0);
    let range = (centre / half).max(*LR_RANGE.start())..=(centre * half).min(*LR_RANGE.end());
    let slider = ui
        .scope(|ui| {
            ui.spacing_mut().slider_width = width;
            ui.add(Slider::new(lr, range).logarithmic(true).show_value(false))
        })
        .inner;
    if slider.dragged() {
        ui.data_mut(|d| d.insert_temp(centre_id, centre));
    } else {
        ui.data_mut(|d| d.remove::<f64>(centre_id));
    }
    slider
}

/// The optimiser and the settings of its rule, and the weight decay.
fn optimizer_ui(ui: &mut Ui, c: &mut RunConfig) {
    egui::Grid::new("optimizer")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let label = ui.label("Optimizer");
            egui::ComboBox::from_id_salt("optimizer")
                .selected_text(c.optimizer.name())
                .show_ui(ui, |ui| {
                    for kind in OptimizerKind::ALL {
                        ui.selectable_value(&mut c.optimizer, kind, kind.name());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            let unit = |v| Slider::new(v, 0.0..=0.999);
            match c.optimizer {
                OptimizerKind::Sgd => {}
                OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                    row(ui, "Momentum", Slider::new(&mut c.momentum, 0.0..=0.99));
                }
                OptimizerKind::Adam | OptimizerKind::AdamW => {
                    row(ui, "beta1", unit(&mut c.beta1));
                    row(ui, "beta2", unit(&mut c.beta2));
                }
                OptimizerKind::RmsProp => row(ui, "rho", unit(&mut c.rho)),
            }
            if matches!(
                c.optimizer,
                OptimizerKind::Adam | OptimizerKind::AdamW | OptimizerKind::RmsProp
            ) {
                row(ui, "eps", exponent_field(&mut c.eps, 1e-12..=1.0));
            }
            row(
                ui,
                "Weight decay",
                exponent_field(&mut c.weight_decay, 0.0..=1.0),
            );
        });
}

/// A number field shown as `1.0e-4`, for values that span decades.
fn exponent_field(value: &mut f64, range: std::ops::RangeInclusive<f64>) -> DragValue<'_> {
    DragValue::new(value)
        .range(range)
        .speed(0.0)
        .custom_formatter(|v, _| format!("{v:.1e}"))
        .custom_parser(|s| s.trim().parse().ok())
}

/// The rate schedule, its warm-up and early stopping.
fn rate_schedule_ui(ui: &mut Ui, c: &mut RunConfig) {
    let label = ui.label("Schedule");
    let mut kind = c.schedule.kind();
    egui::ComboBox::from_id_salt("schedule")
        .selected_text(kind)
        .show_ui(ui, |ui| {
            for k in Schedule::KINDS {
                ui.selectable_value(&mut kind, k, k);
            }
        })
        .response
        .labelled_by(label.id);
    ui.end_row();
    if kind != c.schedule.kind() {
        c.schedule = Schedule::of_kind(kind);
    }
    match &mut c.schedule {
        Schedule::Constant => {}
        Schedule::Step { every, gamma } => {
            row(
                ui,
                "every N epochs",
                DragValue::new(every).range(1..=10_000),
            );
            row(
                ui,
                "gamma",
                DragValue::new(gamma).range(0.01..=1.0).speed(0.01),
            );
        }
        Schedule::Exp { gamma } => {
            row(
                ui,
                "gamma",
                DragValue::new(gamma).range(0.5..=1.0).speed(0.001),
            );
        }
        Schedule::Cosine { floor } => row(
            ui,
            "floor",
            DragValue::new(floor).range(0.0..=1.0).speed(0.001),
        ),
    }
    row(
        ui,
        "Warm-up epochs",
        DragValue::new(&mut c.warmup).range(0..=1000),
    );
    row(
        ui,
        "Early stop",
        DragValue::new(&mut c.early_stop)
            .range(0..=1000)
            .custom_formatter(|v, _| {
                if v == 0.0 {
                    "off".into()
                } else {
                    format!("{v} epochs")
                }
            })
            .custom_parser(|s| s.trim().trim_end_matches("epochs").trim().parse().ok()),
    );
}

fn schedule_ui(ui: &mut Ui, c: &mut RunConfig) {
    egui::Grid::new("schedule")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            rate_schedule_ui(ui, c);
            if c.task == Task::Classify {
                label_smoothing_row(ui, c);
            }
            row(
                ui,
                "Batch size",
                DragValue::new(&mut c.batch).range(1..=4096),
            );
            row(
                ui,
                "Epochs",
                DragValue::new(&mut c.epochs).range(1..=100_000),
            );
            row(ui, "Seed", DragValue::new(&mut c.seed));
        });
}

/// Label smoothing, in a grid row (in the schedule's grid: its labels are as wide).
fn label_smoothing_row(ui: &mut Ui, c: &mut RunConfig) {
    let label = ui.label("Label smoothing");
    ui.add(
        DragValue::new(&mut c.label_smoothing)
            .range(0.0..=MAX_LABEL_SMOOTHING)
            .speed(0.005)
            .max_decimals(3),
    )
    .labelled_by(label.id)
    .on_hover_text(
        "Training targets give this share of their weight to all classes evenly, so the \
         network is not pushed towards certainty; validation and test keep their labels.",
    );
    ui.end_row();
}

/// The augmentation switches: the warp (off and greyed out for the toy sets, whose samples
/// are points) and touching letters (for classifiers of 32x32 characters only).
fn augment_ui(ui: &mut Ui, c: &mut RunConfig) {
    let images = !matches!(c.data, DataSource::Toy(_));
    ui.add_enabled_ui(images, |ui| {
        ui.checkbox(&mut c.augment, "Augment training images")
            .on_hover_text(
                "Warp every training image a little (rotation, shear, size, shift), afresh in \
                 every batch; validation and test images stay as they are.",
            )
            .on_disabled_hover_text("The toy sets' samples are 2-D points, not images.");
    });
    let characters = c.task == Task::Classify && c.data.is_characters();
    if !characters {
        c.touching = false;
    }
    ui.add_enabled_ui(characters, |ui| {
        ui.checkbox(&mut c.touching, "Train on touching letters")
            .on_hover_text(
                "A share of training images get a neighbour drawn over an edge and are cut off \
                 it as the OCR cuts touching letters; a few are the pair read whole, which the \
                 classifier learns to be unsure of. Then the OCR can tell a wide letter from two \
                 that touch.",
            )
            .on_disabled_hover_text("For classifiers of 32x32 characters only.");
    });
}

/// Train, Pause or Resume, Step / Stop, Reset on a fixed grid of equal buttons, so that
/// none moves when another changes.
fn buttons_ui(ui: &mut Ui, session: &Session, actions: &mut Vec<Action>) {
    let phase = &session.phase;
    let running = *phase == Phase::Training;
    let paused = matches!(phase, Phase::Paused | Phase::Diverged);
    let active = session.is_active();
    ui.columns(3, |cols| {
        let train = RichText::new("Train").strong();
        control(&mut cols[0], train, !active, Action::Train, actions);
        if paused {
            control(&mut cols[1], "Resume", true, Action::Resume, actions);
        } else {
            control(&mut cols[1], "Pause", running, Action::Pause, actions);
        }
        control(&mut cols[2], "Step", paused, Action::Step, actions)
            .on_hover_text("train one batch");
    });
    ui.columns(3, |cols| {
        control(&mut cols[0], "Stop", active, Action::Stop, actions);
        control(&mut cols[1], "Reset", true, Action::Reset, actions);
    });
}

/// A button as wide as its column that asks for `action` when clicked.
fn control(
    ui: &mut Ui,
    text: impl Into<egui::WidgetText>,
    enabled: bool,
    action: Action,
    actions: &mut Vec<Action>,
) -> egui::Response {
    let size = egui::vec2(ui.available_width(), ui.spacing().interact_size.y);
    let response = ui.add_enabled(enabled, egui::Button::new(text).min_size(size));
    if response.clicked() {
        actions.push(action);
    }
    response
}
