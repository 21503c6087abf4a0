//! The headless commands. `nnlab` with no command opens the GUI.

use crate::data::{DataSource, Splits, toy};
use crate::nn::gradcheck::{GradCheckReport, check_gradients};
use crate::nn::{Activation, Init, Loss, Network, NetworkSpec, SavedModel};
use crate::train::metrics::{confusion_matrix, most_confused};
use crate::train::trainer::{evaluate, predictions};
use crate::train::{RunConfig, Task, Trainer};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "nnlab",
    version,
    about = "A lab for neural networks that read handwriting"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a classifier and print train/valid/test loss and accuracy.
    Train(TrainArgs),
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
    /// Time the engine on the anchor workloads; ends with `bench <name> samples_per_s=<n>` lines.
    Bench {
        /// mlp (workload A at batch 32 and 128 and the forward pass D), or all.
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
    /// `builtin` or a folder with nist36_{train,valid,test}.mat.
    #[arg(long)]
    pub data: Option<String>,
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
    /// Save the trained model here (safetensors).
    #[arg(long)]
    pub save: Option<PathBuf>,
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
            None => base,
        };
        if let Some(d) = &self.data {
            c.data = DataSource::parse(d);
        }
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        take!(
            hidden, depth, activation, init, epochs, lr, momentum, batch, seed
        );
        Ok(c)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => crate::gui::run(),
        Some(Command::Train(args)) => train(&args),
        Some(Command::Gradcheck) => gradcheck(),
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

fn load_data(source: &DataSource) -> Result<Arc<Splits>> {
    Ok(Arc::new(source.load()?))
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

fn train(args: &TrainArgs) -> Result<ExitCode> {
    let config = args.run_config(RunConfig::default())?;
    let data = load_data(&config.data)?;
    let mut trainer = Trainer::new(config.clone(), data.clone())?;
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
        let ev = trainer.evaluate(ds);
        let line = format!("{name}: loss {:.4} accuracy {:.4}", ev.loss, ev.accuracy);
        if args.json {
            eprintln!("{line}")
        } else {
            println!("{line}")
        }
    }
    if let Some(path) = &args.save {
        let model = SavedModel {
            net: trainer.net.clone(),
            classes: if config.task == Task::Classify {
                data.train.classes.clone()
            } else {
                Vec::new()
            },
            config: Some(serde_json::to_string(&trainer.config)?),
        };
        model.save(path)?;
        eprintln!("saved {}", path.display());
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

fn eval(model: &PathBuf, data: &str, split: &str) -> Result<ExitCode> {
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
    let pred = predictions(&ev.outputs);
    let m = confusion_matrix(&ds.labels, &pred, ds.classes.len());
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
