//! The training worker: a thread that owns the [`Trainer`] and the loaded data and talks
//! to the GUI over two channels. Commands go down, events come up; nothing else is shared,
//! so the UI never waits on training and training never waits on painting.
//!
//! Every event carries the number of the run it belongs to: `Start` and `Reset` begin a
//! new run on both ends of the channel, so the UI drops stale events that were already in
//! flight when the user pressed Reset.

use super::latent::{codes, pca_2d};
use super::metrics::{confusion_matrix, histogram, psnr_rows, reconstruction_picks};
use super::trainer::{Evaluation, Weights, predictions};
use super::{EpochStats, RunConfig, Task, Trainer, finetune};
use crate::data::{DataSource, Dataset, Splits};
use crate::nn::{Layer, SavedModel};
use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};
use ndarray::Array2;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the UI asks the worker to do.
#[derive(Clone, Debug)]
pub enum Command {
    /// Load the data (unless already loaded) and train a fresh network.
    Start(RunConfig),
    Pause,
    Resume,
    /// Train one mini-batch while paused.
    Step,
    /// End the run; the trained network stays for snapshots and saving.
    Stop,
    /// Forget the run.
    Reset,
    /// Takes effect at the next batch.
    SetLr(f64),
    /// Send the current weights and validation results now.
    Snapshot,
    /// Save the network's best or last weights (safetensors).
    Save(PathBuf, Weights),
    /// Load a saved network and continue from it, paused.
    Load(PathBuf, RunConfig),
    /// Train a saved network's layers on this config's data: its last dense layer replaced
    /// for the data's classes, its first `freeze` layers fixed (`usize::MAX`: all but that one).
    FineTune {
        model: PathBuf,
        config: RunConfig,
        freeze: usize,
    },
    /// Train the config once per rate, one after another, each from the same initial
    /// weights (the seed fixes them).
    Sweep(RunConfig, Vec<f64>),
    /// Write the run's report folder ([`super::report::write_run`]) with these weights.
    ExportRun(PathBuf, Weights),
    /// Make the network the last sweep trained at its `index`-th rate the current run
    /// (a sweep leaves the run before it in place otherwise).
    AdoptSweepMember(usize),
}

/// Where a run's network comes from.
enum Origin {
    Fresh,
    Saved(PathBuf),
    FineTuned(PathBuf, usize),
}

/// How far training has come, sent at most every [`PROGRESS_INTERVAL`] and at every epoch end.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Epoch in progress and batch within it (both 1-based).
    pub epoch: usize,
    pub batch: usize,
    pub batches_per_epoch: usize,
    /// Position on the epoch axis: `epoch - 1 + batch / batches_per_epoch`.
    pub position: f64,
    /// Loss per sample of the last batch.
    pub batch_loss: f64,
    pub lr: f64,
    pub samples_per_s: f64,
    /// Training time of this run (pauses excluded).
    pub elapsed: Duration,
    /// Set when an epoch ended since the previous progress event.
    pub epoch_done: Vec<EpochStats>,
}

/// The first layer's weights as tiles, one column each: a dense layer's columns (`inputs x
/// units`) or a convolution's kernels (`k*k x out*in`, column `o * in + c`).
#[derive(Clone, Debug)]
pub struct WeightSnapshot {
    pub epoch: usize,
    pub weights: Array2<f32>,
    /// Set for convolution kernels: the input channels per output channel.
    pub kernel_channels: Option<usize>,
}

impl WeightSnapshot {
    /// What tile `i` shows, for hover texts.
    pub fn tile_name(&self, i: usize) -> String {
        match self.kernel_channels {
            None => format!("hidden unit {i}"),
            Some(1) => format!("kernel {i}"),
            Some(c) => format!("kernel {}, input channel {}", i / c, i % c),
        }
    }
}

