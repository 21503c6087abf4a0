//! What the window knows about the current run, built only from the worker's events.

use super::series::BoundedSeries;
use crate::data::{PIXELS, Splits};
use crate::nn::SavedModel;
use crate::train::protocol::{
    Ending, EpochRecord, Event, Progress, ReconstructionSnapshot, ValidationSnapshot,
    WeightSnapshot,
};
use crate::train::{EpochStats, RunConfig};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// No run yet (or after Reset).
    Idle,
    Loading(String),
    Training,
    Paused,
    Diverged,
    Finished(Ending),
}

/// A message shown prominently in the window.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Error(String),
    Warning(String),
    Info(String),
}

/// Per-epoch curves of one run: the data the curve plots are fed.
#[derive(Default)]
pub struct Curves {
    pub train_loss: BoundedSeries,
    pub valid_loss: BoundedSeries,
    pub train_acc: BoundedSeries,
    pub valid_acc: BoundedSeries,
    /// Autoencoder only: mean validation PSNR (dB).
    pub valid_psnr: BoundedSeries,
    /// Loss of single batches (noisy; where smoothing helps most).
    pub batch_loss: BoundedSeries,
    /// Learning-rate changes: (position on the epoch axis, new rate).
    pub lr_changes: Vec<(f64, f64)>,
    /// The scheduled rate as training went (at every progress report).
    pub lr: BoundedSeries,
}

impl Curves {
    fn add_epoch(&mut self, s: &EpochStats) {
        let x = s.epoch as f64;
        self.train_loss.push(x, s.train_loss);
        self.valid_loss.push(x, s.valid_loss);
        self.train_acc.push(x, s.train_acc);
        self.valid_acc.push(x, s.valid_acc);
        if let Some(psnr) = s.valid_psnr {
            self.valid_psnr.push(x, psnr);
        }
    }
}

pub struct Session {
    pub phase: Phase,
    pub notice: Option<Notice>,
    pub config: Option<RunConfig>,
    pub network: String,
    pub data: Option<Arc<Splits>>,
    pub progress: Option<Progress>,
    /// Every finished epoch (for the CSV export).
    pub history: Vec<EpochStats>,
    pub curves: Curves,
    pub initial_weights: Option<Arc<WeightSnapshot>>,
    pub weights: Option<Arc<WeightSnapshot>>,
    pub validation: Option<Arc<ValidationSnapshot>>,
    pub reconstructions: Option<Arc<ReconstructionSnapshot>>,
    /// Per-epoch records for the weight-history views.
    pub epochs: EpochHistory,
    /// The latest copy of the whole network.
    pub model: Option<Arc<SavedModel>>,
    /// What the phase was before data began loading: a run that cannot start goes back to it.
    before_loading: Option<Phase>,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            notice: None,
            config: None,
            network: String::new(),
            data: None,
            progress: None,
            history: Vec::new(),
            curves: Curves::default(),
            initial_weights: None,
            weights: None,
            validation: None,
            reconstructions: None,
            epochs: EpochHistory::default(),
            model: None,
            before_loading: None,
        }
    }
}

impl Session {
    /// True while a network exists that can be paused, stepped or stopped.
    pub fn is_active(&self) -> bool {
        matches!(
            self.phase,
            Phase::Loading(_) | Phase::Training | Phase::Paused | Phase::Diverged
        )
    }

    pub fn has_network(&self) -> bool {
        self.weights.is_some() || self.initial_weights.is_some()
    }

    /// A fresh session (the notice of the last run is cleared).
    pub fn restart(&mut self) {
        *self = Self::default();
    }

