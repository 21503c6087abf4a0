//! The gradient-check tab: back-propagation of the side panel's network against central
//! differences, in f64, on a small random batch, on a background thread so the window
//! never waits for it.

use super::job::Job;
use super::session::Session;
use super::tab::{TabContext, TabPanel};
use crate::data::{DataSource, PIXELS, nist36_classes};
use crate::nn::gradcheck::{GradCheckReport, TensorCheck, check_gradient_sample};
use crate::nn::{Layer, Network, Shape};
use crate::train::{RunConfig, Task};
use anyhow::Result;
use eframe::egui;
use egui::{Color32, RichText, Ui};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Samples in the random batch.
const BATCH: usize = 4;
/// Entries checked per tensor (a convolution net's full check would take minutes).
const ENTRIES_PER_TENSOR: usize = 40;
/// Step of the central difference.
const EPS: f64 = 1e-6;
const PASS: Color32 = Color32::from_rgb(0, 150, 60);
const FAIL: Color32 = Color32::from_rgb(220, 50, 40);

/// A finished check.
pub struct Checked {
    /// The network checked and the layer label of each tensor.
    pub network: String,
    pub layers: Vec<String>,
    pub report: GradCheckReport,
}

#[derive(Default)]
pub struct GradCheckPanel {
    running: Option<Job<Checked>>,
    pub result: Option<Result<Checked, String>>,
}

/// The input shape and class count the check uses: the loaded data's, a toy set's, or
/// else 32x32 letters.
pub(crate) fn input_of(config: &RunConfig, session: &Session) -> (Shape, usize) {
    if let Some(d) = &session.data {
        return (d.train.shape, d.train.classes.len());
    }
    if let DataSource::Toy(kind) = config.data {
        return (Shape::flat(2), kind.class_count());
    }
    (Shape::default(), nist36_classes().len())
}

/// Checks `config`'s network on a random batch of `BATCH` inputs of `input` shape.
pub fn check(config: &RunConfig, input: Shape, classes: usize) -> Result<Checked> {
    let spec = config.network_spec(input, classes)?;
    let mut net = Network::<f64>::new(spec.clone(), config.init, config.seed)?;
    for layer in net.layers_mut() {
        if let Layer::Dropout(d) = layer {
            // The same mask on every forward pass, else the loss is not one function.
            d.hold_mask = true;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let x = Array2::from_shape_simple_fn((BATCH, input.len()), || rng.random_range(0.0..1.0));
    let target = match config.task {
        Task::Classify => Array2::from_shape_fn((BATCH, classes), |(i, c)| {
            f64::from(u8::from(c == (i * 7 + 3) % classes))
        }),
        Task::Autoencode => x.clone(),
    };
    let report = check_gradient_sample(
        &mut net,
        config.loss(),
        x.view(),
        target.view(),
        EPS,
        ENTRIES_PER_TENSOR,
        config.seed,
    );
    Ok(Checked {
        network: spec.describe(),
        layers: spec.layers.iter().map(|l| l.label()).collect(),
        report,
    })
}

impl GradCheckPanel {
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Runs the check on a background thread.
    pub fn start(&mut self, ctx: &egui::Context, config: RunConfig, session: &Session) {
        let (input, classes) = input_of(&config, session);
        self.running = Some(Job::spawn(ctx, "the gradient check", move || {
            check(&config, input, classes).map_err(|e| format!("{e:#}"))
        }));
    }

    fn show(&mut self, ui: &mut Ui, config: &RunConfig, session: &Session) {
        if let Some(outcome) = self.running.as_ref().and_then(Job::poll) {
            self.running = None;
            self.result = Some(outcome);
        }
        let (input, classes) = input_of(config, session);
        ui.label(format!(
            "Compares back-propagation with central differences (f64, step {EPS:.0e}) for the \
             network in the side panel, on {BATCH} random inputs of {} values and {classes} classes, \
             at up to {ENTRIES_PER_TENSOR} random entries per parameter tensor.",
            if input.len() == PIXELS {
                "32x32".to_string()
            } else {
                input.len().to_string()
            }
        ));
        ui.horizontal(|ui| {
            let button = egui::Button::new("Check gradients");
            if ui.add_enabled(self.running.is_none(), button).clicked() {
                self.start(ui.ctx(), config.clone(), session);
            }
            if self.running.is_some() {
                ui.spinner();
            }
        });
        ui.add_space(8.0);
        match &self.result {
            None => {}
            Some(Err(message)) => {
                ui.colored_label(FAIL, message.as_str());
            }
            Some(Ok(checked)) => result_ui(ui, checked),
        }
    }
}

fn result_ui(ui: &mut Ui, checked: &Checked) {
    ui.label(RichText::new(&checked.network).monospace());
    ui.add_space(4.0);
    egui::Grid::new("gradcheck")
        .num_columns(4)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for title in ["tensor", "layer", "relative error", ""] {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for t in &checked.report.tensors {
                ui.label(RichText::new(&t.name).monospace());
                ui.label(layer_name(checked, t));
                ui.label(format!("{:.2e}", t.relative_error))
                    .on_hover_text(format!("absolute error {:.2e}", t.absolute_error));
                if t.relative_error < GradCheckReport::TOLERANCE {
                    ui.colored_label(PASS, "pass");
                } else if t.passed() {
                    ui.colored_label(PASS, "pass (zero gradient)")
                        .on_hover_text(format!(
                            "The gradient is zero (e.g. a bias right before batch norm): the \
                         absolute error {:.1e} is below the central difference's rounding noise \
                         {:.0e}, so the relative error compares noise with noise.",
                            t.absolute_error,
                            TensorCheck::NOISE
                        ));
                } else {
                    ui.colored_label(FAIL, "FAIL");
                }
                ui.end_row();
            }
        });
    ui.add_space(6.0);
    let failing: Vec<String> = checked
        .report
        .tensors
        .iter()
        .filter(|t| !t.passed())
        .map(|t| format!("layer {} ({})", t.layer, layer_name(checked, t)))
        .collect();
    if failing.is_empty() {
        ui.colored_label(
            PASS,
            format!(
                "Every tensor passes (relative error below {:.0e}).",
                GradCheckReport::TOLERANCE
            ),
        );
    } else {
        let mut failing = failing;
        failing.dedup();
        ui.colored_label(
            FAIL,
            format!(
                "The backward pass of {} disagrees with the numerical gradient (relative error \
                 above {:.0e}).",
                failing.join(", "),
                GradCheckReport::TOLERANCE
            ),
        );
    }
}

fn layer_name<'a>(checked: &'a Checked, t: &TensorCheck) -> &'a str {
    checked.layers.get(t.layer).map_or("?", String::as_str)
}

impl TabPanel for GradCheckPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        self.show(ui, &cx.settings.config, cx.session);
    }
}