/// The network's outputs on the validation split.
#[derive(Clone, Debug)]
pub struct ValidationSnapshot {
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: f64,
    /// Probabilities (classifier) or reconstructions (autoencoder), one row per image.
    pub outputs: Array2<f32>,
    /// Classifier only: predicted class and its probability per image, and the
    /// `[true, predicted]` counts.
    pub predicted: Vec<usize>,
    pub confidence: Vec<f32>,
    pub confusion: Option<Array2<usize>>,
    /// Autoencoder only: PSNR (dB) of each reconstruction, and the code of each image
    /// projected on its first two principal components (`n x 2`).
    pub psnr: Vec<f64>,
    pub latent: Option<Array2<f32>>,
}

/// Autoencoder only: reconstructions of a few validation images (the first two of every
/// class), sent while training as often as the weight snapshots, so the pictures change
/// during an epoch and not only at its end.
#[derive(Clone, Debug)]
pub struct ReconstructionSnapshot {
    /// Position on the epoch axis when taken.
    pub position: f64,
    /// Rows of the validation split shown, and their reconstructions and PSNR in that order.
    pub indices: Vec<usize>,
    pub outputs: Array2<f32>,
    pub psnr: Vec<f64>,
}

/// Counts of values in equal bins: the first starts at `lo`, each is `width` wide.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub width: f64,
    pub counts: Vec<usize>,
}

impl Histogram {
    /// Bins per histogram.
    pub const BINS: usize = 30;

    fn of<'a>(values: impl Iterator<Item = &'a f32>) -> Self {
        let values: Vec<f64> = values.map(|&v| f64::from(v)).collect();
        let (lo, width, counts) = histogram(&values, Self::BINS);
        Self { lo, width, counts }
    }
}

/// The values and the last batch's gradient of one parameter tensor.
#[derive(Clone, Debug)]
pub struct ParamHistogram {
    /// e.g. "layer 0 weight".
    pub name: String,
    pub values: Histogram,
    pub gradients: Histogram,
}

/// The end of one epoch as the history views replay it.
#[derive(Clone, Debug)]
pub struct EpochRecord {
    pub weights: Arc<WeightSnapshot>,
    /// Classifier only: predictions and confusion on the validation split (its outputs
    /// are left out to keep a long history small).
    pub validation: Option<Arc<ValidationSnapshot>>,
    pub histograms: Vec<ParamHistogram>,
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// All epochs done.
    Completed,
    /// The user pressed Stop.
    Stopped,
}

/// What the worker reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// Loading the data set named here (builtin generation may take a second).
    Loading(String),
    /// Training began (or a model was loaded): the data, the network and its weights
    /// before any update.
    Started {
        data: Arc<Splits>,
        network: String,
        config: RunConfig,
        initial: Arc<WeightSnapshot>,
    },
    Progress(Progress),
    /// The learning rate changed at this position on the epoch axis.
    LrChanged {
        lr: f64,
        position: f64,
    },
    Weights(Arc<WeightSnapshot>),
    Validation(Arc<ValidationSnapshot>),
    Reconstructions(Arc<ReconstructionSnapshot>),
    /// A copy of the whole network (sent with the weight snapshots), for panels that run it.
    Model(Arc<SavedModel>),
    Paused,
    Resumed,
    Finished(Ending),
    /// A batch's loss was NaN, infinite or exploded; training paused before applying it
    /// and the network went back to the weights (and optimiser state) at the end of epoch
    /// `rolled_back_to` (0: before the first batch).
    Diverged {
        epoch: usize,
        batch: usize,
        loss: f64,
        lr: f64,
        rolled_back_to: usize,
    },
    Saved(PathBuf),
    Error(String),
    /// A sweep began training its `index`-th rate; the events up to the next one are its.
    SweepMember {
        index: usize,
        lr: f64,
    },
    /// An epoch ended (sent for every epoch).
    Epoch(Arc<EpochRecord>),
}

/// An event and the run it belongs to.
#[derive(Clone, Debug)]
pub struct Report {
    pub run: u64,
    pub event: Event,
}

/// Progress events are sent at most this often (epoch ends always).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// Weight and validation snapshots at most this often while training.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);