    /// Follows the worker. The last run stays until a new one has started: a run that
    /// cannot start (a bad setting, an unreadable model) leaves it in place.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Loading(name) => {
                if !matches!(self.phase, Phase::Loading(_)) {
                    self.before_loading = Some(self.phase.clone());
                }
                self.phase = Phase::Loading(name);
            }
            Event::Started {
                data,
                network,
                config,
                initial,
            } => {
                self.restart();
                self.phase = Phase::Training;
                self.data = Some(data);
                self.network = network;
                self.config = Some(*config);
                self.weights = Some(initial.clone());
                self.initial_weights = Some(initial);
            }
            Event::Progress(p) => self.add_progress(p),
            Event::LrChanged { lr, position } => {
                self.curves.lr_changes.push((position, lr));
                if let Some(c) = &mut self.config {
                    c.lr = lr;
                }
            }
            Event::Weights(w) => self.weights = Some(w),
            Event::Validation(v) => self.validation = Some(v),
            Event::Reconstructions(r) => self.reconstructions = Some(r),
            Event::Model(m) => self.model = Some(m),
            Event::Paused => {
                if self.phase != Phase::Diverged {
                    self.phase = Phase::Paused;
                }
            }
            Event::Resumed => {
                self.phase = Phase::Training;
                self.notice = None;
            }
            Event::Finished(ending) => self.phase = Phase::Finished(ending),
            Event::Diverged {
                epoch,
                batch,
                loss,
                lr,
                rolled_back_to,
            } => {
                self.phase = Phase::Diverged;
                let back_to = match rolled_back_to {
                    0 => "its weights before the first batch".to_string(),
                    e => {
                        format!("its weights at the end of epoch {e} (the lowest validation loss)")
                    }
                };
                self.notice = Some(Notice::Warning(format!(
                    "Training diverged in epoch {epoch}, batch {batch}: the loss became {loss:.3e} with \
                     learning rate {lr}. The network went back to {back_to}, with their optimiser \
                     state, and is paused. Try a lower learning rate (e.g. {:.0e}) and Resume, or Reset.",
                    lr / 10.0
                )));
            }
            Event::StoppedLearning { epoch, reason, lr } => {
                self.phase = Phase::Paused;
                self.notice = Some(Notice::Warning(format!(
                    "Training stopped learning after epoch {epoch}: {reason}. Training is paused. \
                     Try a lower learning rate (e.g. {:.0e}; or a lower momentum) and Resume, or Reset \
                     (with zero initialisation every hidden unit stays the same: choose another).",
                    lr / 10.0
                )));
            }
            Event::Saved(path) => {
                self.notice = Some(Notice::Info(format!("saved {}", path.display())))
            }
            Event::Epoch(record) => self.epochs.push(record),
            // Each rate of a sweep is a run of its own here; the sweep view keeps them all.
            Event::SweepMember { .. } => self.restart(),
            Event::Error(message) => {
                if matches!(self.phase, Phase::Loading(_)) {
                    self.phase = self.before_loading.take().unwrap_or(Phase::Idle);
                }
                self.notice = Some(Notice::Error(message));
            }
        }
    }

    fn add_progress(&mut self, mut p: Progress) {
        if p.batch_loss.is_finite() {
            self.curves.batch_loss.push(p.position, p.batch_loss);
        }
        self.curves.lr.push(p.position, p.lr);
        for s in p.epoch_done.drain(..) {
            self.curves.add_epoch(&s);
            self.history.push(s);
        }
        self.progress = Some(p);
    }

    /// The run's network if it classifies 32x32 letters (the draw tab reads with it).
    pub fn letter_model(&self) -> Option<Arc<SavedModel>> {
        self.model
            .clone()
            .filter(|m| m.net.spec().input.len() == PIXELS && !m.classes.is_empty())
    }

    pub fn note_result(&mut self, what: &str, result: anyhow::Result<PathBuf>) {
        self.notice = Some(match result {
            Ok(path) => Notice::Info(format!("{what} {}", path.display())),
            Err(e) => Notice::Error(format!("{e:#}")),
        });
    }
}

/// Most records kept: a longer run keeps every other one, then every fourth, ... so the
/// kept epochs stay evenly spread and memory stays bounded.
pub const KEPT: usize = 32;

/// The per-epoch records of a run (first-layer weights, validation confusion, histograms
/// of every tensor's values and gradients) that the Weights and Confusion tabs replay.
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

    pub fn last_epoch(&self) -> usize {
        self.records.last().map_or(0, |(_, r)| r.weights.epoch)
    }

    /// How many records are kept.
    pub fn kept(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::protocol::WeightSnapshot;
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
            health: Vec::new(),
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
