//! The training worker: a thread that owns the [`Trainer`] and the loaded data and talks
//! to the GUI over two channels ([`super::protocol`]). Commands go down, events come up;
//! nothing else is shared, so the UI never waits on training and training never waits on
//! painting.
//!
//! Every event carries the number of the run it belongs to: the commands that
//! [start a run](Command::starts_run) begin a new one on both ends of the channel, so the
//! UI drops stale events that were already in flight when the user pressed Reset.

use super::protocol::{
    Command, Ending, Event, PROGRESS_INTERVAL, Progress, Report, SNAPSHOT_INTERVAL,
};
use super::snapshots::{epoch_record, first_layer, reconstructions, validate};
use super::trainer::Weights;
use super::{EpochStats, RunConfig, Task, Trainer, finetune};
use crate::data::{DataSource, Splits};
use crate::nn::SavedModel;
use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
        if command.starts_run() {
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

/// Where a run's network comes from.
enum Origin {
    Fresh,
    Saved(PathBuf),
    FineTuned(PathBuf, usize),
}

/// Whether a run's trainer is being stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    Running,
    Paused,
    /// Finished or stopped: the network stays for snapshots, saving and export.
    Ended,
}

/// One run: its trainer and what the worker tracks about it. There is a run exactly when
/// there is a trainer.
struct Run {
    trainer: Trainer,
    activity: Activity,
    /// Training time before the current stretch, and when the current stretch began.
    trained_for: Duration,
    stretch_started: Option<Instant>,
    samples: usize,
    /// The last batch trained: its epoch and its number within it (1-based; batch 0
    /// before any).
    last_epoch: usize,
    last_batch: usize,
    /// Epochs ended since the last progress event.
    pending_epochs: Vec<EpochStats>,
    last_progress: Option<Instant>,
    last_snapshot: Option<Instant>,
    last_reconstruction: Option<Instant>,
    /// Set when the run was paused because it stopped learning; a rate change clears it,
    /// so the user is told once per rate, not at every epoch.
    told_stalled: bool,
}

impl Run {
    fn new(trainer: Trainer, activity: Activity) -> Self {
        Self {
            trainer,
            activity,
            trained_for: Duration::ZERO,
            stretch_started: (activity == Activity::Running).then(Instant::now),
            samples: 0,
            last_epoch: 1,
            last_batch: 0,
            pending_epochs: Vec::new(),
            last_progress: None,
            last_snapshot: None,
            last_reconstruction: None,
            told_stalled: false,
        }
    }

    fn set_activity(&mut self, activity: Activity) {
        if let Some(start) = self.stretch_started.take() {
            self.trained_for += start.elapsed();
        }
        if activity == Activity::Running {
            self.stretch_started = Some(Instant::now());
        }
        self.activity = activity;
    }

    /// Where training stands on the epoch axis (0 before the first batch).
    fn position(&self) -> f64 {
        let per_epoch = self.trainer.batches_per_epoch().max(1);
        (self.last_epoch - 1) as f64 + self.last_batch as f64 / per_epoch as f64
    }

    fn elapsed(&self) -> Duration {
        self.trained_for + self.stretch_started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// The training loss of the last finished epoch (NaN before the first).
    fn last_epoch_loss(&self) -> f64 {
        self.trainer
            .history
            .last()
            .map_or(f64::NAN, |s| s.train_loss)
    }

    /// A progress event with `batch_loss`, carrying the epochs ended since the last one.
    fn progress(&mut self, batch_loss: f64) -> Progress {
        let elapsed = self.elapsed();
        self.last_progress = Some(Instant::now());
        Progress {
            epoch: self.last_epoch,
            batch: self.last_batch,
            batches_per_epoch: self.trainer.batches_per_epoch(),
            position: self.position(),
            batch_loss,
            lr: self.trainer.current_lr(),
            samples_per_s: self.samples as f64 / elapsed.as_secs_f64().max(1e-9),
            elapsed,
            epoch_done: std::mem::take(&mut self.pending_epochs),
        }
    }
}

/// The worker's sending end: every event goes out tagged with the current run.
struct Outbox {
    reports: Sender<Report>,
    repaint: Box<dyn Fn() + Send>,
    run: u64,
}

impl Outbox {
    fn send(&self, event: Event) {
        // The UI may be gone while the worker finishes a batch; nothing to do then.
        let _ = self.reports.send(Report {
            run: self.run,
            event,
        });
        (self.repaint)();
    }

