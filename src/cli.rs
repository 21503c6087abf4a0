//! The headless commands. `nnlab` with no command opens the GUI.

use crate::data::{DataSource, toy};
use crate::nn::gradcheck::{GradCheckReport, check_gradients};
use crate::nn::layer_list::{self, Preset};
use crate::nn::{
    Activation, Init, LayerSpec, Loss, Network, NetworkSpec, OptimizerKind, SavedModel,
};
use crate::train::metrics::{mean_finite, most_confused, psnr_rows};
use crate::train::schedule::Schedule;
use crate::train::snapshots::Classified;
use crate::train::trainer::Weights;
use crate::train::trainer::evaluate;
use crate::train::{EpochStats, Model, RunConfig, Task, Trainer, finetune};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "nnlab",
    version,
    about = "A lab for neural networks that read handwriting"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the window, train with the default settings, save a PNG of the window here and close.
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// The tab the screenshot shows, by its name in the tab bar (an unknown name lists
    /// them). The run fits the tab: the sweep tab sweeps the default rates 0.1x, 1x, 10x, the
    /// autoencoder tab trains the autoencoder, draw shows a drawn A without training, the
    /// gradient check checks the CNN and toy trains the spirals.
    #[arg(long, default_value = "curves", requires = "screenshot")]
    pub tab: crate::gui::Tab,
    /// Epochs the screenshot run trains.
    #[arg(long, default_value_t = 20, requires = "screenshot")]
    pub train_epochs: usize,
    /// Move the Weights and Confusion tabs' epoch slider back to this epoch before the screenshot.
    #[arg(long, requires = "screenshot")]
    pub replay_epoch: Option<usize>,
    /// Open this photo in the OCR tab (with --screenshot --tab ocr: the photo it shows).
    #[arg(long, value_name = "IMAGE")]
    pub open: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a classifier and print train/valid/test loss and accuracy.
    Train(TrainArgs),
    /// Train a saved model's layers on new classes: its last dense layer is replaced, its
    /// first `--freeze` layers keep their weights.
    Finetune(FinetuneArgs),
    /// Train the autoencoder (1024-32-32-32-1024) and print the mean validation PSNR.
    Autoencoder {
        #[command(flatten)]
        train: TrainArgs,
        /// Write originals beside their reconstructions (5 classes x 2 validation images).
        #[arg(long)]
        recon_png: Option<PathBuf>,
    },
    /// Check back-propagated gradients against central differences (exit 1 on failure).
    Gradcheck,
    /// Accuracy and confusion matrix of a saved model on a data set.
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// `builtin` or a folder with nist36_*.mat files.
        #[arg(long, default_value = "builtin")]
        data: String,
        /// train, valid or test.
        #[arg(long, default_value = "test")]
        split: String,
    },
    /// Write a saved model (nnlab safetensors or ONNX) for other tools: an ONNX file and/or
    /// PyTorch weights with a model.py that loads them, predicts and keeps training.
    Export {
        model: PathBuf,
        /// Write an ONNX file (opset 13, dynamic batch, class probabilities out).
        #[arg(long, value_name = "OUT.onnx")]
        onnx: Option<PathBuf>,
        /// Write model.safetensors (a PyTorch state_dict) and model.py into this folder.
        #[arg(long, value_name = "DIR")]
        torch: Option<PathBuf>,
    },
    /// Write a data set's train/valid/test splits as safetensors (images, labels, class
    /// names) for PyTorch, e.g. for the model.py of `export --torch`.
    ExportData {
        /// `builtin` or a data folder, as for `train --data`.
        #[arg(long, default_value = "builtin")]
        data: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Regenerate an embedded data set (after changing its assets or generator).
    GenBuiltin {
        /// `builtin` (A-Z, 0-9) or `builtin62` (with a-z).
        #[arg(long, default_value = "builtin", value_parser = ["builtin", "builtin62"])]
        set: String,
        /// Where to write it [default: the set's file in assets/].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = crate::data::builtin::SEED)]
        seed: u64,
    },
    /// Time the engine on the anchor workloads; ends with `bench <name> samples_per_s=<n>` lines.
    Bench {
        /// mlp (workload A at batch 32 and 128 and the forward pass D), cnn (workload C), all,
        /// or one of mlp_b32, mlp_b128, forward, cnn_b32.
        #[arg(long, default_value = "all")]
        workload: String,
        /// Timed epochs per workload and round (the median is reported).
        #[arg(long, default_value_t = 3)]
        epochs: usize,
        /// Rounds of nnlab, numpy, PyTorch, one after the other (medians over the rounds).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The anchors' folder (../shared/anchors): also run its numpy and PyTorch scripts,
        /// interleaved with nnlab, and print the same-run ratios.
        #[arg(long, value_name = "DIR")]
        anchors: Option<PathBuf>,
        /// The Python with numpy and torch [default: $NNLAB_PYTHON, else
        /// ${SCRATCH:-/tmp}/anchorwork/venv/bin/python if it exists, else python3].
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
    },
    /// Read handwriting in photos: prints the text (or JSON with boxes and top-5 guesses).
    Ocr {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        ocr: OcrArgs,
        /// Print one JSON object per photo: text, boxes, top-5 classes and probabilities.
        #[arg(long)]
        json: bool,
    },
    /// Run folders (from `train --save-run` or the GUI's "Export run...") side by side: final
    /// and best valid accuracy, epochs, time and the settings that differ.
    Compare {
        #[arg(required = true, value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        /// Also write their loss and accuracy overlaid (train thin, valid bold) as a PNG.
        #[arg(long, value_name = "OUT.png")]
        png: Option<PathBuf>,
    },
    /// Character accuracy of the OCR on photos with a known text (FILE<TAB>line1|line2|...).
    OcrEval {
        truth_file: PathBuf,
        image_dir: PathBuf,
        #[command(flatten)]
        ocr: OcrArgs,
    },
}

