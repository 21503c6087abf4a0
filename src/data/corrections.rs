//! Character crops the user corrected in the OCR tab, kept as training data: one
//! sub-folder per class name holding 32x32 PNGs (dark ink on white, so they can be looked
//! at and edited like any picture). A run adds them to its training split when its
//! config names the folder.

use super::image_folder::{class_folders, image_files};
use super::{Dataset, PIXELS, SIDE};
use anyhow::{Context, Result, bail};
use image::{GrayImage, Luma};
use ndarray::{Array2, ArrayView1};
use std::path::{Path, PathBuf};

/// Where the lab keeps corrections: `$XDG_DATA_HOME/nnlab/corrections`, else
/// `~/.local/share/nnlab/corrections`.
pub fn default_folder() -> Option<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data_home.join("nnlab").join("corrections"))
}

/// Saves one crop (a 32x32 row, ink 1) as the next PNG of `class` in `folder`.
pub fn save(folder: &Path, class: &str, crop: ArrayView1<f32>) -> Result<PathBuf> {
    if crop.len() != PIXELS {
        bail!("a crop has {} values, not {PIXELS}", crop.len());
    }
    if class.is_empty() || class.contains(['/', '\\', '.']) {
        bail!("'{class}' cannot name a class folder");
    }
    let dir = folder.join(class);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let taken = image_files(&dir)?.len();
    let path = (taken..)
        .map(|n| dir.join(format!("{n:05}.png")))
        .find(|p| !p.exists())
        .expect("a free name");
    let side = SIDE as u32;
    let img = GrayImage::from_fn(side, side, |x, y| {
        let ink = crop[(y * side + x) as usize].clamp(0.0, 1.0);
        Luma([((1.0 - ink) * 255.0).round() as u8])
    });
    img.save(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The crops in `folder` whose class folder names one of `classes`, as 32x32 grey rows
/// labelled by their index in `classes`. Folders of other names are an error, so a typo
/// never silently drops data.
pub fn load(folder: &Path, classes: &[String]) -> Result<Dataset> {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for dir in class_folders(folder)? {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let label = classes.iter().position(|c| *c == name).with_context(|| {
            format!(
                "{}: '{name}' is not a class of the data (classes: {})",
                folder.display(),
                classes.join(" ")
            )
        })?;
        for file in image_files(&dir)? {
            let img = super::image_file::read_image(&file)?
                .resize_exact(
                    SIDE as u32,
                    SIDE as u32,
                    image::imageops::FilterType::Triangle,
                )
                .to_luma8();
            rows.extend(img.pixels().map(|p| 1.0 - f32::from(p[0]) / 255.0));
            labels.push(label);
        }
    }
    let images = Array2::from_shape_vec((labels.len(), PIXELS), rows).expect("one row per crop");
    Ok(Dataset {
        images,
        labels,
        classes: classes.to_vec(),
        shape: crate::nn::Shape::image(1, SIDE, SIDE),
    })
}
