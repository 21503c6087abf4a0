//! The Sweep tab: the current settings trained once per learning rate, each from the same
//! initial weights (same seed), one rate after another through the worker; the loss and
//! accuracy curves of all rates overlaid, coloured by rate, and a table of how each ended.
//! A diverged rate keeps its curves and is marked in the table.

use super::Action;
use super::palette::series_colour;
use super::runs::{OverlaidRun, overlay_ui};
use super::settings::CurveOptions;
use super::tab::{TabContext, TabPanel};
use crate::train::EpochStats;
use crate::train::protocol::{Ending, Event};
use eframe::egui;
use egui::{Color32, RichText, Ui};

/// One rate of the sweep and what it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub lr: f64,
    pub history: Vec<EpochStats>,
    /// The epoch in which the loss blew up.
    pub diverged_at: Option<usize>,
    pub ending: Option<Ending>,
}

impl Member {
    /// How the rate's run ended, for the table.
    pub fn result(&self) -> String {
        match (self.diverged_at, self.ending) {
            (Some(epoch), _) => format!("diverged at epoch {epoch}"),
            (None, Some(Ending::Completed)) => "completed".into(),
            (None, Some(Ending::Stopped)) => "stopped".into(),
            (None, None) => "training...".into(),
        }
    }
}

pub struct SweepView {
    /// The rates as typed: multiples of the current rate ("0.1x") or rates ("3e-3").
    pub rates: String,
    pub members: Vec<Member>,
    /// How many rates the sweep in progress has; 0 when none runs.
    planned: usize,
}

impl Default for SweepView {
    fn default() -> Self {
        Self {
            rates: "0.1x, 1x, 10x".into(),
            members: Vec::new(),
            planned: 0,
        }
    }
}

/// The rates in `text` (comma- or space-separated): `Nx` is N times `current`, a plain
/// number is a rate.
pub fn parse_rates(text: &str, current: f64) -> Result<Vec<f64>, String> {
    let rates = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let rate = match t.strip_suffix(['x', 'X']) {
                Some(factor) => factor.parse::<f64>().map(|f| f * current),
                None => t.parse::<f64>(),
            };
            rate.ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| format!("'{t}' is not a positive rate or multiple like 0.1x"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    if rates.is_empty() {
        return Err("list at least one rate, e.g. 0.1x, 1x, 10x".into());
    }
    Ok(rates)
}

impl SweepView {
    pub fn is_running(&self) -> bool {
        self.planned > 0
    }

    /// A sweep of `rates` rates begins; the last sweep's results are dropped.
    pub fn start(&mut self, rates: usize) {
        self.members.clear();
        self.planned = rates;
    }

    /// Another run replaced the sweep.
    pub fn cancel(&mut self) {
        self.planned = 0;
    }

    /// Follows the worker's events while a sweep runs.
    pub fn apply(&mut self, event: &Event) {
        if !self.is_running() {
            return;
        }
        match event {
            Event::SweepMember { lr, .. } => self.members.push(Member {
                lr: *lr,
                history: Vec::new(),
                diverged_at: None,
                ending: None,
            }),
            Event::Progress(p) => {
                if let Some(m) = self.training() {
                    m.history.extend(p.epoch_done.iter().cloned());
                }
            }
            Event::Diverged { epoch, .. } => {
                if let Some(m) = self.training() {
                    m.diverged_at = Some(*epoch);
                }
            }
            Event::Finished(ending) => {
                let Some(m) = self.training() else { return };
                m.ending = Some(*ending);
                let stopped_by_user = *ending == Ending::Stopped && m.diverged_at.is_none();
                if stopped_by_user || self.members.len() == self.planned {
                    self.planned = 0;
                }
            }
            Event::Error(_) => self.planned = 0,
            _ => {}
        }
    }

    /// The member being trained.
    fn training(&mut self) -> Option<&mut Member> {
        self.members.last_mut().filter(|m| m.ending.is_none())
    }

    /// The rate list and Sweep button, the result table and the overlaid curves.
    fn show(
        &mut self,
        ui: &mut Ui,
        current_lr: f64,
        can_start: bool,
        options: &CurveOptions,
        actions: &mut Vec<Action>,
    ) {
        ui.horizontal(|ui| {
            let label = ui.label("Rates");
            ui.add(egui::TextEdit::singleline(&mut self.rates).desired_width(180.0))
                .labelled_by(label.id)
                .on_hover_text("multiples of the current rate (0.1x) or rates (3e-3)");
            match parse_rates(&self.rates, current_lr) {
                Ok(rates) => {
                    let list: Vec<String> = rates.iter().map(|&r| format_rate(r)).collect();
                    let sweep = egui::Button::new(RichText::new("Run sweep").strong());
                    if ui
                        .add_enabled(can_start && !self.is_running(), sweep)
                        .clicked()
                    {
                        actions.push(Action::Sweep(rates));
                    }
                    ui.weak(format!("= {}", list.join(", ")));
                }
                Err(message) => {
                    ui.colored_label(Color32::from_rgb(220, 80, 80), message);
                }
            }
        });
        ui.weak(
            "Each rate trains the current settings from the same initial weights (same seed), \
             one rate after another.",
        );
        if self.is_running() {
            ui.label(format!(
                "training rate {} of {}",
                self.members.len(),
                self.planned
            ));
        }
        if self.members.is_empty() {
            return;
        }
        self.table_ui(ui, actions);
        self.plots_ui(ui, options);
    }

    fn table_ui(&self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let percent = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v));
        egui::Grid::new("sweep-table")
            .striped(true)
            .spacing([16.0, 4.0])
            .show(ui, |ui| {
                for title in ["rate", "epochs", "train acc", "valid acc", "result", ""] {
                    ui.label(RichText::new(title).strong());
                }
                ui.end_row();
                for i in self.by_rate() {
                    let m = &self.members[i];
                    let last = m.history.last();
                    ui.colored_label(series_colour(i), format!("rate {}", format_rate(m.lr)));
                    ui.label(m.history.len().to_string());
                    ui.label(percent(last.map(|s| s.train_acc)));
                    ui.label(percent(last.map(|s| s.valid_acc)));
                    ui.label(m.result());
                    let adopt = egui::Button::new("use this rate's network");
                    if ui
                        .add_enabled(!self.is_running() && m.ending.is_some(), adopt)
                        .on_hover_text(
                            "make it the current run: Curves, Draw, OCR and Save use it \
                             (the sweep leaves the run before it in place otherwise)",
                        )
                        .clicked()
                    {
                        actions.push(Action::AdoptSweepMember(i));
                    }
                    ui.end_row();
                }
            });
    }

    /// The members' indices by rate, lowest first.
    fn by_rate(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.members.len()).collect();
        order.sort_by(|&a, &b| self.members[a].lr.total_cmp(&self.members[b].lr));
        order
    }

    /// Loss and accuracy of every rate: train thin, valid bold, one colour per rate, the
    /// legend by rate.
    fn plots_ui(&self, ui: &mut Ui, options: &CurveOptions) {
        let order = self.by_rate();
        let names: Vec<String> = order
            .iter()
            .map(|&i| format_rate(self.members[i].lr))
            .collect();
        let runs: Vec<OverlaidRun> = order
            .iter()
            .zip(&names)
            .map(|(&i, name)| OverlaidRun {
                name,
                color: series_colour(i),
                history: &self.members[i].history,
            })
            .collect();
        overlay_ui(ui, "sweep", &runs, options.log_y, 0.0);
    }
}