/// Flags shared by `ocr` and `ocr-eval`.
#[derive(Args, Debug, Clone)]
pub struct OcrArgs {
    /// The classifier (safetensors from `train --save`); a shipped one otherwise.
    #[arg(long, conflicts_with = "case")]
    pub model: Option<PathBuf>,
    /// Which shipped classifier reads: `capitals` (A-Z, 0-9), `mixed` (A-Z, a-z, 0-9; the
    /// case of c/C, o/O, s/S ... from the letter's height in its line) or `auto` (both
    /// read, the surer reading wins).
    #[arg(long, value_parser = ["capitals", "mixed", "auto"])]
    pub case: Option<String>,
    /// Write the stage images, the photo with boxes and the crops here.
    #[arg(long)]
    pub debug_dir: Option<PathBuf>,
    /// Added to Otsu's threshold level (positive: more ink).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub threshold_offset: i32,
    /// Turn off the post-step that makes each word all letters or all digits.
    #[arg(long)]
    pub mixed_words: bool,
    /// Keep words as the classifier reads them (otherwise a word of three or more letters
    /// that no English dictionary holds becomes the word its letters could as well be).
    #[arg(long)]
    pub no_dictionary: bool,
    /// `auto`: also try the page turned by 90, 180 and 270 degrees, keep the surest reading.
    #[arg(long, default_value = "upright", value_parser = ["upright", "auto"])]
    pub orient: String,
    /// The writing's angle in degrees (positive: lines run down to the right), instead of
    /// the estimate.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(f32))]
    pub angle: Option<f32>,
    /// Cut touching letters by width alone (segmentation by recognition off).
    #[arg(long)]
    pub width_cuts: bool,
    /// Leave the printed rules of ruled or squared paper in the ink (they are taken out
    /// before letters are looked for otherwise).
    #[arg(long)]
    pub keep_rules: bool,
}

