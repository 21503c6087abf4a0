//! What the window and the training worker say to each other: commands down, events up,
//! each event tagged with the run it belongs to. No egui types and no training code here,
//! so the UI, the worker and the report writer can all read these without depending on
//! one another.

use super::health::LayerHealth;
use super::metrics::histogram;
use super::trainer::Weights;
use super::{EpochStats, RunConfig};
use crate::data::Splits;
use crate::nn::SavedModel;
use ndarray::Array2;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Write the run's report folder ([`super::report::write_run_folder`]) with these
    /// weights; a folder that is not empty is replaced only with `replace`.
    ExportRun {
        dir: PathBuf,
        weights: Weights,
        replace: bool,
    },
    /// Make the network the last sweep trained at its `index`-th rate the current run
    /// (a sweep leaves the run before it in place otherwise).
    AdoptSweepMember(usize),
}

impl Command {
    /// True for the commands that begin a new run (both ends count runs by them, so
    /// events of an earlier run can be told apart and dropped).
    pub fn starts_run(&self) -> bool {
        matches!(
            self,
            Command::Start(_)
                | Command::Reset
                | Command::Load(..)
                | Command::FineTune { .. }
                | Command::Sweep(..)
                | Command::AdoptSweepMember(_)
        )
    }
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

    pub(crate) fn of<'a>(values: impl Iterator<Item = &'a f32>) -> Self {
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
    /// Per layer: activation statistics on the validation images, gradient norms.
    pub health: Vec<LayerHealth>,
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
        config: Box<RunConfig>,
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
    /// A batch's loss was NaN, infinite or exploded; training paused before applying it.
    Diverged {
        epoch: usize,
        batch: usize,
        loss: f64,
        lr: f64,
        /// The epoch whose weights and optimiser state the network went back to (0: those
        /// before the first batch).
        rolled_back_to: usize,
    },
    /// The epoch just ended says the run stopped learning (see
    /// [`super::Trainer::stopped_learning`]); training paused after it.
    StoppedLearning {
        epoch: usize,
        reason: String,
        lr: f64,
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
