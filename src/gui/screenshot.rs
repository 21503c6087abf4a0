//! The screenshot mode (`nnlab --screenshot PATH --tab curves --train-epochs 20`): the
//! real window trains a run with the default settings, shows a tab, saves a PNG of
//! itself and closes. It keeps `screenshots/` current and measures frame times.

use super::Action;
use super::LabApp;
use super::capture::Capture;
use super::draw::DrawPanel;
use super::session::{Notice, Phase};
use super::settings::Tab;
use super::sweep::parse_rates;
use crate::data::toy::ToyKind;
use crate::train::metrics::most_confused;
use crate::train::{RunConfig, Task};
use eframe::egui;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    pub tab: Tab,
    pub epochs: usize,
    /// The epoch the history slider replays in the picture (`None`: live).
    pub replay_epoch: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    Training,
    /// Waiting for the gradient check.
    Checking,
    /// Waiting for the OCR tab to read the photo given with `--open`.
    Reading,
    /// Frames left before capturing (textures upload, layout settles).
    Settling(u32),
    Capturing,
    Done,
}

pub struct Autopilot {
    plan: ScreenshotPlan,
    stage: Stage,
    capture: Capture,
    /// Set when the run or the capture failed (read after the window closed).
    failure: Arc<Mutex<Option<String>>>,
}

impl Autopilot {
    pub fn new(plan: ScreenshotPlan, failure: Arc<Mutex<Option<String>>>) -> Self {
        Self {
            plan,
            stage: Stage::Start,
            capture: Capture::default(),
            failure,
        }
    }

    /// Whether the training the plan asked for is over. A sweep gives the run before it
    /// back when it ends (none here, so the phase is idle again): its end is the sweep's.
    fn trained(&self, app: &LabApp) -> bool {
        if app.tabs.sweep.is_running() {
            return false;
        }
        self.plan.tab == Tab::Sweep
            || matches!(app.session.phase, Phase::Finished(_) | Phase::Diverged)
    }

    /// Advances the script by one frame; returns the actions a user would have taken.
    pub fn drive(&mut self, ctx: &egui::Context, app: &mut LabApp) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.stage {
            Stage::Start => {
                let settings = &mut app.settings;
                settings.tab = self.plan.tab;
                match self.plan.tab {
                    Tab::Autoencoder => settings.config = RunConfig::for_task(Task::Autoencode),
                    Tab::Toy => settings.config = RunConfig::toy(ToyKind::Spirals),
                    Tab::GradCheck => settings.config = RunConfig::cnn(),
                    _ => {}
                }
                settings.config.epochs = self.plan.epochs;
                self.stage = match self.plan.tab {
                    // These show the shipped model or no training at all.
                    Tab::Ocr => Stage::Reading,
                    Tab::Draw => {
                        draw_letter_a(&mut app.tabs.draw);
                        Stage::Settling(10)
                    }
                    Tab::GradCheck => {
                        app.tabs
                            .gradcheck
                            .start(ctx, settings.config.clone(), &app.session);
                        Stage::Checking
                    }
                    Tab::Sweep => {
                        let rates = parse_rates(&app.tabs.sweep.rates, settings.config.lr);
                        actions.push(Action::Sweep(rates.unwrap_or_default()));
                        Stage::Training
                    }
                    _ => {
                        actions.push(Action::Train);
                        Stage::Training
                    }
                };
            }
            Stage::Checking => {
                if !app.tabs.gradcheck.is_running() {
                    self.stage = Stage::Settling(10);
                }
            }
            Stage::Reading => {
                if !app.tabs.ocr.is_running() {
                    self.stage = Stage::Settling(10);
                }
            }
            Stage::Training => {
                let trained = self.trained(app);
                let session = &mut app.session;
                if let Some(Notice::Error(e)) = &session.notice {
                    // Still capture the window: it shows the message.
                    self.set_failure(e.clone());
                    self.stage = Stage::Settling(10);
                } else if trained {
                    if let Some(m) = session
                        .validation
                        .as_ref()
                        .and_then(|v| v.confusion.as_ref())
                    {
                        app.tabs.confusion.selected =
                            most_confused(m, 1).first().map(|&(t, p, _)| (t, p));
                    }
                    session.epochs.replay = self.plan.replay_epoch;
                    self.stage = Stage::Settling(10);
                }
            }
            Stage::Settling(0) => {
                self.capture.request(ctx, self.plan.path.clone(), None);
                self.stage = Stage::Capturing;
            }
            Stage::Settling(n) => self.stage = Stage::Settling(n - 1),
            Stage::Capturing => {
                for result in self.capture.finished() {
                    match result {
                        Ok(path) => {
                            eprintln!("saved {}", path.display());
                            self.stage = Stage::Done;
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                        Err(e) => {
                            self.set_failure(format!("{e:#}"));
                            self.stage = Stage::Done;
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                    }
                }
            }
            Stage::Done => {}
        }
        if self.stage != Stage::Done {
            // Keep frames coming while waiting for the worker or the capture.
            ctx.request_repaint();
        }
        actions
    }

    fn set_failure(&self, message: String) {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(message);
        }
    }
}

/// Three strokes of a capital A, with the saliency map on.
fn draw_letter_a(draw: &mut DrawPanel) {
    let p = egui::Pos2::new;
    draw.stroke(p(70.0, 245.0), p(140.0, 35.0));
    draw.stroke(p(140.0, 35.0), p(210.0, 245.0));
    draw.stroke(p(100.0, 165.0), p(180.0, 165.0));
    draw.show_saliency = true;
}
