//! Weight history: the per-epoch records of a run (first-layer weights, validation
//! confusion, histograms of every tensor's values and gradients), an epoch slider that
//! replays them in the Weights and Confusion tabs, and the histogram panel.

use super::confusion::ConfusionView;
use super::session::Session;
use super::weights::{WeightOptions, WeightsView};
use crate::train::worker::{EpochRecord, Histogram};
use eframe::egui;
use egui::{Color32, Rect, RichText, Sense, Ui, Vec2};
use std::sync::Arc;

/// Most records kept: a longer run keeps every other one, then every fourth, ... so the
/// kept epochs stay evenly spread and memory stays bounded.
pub const KEPT: usize = 32;

pub struct EpochHistory {
    /// (number of the record in the run, 0-based; record): those on the stride and the newest.
    records: Vec<(usize, Arc<EpochRecord>)>,
    /// Records pushed so far.
    pushed: usize,
    /// Every `stride`-th record is kept.
    stride: usize,
    /// The epoch the slider replays; `None` follows the run live.
    pub replay: Option<usize>,
}

impl Default for EpochHistory {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            pushed: 0,
            stride: 1,
            replay: None,
        }
    }
}

impl EpochHistory {
    pub fn push(&mut self, record: Arc<EpochRecord>) {
        let stride = self.stride;
        if self.records.last().is_some_and(|(n, _)| n % stride != 0) {
            self.records.pop(); // it was only kept as the newest
        }
        self.records.push((self.pushed, record));
        self.pushed += 1;
        if self.records.len() > KEPT {
            self.stride *= 2;
            let (stride, newest) = (self.stride, self.pushed - 1);
            self.records
                .retain(|(n, _)| n % stride == 0 || *n == newest);
        }
    }

    pub fn records(&self) -> impl DoubleEndedIterator<Item = &Arc<EpochRecord>> {
        self.records.iter().map(|(_, r)| r)
    }

    /// The record replayed now (the newest kept one at or before the slider's epoch), or
    /// `None` when following the run live.
    pub fn replayed(&self) -> Option<&Arc<EpochRecord>> {
        let epoch = self.replay?;
        self.records()
            .rev()
            .find(|r| r.weights.epoch <= epoch)
            .or_else(|| self.records().next())
    }

    fn last_epoch(&self) -> usize {
        self.records.last().map_or(0, |(_, r)| r.weights.epoch)
    }
}

/// The Weights tab: the epoch slider, the weight tiles of the chosen epoch and, below,
/// that epoch's histograms.
pub fn weights_tab(
    ui: &mut Ui,
    session: &mut Session,
    view: &mut WeightsView,
    options: &mut WeightOptions,
) {
    let replayed = epoch_slider(ui, &mut session.epochs).cloned();
    let shown = replayed
        .clone()
        .or_else(|| session.epochs.records().next_back().cloned());
    egui::Panel::bottom("histograms")
        .resizable(true)
        .min_size(140.0)
        .show(ui, |ui| histograms_ui(ui, shown.as_ref()));
    let current = replayed
        .as_ref()
        .map(|r| &r.weights)
        .or(session.weights.as_ref());
    view.ui(ui, session.initial_weights.as_ref(), current, options);
}

/// The Confusion tab with the epoch slider: the matrix of the chosen epoch.
pub fn confusion_tab(ui: &mut Ui, session: &mut Session, view: &mut ConfusionView) {
    let replayed = epoch_slider(ui, &mut session.epochs).cloned();
    let validation = replayed
        .as_ref()
        .and_then(|r| r.validation.as_ref())
        .or(session.validation.as_ref());
    view.ui(ui, validation, session.data.as_ref().map(|d| &d.valid));
}

/// The epoch slider; returns the record to show instead of the live one, if any.
pub fn epoch_slider<'a>(
    ui: &mut Ui,
    history: &'a mut EpochHistory,
) -> Option<&'a Arc<EpochRecord>> {
    let last = history.last_epoch();
    if last == 0 {
        return None;
    }
    ui.horizontal(|ui| {
        let mut epoch = history.replay.unwrap_or(last).min(last);
        let label = ui.label("Replay epoch");
        let slider = ui
            .add(egui::Slider::new(&mut epoch, 1..=last))
            .labelled_by(label.id)
            .on_hover_text(format!(
                "{} of {last} epochs kept; a long run keeps them evenly spread",
                history.records.len()
            ));
        if slider.changed() {
            history.replay = (epoch < last).then_some(epoch);
        }
        if history.replay.is_some() {
            if ui.button("Live").clicked() {
                history.replay = None;
            }
        } else {
            ui.weak("(live)");
        }
    });
    history.replayed()
}