    fn send_error(&self, error: &anyhow::Error) {
        self.send(Event::Error(format!("{error:#}")));
    }
}

struct Worker {
    commands: Receiver<Command>,
    outbox: Outbox,
    data: Option<(DataSource, Arc<Splits>)>,
    run: Option<Run>,
    sweep: Option<Sweep>,
    /// The networks of the last sweep, one per rate (`None` once adopted).
    sweep_members: Vec<Option<Trainer>>,
    /// The run a sweep set aside; it is the current run again when the sweep ends.
    before_sweep: Option<Run>,
}

/// A learning-rate sweep: the configuration and its rates, `next` the one to train next.
struct Sweep {
    config: RunConfig,
    rates: Vec<f64>,
    next: usize,
}

/// True when `last` is unset or at least `every` ago.
fn due(last: Option<Instant>, every: Duration) -> bool {
    last.is_none_or(|t| t.elapsed() >= every)
}

impl Worker {
    fn new(
        commands: Receiver<Command>,
        reports: Sender<Report>,
        repaint: Box<dyn Fn() + Send>,
    ) -> Self {
        Self {
            commands,
            outbox: Outbox {
                reports,
                repaint,
                run: 0,
            },
            data: None,
            run: None,
            sweep: None,
            sweep_members: Vec::new(),
            before_sweep: None,
        }
    }

    fn activity(&self) -> Option<Activity> {
        self.run.as_ref().map(|r| r.activity)
    }

