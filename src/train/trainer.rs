//! The one training loop. It advances one mini-batch per [`Trainer::step`], so a caller
//! (the CLI's progress bar, the GUI's worker between two commands) decides the pace.

use super::health::{LayerHealth, layer_health};
use super::metrics::{mean_finite, psnr_rows};
use super::{RunConfig, Task};
use crate::data::augment::BatchWarper;
use crate::data::touching::TouchingLetters;
use crate::data::{Dataset, Splits};
use crate::nn::batches::{epoch_order, gather_rows};
use crate::nn::{Loss, Network, Optimizer, SavedModel, softmax_rows};
use anyhow::{Context, Result};
use ndarray::{Array2, ArrayView2, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Metrics of one finished epoch. Losses are per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_acc: f64,
    pub valid_loss: f64,
    pub valid_acc: f64,
    /// Autoencoder only: mean PSNR (dB) of the validation reconstructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_psnr: Option<f64>,
    pub lr: f64,
    pub seconds: f64,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Epoch in progress (1-based) and batch within it (1-based).
    pub epoch: usize,
    pub batch: usize,
    /// Loss of this batch per sample (NaN or infinite when training diverged).
    pub loss: f64,
    pub samples: usize,
    pub diverged: bool,
    /// Set when the step diverged: the epoch whose weights and optimiser state the network
    /// went back to (0: those before the first batch).
    pub rolled_back_to: Option<usize>,
    /// Set when this step finished an epoch.
    pub epoch_done: Option<EpochStats>,
    /// Set when early stopping ends the run after this step's epoch.
    pub stop_early: bool,
}

/// A batch whose loss is this many times the run's first batch loss counts as diverged:
/// a stable softmax keeps the loss finite long after the weights have blown up.
pub const DIVERGENCE_FACTOR: f64 = 100.0;

/// After this many batches a run whose mean training loss is not below its first batch's,
/// or a classifier of at least [`CHANCE_MIN_CLASSES`] classes whose training accuracy is
/// below [`CHANCE_FACTOR`] times chance, counts as stalled (a slow but healthy start, e.g.
/// a sigmoid network on a few hundred samples, can sit at its first loss for some epochs).
pub const JUDGED_AFTER_BATCHES: usize = 300;
pub const CHANCE_MIN_CLASSES: usize = 10;
pub const CHANCE_FACTOR: f64 = 1.5;

impl StepReport {
    /// True when this batch's loss was NaN, infinite or exploded; its update was not applied
    /// and the network went back to the last good weights ([`Trainer::last_good`]).
    pub fn diverged(&self) -> bool {
        self.diverged
    }
}

/// Loss and accuracy of a model on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    /// Network outputs (probabilities for a classifier, reconstructions for an autoencoder).
    pub outputs: Array2<f32>,
}

/// Which weights of a run Save and Export write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// Those of the last step.
    #[default]
    Last,
    /// Those of the epoch with the lowest validation loss so far.
    Best,
}

impl std::str::FromStr for Weights {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "last" => Ok(Self::Last),
            "best" => Ok(Self::Best),
            _ => Err(format!("unknown weights '{s}' (best, last)")),
        }
    }
}

/// The network of the epoch with the lowest validation loss, and its optimiser's state
/// (momentum, moment estimates), so training can go on from it as it would have.
#[derive(Clone, Debug)]
pub struct BestEpoch {
    pub epoch: usize,
    pub valid_loss: f64,
    pub net: Network<f32>,
    pub opt: Optimizer<f32>,
}

pub struct Trainer {
    pub config: RunConfig,
    pub net: Network<f32>,
    pub opt: Optimizer<f32>,
    /// Kept after every epoch that lowered the validation loss.
    pub best: Option<BestEpoch>,
    /// The network and optimiser before the first batch (epoch 0), the last good weights
    /// until an epoch has ended.
    start: BestEpoch,
    pub data: Arc<Splits>,
    pub history: Vec<EpochStats>,
    /// The layers' health at the end of each epoch of `history` (same order).
    pub health: Vec<Vec<LayerHealth>>,
    /// The validation split's outputs at the end of the last epoch (for per-epoch records
    /// without a second pass over the split).
    pub last_valid: Option<Evaluation>,
    loss: Loss,
    train_targets: Array2<f32>,
    rng: ChaCha8Rng,
    /// Set when the run augments its training images.
    warper: Option<BatchWarper>,
    /// Set when the run trains on touching letters.
    touching: Option<TouchingLetters>,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    x_batch: Array2<f32>,
    t_batch: Array2<f32>,
    grad: Array2<f32>,
    epoch_loss: f64,
    epoch_correct: usize,
    /// Training rows with one class as their target (the accuracy's denominator).
    epoch_labelled: usize,
    epoch_seen: usize,
    epoch_started: Instant,
    first_loss: Option<f64>,
    /// Why the run stopped learning, if the last finished epoch says it did.
    stalled: Option<String>,
}