/// A rate in the one format of the sweep's legend and table: `1e-4`, `2.5e-3`, `1e-1`.
pub fn format_rate(rate: f64) -> String {
    let text = format!("{rate:.2e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exponent}")
        }
        None => text,
    }
}

impl TabPanel for SweepView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        let idle = !cx.session.is_active();
        self.show(
            ui,
            cx.settings.config.lr,
            idle,
            &cx.settings.curves,
            cx.actions,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_multiples_of_the_current_rate_or_plain_numbers() {
        assert_eq!(
            parse_rates("0.5x, 2x 3e-3", 0.01).unwrap(),
            vec![0.005, 0.02, 3e-3]
        );
        assert!(
            parse_rates("1x, fast", 0.01)
                .unwrap_err()
                .contains("'fast'")
        );
        assert!(parse_rates("-1", 0.01).is_err(), "rates are positive");
        assert!(parse_rates(" , ", 0.01).is_err(), "an empty list");
    }

    #[test]
    fn rates_are_written_in_one_format_and_listed_by_value() {
        let texts: Vec<String> = [1e-4, 0.001, 0.0025, 0.01, 0.1, 10.0]
            .into_iter()
            .map(format_rate)
            .collect();
        assert_eq!(texts, ["1e-4", "1e-3", "2.5e-3", "1e-2", "1e-1", "1e1"]);
        let mut v = SweepView::default();
        v.start(3);
        for (index, lr) in [0.01, 1e-4, 0.001].into_iter().enumerate() {
            v.apply(&Event::SweepMember { index, lr });
            v.apply(&Event::Finished(Ending::Completed));
        }
        assert_eq!(v.by_rate(), [1, 2, 0], "1e-4, 1e-3, 1e-2");
    }

    #[test]
    fn a_diverged_rate_is_marked_and_the_sweep_goes_on() {
        let mut v = SweepView::default();
        v.start(2);
        v.apply(&Event::SweepMember { index: 0, lr: 10.0 });
        v.apply(&Event::Diverged {
            epoch: 3,
            batch: 2,
            loss: f64::NAN,
            lr: 10.0,
            rolled_back_to: 2,
        });
        v.apply(&Event::Finished(Ending::Stopped));
        assert!(v.is_running(), "a diverged rate does not end the sweep");
        v.apply(&Event::SweepMember { index: 1, lr: 0.1 });
        v.apply(&Event::Finished(Ending::Completed));
        assert!(!v.is_running());
        let results: Vec<String> = v.members.iter().map(Member::result).collect();
        assert_eq!(results, ["diverged at epoch 3", "completed"]);
    }

    #[test]
    fn stopping_ends_the_sweep() {
        let mut v = SweepView::default();
        v.start(3);
        v.apply(&Event::SweepMember { index: 0, lr: 0.1 });
        v.apply(&Event::Finished(Ending::Stopped));
        assert!(!v.is_running());
        assert_eq!(v.members[0].result(), "stopped");
    }
}
