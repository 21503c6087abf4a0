//! Trains the OCR's piece reader (letters cut out of touching ones, read with the ink
//! around them) on `builtin` drawn as such pieces, and writes it where the OCR embeds it:
//! `cargo run --release --bin train_piece_reader -- --epochs 30 --copies 6`.
//!
//! A binary of its own, not an `nnlab` command: it is how the shipped file is made, not a
//! user's tool.

use anyhow::{Result, bail};
use clap::Parser;
use nnlab::data::in_context::pieces_in_context;
use nnlab::data::{DataSource, Splits, builtin};
use nnlab::nn::layer_list::Preset;
use nnlab::train::trainer::Weights;
use nnlab::train::{RunConfig, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "deep-cnn")]
    preset: Preset,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Pieces drawn per training image.
    #[arg(long, default_value_t = 6)]
    copies: usize,
    #[arg(long, default_value = nnlab::ocr::PIECE_READER_FILE)]
    out: PathBuf,
}

fn main() -> ExitCode {
    match train(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: &Args) -> Result<()> {
    if !(1..=1000).contains(&args.epochs) || !(1..=20).contains(&args.copies) {
        bail!("--epochs takes 1 to 1000 and --copies 1 to 20");
    }
    nnlab::files::check_output_file(&args.out)?;
    let data = DataSource::Builtin.load()?;
    let seed = builtin::SEED;
    let splits = Splits {
        name: "builtin pieces in context".into(),
        train: pieces_in_context(&data.train, args.copies, seed),
        valid: pieces_in_context(&data.valid, 1, seed + 1),
        test: pieces_in_context(&data.test, 1, seed + 2),
    };
    let config = RunConfig {
        epochs: args.epochs,
        ..RunConfig::preset(args.preset, splits.train.classes.len())
    };
    let mut trainer = Trainer::new(config, Arc::new(splits))?;
    nnlab::cli::train_with_progress(&mut trainer, false)?;
    trainer.with_weights(Weights::Best, |trainer| {
        let ev = trainer.evaluate(&trainer.data.test.clone());
        eprintln!("test pieces: accuracy {:.4}", ev.accuracy);
        trainer.saved_model().save(&args.out)
    })?;
    eprintln!("saved {}", args.out.display());
    Ok(())
}