/// The targets a task trains towards.
pub fn targets(task: Task, ds: &Dataset) -> Array2<f32> {
    match task {
        Task::Classify => ds.one_hot(),
        Task::Autoencode => ds.images.clone(),
    }
}

/// The targets the training split trains towards: [`targets`], label-smoothed for a
/// classifier when the run asks for it.
fn training_targets(config: &RunConfig, ds: &Dataset) -> Array2<f32> {
    let mut t = targets(config.task, ds);
    let s = config.label_smoothing as f32;
    if config.task == Task::Classify && s > 0.0 {
        let even = s / t.ncols().max(1) as f32;
        t.mapv_inplace(|v| (1.0 - s) * v + even);
    }
    t
}

impl Trainer {
    /// A fresh network for `config` on `data`.
    pub fn new(config: RunConfig, data: Arc<Splits>) -> Result<Self> {
        config.validate()?;
        let spec = config.network_spec(data.train.shape, data.train.classes.len())?;
        let net = Network::new(spec, config.init, config.seed)?;
        Self::with_network(config, data, net)
    }

    /// Continues training `net` (e.g. a loaded or fine-tuned model).
    pub fn with_network(config: RunConfig, data: Arc<Splits>, net: Network<f32>) -> Result<Self> {
        config.validate()?;
        for (split, ds) in [("training", &data.train), ("validation", &data.valid)] {
            anyhow::ensure!(
                !ds.is_empty(),
                "the {split} split of {} is empty: there is nothing to {} on",
                data.name,
                if split == "training" {
                    "train"
                } else {
                    "measure the run"
                }
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(0x5eed));
        let order = epoch_order(data.train.len(), &mut rng);
        // Its own generator: switching augmentation on leaves the sample order as it was.
        let warper = config
            .augment
            .then(|| BatchWarper::new(data.train.shape, config.seed.wrapping_add(0xa06)))
            .transpose()
            .with_context(|| format!("augmenting {}", data.name))?;
        let touching = config
            .touching
            .then(|| TouchingLetters::new(data.train.shape, config.seed.wrapping_add(0x70c)))
            .transpose()
            .with_context(|| format!("training on touching letters of {}", data.name))?;
        let opt = Optimizer::new(config.lr, config.optimizer_settings());
        Ok(Self {
            start: BestEpoch {
                epoch: 0,
                valid_loss: f64::INFINITY,
                net: net.cast(),
                opt: opt.clone(),
            },
            opt,
            best: None,
            loss: config.loss(),
            train_targets: training_targets(&config, &data.train),
            net,
            data,
            history: Vec::new(),
            health: Vec::new(),
            last_valid: None,
            rng,
            warper,
            touching,
            order,
            cursor: 0,
            epoch: 1,
            x_batch: Array2::zeros((0, 0)),
            t_batch: Array2::zeros((0, 0)),
            grad: Array2::zeros((0, 0)),
            epoch_loss: 0.0,
            epoch_correct: 0,
            epoch_labelled: 0,
            epoch_seen: 0,
            epoch_started: Instant::now(),
            first_loss: None,
            stalled: None,
            config,
        })
    }

    /// The epoch in progress (1-based).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.data.train.len().div_ceil(self.config.batch)
    }

    /// A new base rate from the next step on: the schedule continues, scaled; the
    /// optimiser's moment estimates are kept.
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// The rate of the next step: the base rate times the schedule.
    pub fn current_lr(&self) -> f64 {
        let batch = self.cursor / self.config.batch + 1;
        let plan = self.config.rate_plan();
        self.config.lr * plan.factor(self.epoch, batch, self.batches_per_epoch())
    }