    fn run(mut self) {
        loop {
            let command = if self.activity() == Some(Activity::Running) {
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
            self.guarded(|worker| match command {
                Some(c) => worker.handle(c),
                None => worker.train_one_batch(),
            });
        }
    }

    /// Runs `work`; a panic in it (a bug in a layer, say) becomes an error event and a
    /// paused run instead of a dead thread and a window stuck in "training".
    fn guarded(&mut self, work: impl FnOnce(&mut Self)) {
        let Err(panic) = catch_unwind(AssertUnwindSafe(|| work(self))) else {
            return;
        };
        self.sweep = None;
        let mut paused = false;
        if let Some(run) = &mut self.run
            && run.activity == Activity::Running
        {
            run.set_activity(Activity::Paused);
            paused = true;
        }
        self.outbox.send(Event::Error(format!(
            "training failed unexpectedly: {}{}",
            panic_message(panic.as_ref()),
            if paused {
                ". The run is paused: Save it, Reset, or try Resume."
            } else {
                ""
            }
        )));
        if paused {
            self.outbox.send(Event::Paused);
        }
    }

    fn handle(&mut self, command: Command) {
        // The last run stays until a new one has started: one that cannot start (a bad
        // setting, an unreadable model) leaves it for saving, drawing and reading.
        if command.starts_run() {
            self.outbox.run += 1;
            self.sweep = None;
        }
        let activity = self.activity();
        match command {
            Command::Start(config) => {
                self.start(config, Origin::Fresh);
            }
            Command::Load(path, config) => {
                self.start(config, Origin::Saved(path));
            }
            Command::FineTune {
                model,
                config,
                freeze,
            } => {
                self.start(config, Origin::FineTuned(model, freeze));
            }
            Command::Sweep(config, rates) => {
                self.sweep_members.clear();
                self.before_sweep = self.run.take();
                self.sweep = Some(Sweep {
                    config,
                    rates,
                    next: 0,
                });
                self.next_sweep_member();
            }
            Command::Reset => {
                self.run = None;
                self.before_sweep = None;
            }
            Command::AdoptSweepMember(index) => {
                match self.sweep_members.get_mut(index).and_then(Option::take) {
                    Some(member) => self.adopt(member),
                    None => self.outbox.send(Event::Error(format!(
                        "the last sweep has no network left at its rate {} to use",
                        index + 1
                    ))),
                }
            }
            Command::ExportRun {
                dir,
                weights,
                replace,
            } => {
                let written = match &mut self.run {
                    Some(run) => run.trainer.with_weights(weights, |t| {
                        super::report::write_run_folder(&dir, t, replace)
                    }),
                    None => Err(anyhow::anyhow!(
                        "there is no run to export yet: press Train first"
                    )),
                };
                match written {
                    Ok(()) => self.outbox.send(Event::Saved(dir)),
                    Err(e) => self.outbox.send_error(&e),
                }
            }
            Command::Pause if activity == Some(Activity::Running) => {
                self.set_activity(Activity::Paused);
                self.send_progress();
                self.send_snapshots();
                self.outbox.send(Event::Paused);
            }
            Command::Resume if activity == Some(Activity::Paused) => {
                self.set_activity(Activity::Running);
                self.outbox.send(Event::Resumed);
            }
            Command::Step if activity == Some(Activity::Paused) => {
                self.train_one_batch();
                self.send_progress();
                self.send_snapshots();
            }
            Command::Stop if activity.is_some_and(|a| a != Activity::Ended) => {
                let sweeping = self.sweep.take().is_some();
                self.finish(Ending::Stopped);
                if sweeping {
                    self.keep_sweep_member();
                    self.end_sweep();
                }
            }
            Command::SetLr(lr) => {
                if let Some(run) = &mut self.run {
                    run.trainer.set_lr(lr);
                    run.told_stalled = false;
                    let position = run.position();
                    self.outbox.send(Event::LrChanged { lr, position });
                }
            }
            Command::Save(path, weights) => match self.save(&path, weights) {
                Ok(()) => self.outbox.send(Event::Saved(path)),
                Err(e) => self.outbox.send_error(&e),
            },
            Command::Pause | Command::Resume | Command::Step | Command::Stop => {}
        }
    }

    fn set_activity(&mut self, activity: Activity) {
        if let Some(run) = &mut self.run {
            run.set_activity(activity);
        }
    }

    /// Starts a run in place of the last one; true when it started (else an error event
    /// went out and the last run is still there).
    fn start(&mut self, config: RunConfig, origin: Origin) -> bool {
        let trainer = match self.make_trainer(config, &origin) {
            Ok(trainer) => trainer,
            Err(e) => {
                self.outbox.send_error(&e);
                return false;
            }
        };
        let mut network = trainer.net.spec().describe();
        if let Origin::FineTuned(path, _) = &origin {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let frozen = finetune::frozen_tensors(&trainer.net);
            network += &format!(", fine-tuned from {name} ({frozen} tensors frozen)");
        }
        let event = Event::Started {
            data: trainer.data.clone(),
            network,
            config: Box::new(trainer.config.clone()),
            initial: Arc::new(first_layer(&trainer)),
        };
        // A loaded model waits, paused, for the user; a fresh or fine-tuned one trains.
        let loaded = matches!(origin, Origin::Saved(_));
        let activity = if loaded {
            Activity::Paused
        } else {
            Activity::Running
        };
        self.run = Some(Run::new(trainer, activity));
        self.outbox.send(event);
        if loaded {
            self.send_snapshots();
            self.outbox.send(Event::Paused);
        }
        true
    }

    fn make_trainer(&mut self, config: RunConfig, origin: &Origin) -> anyhow::Result<Trainer> {
        let data = config.select(&self.load_data(&config.data)?)?;
        match origin {
            Origin::Fresh => Trainer::new(config, data),
            Origin::FineTuned(path, freeze) => {
                let saved = SavedModel::load(path)?;
                finetune::adopt_network(config, &saved)
                    .and_then(|config| finetune::trainer(&saved, data, config, *freeze))
                    .with_context(|| format!("fine-tuning {}", path.display()))
            }
            Origin::Saved(path) => {
                let saved = SavedModel::load(path)?;
                // The model's own settings (hidden units, rate...) on the data chosen now.
                let config = config
                    .for_model_file(&saved)
                    .with_context(|| format!("{}", path.display()))?;
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
        self.outbox.send(Event::Loading(source.label()));
        let data = Arc::new(source.load()?);
        self.data = Some((source.clone(), data.clone()));
        Ok(data)
    }

    fn train_one_batch(&mut self) {
        let Some(run) = &mut self.run else { return };
        let trainer = &mut run.trainer;
        let report = trainer.step();
        if report.diverged() {
            let lr = trainer.config.lr;
            run.set_activity(Activity::Paused);
            self.send_progress();
            self.outbox.send(Event::Diverged {
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
        run.samples += report.samples;
        (run.last_epoch, run.last_batch) = (report.epoch, report.batch);
        let done = report.epoch_done.is_some();
        let last_epoch = report.stop_early
            || report
                .epoch_done
                .as_ref()
                .is_some_and(|s| s.epoch >= trainer.config.epochs);
        let autoencoder = trainer.config.task == Task::Autoencode;
        let record = done.then(|| Arc::new(epoch_record(trainer)));
        run.pending_epochs.extend(report.epoch_done);
        if let Some(record) = record {
            self.outbox.send(Event::Epoch(record));
        }
        if done || due(run.last_progress, PROGRESS_INTERVAL) {
            self.outbox.send(Event::Progress(run.progress(report.loss)));
        }
        if last_epoch {
            self.finish(Ending::Completed);
        } else if done && self.sweep.is_none() && !run.told_stalled {
            if let Some(reason) = run.trainer.stopped_learning() {
                // Training on is futile: pause and say why (a sweep's table shows it instead).
                let event = Event::StoppedLearning {
                    epoch: run.last_epoch,
                    reason: reason.to_string(),
                    lr: run.trainer.current_lr(),
                };
                run.told_stalled = true;
                run.set_activity(Activity::Paused);
                self.send_snapshots();
                self.outbox.send(event);
            } else if due(run.last_snapshot, SNAPSHOT_INTERVAL) {
                self.send_snapshots();
            }
        } else if done && due(run.last_snapshot, SNAPSHOT_INTERVAL) {
            self.send_snapshots();
        } else if autoencoder && due(run.last_reconstruction, SNAPSHOT_INTERVAL) {
            self.send_reconstructions();
        }
    }

    /// A progress event with the last finished epoch's loss.
    fn send_progress(&mut self) {
        if let Some(run) = &mut self.run {
            let loss = run.last_epoch_loss();
            self.outbox.send(Event::Progress(run.progress(loss)));
        }
    }

    fn send_snapshots(&mut self) {
        let Some(run) = &mut self.run else { return };
        let t = &mut run.trainer;
        let weights = Arc::new(first_layer(t));
        let validation = Arc::new(validate(t));
        let model = Arc::new(t.saved_model());
        run.last_snapshot = Some(Instant::now());
        self.outbox.send(Event::Weights(weights));
        self.outbox.send(Event::Validation(validation));
        self.outbox.send(Event::Model(model));
        self.send_reconstructions();
    }

    fn send_reconstructions(&mut self) {
        let Some(run) = &mut self.run else { return };
        if run.trainer.config.task != Task::Autoencode {
            return;
        }
        let position = run.position();
        let snapshot = reconstructions(&mut run.trainer, position);
        run.last_reconstruction = Some(Instant::now());
        self.outbox.send(Event::Reconstructions(Arc::new(snapshot)));
    }

    fn finish(&mut self, ending: Ending) {
        self.set_activity(Activity::Ended);
        self.send_progress();
        self.send_snapshots();
        self.outbox.send(Event::Finished(ending));
        self.next_sweep_member();
    }

    /// Starts the sweep's next rate, if a sweep has one left; the member that just ended
    /// is kept apart.
    fn next_sweep_member(&mut self) {
        let Some(sweep) = &mut self.sweep else { return };
        let index = sweep.next;
        let config = sweep.rates.get(index).map(|&lr| RunConfig {
            lr,
            ..sweep.config.clone()
        });
        sweep.next += 1;
        if index > 0 {
            self.keep_sweep_member();
        }
        let Some(config) = config else {
            return self.end_sweep();
        };
        self.outbox.send(Event::SweepMember {
            index,
            lr: config.lr,
        });
        if !self.start(config, Origin::Fresh) {
            self.end_sweep(); // it failed with an error event
        }
    }

    /// The sweep member that ended is kept apart for "use this rate's network".
    fn keep_sweep_member(&mut self) {
        if let Some(run) = self.run.take() {
            self.sweep_members.push(Some(run.trainer));
        }
    }

    /// The run the sweep set aside is the current one again.
    fn end_sweep(&mut self) {
        self.sweep = None;
        self.run = self.before_sweep.take();
    }

    /// Makes a sweep member's network the current run, ended where it ended.
    fn adopt(&mut self, trainer: Trainer) {
        self.before_sweep = None;
        let event = Event::Started {
            data: trainer.data.clone(),
            network: trainer.net.spec().describe(),
            config: Box::new(trainer.config.clone()),
            initial: Arc::new(first_layer(&trainer)),
        };
        let mut run = Run::new(trainer, Activity::Ended);
        let epochs = run.trainer.history.len();
        if epochs > 0 {
            (run.last_epoch, run.last_batch) = (epochs, run.trainer.batches_per_epoch());
        }
        run.pending_epochs = run.trainer.history.clone();
        self.run = Some(run);
        self.outbox.send(event);
        self.finish(Ending::Completed);
    }

    fn save(&self, path: &Path, weights: Weights) -> anyhow::Result<()> {
        let Some(run) = &self.run else {
            anyhow::bail!("there is no trained network to save yet: press Train first")
        };
        run.trainer.saved(weights).save(path)
    }
}

/// The message of a caught panic (`panic!` carries a `&str` or a `String`).
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy::ToyKind;

    #[test]
    fn a_panic_in_a_step_becomes_an_error_event_and_a_paused_run() {
        let (_commands, command_rx) = unbounded();
        let (report_tx, reports) = unbounded();
        let mut worker = Worker::new(command_rx, report_tx, Box::new(|| {}));
        worker.handle(Command::Start(RunConfig {
            epochs: 5,
            ..RunConfig::toy(ToyKind::FourClusters)
        }));
        assert_eq!(worker.activity(), Some(Activity::Running));
        let _ = reports.try_iter().count();

        worker.guarded(|w| {
            w.train_one_batch();
            panic!("a bug in a layer");
        });
        let events: Vec<Event> = reports.try_iter().map(|r| r.event).collect();
        let [.., Event::Error(message), Event::Paused] = events.as_slice() else {
            panic!("expected an error and a pause, got {events:?}")
        };
        assert!(message.contains("a bug in a layer"), "{message}");
        assert_eq!(worker.activity(), Some(Activity::Paused));

        // The worker lives on and the run still trains.
        worker.handle(Command::Step);
        let stepped = reports
            .try_iter()
            .any(|r| matches!(r.event, Event::Progress(_)));
        assert!(stepped, "a step after the panic trains");
    }
}
