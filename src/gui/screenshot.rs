//! The screenshot mode (`nnlab --screenshot PATH --tab curves --train-epochs 20`): the
//! real window trains a run with the default settings, shows a tab, saves a PNG of
//! itself and closes. It keeps `screenshots/` current and measures frame times.

use super::Action;
use super::capture::Capture;
use super::confusion::ConfusionView;
use super::session::{Notice, Phase, Session};
use super::settings::{Settings, Tab};
use super::sweep::{SweepView, parse_rates};
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

    /// Advances the script by one frame; returns the actions a user would have taken.
    pub fn drive(
        &mut self,
        ctx: &egui::Context,
        session: &mut Session,
        settings: &mut Settings,
        confusion: &mut ConfusionView,
        sweep: &SweepView,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.stage {
            Stage::Start => {
                if self.plan.tab == Tab::Autoencoder {
                    settings.config = RunConfig::for_task(Task::Autoencode);
                }
                settings.config.epochs = self.plan.epochs;
                settings.tab = self.plan.tab;
                actions.push(if self.plan.tab == Tab::Sweep {
                    Action::Sweep(parse_rates(&sweep.rates, settings.config.lr).unwrap_or_default())
                } else {
                    Action::Train
                });
                self.stage = Stage::Training;
            }
            Stage::Training => {
                if let Some(Notice::Error(e)) = &session.notice {
                    // Still capture the window: it shows the message.
                    self.set_failure(e.clone());
                    self.stage = Stage::Settling(10);
                } else if matches!(session.phase, Phase::Finished(_) | Phase::Diverged)
                    && !sweep.is_running()
                {
                    if let Some(m) = session
                        .validation
                        .as_ref()
                        .and_then(|v| v.confusion.as_ref())
                    {
                        confusion.selected = most_confused(m, 1).first().map(|&(t, p, _)| (t, p));
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