    /// Trains on the next mini-batch; finishing the epoch also evaluates the validation split.
    pub fn step(&mut self) -> StepReport {
        let end = (self.cursor + self.config.batch).min(self.order.len());
        let rows = &self.order[self.cursor..end];
        gather_rows(self.data.train.images.view(), rows, &mut self.x_batch);
        gather_rows(self.train_targets.view(), rows, &mut self.t_batch);
        if let Some(touching) = &mut self.touching {
            touching.apply(&mut self.x_batch, &mut self.t_batch);
        }
        if let Some(warper) = &mut self.warper {
            warper.warp_rows(&mut self.x_batch);
            if self.config.task == Task::Autoencode {
                self.t_batch.assign(&self.x_batch); // reconstruct the warped image
            }
        }
        let out = self.net.forward(self.x_batch.view(), true);
        let value = self.loss.evaluate(out, self.t_batch.view(), &mut self.grad);
        let samples = rows.len();
        let batch = self.cursor / self.config.batch + 1;
        let mut report = StepReport {
            epoch: self.epoch,
            batch,
            loss: value.loss / samples as f64,
            samples,
            diverged: false,
            rolled_back_to: None,
            epoch_done: None,
            stop_early: false,
        };
        let first = *self.first_loss.get_or_insert(report.loss);
        report.diverged =
            !report.loss.is_finite() || report.loss > DIVERGENCE_FACTOR * first.max(1e-3);
        if report.diverged {
            // The batches before this one may have ruined the weights already (a too high
            // rate blows them up a batch before the loss shows it): go back to good ones.
            report.rolled_back_to = Some(self.roll_back());
            return report;
        }
        self.net.backward(self.x_batch.view(), self.grad.view());
        self.opt.lr = self.current_lr();
        self.opt.step(&mut self.net);
        self.epoch_loss += value.loss;
        self.epoch_correct += value.correct;
        self.epoch_labelled += value.labelled;
        self.epoch_seen += samples;
        self.cursor = end;
        if self.cursor == self.order.len() {
            report.epoch_done = Some(self.finish_epoch());
            report.stop_early = self.patience_ran_out();
        }
        report
    }

    /// Runs to the end of the current epoch (or until a step diverges).
    pub fn run_epoch(&mut self, mut on_step: impl FnMut(&StepReport)) -> StepReport {
        loop {
            let r = self.step();
            on_step(&r);
            if r.diverged() || r.epoch_done.is_some() {
                return r;
            }
        }
    }

    /// The weights training goes back to when it diverges: those of the epoch with the
    /// lowest validation loss, or those before the first batch.
    pub fn last_good(&self) -> &BestEpoch {
        self.best.as_ref().unwrap_or(&self.start)
    }

    /// Puts the last good network and optimiser state in place (the base rate stays the
    /// one set now); returns their epoch. The data order goes on where it was.
    fn roll_back(&mut self) -> usize {
        let good = self.last_good();
        let (epoch, net, mut opt) = (good.epoch, good.net.cast(), good.opt.clone());
        opt.lr = self.opt.lr;
        self.net = net;
        self.opt = opt;
        epoch
    }

    fn finish_epoch(&mut self) -> EpochStats {
        let data = Arc::clone(&self.data);
        let valid = self.evaluate(&data.valid);
        let stats = EpochStats {
            epoch: self.epoch,
            train_loss: self.epoch_loss / self.epoch_seen.max(1) as f64,
            train_acc: self.epoch_correct as f64 / self.epoch_labelled.max(1) as f64,
            valid_loss: valid.loss,
            valid_acc: valid.accuracy,
            valid_psnr: (self.config.task == Task::Autoencode)
                .then(|| mean_finite(&psnr_rows(data.valid.images.view(), valid.outputs.view()))),
            lr: self.opt.lr,
            seconds: self.epoch_started.elapsed().as_secs_f64(),
        };
        self.stalled = self.stall_reason(&stats);
        self.history.push(stats.clone());
        // A copy runs the statistics' forward pass, so the trainer's buffers stay its own.
        let health = layer_health(&mut self.net.clone(), data.valid.images.view());
        self.health.push(health);
        self.last_valid = Some(valid);
        if self
            .best
            .as_ref()
            .is_none_or(|b| stats.valid_loss < b.valid_loss)
        {
            self.best = Some(BestEpoch {
                epoch: stats.epoch,
                valid_loss: stats.valid_loss,
                net: self.net.cast(),
                opt: self.opt.clone(),
            });
        }
        self.epoch += 1;
        self.cursor = 0;
        self.epoch_loss = 0.0;
        self.epoch_correct = 0;
        self.epoch_labelled = 0;
        self.epoch_seen = 0;
        self.order = epoch_order(self.data.train.len(), &mut self.rng);
        self.epoch_started = Instant::now();
        stats
    }

    /// Why the run has stopped learning, judged at the end of the last epoch: its mean
    /// training loss is not below the first batch's after [`JUDGED_AFTER_BATCHES`] batches
    /// or did not change at all since the epoch before, every unit of a ReLU layer is dead
    /// on the validation images, or a classifier of many classes is still at chance. Training on is futile:
    /// the learning rate (or momentum) is too high.
    pub fn stopped_learning(&self) -> Option<&str> {
        self.stalled.as_deref()
    }