/// Histograms of every tensor's values and of the epoch's last-batch gradient.
pub fn histograms_ui(ui: &mut Ui, record: Option<&Arc<EpochRecord>>) {
    let Some(record) = record else {
        ui.weak("Histograms of each layer's weights and gradients appear after the first epoch.");
        return;
    };
    ui.label(
        RichText::new(format!(
            "Epoch {}: values and last-batch gradients of each tensor",
            record.weights.epoch
        ))
        .strong(),
    );
    // Two tensors per row (a layer's weight beside its bias) where they fit, else one.
    const TENSOR_WIDTH: f32 = 520.0;
    let per_row = if ui.available_width() >= 2.0 * TENSOR_WIDTH {
        2
    } else {
        1
    };
    egui::ScrollArea::vertical()
        .id_salt("histograms")
        .show(ui, |ui| {
            egui::Grid::new("histogram-grid")
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    for (i, h) in record.histograms.iter().enumerate() {
                        if i % per_row == 0 && i > 0 {
                            ui.end_row();
                        }
                        ui.label(&h.name);
                        histogram_ui(ui, &h.values, Color32::from_rgb(70, 140, 230), "values");
                        histogram_ui(
                            ui,
                            &h.gradients,
                            Color32::from_rgb(200, 90, 200),
                            "gradients",
                        );
                    }
                });
        });
}

/// Bars of `h` with its range written under them.
fn histogram_ui(ui: &mut Ui, h: &Histogram, colour: Color32, what: &str) {
    ui.vertical(|ui| {
        let (rect, response) = ui.allocate_exact_size(Vec2::new(180.0, 36.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let top = h.counts.iter().copied().max().unwrap_or(0).max(1) as f32;
        let bar = rect.width() / h.counts.len().max(1) as f32;
        for (i, &count) in h.counts.iter().enumerate() {
            let height = rect.height() * count as f32 / top;
            let x = rect.left() + i as f32 * bar;
            let r =
                Rect::from_x_y_ranges(x..=x + bar - 1.0, rect.bottom() - height..=rect.bottom());
            painter.rect_filled(r, 0.0, colour);
        }
        let hi = h.lo + h.width * h.counts.len() as f64;
        let range = format!("{what} {:.3} .. {:.3}", h.lo, hi);
        response.on_hover_text(format!(
            "{range}\n{} values",
            h.counts.iter().sum::<usize>()
        ));
        ui.small(range);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::worker::WeightSnapshot;
    use ndarray::Array2;

    fn record(epoch: usize) -> Arc<EpochRecord> {
        Arc::new(EpochRecord {
            weights: Arc::new(WeightSnapshot {
                epoch,
                weights: Array2::zeros((1, 1)),
                kernel_channels: None,
            }),
            validation: None,
            histograms: Vec::new(),
        })
    }

    #[test]
    fn a_long_run_keeps_a_bounded_evenly_spread_history_with_the_newest_epoch() {
        let mut h = EpochHistory::default();
        for e in 1..=1000 {
            h.push(record(e));
        }
        let epochs: Vec<usize> = h.records().map(|r| r.weights.epoch).collect();
        assert!(epochs.len() <= KEPT, "{epochs:?}");
        assert!(epochs.len() >= KEPT / 2, "{epochs:?}");
        assert_eq!(epochs.first(), Some(&1));
        assert_eq!(epochs.last(), Some(&1000));
        let gaps: Vec<usize> = epochs.windows(2).map(|w| w[1] - w[0]).collect();
        let inner = &gaps[..gaps.len() - 1];
        assert!(
            inner.iter().all(|&g| g == inner[0]),
            "even spacing before the newest: {gaps:?}"
        );
    }

    #[test]
    fn replay_picks_the_newest_kept_epoch_at_or_before_the_slider() {
        let mut h = EpochHistory::default();
        for e in [1, 3, 5] {
            h.push(record(e));
        }
        assert!(h.replayed().is_none(), "live by default");
        h.replay = Some(4);
        assert_eq!(h.replayed().unwrap().weights.epoch, 3);
        h.replay = Some(1);
        assert_eq!(h.replayed().unwrap().weights.epoch, 1);
    }
}
