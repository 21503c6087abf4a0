//! CIFAR-10 in its binary format: `data_batch_1.bin` ... `data_batch_5.bin` and
//! `test_batch.bin`, each a run of records of 1 label byte and 3 x 32 x 32 pixel bytes
//! (the red plane, then green, then blue; row-major). That is already nnlab's `C x H x W`
//! row layout; pixels become plain RGB values in 0..1 (no ink/paper conversion: that
//! convention is for characters only).
//!
//! CIFAR has no validation set: `data_batch_5.bin` serves as one, batches 1-4 are trained on.

use super::{Dataset, Splits};
use crate::nn::Shape;
use anyhow::{Context, Result, bail};
use ndarray::Array2;
use std::path::Path;

pub const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;
const RECORD: usize = 1 + PIXELS;
const TRAIN_FILES: [&str; 4] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
];
const VALID_FILE: &str = "data_batch_5.bin";
pub const TEST_FILE: &str = "test_batch.bin";
/// The largest batch file read (CIFAR-10's hold 10,000 records, 30 MB).
pub const MAX_FILE_BYTES: u64 = 64 * crate::files::MB;

/// Written by the CIFAR distribution beside the batches: one class name per line.
const META_FILE: &str = "batches.meta.txt";

/// The class names in label order, from `batches.meta.txt` if present.
fn class_names(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(META_FILE);
    if !path.exists() {
        let names = [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ];
        return Ok(names.map(String::from).to_vec());
    }
    let text = crate::files::read_regular_text(&path, crate::files::MB)?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != 10 {
        bail!(
            "{}: expected 10 class names, found {}",
            path.display(),
            names.len()
        );
    }
    Ok(names)
}

/// The records of the CIFAR-10 binary `bytes`; `what` names the file in errors.
pub fn parse_records(bytes: &[u8], classes: &[String], what: &str) -> Result<Dataset> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        bail!(
            "{what}: {} bytes is not a whole number of {RECORD}-byte CIFAR-10 records",
            bytes.len()
        );
    }
    let n = bytes.len() / RECORD;
    let mut images = Array2::zeros((n, PIXELS));
    let mut labels = Vec::with_capacity(n);
    for (i, (record, mut row)) in bytes
        .chunks_exact(RECORD)
        .zip(images.rows_mut())
        .enumerate()
    {
        let label = record[0] as usize;
        if label >= classes.len() {
            bail!(
                "{what}: record {i} has label {label}, but CIFAR-10 has {} classes",
                classes.len()
            );
        }
        labels.push(label);
        for (v, &b) in row.iter_mut().zip(&record[1..]) {
            *v = f32::from(b) / 255.0;
        }
    }
    Ok(Dataset {
        images,
        labels,
        classes: classes.to_vec(),
        shape: Shape::image(3, SIDE, SIDE),
    })
}

fn read_files(dir: &Path, files: &[&str], classes: &[String]) -> Result<Dataset> {
    let mut parts = Vec::new();
    for name in files {
        let path = dir.join(name);
        let bytes = crate::files::read_regular(&path, MAX_FILE_BYTES)
            .context("reading a CIFAR-10 batch")?;
        parts.push(parse_records(&bytes, classes, &path.display().to_string())?);
    }
    let views: Vec<_> = parts.iter().map(|d| d.images.view()).collect();
    Ok(Dataset {
        images: ndarray::concatenate(ndarray::Axis(0), &views)
            .context("joining CIFAR-10 batches")?,
        labels: parts
            .iter()
            .flat_map(|d| d.labels.iter().copied())
            .collect(),
        classes: classes.to_vec(),
        shape: Shape::image(3, SIDE, SIDE),
    })
}

/// Whether `dir` looks like a CIFAR-10 binary folder.
pub fn is_cifar_folder(dir: &Path) -> bool {
    dir.join(TRAIN_FILES[0]).is_file() || dir.join(TEST_FILE).is_file()
}

/// Train on batches 1-4, validate on batch 5, test on the test batch.
pub fn load_folder(dir: &Path) -> Result<Splits> {
    let classes = class_names(dir)?;
    Ok(Splits {
        name: dir.display().to_string(),
        train: read_files(dir, &TRAIN_FILES, &classes)?,
        valid: read_files(dir, &[VALID_FILE], &classes)?,
        test: read_files(dir, &[TEST_FILE], &classes)?,
    })
}
