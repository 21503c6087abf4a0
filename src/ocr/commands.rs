//! The `ocr` and `ocr-eval` commands (their flags are in `cli.rs`).

use super::eval::read_truth;
use super::{OcrParams, Reading, Timing, read_file, stages};
use crate::nn::SavedModel;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The model at `path`.
pub fn load_model(path: &Path) -> Result<SavedModel> {
    SavedModel::load(path).with_context(|| format!("loading the model {}", path.display()))
}

fn print_timings(timings: &[Timing]) {
    let total: f64 = timings.iter().map(|t| t.ms).sum();
    let parts: Vec<String> = timings
        .iter()
        .map(|t| format!("{} {:.1}", t.stage, t.ms))
        .collect();
    eprintln!("  time {total:.1} ms: {}", parts.join(", "));
}

/// Reads the photo at `path`, says what the segmentation measured, writes the stage
/// images to `debug_dir`.
fn read_photo(
    path: &Path,
    models: &mut [SavedModel],
    params: &OcrParams,
    debug_dir: Option<&Path>,
) -> Result<Reading> {
    let (seg, reading) = read_file(path, models, params)?;
    eprintln!(
        "  {}: working {}x{}, pen {:.0} px, letters {:.0} px high, level {}, angle {:.1} deg{}{}",
        path.display(),
        seg.grey.width(),
        seg.grey.height(),
        seg.stroke_width,
        seg.letter_height,
        seg.level,
        seg.angle,
        match seg.quarter_turns {
            0 => String::new(),
            t => format!(", turned {} deg clockwise", 90 * t as u32),
        },
        seg.rules
            .describe()
            .map_or(String::new(), |d| format!(", {d}"))
    );
    if let Some(dir) = debug_dir {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        stages::write_all(dir, &stem, &seg, Some(&reading))?;
    }
    Ok(reading)
}

/// `nnlab ocr`: prints each photo's text (or JSON with boxes and top-5 guesses).
pub fn ocr(
    images: &[PathBuf],
    mut models: Vec<SavedModel>,
    json: bool,
    debug_dir: Option<&Path>,
    params: &OcrParams,
) -> Result<ExitCode> {
    let mut failed = 0;
    for path in images {
        // One unreadable photo must not keep the others from being read.
        let reading = match read_photo(path, &mut models, params, debug_dir) {
            Ok(reading) => reading,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
                continue;
            }
        };
        if json {
            let value = serde_json::json!({ "file": path.display().to_string(), "text": reading.text(), "reading": reading });
            println!("{value}");
        } else {
            if images.len() > 1 {
                println!("== {}", path.display());
            }
            println!("{}", reading.text());
            print_timings(&reading.timings);
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} photos could not be read", images.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `nnlab ocr-eval`: character accuracy and letters found per photo of the truth file.
pub fn ocr_eval(
    truth_file: &Path,
    image_dir: &Path,
    mut models: Vec<SavedModel>,
    debug_dir: Option<&Path>,
    params: &OcrParams,
) -> Result<ExitCode> {
    let truths = read_truth(truth_file)?;
    println!(
        "{:<20} {:>8} {:>13}  text",
        "photo", "accuracy", "boxes/letters"
    );
    for t in &truths {
        let reading = read_photo(&image_dir.join(&t.file), &mut models, params, debug_dir)?;
        let score = t.score(&reading);
        println!(
            "{:<20} {:>8.3} {:>13}  {}",
            t.file,
            score.accuracy,
            format!("{}/{}", score.boxes, score.letters),
            reading.text().replace('\n', "|")
        );
        print_timings(&reading.timings);
    }
    Ok(ExitCode::SUCCESS)
}
