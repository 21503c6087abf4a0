//! Every setting of a run in one serialisable struct: the GUI's side panel edits it, the
//! worker receives it, `config.json` beside a saved model records it, and
//! `nnlab train --config` reproduces the run from it.

use super::schedule::{RatePlan, Schedule};
use crate::data::{DataSource, Splits, corrections};
use crate::nn::activation::ActivationSpec;
use crate::nn::flatten::FlattenSpec;
use crate::nn::layer_list::{self, Preset};
use crate::nn::{
    Activation, Init, LayerSpec, Loss, NetworkSpec, OptimizerKind, OptimizerSettings, SavedModel,
    Shape,
};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The most label smoothing a run takes: beyond it a target's own class would no longer
/// stand out (it keeps over half of the weight).
pub const MAX_LABEL_SMOOTHING: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Predict the class of each image (softmax + cross-entropy).
    #[default]
    Classify,
    /// Reconstruct each image through a narrow code (squared error).
    Autoencode,
}

/// Which network a classifier trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Dense layers (`hidden` units x `depth`, `activation`).
    #[default]
    Mlp,
    /// The course's CNN ([`NetworkSpec::cnn`]); `hidden`, `depth` and `activation` are unused.
    Cnn,
    /// The layer list in [`RunConfig::layers`] (the side panel's editor, `--layers`).
    Layers,
}

impl std::str::FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mlp" => Ok(Self::Mlp),
            "cnn" => Ok(Self::Cnn),
            "layers" => Ok(Self::Layers),
            _ => Err(format!("unknown model '{s}' (mlp, cnn, layers)")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub task: Task,
    pub model: Model,
    pub data: DataSource,
    /// Only these classes of the data, e.g. `0-9` or `A,B,C` (empty: all).
    pub classes: String,
    /// Train on only the first N samples of each class (0: all).
    pub per_class: usize,
    /// Also train on the character crops in this folder (the OCR tab's corrections, see
    /// [`crate::data::corrections`]).
    pub extra_train: Option<PathBuf>,
    /// Units per hidden layer.
    pub hidden: usize,
    /// Number of hidden layers.
    pub depth: usize,
    pub activation: Activation,
    pub init: Init,
    /// The network of [`Model::Layers`], as the text `--layers` takes in a config file.
    #[serde(with = "layer_list::as_text")]
    pub layers: Vec<LayerSpec>,
    pub optimizer: OptimizerKind,
    /// The base learning rate: the schedule multiplies it.
    pub lr: f64,
    /// Momentum and Nesterov's `mu`.
    pub momentum: f64,
    /// Adam's first-moment decay.
    pub beta1: f64,
    /// Adam's second-moment decay.
    pub beta2: f64,
    /// RMSProp's decay of the squared gradients.
    pub rho: f64,
    /// Adam's and RMSProp's `eps`.
    pub eps: f64,
    /// L2 weight decay on dense and convolution weights (decoupled for AdamW).
    pub weight_decay: f64,
    /// Label smoothing: training targets give this much of their weight to all classes
    /// evenly (`(1 - s) one_hot + s / classes`), so the network is not pushed towards
    /// certainty on hands that write O like 0. Validation and test keep their labels.
    pub label_smoothing: f64,
    pub schedule: Schedule,
    /// Epochs of linear warm-up before the schedule.
    pub warmup: usize,
    /// Stop after this many epochs without a lower validation loss (0: never).
    pub early_stop: usize,
    pub batch: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Warp every training image a little, afresh in every batch ([`crate::data::augment::Warp`]);
    /// validation and test images stay as they are. Images only (not the toy sets' points).
    pub augment: bool,
    /// Train on touching letters too: a share of training images get a neighbour drawn over
    /// an edge and are cut off it as OCR cuts, and a few are the pair read whole, which the
    /// classifier learns to be unsure of ([`crate::data::touching`]). 32x32 characters only.
    pub touching: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            task: Task::Classify,
            model: Model::Mlp,
            data: DataSource::Builtin,
            classes: String::new(),
            per_class: 0,
            extra_train: None,
            hidden: 64,
            depth: 1,
            activation: Activation::Sigmoid,
            init: Init::Xavier,
            layers: Vec::new(),
            optimizer: OptimizerKind::Momentum,
            lr: 1e-3,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            rho: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            schedule: Schedule::Constant,
            warmup: 0,
            early_stop: 0,
            batch: 32,
            epochs: 30,
            seed: 1,
            augment: false,
            touching: false,
        }
    }
}