/// The UI's end of the worker: send commands, receive this run's events.
pub struct WorkerHandle {
    commands: Sender<Command>,
    reports: Receiver<Report>,
    run: u64,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts the worker thread; it calls `repaint` after sending each event.
    pub fn spawn(repaint: impl Fn() + Send + 'static) -> Self {
        let (commands, command_rx) = unbounded();
        let (report_tx, reports) = unbounded();
        let thread = std::thread::Builder::new()
            .name("nnlab-train".into())
            .spawn(move || Worker::new(command_rx, report_tx, Box::new(repaint)).run())
            .expect("spawning the training thread");
        Self {
            commands,
            reports,
            run: 0,
            thread: Some(thread),
        }
    }

    pub fn send(&mut self, command: Command) {
        if matches!(
            command,
            Command::Start(_)
                | Command::Reset
                | Command::Load(..)
                | Command::FineTune { .. }
                | Command::Sweep(..)
                | Command::AdoptSweepMember(_)
        ) {
            self.run += 1;
        }
        // The worker only ends when this handle is dropped, so sending cannot fail.
        let _ = self.commands.send(command);
    }

    /// The events of the current run received so far (stale ones are dropped).
    pub fn poll(&self) -> Vec<Event> {
        self.reports
            .try_iter()
            .filter(|r| r.run == self.run)
            .map(|r| r.event)
            .collect()
    }

    /// Waits up to `timeout` for the next event of the current run.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.reports.recv_timeout(left) {
                Ok(r) if r.run == self.run => return Some(r.event),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        let (dead, _) = unbounded();
        self.commands = dead; // disconnects the worker's receiver, which ends its loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Running,
    Paused,
}

struct Worker {
    commands: Receiver<Command>,
    reports: Sender<Report>,
    repaint: Box<dyn Fn() + Send>,
    run: u64,
    state: State,
    data: Option<(DataSource, Arc<Splits>)>,
    trainer: Option<Trainer>,
    /// Training time before the current stretch, and when the current stretch began.
    trained_for: Duration,
    stretch_started: Option<Instant>,
    samples: usize,
    /// The last batch trained: epoch and batch within it (1-based; batch 0 before any).
    at: (usize, usize),
    pending_epochs: Vec<EpochStats>,
    last_progress: Option<Instant>,
    last_snapshot: Option<Instant>,
    last_reconstruction: Option<Instant>,
    sweep: Option<Sweep>,
    /// The networks of the last sweep, one per rate (`None` once adopted).
    sweep_members: Vec<Option<Trainer>>,
    /// The run a sweep set aside; it is the current run again when the sweep ends.
    before_sweep: Option<Trainer>,
}

/// A learning-rate sweep: the configuration and its rates, `next` the one to train next.
struct Sweep {
    config: RunConfig,
    rates: Vec<f64>,
    next: usize,
}

impl Worker {
    fn new(
        commands: Receiver<Command>,
        reports: Sender<Report>,
        repaint: Box<dyn Fn() + Send>,
    ) -> Self {
        Self {
            commands,
            reports,
            repaint,
            run: 0,
            state: State::Idle,
            data: None,
            trainer: None,
            trained_for: Duration::ZERO,
            stretch_started: None,
            samples: 0,
            at: (1, 0),
            pending_epochs: Vec::new(),
            last_progress: None,
            last_snapshot: None,
            last_reconstruction: None,
            sweep: None,
            sweep_members: Vec::new(),
            before_sweep: None,
        }
    }

