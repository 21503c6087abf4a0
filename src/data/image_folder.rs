//! Image folders: one sub-folder per class (like the SUN scene set), PNG or JPEG files in
//! each. Every image is resized to `side x side` and stored as plain RGB values in 0..1,
//! `3 x side x side` per row (no ink/paper conversion: that convention is for characters).
//! A seeded, per-class split keeps [`VALID_FRACTION`] of each class for validation; there
//! is no test split.

use super::{Dataset, Splits};
use crate::nn::Shape;
use anyhow::{Context, Result, bail};
use image::imageops::FilterType;
use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// The largest side images may be resized to.
pub const MAX_SIDE: usize = 512;
/// The most values all images of a folder may take once resized (1 GB as f32).
pub const MAX_VALUES: usize = 1 << 28;

/// Share of each class's images held out for validation.
pub const VALID_FRACTION: f64 = 0.2;
/// The split depends only on the folder, never on a run's seed, so runs stay comparable.
const SPLIT_SEED: u64 = 0x1f01de;

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading folder {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| super::IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Class folders of `dir` (sorted by name): the sub-folders that hold at least one image.
pub(super) fn class_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut classes = Vec::new();
    for sub in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
        if !image_files(&sub)?.is_empty() {
            classes.push(sub);
        }
    }
    Ok(classes)
}

/// The image files in `dir`, sorted by name.
pub(super) fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| is_image(p))
        .collect())
}

/// Whether `dir` looks like an image folder (at least one sub-folder with images).
pub fn is_image_folder(dir: &Path) -> bool {
    class_folders(dir).is_ok_and(|c| !c.is_empty())
}

/// One image file as a `3 x side x side` row of RGB values in 0..1.
pub fn read_image(path: &Path, side: usize) -> Result<Vec<f32>> {
    let img = super::image_file::read_image(path)?;
    let s = side as u32;
    let rgb = img.resize_exact(s, s, FilterType::Triangle).to_rgb8();
    let mut row = vec![0.0; 3 * side * side];
    for (i, px) in rgb.pixels().enumerate() {
        for (c, &v) in px.0.iter().enumerate() {
            row[c * side * side + i] = f32::from(v) / 255.0;
        }
    }
    Ok(row)
}

/// Loads every class folder of `dir`, resized to `side`, split into train and valid.
pub fn load_folder(dir: &Path, side: usize) -> Result<Splits> {
    if !(1..=MAX_SIDE).contains(&side) {
        bail!("image-size is {side}; it must be between 1 and {MAX_SIDE} pixels");
    }
    let folders = class_folders(dir)?;
    if folders.len() < 2 {
        bail!(
            "{}: an image folder needs at least two class sub-folders with PNG or JPEG files, found {}",
            dir.display(),
            folders.len()
        );
    }
    let classes: Vec<String> = folders
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let shape = Shape::image(3, side, side);
    let files: Vec<Vec<PathBuf>> = folders
        .iter()
        .map(|f| image_files(f))
        .collect::<Result<_>>()?;
    let count: usize = files.iter().map(Vec::len).sum();
    if count.saturating_mul(shape.len()) > MAX_VALUES {
        bail!(
            "{}: {count} images of {side}x{side} would take {} values, at most {MAX_VALUES} are accepted (choose a smaller image-size)",
            dir.display(),
            count.saturating_mul(shape.len())
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(SPLIT_SEED);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (label, mut files) in files.into_iter().enumerate() {
        files.shuffle(&mut rng);
        let held = if files.len() < 2 {
            0
        } else {
            ((files.len() as f64 * VALID_FRACTION).round() as usize).max(1)
        };
        for (i, file) in files.iter().enumerate() {
            let sample = (read_image(file, side)?, label);
            if i < held {
                valid.push(sample)
            } else {
                train.push(sample)
            }
        }
    }
    let dataset = |samples: Vec<(Vec<f32>, usize)>| {
        let n = samples.len();
        let labels = samples.iter().map(|s| s.1).collect();
        let flat: Vec<f32> = samples.into_iter().flat_map(|s| s.0).collect();
        let images =
            Array2::from_shape_vec((n, shape.len()), flat).expect("rows of one image each");
        Dataset {
            images,
            labels,
            classes: classes.clone(),
            shape,
        }
    };
    let valid = dataset(valid);
    Ok(Splits {
        name: dir.display().to_string(),
        train: dataset(train),
        test: Dataset {
            images: Array2::zeros((0, shape.len())),
            labels: Vec::new(),
            ..valid.clone()
        },
        valid,
    })
}