    /// Runs right after the validation pass of `stats`' epoch (the layers still hold the
    /// outputs of its last chunk).
    fn stall_reason(&self, stats: &EpochStats) -> Option<String> {
        let first = self.first_loss?;
        let judged = stats.epoch * self.batches_per_epoch() >= JUDGED_AFTER_BATCHES;
        if judged && stats.train_loss >= first {
            return Some(format!(
                "the mean training loss of epoch {} ({:.4}) is not below the first batch's ({first:.4})",
                stats.epoch, stats.train_loss
            ));
        }
        if let Some(last) = self.history.last()
            && (stats.train_loss - last.train_loss).abs() <= 1e-9 * last.train_loss.abs()
        {
            return Some(format!(
                "the mean training loss stayed at {:.4} for two epochs: no gradient reaches the weights (dead units or saturated outputs)",
                stats.train_loss
            ));
        }
        if !self.data.valid.is_empty() {
            for (i, layer) in self.net.layers().iter().enumerate() {
                let relu = matches!(
                    layer,
                    crate::nn::Layer::Activation(a) if a.f == crate::nn::Activation::Relu
                );
                if relu && layer.output().iter().all(|&v| v == 0.0) {
                    return Some(format!(
                        "every unit of layer {i} (ReLU) is dead: it outputs 0 for every validation image"
                    ));
                }
            }
        }
        let classes = self.data.train.classes.len();
        let chance = 1.0 / classes.max(1) as f64;
        if self.config.task == Task::Classify
            && classes >= CHANCE_MIN_CLASSES
            && judged
            && stats.train_acc < CHANCE_FACTOR * chance
        {
            return Some(format!(
                "the training accuracy ({:.3}) is still at chance ({chance:.3}) after {} epochs",
                stats.train_acc, stats.epoch
            ));
        }
        None
    }

    /// True when early stopping is on and the last `early_stop` epochs brought no lower
    /// validation loss.
    fn patience_ran_out(&self) -> bool {
        let patience = self.config.early_stop;
        let best = self.best.as_ref().map_or(0, |b| b.epoch);
        patience > 0 && self.history.len() >= best + patience
    }

    /// The network with its class names and this run's configuration, ready to save (a copy
    /// without the layers' batch buffers).
    pub fn saved_model(&self) -> SavedModel {
        self.saved(Weights::Last)
    }

    /// [`Trainer::saved_model`] with the chosen weights (the last ones before any epoch ended).
    pub fn saved(&self, weights: Weights) -> SavedModel {
        let net = match (weights, &self.best) {
            (Weights::Best, Some(best)) => &best.net,
            _ => &self.net,
        };
        SavedModel {
            net: net.cast(),
            classes: if self.config.task == Task::Classify {
                self.data.train.classes.clone()
            } else {
                Vec::new()
            },
            config: serde_json::to_string(&self.config).ok(),
        }
    }

    /// Runs `f` with the chosen weights in place of the last ones (e.g. to report on the best).
    pub fn with_weights<T>(&mut self, weights: Weights, f: impl FnOnce(&mut Self) -> T) -> T {
        let Some(best) = (weights == Weights::Best)
            .then(|| self.best.as_ref().map(|b| b.net.cast()))
            .flatten()
        else {
            return f(self);
        };
        let last = std::mem::replace(&mut self.net, best);
        let result = f(self);
        self.net = last;
        result
    }

    /// Loss, accuracy and outputs of the current network on `ds`.
    pub fn evaluate(&mut self, ds: &Dataset) -> Evaluation {
        evaluate(&mut self.net, self.loss, self.config.task, ds)
    }
}

/// Loss (per sample), accuracy and outputs of `net` on `ds`.
pub fn evaluate(net: &mut Network<f32>, loss: Loss, task: Task, ds: &Dataset) -> Evaluation {
    const CHUNK: usize = 512;
    let t = targets(task, ds);
    let out_len = net.spec().output().map(|s| s.len()).unwrap_or(0);
    let mut outputs = Array2::zeros((ds.len(), out_len));
    let (mut total, mut correct) = (0.0, 0);
    let mut grad = Array2::zeros((0, 0));
    for start in (0..ds.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(ds.len());
        let x: ArrayView2<f32> = ds.images.slice(s![start..end, ..]);
        let y = net.forward(x, false);
        let v = loss.evaluate(y, t.slice(s![start..end, ..]), &mut grad);
        total += v.loss;
        correct += v.correct;
        let shown = match loss {
            Loss::CrossEntropy => softmax_rows(y),
            Loss::SquaredError => y.to_owned(),
        };
        outputs.slice_mut(s![start..end, ..]).assign(&shown);
    }
    let n = ds.len().max(1) as f64;
    Evaluation {
        loss: total / n,
        accuracy: correct as f64 / n,
        outputs,
    }
}

/// The predicted class of every row of `probabilities`.
pub fn predictions(probabilities: &Array2<f32>) -> Vec<usize> {
    crate::nn::network::argmax_rows(probabilities.view())
}
