//! The headless commands. `nnlab` with no command opens the GUI.

use crate::data::{DataSource, toy};
use crate::nn::gradcheck::{GradCheckReport, check_gradients};
use crate::nn::{Activation, Init, Loss, Network, NetworkSpec, SavedModel};
use crate::train::metrics::{mean_finite, most_confused, psnr_rows};
use crate::train::snapshots::Classified;
use crate::train::trainer::evaluate;
use crate::train::{Model, RunConfig, Task, Trainer, finetune};
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
    /// Regenerate the embedded `builtin` data set (after changing its assets or generator).
    GenBuiltin {
        #[arg(long, default_value = crate::data::builtin::PACKED_FILE)]
        out: PathBuf,
        #[arg(long, default_value_t = crate::data::builtin::SEED)]
        seed: u64,
    },
    /// Time the engine on the anchor workloads; ends with `bench <name> samples_per_s=<n>` lines.
    Bench {
        /// mlp (workload A at batch 32 and 128 and the forward pass D), cnn (workload C), or all.
        #[arg(long, default_value = "all")]
        workload: String,
        /// Timed epochs per workload (the median is reported).
        #[arg(long, default_value_t = 3)]
        epochs: usize,
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
    /// The classifier (safetensors from `train --save`); the shipped default otherwise.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Write the stage images, the photo with boxes and the crops here.
    #[arg(long)]
    pub debug_dir: Option<PathBuf>,
    /// Added to Otsu's threshold level (positive: more ink).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub threshold_offset: i32,
    /// Turn off the post-step that makes each word all letters or all digits.
    #[arg(long)]
    pub mixed_words: bool,
}

impl OcrArgs {
    pub fn params(&self) -> crate::ocr::OcrParams {
        crate::ocr::OcrParams {
            threshold_offset: self.threshold_offset,
            one_kind_per_word: !self.mixed_words,
            ..Default::default()
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
    /// mlp or cnn (the course's CNN; its defaults: lr 1e-3, momentum 0.9, 10 epochs, augment).
    #[arg(long)]
    pub model: Option<Model>,
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
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub momentum: Option<f64>,
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Warp every training image a little (rotation, shear, size, shift), afresh in every
    /// batch; validation and test images stay as they are. `--augment false` turns it off.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub augment: Option<bool>,
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
}

impl TrainArgs {
    /// The configuration these flags describe, on top of `--config` or the defaults.
    pub fn run_config(&self, base: RunConfig) -> Result<RunConfig> {
        let mut c = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => self.model.map_or(base, RunConfig::for_model),
        };
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
            model, classes, per_class, hidden, depth, activation, init, epochs, lr, momentum,
            batch, seed, augment
        );
        Ok(c)
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

fn parse_freeze(s: &str) -> Result<usize, String> {
    if s == "all" {
        Ok(usize::MAX)
    } else {
        s.parse()
            .map_err(|_| format!("'{s}' is not a layer count or 'all'"))
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Some(Command::GenBuiltin { out, seed }) => gen_builtin(&out, seed),
        Some(Command::Eval { model, data, split }) => eval(&model, &data, &split),
        Some(Command::Bench { workload, epochs }) => crate::train::bench::run(&workload, epochs),
        Some(Command::Ocr { images, ocr, json }) => crate::ocr::commands::ocr(
            &images,
            ocr.model.as_deref(),
            json,
            ocr.debug_dir.as_deref(),
            &ocr.params(),
        ),
        Some(Command::OcrEval {
            truth_file,
            image_dir,
            ocr,
        }) => crate::ocr::commands::ocr_eval(
            &truth_file,
            &image_dir,
            ocr.model.as_deref(),
            ocr.debug_dir.as_deref(),
            &ocr.params(),
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
            eprintln!(
                "epoch {:>3}  train loss {:.4} acc {:.3}  valid loss {:.4} acc {:.3}  ({:.2}s)",
                s.epoch, s.train_loss, s.train_acc, s.valid_loss, s.valid_acc, s.seconds
            );
        }
    }
    Ok(())
}

fn train(args: &TrainArgs, base: RunConfig) -> Result<Trainer> {
    let config = args.run_config(base)?;
    let data = config.load_data()?;
    let trainer = Trainer::new(config, data)?;
    train_and_report(trainer, args)
}

/// Fine-tunes with the saved model's own settings (or the defaults for its kind), overridden by the flags.
fn fine_tune(args: &FinetuneArgs) -> Result<ExitCode> {
    let model = SavedModel::load(&args.from)?;
    let base = RunConfig::of_model(&model)?.unwrap_or_default();
    let config = args.train.run_config(base)?;
    let data = config.load_data()?;
    let trainer = finetune::trainer(&model, data, config, args.freeze)?;
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
    for (name, ds) in [
        ("train", &data.train),
        ("valid", &data.valid),
        ("test", &data.test),
    ] {
        if ds.is_empty() {
            continue;
        }
        let ev = trainer.evaluate(ds);
        let line = format!("{name}: loss {:.4} accuracy {:.4}", ev.loss, ev.accuracy);
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
        crate::train::report::write_run(dir, &mut trainer)?;
        eprintln!("wrote the run report to {}", dir.display());
    }
    Ok(trainer)
}

fn autoencoder(args: &TrainArgs, recon_png: Option<PathBuf>) -> Result<ExitCode> {
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

fn gen_builtin(out: &std::path::Path, seed: u64) -> Result<ExitCode> {
    let start = std::time::Instant::now();
    let splits = crate::data::builtin::generate(seed)?;
    eprintln!("generated in {:.2}s", start.elapsed().as_secs_f64());
    let bytes = crate::data::builtin::pack(&splits)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} ({} bytes); rebuild to embed it",
        out.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn eval(model: &std::path::Path, data: &str, split: &str) -> Result<ExitCode> {
    let mut model = SavedModel::load(model)?;
    let splits = DataSource::parse(data).load()?;
    let ds = match split {
        "train" => &splits.train,
        "valid" => &splits.valid,
        "test" => &splits.test,
        other => bail!("unknown split '{other}' (train, valid, test)"),
    };
    if model.classes.len() != ds.classes.len() {
        bail!(
            "the model has {} classes, the data {}",
            model.classes.len(),
            ds.classes.len()
        );
    }
    let ev = evaluate(&mut model.net, Loss::CrossEntropy, Task::Classify, ds);
    let m = Classified::of(&ev.outputs, ds).confusion;
    println!(
        "{split}: {} samples, loss {:.4}, accuracy {:.4}",
        ds.len(),
        ev.loss,
        ev.accuracy
    );
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