    fn run(mut self) {
        loop {
            let command = if self.state == State::Running {
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match self.commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            match command {
                Some(c) => self.handle(c),
                None => self.train_one_batch(),
            }
        }
    }

    fn send(&self, event: Event) {
        // The UI may be gone while the worker finishes a batch; nothing to do then.
        let _ = self.reports.send(Report {
            run: self.run,
            event,
        });
        (self.repaint)();
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Start(config) => {
                self.run += 1;
                self.sweep = None;
                let _ = self.start(config, Origin::Fresh);
            }
            Command::Load(path, config) => {
                self.run += 1;
                self.sweep = None;
                let _ = self.start(config, Origin::Saved(path));
            }
            Command::FineTune {
                model,
                config,
                freeze,
            } => {
                self.run += 1;
                self.sweep = None;
                let _ = self.start(config, Origin::FineTuned(model, freeze));
            }
            Command::Sweep(config, rates) => {
                self.run += 1;
                self.sweep_members.clear();
                self.before_sweep = self.trainer.take();
                self.sweep = Some(Sweep {
                    config,
                    rates,
                    next: 0,
                });
                self.next_sweep_member();
            }
            Command::ExportRun(dir, weights) => {
                let written = match &mut self.trainer {
                    Some(t) => t.with_weights(weights, |t| super::report::write_run(&dir, t)),
                    None => Err(anyhow::anyhow!(
                        "there is no run to export yet: press Train first"
                    )),
                };
                match written {
                    Ok(()) => self.send(Event::Saved(dir)),
                    Err(e) => self.send(Event::Error(format!("{e:#}"))),
                }
            }
            Command::Reset => {
                self.run += 1;
                self.sweep = None;
                self.before_sweep = None;
                self.trainer = None;
                self.set_state(State::Idle);
            }
            Command::Pause if self.state == State::Running => {
                self.set_state(State::Paused);
                self.send_progress();
                self.send_snapshots();
                self.send(Event::Paused);
            }
            Command::Resume if self.state == State::Paused && self.trainer.is_some() => {
                self.set_state(State::Running);
                self.send(Event::Resumed);
            }
            Command::Step if self.state == State::Paused => {
                self.train_one_batch();
                self.send_progress();
                self.send_snapshots();
            }
            Command::Stop if self.state != State::Idle => {
                let sweeping = self.sweep.take().is_some();
                self.finish(Ending::Stopped);
                if sweeping {
                    self.end_sweep();
                }
            }
            Command::AdoptSweepMember(index) => {
                self.run += 1;
                match self.sweep_members.get_mut(index).and_then(Option::take) {
                    Some(member) => self.adopt(member),
                    None => self.send(Event::Error(format!(
                        "the last sweep has no network at rate {} to use",
                        index + 1
                    ))),
                }
            }
            Command::SetLr(lr) => {
                if let Some(t) = &mut self.trainer {
                    t.set_lr(lr);
                    let position = self.position();
                    self.send(Event::LrChanged { lr, position });
                }
            }
            Command::Snapshot => self.send_snapshots(),
            Command::Save(path, weights) => match self.save(&path, weights) {
                Ok(()) => self.send(Event::Saved(path)),
                Err(e) => self.send(Event::Error(format!("{e:#}"))),
            },
            Command::Pause | Command::Resume | Command::Step | Command::Stop => {}
        }
    }

    fn set_state(&mut self, state: State) {
        if let Some(start) = self.stretch_started.take() {
            self.trained_for += start.elapsed();
        }
        if state == State::Running {
            self.stretch_started = Some(Instant::now());
        }
        self.state = state;
    }

    /// Where training stands on the epoch axis (0 before the first batch).
    fn position(&self) -> f64 {
        let per_epoch = self
            .trainer
            .as_ref()
            .map_or(1, |t| t.batches_per_epoch().max(1));
        (self.at.0 - 1) as f64 + self.at.1 as f64 / per_epoch as f64
    }

