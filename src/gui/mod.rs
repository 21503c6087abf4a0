//! The desktop lab: a side panel with the run settings, tabs with the curves, the
//! first layer's weights, the confusion matrix and the autoencoder's reconstructions,
//! and a status line. Training runs on
//! the worker thread of [`crate::train::worker`]; the window only sends commands and
//! draws the events it gets back.

/// The tabs of the central area in the tab bar's order, one line each: the [`Tab`] variant,
/// its title, its `--tab` name, and its panel (the field of `app::TabPanels` and the type,
/// which implements [`tab::TabPanel`]). Hands the list to the macro `$then`, which builds
/// the `Tab` table (settings.rs) or the panels (app.rs) from it. A new tab is its panel's
/// file plus one line here.
macro_rules! with_tabs {
    ($then:ident) => {
        $then! {
            Curves, "Curves", "curves", curves: $crate::gui::curves::CurvesPanel;
            Weights, "Weights", "weights", weights: $crate::gui::weights::WeightsView;
            Confusion, "Confusion", "confusion", confusion: $crate::gui::confusion::ConfusionView;
            Layers, "Layers", "layers", layers: $crate::gui::layers::LayersPanel;
            Health, "Health", "health", health: $crate::gui::health::HealthView;
            Sweep, "Sweep", "sweep", sweep: $crate::gui::sweep::SweepView;
            Autoencoder, "Autoencoder", "autoencoder", autoencoder: $crate::gui::autoencoder::AutoencoderView;
            Ocr, "OCR", "ocr", ocr: $crate::gui::ocr::OcrPanel;
            Draw, "Draw", "draw", draw: $crate::gui::draw::DrawPanel;
            GradCheck, "Gradient check", "gradient-check", gradcheck: $crate::gui::gradcheck::GradCheckPanel;
            Toy, "Toy", "toy", toy: $crate::gui::toy::ToyPanel;
        }
    };
}

mod app;
pub mod autoencoder;
pub mod capture;
pub mod confusion;
pub mod curves;
pub mod dialog;
pub mod draw;
pub mod gradcheck;
pub mod health;
pub mod job;
pub mod layers;
pub mod network_editor;
pub mod ocr;
mod palette;
pub mod profiles;
pub mod runs;
mod screenshot;
pub mod series;
pub mod session;
pub mod settings;
pub mod status;
pub mod sweep;
pub mod tab;
pub mod toy;
pub mod weights;

pub use app::LabApp;
pub use screenshot::ScreenshotPlan;
pub use settings::{Settings, Tab};

use anyhow::{Result, anyhow, bail};
use eframe::egui;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// What the user asked for in a panel; [`LabApp`] carries it out.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Train,
    Pause,
    Resume,
    Step,
    Stop,
    Reset,
    SetLr(f64),
    PickDataFolder,
    /// Read a photo of handwriting in the OCR tab.
    OpenPhoto,
    SaveModel,
    /// Write the trained network as an ONNX file.
    ExportOnnx,
    LoadModel,
    /// Fine-tune a saved model, freezing this many first layers.
    FineTune(usize),
    ExportCsv,
    SavePlot,
    ExportRun,
    /// Open an exported run folder to compare it in the Curves tab.
    OpenRun,
    /// Train the current settings once per rate.
    Sweep(Vec<f64>),
    /// Make the last sweep's network of this rate (index) the current run.
    AdoptSweepMember(usize),
    /// Follow this sample through the network in the Layers tab.
    Inspect(layers::Sample),
}

/// Opens the window (reading `photo` in the OCR tab if given); with a plan, trains, saves
/// a screenshot and closes.
pub fn run(plan: Option<ScreenshotPlan>, photo: Option<PathBuf>) -> Result<ExitCode> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("nnlab")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    if let Some(p) = &plan
        && p.path.exists()
    {
        std::fs::remove_file(&p.path)
            .map_err(|e| anyhow!("{}: cannot replace it: {e}", p.path.display()))?;
    }
    let pilot_plan = plan.clone();
    let failure = Arc::new(Mutex::new(None));
    let pilot_failure = failure.clone();
    eframe::run_native(
        "nnlab",
        options,
        Box::new(move |cc| {
            let app = match pilot_plan {
                Some(plan) => LabApp::new(Settings::default(), Box::new(dialog::NativeDialog))
                    .with_autopilot(screenshot::Autopilot::new(plan, pilot_failure)),
                None => {
                    let settings = cc
                        .storage
                        .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                        .unwrap_or_default();
                    LabApp::new(settings, Box::new(dialog::NativeDialog))
                }
            };
            Ok(Box::new(app.with_photo(photo)))
        }),
    )
    .map_err(|e| anyhow!("could not open the window: {e}"))?;
    if let Some(message) = failure.lock().ok().and_then(|f| f.clone()) {
        bail!("{message}");
    }
    if let Some(p) = plan
        && !p.path.exists()
    {
        bail!("no screenshot was saved to {}", p.path.display());
    }
    Ok(ExitCode::SUCCESS)
}