/// Limits on the settings of a run, which may come from outside (flags, a `--config` file,
/// a model's stored configuration). Generous for the lab, small enough to never hang or
/// exhaust the machine; the network's own size limits are in [`crate::nn::limits`].
pub mod limits {
    /// Units per hidden layer.
    pub const MAX_HIDDEN: usize = 1 << 14;
    /// Hidden layers.
    pub const MAX_DEPTH: usize = 64;
    /// Samples per batch.
    pub const MAX_BATCH: usize = 1 << 14;
    /// Epochs of one run.
    pub const MAX_EPOCHS: usize = 100_000;
    /// Side an image folder's images are resized to.
    pub const MAX_IMAGE_SIDE: usize = crate::data::image_folder::MAX_SIDE;
    /// The size of a configuration file.
    pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
}

impl RunConfig {
    /// An error naming the first setting outside its range and the range; every run's
    /// configuration passes here before anything is loaded or allocated.
    pub fn validate(&self) -> Result<()> {
        use limits::*;
        let count = |name: &str, value: usize, min: usize, max: usize| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{name} is {value}; it must be between {min} and {max}"
                ))
            }
        };
        count(
            "hidden (units per hidden layer)",
            self.hidden,
            1,
            MAX_HIDDEN,
        )?;
        count("depth (hidden layers)", self.depth, 0, MAX_DEPTH)?;
        count("batch", self.batch, 1, MAX_BATCH)?;
        count("epochs", self.epochs, 1, MAX_EPOCHS)?;
        if let DataSource::ImageFolder { side, .. } = self.data {
            count("image-size", side, 1, MAX_IMAGE_SIDE)?;
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            anyhow::bail!(
                "lr (the learning rate) is {}; it must be a positive number",
                self.lr
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            anyhow::bail!(
                "momentum is {}; it must be at least 0 and below 1",
                self.momentum
            );
        }
        if !(0.0..=MAX_LABEL_SMOOTHING).contains(&self.label_smoothing) {
            anyhow::bail!(
                "label smoothing is {}; it must be between 0 and {MAX_LABEL_SMOOTHING}",
                self.label_smoothing
            );
        }
        if self.touching && self.task != Task::Classify {
            anyhow::bail!("touching letters train a classifier; turn them off for the autoencoder");
        }
        self.check_training()
    }

    /// Reads and checks a configuration file (a regular file of at most
    /// [`limits::MAX_CONFIG_BYTES`]; unknown keys are errors).
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = crate::files::read_regular_text(path, limits::MAX_CONFIG_BYTES)?;
        let config: Self =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(config)
    }

    /// The course's autoencoder settings: 1024-32-32-32-1024, batch 36, lr 3e-5.
    pub fn autoencoder() -> Self {
        Self {
            task: Task::Autoencode,
            hidden: 32,
            depth: 3,
            activation: Activation::Relu,
            lr: 3e-5,
            batch: 36,
            epochs: 100,
            ..Self::default()
        }
    }

    /// The course's CNN with settings for the summed cross-entropy (the course's lr 1e-2
    /// was for the batch mean, i.e. 3e-4 summed at batch 32; on `builtin` 1e-3 learned
    /// faster: valid 0.81 against 0.79 after 3 epochs). Augmented, since it otherwise learns
    /// the training hands by heart, and for 30 epochs, since augmented it keeps gaining that
    /// long (about 30 s on 2 cores). Seeds 1-3, 30 epochs: valid 0.879-0.885, test
    /// 0.908-0.912 against 0.837-0.852, 0.869-0.883 plain; 10 epochs, seeds 1-2: valid
    /// 0.865-0.874 against 0.846-0.851.
    pub fn cnn() -> Self {
        Self {
            model: Model::Cnn,
            lr: 1e-3,
            momentum: 0.9,
            batch: 32,
            epochs: 30,
            augment: true,
            ..Self::default()
        }
    }

    /// Settings that learn a 2-D toy problem in seconds: a small tanh net, many quick epochs.
    pub fn toy(kind: crate::data::toy::ToyKind) -> Self {
        Self {
            data: DataSource::Toy(kind),
            hidden: 16,
            depth: 2,
            activation: Activation::Tanh,
            // Spirals learn in 300 epochs at 3e-3 (train accuracy 1.0); at 1e-2 they stall at 0.64.
            lr: 3e-3,
            batch: 16,
            epochs: 300,
            ..Self::default()
        }
    }

    /// The defaults for `model` (a layer list starts as the course's CNN, for 36 classes).
    pub fn for_model(model: Model) -> Self {
        match model {
            Model::Mlp => Self::default(),
            Model::Cnn => Self::cnn(),
            Model::Layers => Self::preset(Preset::CourseCnn, 36),
        }
    }

    /// The layer list of `preset` for `classes` classes, with the settings of the network it
    /// is (the CNN's for the convolutional presets). The deeper CNNs have their own recipe,
    /// the best of those measured on `builtin` (deep-cnn: valid 0.917, test 0.935 at seed 1,
    /// against 0.909 with Adam at 1e-3 and a cosine schedule for 30 epochs).
    pub fn preset(preset: Preset, classes: usize) -> Self {
        let base = match preset {
            Preset::CourseMlp => Self::default(),
            Preset::DeepCnn | Preset::VggCnn => Self {
                optimizer: OptimizerKind::AdamW,
                lr: 2e-3,
                weight_decay: 0.05,
                schedule: Schedule::Cosine { floor: 0.02 },
                warmup: 1,
                epochs: 40,
                ..Self::cnn()
            },
            _ => Self::cnn(),
        };
        Self {
            model: Model::Layers,
            layers: preset.layers(classes),
            ..base
        }
    }

    /// The optimiser's settings.
    pub fn optimizer_settings(&self) -> OptimizerSettings {
        OptimizerSettings {
            kind: self.optimizer,
            momentum: self.momentum,
            beta1: self.beta1,
            beta2: self.beta2,
            rho: self.rho,
            eps: self.eps,
            weight_decay: self.weight_decay,
        }
    }

    /// The schedule over this run's epochs.
    pub fn rate_plan(&self) -> RatePlan {
        RatePlan {
            schedule: self.schedule,
            warmup: self.warmup,
            epochs: self.epochs,
        }
    }

    /// Why the optimiser or schedule settings cannot train, if they cannot.
    pub fn check_training(&self) -> Result<()> {
        self.optimizer_settings()
            .check()
            .and_then(|()| self.schedule.check())
            .map_err(anyhow::Error::msg)
    }

    /// The defaults of `task` (the classifier's or the course's autoencoder).
    pub fn for_task(task: Task) -> Self {
        match task {
            Task::Classify => Self::default(),
            Task::Autoencode => Self::autoencoder(),
        }
    }

    /// The part of `data` this run trains on (its classes and samples per class), with the
    /// extra crops of the chosen classes added to the training split after the per-class
    /// limit (so the limit never cuts them).
    pub fn select(&self, data: &Arc<Splits>) -> Result<Arc<Splits>> {
        let narrowed = if self.classes.trim().is_empty() && self.per_class == 0 {
            data.clone()
        } else {
            Arc::new(data.select(&self.classes, self.per_class)?)
        };
        let Some(folder) = &self.extra_train else {
            return Ok(narrowed);
        };
        // Read against every class of the data: a folder naming none of them is an error.
        let all = &data.train.classes;
        let keep: Vec<usize> = narrowed
            .train
            .classes
            .iter()
            .map(|c| {
                all.iter()
                    .position(|a| a == c)
                    .expect("chosen from the data")
            })
            .collect();
        let extra = corrections::load(folder, all)?.only_classes(&keep);
        let mut more = Splits::clone(&narrowed);
        more.train = more
            .train
            .concat(&extra)
            .with_context(|| format!("adding the crops of {}", folder.display()))?;
        Ok(Arc::new(more))
    }

    /// The run configuration saved in `model`, if it has one, checked like any other.
    pub fn of_model(model: &SavedModel) -> Result<Option<Self>> {
        let Some(json) = model.config.as_deref() else {
            return Ok(None);
        };
        let config: Self =
            serde_json::from_str(json).context("reading the model's run configuration")?;
        config.validate().context("the model's run configuration")?;
        Ok(Some(config))
    }

    /// The network this config builds on `input` with `classes` classes, as rows of the
    /// layer-list editor; every other setting stays.
    pub fn as_layer_list(&self, input: Shape, classes: usize) -> Result<Self> {
        let spec = self.network_spec(input, classes)?;
        Ok(self.clone().with_layers(spec))
    }

    /// The config to show and save for a loaded `model`: its stored run configuration
    /// (refused when it is not a valid one) on `self`'s data, or, for a model that stores
    /// none (made elsewhere), `self` with the model's network as a layer list.
    pub fn for_model_file(&self, model: &SavedModel) -> Result<Self> {
        Ok(match Self::of_model(model)? {
            Some(own) => own.on_data_of(self),
            None if model.classes.is_empty() => self.clone(),
            None => self.clone().with_layers(model.net.spec().clone()),
        })
    }

    /// `spec` as this config's layer list. A list reads images only after a flatten, so
    /// an MLP's list (whose spec reads flat vectors) gains one.
    fn with_layers(self, spec: NetworkSpec) -> Self {
        let mut layers = spec.layers;
        if matches!(layers.first(), Some(LayerSpec::Dense(_))) {
            layers.insert(0, LayerSpec::Flatten(FlattenSpec));
        }
        Self {
            task: Task::Classify,
            model: Model::Layers,
            layers,
            ..self
        }
    }

    /// This config training on `other`'s data: its source, class selection and extra crops.
    pub fn on_data_of(self, other: &RunConfig) -> Self {
        Self {
            data: other.data.clone(),
            classes: other.classes.clone(),
            per_class: other.per_class,
            extra_train: other.extra_train.clone(),
            ..self
        }
    }

    /// Loads the data this run trains on.
    pub fn load_data(&self) -> Result<Arc<Splits>> {
        self.select(&Arc::new(self.data.load()?))
    }

    pub fn loss(&self) -> Loss {
        match self.task {
            Task::Classify => Loss::CrossEntropy,
            Task::Autoencode => Loss::SquaredError,
        }
    }

    /// The network this config trains on images of `input` shape with `classes` classes.
    /// The autoencoder is always dense.
    /// A layer list that cannot work on this data is refused with the row it fails at.
    pub fn network_spec(&self, input: Shape, classes: usize) -> Result<NetworkSpec> {
        let hidden = vec![self.hidden; self.depth];
        Ok(match (self.task, self.model) {
            (Task::Classify, Model::Mlp) => {
                NetworkSpec::mlp(input.len(), &hidden, self.activation, classes)
            }
            (Task::Classify, Model::Cnn) => NetworkSpec::cnn(input, classes),
            (Task::Classify, Model::Layers) => {
                if let Some(e) = layer_list::check(input, &self.layers, classes).error {
                    anyhow::bail!("the layer list cannot work: {e}");
                }
                NetworkSpec {
                    input,
                    layers: self.layers.clone(),
                }
            }
            (Task::Autoencode, _) => {
                let mut spec = NetworkSpec::mlp(input.len(), &hidden, self.activation, input.len());
                spec.layers.push(LayerSpec::Activation(ActivationSpec {
                    f: Activation::Sigmoid,
                }));
                spec.input = input;
                spec
            }
        })
    }
}