    fn elapsed(&self) -> Duration {
        self.trained_for + self.stretch_started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Starts a run; one that cannot start leaves the last run's network in place (for
    /// saving, drawing, reading). True when it started.
    fn start(&mut self, config: RunConfig, origin: Origin) -> bool {
        self.set_state(State::Idle);
        match self.make_trainer(config, &origin) {
            Ok(trainer) => {
                let mut network = trainer.net.spec().describe();
                if let Origin::FineTuned(path, _) = &origin {
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    let frozen = finetune::frozen_tensors(&trainer.net);
                    network += &format!(", fine-tuned from {name} ({frozen} tensors frozen)");
                }
                let event = Event::Started {
                    data: trainer.data.clone(),
                    network,
                    config: trainer.config.clone(),
                    initial: Arc::new(first_layer(&trainer)),
                };
                self.trainer = Some(trainer);
                self.trained_for = Duration::ZERO;
                self.samples = 0;
                self.at = (1, 0);
                self.pending_epochs.clear();
                self.last_progress = None;
                self.last_snapshot = None;
                self.last_reconstruction = None;
                self.send(event);
                if let Origin::Saved(_) = origin {
                    self.set_state(State::Paused);
                    self.send_snapshots();
                    self.send(Event::Paused);
                } else {
                    self.set_state(State::Running);
                }
                true
            }
            Err(e) => {
                self.send(Event::Error(format!("{e:#}")));
                false
            }
        }
    }

    fn make_trainer(&mut self, config: RunConfig, origin: &Origin) -> anyhow::Result<Trainer> {
        let data = config.select(&self.load_data(&config.data)?)?;
        match origin {
            Origin::Fresh => Trainer::new(config, data),
            Origin::FineTuned(path, freeze) => {
                let saved = SavedModel::load(path)?;
                let config = finetune::adopt_network(config, &saved);
                finetune::trainer(&saved, data, config, *freeze)
                    .with_context(|| format!("fine-tuning {}", path.display()))
            }
            Origin::Saved(path) => {
                let saved = SavedModel::load(path)?;
                // The model's own settings (hidden units, rate...) on the data chosen now.
                let config = RunConfig::of_model(&saved)
                    .ok()
                    .flatten()
                    .map_or(config.clone(), |own| own.on_data_of(&config));
                let inputs = saved.net.spec().input.len();
                if inputs != data.train.shape.len() {
                    anyhow::bail!(
                        "{}: the model reads {inputs} values per image, {} has {}",
                        path.display(),
                        data.name,
                        data.train.shape.len()
                    );
                }
                if config.task == Task::Classify && saved.classes.len() != data.train.classes.len()
                {
                    anyhow::bail!(
                        "{}: the model has {} classes, the data set {} has {}",
                        path.display(),
                        saved.classes.len(),
                        data.name,
                        data.train.classes.len()
                    );
                }
                Trainer::with_network(config, data, saved.net)
            }
        }
    }

    fn load_data(&mut self, source: &DataSource) -> anyhow::Result<Arc<Splits>> {
        if let Some((loaded, data)) = &self.data
            && loaded == source
        {
            return Ok(data.clone());
        }
        self.send(Event::Loading(source.label()));
        let data = Arc::new(source.load()?);
        self.data = Some((source.clone(), data.clone()));
        Ok(data)
    }

    fn train_one_batch(&mut self) {
        let Some(trainer) = &mut self.trainer else {
            self.set_state(State::Idle);
            return;
        };
        let report = trainer.step();
        if report.diverged() {
            let lr = trainer.config.lr;
            self.set_state(State::Paused);
            self.send_progress();
            self.send(Event::Diverged {
                epoch: report.epoch,
                batch: report.batch,
                loss: report.loss,
                lr,
                rolled_back_to: report.rolled_back_to.unwrap_or(0),
            });
            self.send_snapshots(); // the rolled-back network
            if self.sweep.is_some() {
                // A sweep marks the rate as diverged and goes on with the next one.
                self.finish(Ending::Stopped);
            }
            return;
        }
        self.samples += report.samples;
        self.at = (report.epoch, report.batch);
        let done = report.epoch_done.is_some();
        let last_epoch = report.stop_early
            || report
                .epoch_done
                .as_ref()
                .is_some_and(|s| s.epoch >= trainer.config.epochs);
        let autoencoder = trainer.config.task == Task::Autoencode;
        let record = done.then(|| Arc::new(epoch_record(trainer)));
        self.pending_epochs.extend(report.epoch_done);
        if let Some(record) = record {
            self.send(Event::Epoch(record));
        }
        let due =
            |last: Option<Instant>, every: Duration| last.is_none_or(|t| t.elapsed() >= every);
        if done || due(self.last_progress, PROGRESS_INTERVAL) {
            self.send_progress_of(report.loss);
        }
        if last_epoch {
            self.finish(Ending::Completed);
        } else if done && due(self.last_snapshot, SNAPSHOT_INTERVAL) {
            self.send_snapshots();
        } else if autoencoder && due(self.last_reconstruction, SNAPSHOT_INTERVAL) {
            self.send_reconstructions();
        }
    }

    fn send_progress(&mut self) {
        let loss = self
            .trainer
            .as_ref()
            .and_then(|t| t.history.last())
            .map_or(f64::NAN, |s| s.train_loss);
        self.send_progress_of(loss);
    }

    fn send_progress_of(&mut self, batch_loss: f64) {
        let Some(t) = &self.trainer else { return };
        let elapsed = self.elapsed();
        let (epoch, batch) = self.at;
        let progress = Progress {
            epoch,
            batch,
            batches_per_epoch: t.batches_per_epoch(),
            position: self.position(),
            batch_loss,
            lr: t.current_lr(),
            samples_per_s: self.samples as f64 / elapsed.as_secs_f64().max(1e-9),
            elapsed,
            epoch_done: std::mem::take(&mut self.pending_epochs),
        };
        self.last_progress = Some(Instant::now());
        self.send(Event::Progress(progress));
    }

    fn send_snapshots(&mut self) {
        let Some(t) = &mut self.trainer else { return };
        let weights = Arc::new(first_layer(t));
        let validation = Arc::new(validate(t));
        let model = Arc::new(t.saved_model());
        self.last_snapshot = Some(Instant::now());
        self.send(Event::Weights(weights));
        self.send(Event::Validation(validation));
        self.send(Event::Model(model));
        self.send_reconstructions();
    }

    fn send_reconstructions(&mut self) {
        let position = self.position();
        let Some(t) = &mut self.trainer else { return };
        if t.config.task != Task::Autoencode {
            return;
        }
        let valid = &t.data.valid;
        let indices = reconstruction_picks(&valid.labels, valid.classes.len(), 2);
        let originals = valid.images.select(ndarray::Axis(0), &indices);
        let outputs = t.net.predict(originals.view(), originals.nrows().max(1));
        let psnr = psnr_rows(originals.view(), outputs.view());
        self.last_reconstruction = Some(Instant::now());
        self.send(Event::Reconstructions(Arc::new(ReconstructionSnapshot {
            position,
            indices,
            outputs,
            psnr,
        })));
    }

    fn finish(&mut self, ending: Ending) {
        self.set_state(State::Idle);
        self.send_progress();
        self.send_snapshots();
        self.send(Event::Finished(ending));
        self.next_sweep_member();
    }

    /// Starts the sweep's next rate, if a sweep has one left (the member that just ended
    /// is kept apart).
    fn next_sweep_member(&mut self) {
        let Some(sweep) = &mut self.sweep else { return };
        let Some(&lr) = sweep.rates.get(sweep.next) else {
            self.sweep = None;
            self.end_sweep();
            return;
        };
        if sweep.next > 0 {
            self.sweep_members.push(self.trainer.take());
        }
        let Some(sweep) = &mut self.sweep else { return };
        let index = sweep.next;
        sweep.next += 1;
        let config = RunConfig {
            lr,
            ..sweep.config.clone()
        };
        self.send(Event::SweepMember { index, lr });
        if !self.start(config, Origin::Fresh) {
            self.sweep = None; // it failed with an error event
            self.end_sweep();
        }
    }

    /// The last member is kept apart and the run the sweep set aside is current again.
    fn end_sweep(&mut self) {
        if let Some(member) = self.trainer.take() {
            self.sweep_members.push(Some(member));
        }
        self.trainer = self.before_sweep.take();
        self.set_state(State::Idle);
    }

    /// Makes a sweep member's network the current run, finished where it ended.
    fn adopt(&mut self, member: Trainer) {
        self.sweep = None;
        self.before_sweep = None;
        self.set_state(State::Idle);
        let event = Event::Started {
            data: member.data.clone(),
            network: member.net.spec().describe(),
            config: member.config.clone(),
            initial: Arc::new(first_layer(&member)),
        };
        self.at = (
            member.epoch().saturating_sub(1).max(1),
            member.batches_per_epoch(),
        );
        self.pending_epochs = member.history.clone();
        self.trained_for = Duration::ZERO;
        self.samples = 0;
        self.trainer = Some(member);
        self.send(event);
        self.finish(Ending::Completed);
    }

    fn save(&self, path: &std::path::Path, weights: Weights) -> anyhow::Result<()> {
        let Some(t) = &self.trainer else {
            anyhow::bail!("there is no trained network to save yet: press Train first")
        };
        t.saved(weights).save(path)
    }
}

/// The weights of the first dense or convolution layer.
pub(crate) fn first_layer(t: &Trainer) -> WeightSnapshot {
    let (weights, kernel_channels) = t
        .net
        .layers()
        .iter()
        .find_map(|l| match l {
            Layer::Dense(d) => Some((d.w().to_owned(), None)),
            Layer::Conv2d(c) => {
                let shape = c.weight.value.shape();
                let (tiles, pixels) = (shape[0] * shape[1], shape[2] * shape[3]);
                let kernels = c
                    .weight
                    .value
                    .to_shape((tiles, pixels))
                    .expect("a conv weight is [out, in, k, k]")
                    .t()
                    .to_owned();
                Some((kernels, Some(shape[1])))
            }
            _ => None,
        })
        .unwrap_or_else(|| (Array2::zeros((0, 0)), None));
    WeightSnapshot {
        epoch: t.history.len(),
        weights,
        kernel_channels,
    }
}

/// What an epoch leaves for the history views; the validation results are those the
/// trainer computed at the epoch's end.
fn epoch_record(t: &Trainer) -> EpochRecord {
    let validation = match (&t.last_valid, t.config.task) {
        (Some(valid), Task::Classify) => {
            let (predicted, confidence, confusion) = classified(&valid.outputs, &t.data.valid);
            Some(Arc::new(ValidationSnapshot {
                epoch: t.history.len(),
                loss: valid.loss,
                accuracy: valid.accuracy,
                outputs: Array2::zeros((0, 0)),
                predicted,
                confidence,
                confusion: Some(confusion),
                psnr: Vec::new(),
                latent: None,
            }))
        }
        _ => None,
    };
    let histograms = t
        .net
        .params()
        .into_iter()
        .filter(|(_, name, _)| !name.starts_with("running_"))
        .map(|(layer, name, p)| ParamHistogram {
            name: format!("layer {layer} {name}"),
            values: Histogram::of(p.value.iter()),
            gradients: Histogram::of(p.grad.iter()),
        })
        .collect();
    EpochRecord {
        weights: Arc::new(first_layer(t)),
        validation,
        histograms,
    }
}

/// A classifier's predicted class and its probability per image, and the
/// `[true, predicted]` counts.
fn classified(outputs: &Array2<f32>, data: &Dataset) -> (Vec<usize>, Vec<f32>, Array2<usize>) {
    let predicted = predictions(outputs);
    let confidence = predicted
        .iter()
        .enumerate()
        .map(|(i, &p)| outputs[[i, p]])
        .collect();
    let confusion = confusion_matrix(&data.labels, &predicted, data.classes.len());
    (predicted, confidence, confusion)
}

fn validate(t: &mut Trainer) -> ValidationSnapshot {
    let data = t.data.clone();
    let Evaluation {
        loss,
        accuracy,
        outputs,
    } = t.evaluate(&data.valid);
    let (mut psnr, mut latent) = (Vec::new(), None);
    let (predicted, confidence, confusion) = match t.config.task {
        Task::Classify => {
            let (predicted, confidence, confusion) = classified(&outputs, &data.valid);
            (predicted, confidence, Some(confusion))
        }
        Task::Autoencode => {
            psnr = psnr_rows(data.valid.images.view(), outputs.view());
            latent = codes(&mut t.net, data.valid.images.view()).map(|c| pca_2d(c.view()));
            (Vec::new(), Vec::new(), None)
        }
    };
    ValidationSnapshot {
        epoch: t.history.len(),
        loss,
        accuracy,
        outputs,
        predicted,
        confidence,
        confusion,
        psnr,
        latent,
    }
}