impl OcrArgs {
    pub fn params(&self) -> crate::ocr::OcrParams {
        crate::ocr::OcrParams {
            threshold_offset: self.threshold_offset,
            one_kind_per_word: !self.mixed_words,
            dictionary: !self.no_dictionary,
            orient_auto: self.orient == "auto",
            angle: self.angle,
            by_recognition: !self.width_cuts,
            remove_rules: !self.keep_rules,
            case: match self.case.as_deref() {
                Some("mixed") => crate::ocr::Case::Mixed,
                Some("auto") => crate::ocr::Case::Auto,
                _ => crate::ocr::Case::Capitals,
            },
            ..Default::default()
        }
    }

    /// The model given, or the shipped ones `--case` names.
    pub fn models(&self) -> Result<Vec<crate::nn::SavedModel>> {
        match &self.model {
            Some(path) => Ok(vec![crate::ocr::commands::load_model(path)?]),
            None => self.params().case.models(),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Start from this run configuration (JSON); the flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `builtin`, a folder with nist36_{train,valid,test}.mat, CIFAR-10 batches
    /// (data_batch_1.bin ... test_batch.bin) or one sub-folder of images per class.
    #[arg(long)]
    pub data: Option<String>,
    /// Side the images of an image folder are resized to.
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Only these classes, e.g. `0-9` or `A,B,C` (names as the data set has them).
    #[arg(long)]
    pub classes: Option<String>,
    /// Train on only the first N samples of each class (0: all).
    #[arg(long)]
    pub per_class: Option<usize>,
    /// Also train on the crops in this folder (one sub-folder per class, 32x32 images of
    /// dark ink on white, as the OCR tab saves corrections).
    #[arg(long)]
    pub extra_train: Option<PathBuf>,
    /// mlp, cnn (the course's CNN; its defaults: lr 1e-3, momentum 0.9, 30 epochs, augment)
    /// or layers (the list of --layers).
    #[arg(long)]
    pub model: Option<Model>,
    /// The network as a list of layers, e.g. "conv 8 3, bn, relu, pool 2, flatten, dense 36"
    /// (rows: dense N, conv OUT KERNEL [STRIDE [PADDING]], pool SIZE [STRIDE], bn, dropout P,
    /// flatten, sigmoid, tanh, relu, identity; the last row is dense <class count>).
    #[arg(long, value_parser = parse_layers)]
    pub layers: Option<LayerList>,
    /// A layer list to start from, with its network's defaults: course-mlp, course-cnn,
    /// lenet5, deep-cnn or vgg-cnn (its output layer fits the data's class count).
    #[arg(long)]
    pub preset: Option<Preset>,
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Number of hidden layers.
    #[arg(long)]
    pub depth: Option<usize>,
    #[arg(long)]
    pub activation: Option<Activation>,
    #[arg(long)]
    pub init: Option<Init>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// sgd, momentum, nesterov, adam, adamw or rmsprop.
    #[arg(long)]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum and Nesterov's mu.
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Adam's first-moment decay.
    #[arg(long)]
    pub beta1: Option<f64>,
    /// Adam's second-moment decay.
    #[arg(long)]
    pub beta2: Option<f64>,
    /// RMSProp's decay of the squared gradients.
    #[arg(long)]
    pub rho: Option<f64>,
    /// Adam's and RMSProp's eps.
    #[arg(long)]
    pub eps: Option<f64>,
    /// L2 weight decay of dense and convolution weights (decoupled for adamw).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Label smoothing: training targets give this share of their weight to all classes
    /// evenly (0 to 0.5; validation and test keep their labels).
    #[arg(long, value_name = "X")]
    pub label_smoothing: Option<f64>,
    /// constant, step:N:GAMMA (times GAMMA every N epochs), exp:GAMMA (every epoch) or
    /// cosine:FLOOR (down to FLOOR times the rate in the last epoch).
    #[arg(long)]
    pub schedule: Option<Schedule>,
    /// Epochs of linear warm-up before the schedule.
    #[arg(long, value_name = "EPOCHS")]
    pub warmup: Option<usize>,
    /// Stop after N epochs without a lower validation loss (0: never).
    #[arg(long, value_name = "N")]
    pub early_stop: Option<usize>,
    /// Which weights --save, --save-run and the final evaluation use: last, or best (those
    /// of the epoch with the lowest validation loss).
    #[arg(long, default_value = "last")]
    pub keep: Weights,
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Warp every training image a little (rotation, shear, size, shift), afresh in every
    /// batch; validation and test images stay as they are. `--augment false` turns it off.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub augment: Option<bool>,
    /// Train on touching letters too: a share of training images get a neighbour drawn over
    /// an edge and are cut off it as OCR cuts, a few are the pair read whole (the classifier
    /// learns to be unsure of it). The shipped model was trained so. Characters only.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub touching: Option<bool>,
    /// Save the trained model here (safetensors).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Write a run report here: config.json, model.safetensors, metrics.csv and PNGs of the
    /// curves, first-layer weights and confusion matrix (`train --config DIR/config.json`
    /// reproduces the run).
    #[arg(long, value_name = "DIR")]
    pub save_run: Option<PathBuf>,
    /// Print the per-epoch history as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
    /// Let `--save-run` replace a folder that is not empty (an earlier run).
    #[arg(long)]
    pub force: bool,
}

impl TrainArgs {
    /// The configuration these flags describe, on top of `--config` or the defaults,
    /// checked against every setting's limits.
    pub fn run_config(&self, base: RunConfig) -> Result<RunConfig> {
        let mut c = match &self.config {
            Some(p) => RunConfig::from_file(p)?,
            None => match self.preset {
                Some(preset) => RunConfig::preset(preset, crate::data::nist36_classes().len()),
                None => self.model.map_or(base, RunConfig::for_model),
            },
        };
        if let Some(preset) = self.preset {
            c.model = Model::Layers;
            c.layers = preset.layers(crate::data::nist36_classes().len());
        }
        if let Some(LayerList(layers)) = &self.layers {
            c.model = Model::Layers;
            c.layers = layers.clone();
        }
        if let Some(d) = &self.data {
            c.data = DataSource::parse(d);
        }
        if let (Some(s), DataSource::ImageFolder { side, .. }) = (self.image_size, &mut c.data) {
            *side = s;
        }
        if let Some(folder) = &self.extra_train {
            c.extra_train = Some(folder.clone());
        }
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        take!(
            model,
            classes,
            per_class,
            hidden,
            depth,
            activation,
            init,
            epochs,
            lr,
            momentum,
            batch,
            seed,
            augment,
            touching,
            optimizer,
            beta1,
            beta2,
            rho,
            eps,
            weight_decay,
            label_smoothing,
            schedule,
            warmup,
            early_stop
        );
        if self.image_size.is_some() && !matches!(c.data, DataSource::ImageFolder { .. }) {
            eprintln!("warning: --image-size is ignored: the data is not an image folder");
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks every output path before any work: a bad one must not cost a training run.
    pub fn check_outputs(&self) -> Result<()> {
        if let Some(path) = &self.save {
            crate::files::check_output_file(path)?;
        }
        if let Some(dir) = &self.save_run {
            crate::files::check_output_folder(dir, self.force)?;
        }
        if self.force && self.save_run.is_none() {
            eprintln!("warning: --force is ignored without --save-run");
        }
        Ok(())
    }

    /// The flags that choose the network, which fine-tuning takes from the saved model.
    fn network_flags(&self) -> Vec<&'static str> {
        [
            ("--model", self.model.is_some()),
            ("--hidden", self.hidden.is_some()),
            ("--depth", self.depth.is_some()),
            ("--activation", self.activation.is_some()),
            ("--init", self.init.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

#[derive(Args, Debug, Clone)]
pub struct FinetuneArgs {
    /// The saved model to start from (safetensors).
    #[arg(long)]
    pub from: PathBuf,
    /// How many of its first layers keep their weights (`all`: every layer but the new last one).
    #[arg(long, default_value = "all", value_parser = parse_freeze)]
    pub freeze: usize,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// A `--layers` list (a newtype: clap would read a `Vec` as repeated values).
#[derive(Clone, Debug)]
pub struct LayerList(pub Vec<LayerSpec>);

fn parse_layers(s: &str) -> Result<LayerList, String> {
    layer_list::parse(s).map(LayerList)
}

fn parse_freeze(s: &str) -> Result<usize, String> {
    if s == "all" {
        Ok(usize::MAX)
    } else {
        s.parse()
            .map_err(|_| format!("'{s}' is not a layer count or 'all'"))
    }
}

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`nnlab eval | head`) panics;
/// a command-line tool should just end, as `cat` does. The window keeps Rust's default
/// (a dropped connection is an error it reports, not a silent end).
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called at the start of main, before any thread is spawned, with the
    // default disposition, which has no handler to be unsound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_some() {
        end_quietly_on_a_closed_pipe();
    }
    if let Err(e) = crate::nn::parallel::threads_setting() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        None => crate::gui::run(
            cli.screenshot.map(|path| crate::gui::ScreenshotPlan {
                path,
                tab: cli.tab,
                epochs: cli.train_epochs,
                replay_epoch: cli.replay_epoch,
            }),
            cli.open,
        ),
        Some(Command::Train(args)) => train(&args, RunConfig::default()).map(|_| ExitCode::SUCCESS),
        Some(Command::Autoencoder {
            train: args,
            recon_png,
        }) => autoencoder(&args, recon_png),
        Some(Command::Finetune(args)) => fine_tune(&args),
        Some(Command::Gradcheck) => gradcheck(),
        Some(Command::GenBuiltin { set, out, seed }) => gen_builtin(&set, out, seed),
        Some(Command::Eval { model, data, split }) => eval(&model, &data, &split),
        Some(Command::Export { model, onnx, torch }) => {
            export(&model, onnx.as_deref(), torch.as_deref())
        }
        Some(Command::ExportData { data, out }) => export_data(&data, &out),
        Some(Command::Bench {
            workload,
            epochs,
            rounds,
            anchors,
            python,
        }) => crate::train::bench::run(&crate::train::bench::BenchOptions {
            workload,
            epochs,
            rounds,
            anchors,
            python: python.unwrap_or_else(crate::train::bench::BenchOptions::default_python),
        }),
        Some(Command::Ocr { images, ocr, json }) => ocr.models().and_then(|models| {
            crate::ocr::commands::ocr(
                &images,
                models,
                json,
                ocr.debug_dir.as_deref(),
                &ocr.params(),
            )
        }),
        Some(Command::Compare { runs, png }) => compare(&runs, png.as_deref()),
        Some(Command::OcrEval {
            truth_file,
            image_dir,
            ocr,
        }) => ocr.models().and_then(|models| {
            crate::ocr::commands::ocr_eval(
                &truth_file,
                &image_dir,
                models,
                ocr.debug_dir.as_deref(),
                &ocr.params(),
            )
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the table of the run folders `dirs` (each named as given); writes their curves
/// to `png` if asked.
fn compare(dirs: &[PathBuf], png: Option<&std::path::Path>) -> Result<ExitCode> {
    if let Some(path) = png {
        crate::files::check_output_file(path)?;
    }
    let runs = dirs
        .iter()
        .map(|dir| crate::train::report::read_run(dir))
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<_> = runs
        .iter()
        .map(|r| (r.dir.display().to_string(), r.history.as_slice(), &r.config))
        .collect();
    print!("{}", crate::train::compare::table_text(&rows));
    if let Some(path) = png {
        // The legend names each run by its folder's name: whole paths would not fit.
        let curves: Vec<_> = runs
            .iter()
            .map(|r| {
                let name = r.dir.file_name().unwrap_or(r.dir.as_os_str());
                (name.to_string_lossy().into_owned(), r.history.as_slice())
            })
            .collect();
        crate::train::report::compare_image(&curves)
            .save(path)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// An epoch progress bar on stderr (hidden when stderr is not a terminal).
pub fn epoch_bar(len: usize, message: String) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} batches {per_sec} {wide_msg:.dim}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Trains with a progress bar per epoch; stops early with an error when the loss diverges.
pub fn train_with_progress(trainer: &mut Trainer, json: bool) -> Result<()> {
    let epochs = trainer.config.epochs;
    for e in 1..=epochs {
        let bar = epoch_bar(trainer.batches_per_epoch(), format!("epoch {e}/{epochs}"));
        let r = trainer.run_epoch(|_| bar.inc(1));
        bar.finish_and_clear();
        if r.diverged() {
            bail!(
                "training diverged in epoch {} batch {} (loss {}): lower the learning rate (now {})",
                r.epoch,
                r.batch,
                r.loss,
                trainer.config.lr
            );
        }
        let s = r.epoch_done.expect("epoch finished");
        if json {
            println!("{}", serde_json::to_string(&s)?);
        } else {
            eprintln!("{}", epoch_line(&s, trainer.config.task));
        }
        if let Some(why) = trainer.stopped_learning() {
            bail!(
                "training stopped learning: {why}; lower the learning rate (now {}) or the momentum (now {})",
                trainer.config.lr,
                trainer.config.momentum
            );
        }
        if r.stop_early {
            eprintln!(
                "early stop: {} epochs without a lower validation loss",
                trainer.config.early_stop
            );
            break;
        }
    }
    Ok(())
}

/// One epoch's metrics: accuracies for a classifier, the validation PSNR for an
/// autoencoder (whose accuracy means nothing).
fn epoch_line(s: &EpochStats, task: Task) -> String {
    let metrics = match task {
        Task::Classify => format!(
            "train loss {:.4} acc {:.3}  valid loss {:.4} acc {:.3}",
            s.train_loss, s.train_acc, s.valid_loss, s.valid_acc
        ),
        Task::Autoencode => format!(
            "train loss {:.4}  valid loss {:.4} PSNR {:.2} dB",
            s.train_loss,
            s.valid_loss,
            s.valid_psnr.unwrap_or(f64::NAN)
        ),
    };
    format!(
        "epoch {:>3}  {metrics}  lr {:.2e}  ({:.2}s)",
        s.epoch, s.lr, s.seconds
    )
}

fn train(args: &TrainArgs, base: RunConfig) -> Result<Trainer> {
    let mut config = args.run_config(base)?;
    args.check_outputs()?;
    let data = config.load_data()?;
    if let (Some(preset), None) = (args.preset, &args.layers) {
        config.layers = preset.layers(data.train.classes.len());
    }
    let trainer = Trainer::new(config, data)?;
    train_and_report(trainer, args)
}

/// Fine-tunes with the saved model's own settings (or the defaults for its kind), overridden by the flags.
fn fine_tune(args: &FinetuneArgs) -> Result<ExitCode> {
    let model = SavedModel::load(&args.from)?;
    let base = RunConfig::default()
        .for_model_file(&model)
        .with_context(|| format!("{}", args.from.display()))?;
    let ignored = args.train.network_flags();
    if !ignored.is_empty() {
        eprintln!(
            "warning: {} ignored: fine-tuning keeps the network of {}",
            ignored.join(", "),
            args.from.display()
        );
    }
    let config = args.train.run_config(base)?;
    args.train.check_outputs()?;
    let data = config.load_data()?;
    let trainer = finetune::trainer(&model, data, config, args.freeze)
        .with_context(|| format!("fine-tuning {}", args.from.display()))?;
    let frozen = finetune::frozen_tensors(&trainer.net);
    eprintln!(
        "fine-tuning {} ({frozen} parameter tensors frozen)",
        args.from.display()
    );
    train_and_report(trainer, &args.train).map(|_| ExitCode::SUCCESS)
}

/// Trains for the configured epochs, prints every split's loss and accuracy and saves the
/// model if asked. Returns the trainer for task-specific reports.
fn train_and_report(mut trainer: Trainer, args: &TrainArgs) -> Result<Trainer> {
    let data = trainer.data.clone();
    eprintln!(
        "training {} on {} ({} train / {} valid / {} test)",
        trainer.net.spec().describe(),
        data.name,
        data.train.len(),
        data.valid.len(),
        data.test.len()
    );
    train_with_progress(&mut trainer, args.json)?;
    if args.keep == Weights::Best
        && let Some(best) = &trainer.best
    {
        eprintln!(
            "keeping the best weights: epoch {} (valid loss {:.4})",
            best.epoch, best.valid_loss
        );
    }
    trainer.with_weights(args.keep, |trainer| report_and_save(trainer, args))?;
    Ok(trainer)
}

/// Prints every split's loss and accuracy and writes what `args` ask for.
fn report_and_save(trainer: &mut Trainer, args: &TrainArgs) -> Result<()> {
    let data = trainer.data.clone();
    for (name, ds) in [
        ("train", &data.train),
        ("valid", &data.valid),
        ("test", &data.test),
    ] {
        if ds.is_empty() {
            continue;
        }
        let ev = trainer.evaluate(ds);
        let line = match trainer.config.task {
            Task::Classify => format!("{name}: loss {:.4} accuracy {:.4}", ev.loss, ev.accuracy),
            Task::Autoencode => format!("{name}: loss {:.4}", ev.loss),
        };
        if args.json {
            eprintln!("{line}")
        } else {
            println!("{line}")
        }
    }
    if let Some(path) = &args.save {
        trainer.saved_model().save(path)?;
        eprintln!("saved {}", path.display());
    }
    if let Some(dir) = &args.save_run {
        crate::train::report::write_run_folder(dir, trainer, args.force)?;
        eprintln!("wrote the run report to {}", dir.display());
    }
    Ok(())
}

fn autoencoder(args: &TrainArgs, recon_png: Option<PathBuf>) -> Result<ExitCode> {
    if let Some(path) = &recon_png {
        crate::files::check_output_file(path)?;
    }
    let mut trainer = train(args, RunConfig::autoencoder())?;
    let valid = trainer.data.valid.clone();
    let recon = trainer.evaluate(&valid).outputs;
    let psnrs = psnr_rows(valid.images.view(), recon.view());
    println!(
        "valid PSNR: mean {:.2} dB over {} images",
        mean_finite(&psnrs),
        psnrs.len()
    );
    if let Some(path) = recon_png {
        let picks = crate::train::metrics::reconstruction_picks(&valid.labels, 5, 2);
        let tiles: Vec<_> = picks
            .iter()
            .flat_map(|&i| [valid.images.row(i), recon.row(i)])
            .collect();
        crate::data::grid::save_grid_png(&path, &tiles, 4, 3)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The course's check: the 2-D toy problem, 2 -> 25 sigmoid -> 4 softmax, in f64.
pub fn toy_gradcheck() -> Result<GradCheckReport> {
    let ds = toy::four_clusters(10, 0);
    let spec = NetworkSpec::mlp(2, &[25], Activation::Sigmoid, 4);
    let mut net = Network::<f64>::new(spec, Init::Xavier, 0)?;
    let x = ds.images.mapv(f64::from);
    let t = ds.one_hot().mapv(f64::from);
    Ok(check_gradients(
        &mut net,
        Loss::CrossEntropy,
        x.view(),
        t.view(),
        1e-6,
    ))
}

pub fn print_gradcheck(report: &GradCheckReport) {
    println!("{:<20} {:>12}", "tensor", "rel. error");
    for t in &report.tensors {
        println!("{:<20} {:>12.3e}", t.name, t.relative_error);
    }
    println!(
        "{:<20} {:>12.3e}  (tolerance {:.0e})",
        "total",
        report.total,
        GradCheckReport::TOLERANCE
    );
}

fn gradcheck() -> Result<ExitCode> {
    let report = toy_gradcheck()?;
    print_gradcheck(&report);
    if report.passed() {
        println!("PASS");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAIL");
        Ok(ExitCode::FAILURE)
    }
}

fn gen_builtin(set: &str, out: Option<PathBuf>, seed: u64) -> Result<ExitCode> {
    use crate::data::builtin::{self, Variant};
    let variant = match set {
        "builtin62" => Variant::MixedCase,
        _ => Variant::Capitals,
    };
    let out = out.unwrap_or_else(|| variant.packed_file().into());
    let start = std::time::Instant::now();
    let splits = builtin::generate(variant, seed)?;
    eprintln!("generated in {:.2}s", start.elapsed().as_secs_f64());
    let bytes = builtin::pack(&splits)?;
    crate::files::write_atomic(&out, &bytes)?;
    eprintln!(
        "wrote {} ({} bytes); rebuild to embed it",
        out.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `nnlab export`: prints each file written with its size and the time it took.
fn export(
    model: &std::path::Path,
    onnx: Option<&std::path::Path>,
    torch: Option<&std::path::Path>,
) -> Result<ExitCode> {
    if onnx.is_none() && torch.is_none() {
        bail!("nothing to export: give --onnx OUT.onnx and/or --torch DIR");
    }
    let model = SavedModel::load(model)?;
    let report = |path: &std::path::Path, start: std::time::Instant| -> Result<()> {
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        let ms = start.elapsed().as_secs_f64() * 1e3;
        eprintln!("wrote {} ({size} bytes, {ms:.1} ms)", path.display());
        Ok(())
    };
    if let Some(path) = onnx {
        if !crate::nn::onnx::is_onnx_path(path) {
            bail!(
                "the ONNX file's name must end in .onnx, not {}",
                path.display()
            );
        }
        let start = std::time::Instant::now();
        model.save(path)?;
        report(path, start)?;
    }
    if let Some(dir) = torch {
        let start = std::time::Instant::now();
        let files = crate::export::torch::write(&model, dir)?;
        report(&files.weights, start)?;
        report(&files.script, start)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn export_data(data: &str, out: &std::path::Path) -> Result<ExitCode> {
    let splits = DataSource::parse(data).load()?;
    for path in crate::export::data::write(&splits, out)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(model: &std::path::Path, data: &str, split: &str) -> Result<ExitCode> {
    let path = model;
    let mut model = SavedModel::load(path)?;
    if !["train", "valid", "test"].contains(&split) {
        bail!("unknown split '{split}' (train, valid, test)");
    }
    let splits = DataSource::parse(data).load()?;
    let ds = match split {
        "train" => &splits.train,
        "valid" => &splits.valid,
        _ => &splits.test,
    };
    let what = format!("the {split} split of {}", splits.name);
    model
        .check_classifier_for(ds.shape, &what)
        .with_context(|| format!("{}", path.display()))?;
    if model.classes != ds.classes {
        bail!(
            "{}: the model's classes ({}) are not those of {what} ({})",
            path.display(),
            model.classes.join(" "),
            ds.classes.join(" ")
        );
    }
    if ds.is_empty() {
        bail!("{what} is empty: there is nothing to evaluate");
    }
    let ev = evaluate(&mut model.net, Loss::CrossEntropy, Task::Classify, ds);
    let m = Classified::of(&ev.outputs, ds).confusion;
    println!(
        "{split}: {} samples, loss {:.4}, accuracy {:.4}",
        ds.len(),
        ev.loss,
        ev.accuracy
    );
    if splits.name == crate::data::builtin::Variant::MixedCase.name() {
        use crate::data::builtin::{self, Split, Variant};
        let which = match split {
            "train" => Split::Train,
            "valid" => Split::Valid,
            _ => Split::Test,
        };
        let places = builtin::line_places(Variant::MixedCase, builtin::SEED, which)?;
        let with_places = crate::data::case::accuracy_with_places(
            ev.outputs.view(),
            &ds.labels,
            &ds.classes,
            &places,
        );
        println!("accuracy {with_places:.4} with the case of c/C, o/O, s/S ... from the line");
    }
    println!("confusion matrix (rows: true class, columns: predicted)");
    print!("   ");
    for c in &ds.classes {
        print!("{c:>4}");
    }
    println!();
    for (i, row) in m.rows().into_iter().enumerate() {
        print!("{:>3}", ds.classes[i]);
        for v in row {
            print!("{v:>4}");
        }
        println!();
    }
    println!("most confused pairs:");
    for (t, p, n) in most_confused(&m, 10) {
        println!("  {} / {}: {n}", ds.classes[t], ds.classes[p]);
    }
    Ok(ExitCode::SUCCESS)
}
