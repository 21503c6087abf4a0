//! The data splits as plain tensors: `train.safetensors`, `valid.safetensors` and
//! `test.safetensors`, each with `images` (float32 `[N, C, H, W]`, ink 1.0, paper 0.0)
//! and `labels` (int64 `[N]`, indices into the class names), and the class names and the
//! input convention in the metadata (`classes` as JSON, `input`).

use crate::data::{Dataset, Splits};
use anyhow::{Context, Result, anyhow};
use safetensors::{Dtype, tensor::TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How the images and labels are stored, written into every file.
pub const DATA_CONVENTION: &str = "images: float32 [N, C, H, W], row-major, ink 1.0 and paper 0.0 \
     (colour images: RGB in 0..1); labels: int64 [N], indices into the classes";

/// Writes the three splits into `dir` (created if missing); returns the files written.
pub fn write(splits: &Splits, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, ds) in [
        ("train", &splits.train),
        ("valid", &splits.valid),
        ("test", &splits.test),
    ] {
        let path = dir.join(format!("{name}.safetensors"));
        crate::files::write_atomic(&path, &split_bytes(ds)?)?;
        written.push(path);
    }
    Ok(written)
}

/// One split as safetensors bytes.
pub fn split_bytes(ds: &Dataset) -> Result<Vec<u8>> {
    let s = ds.shape;
    let images: Vec<u8> = ds.images.iter().flat_map(|v| v.to_le_bytes()).collect();
    let labels: Vec<u8> = ds
        .labels
        .iter()
        .flat_map(|&l| (l as i64).to_le_bytes())
        .collect();
    let views = vec![
        (
            "images".to_string(),
            TensorView::new(Dtype::F32, vec![ds.len(), s.c, s.h, s.w], &images)
                .map_err(|e| anyhow!("images: {e}"))?,
        ),
        (
            "labels".to_string(),
            TensorView::new(Dtype::I64, vec![ds.len()], &labels)
                .map_err(|e| anyhow!("labels: {e}"))?,
        ),
    ];
    let meta = HashMap::from([
        ("classes".to_string(), serde_json::to_string(&ds.classes)?),
        ("input".to_string(), DATA_CONVENTION.to_string()),
    ]);
    safetensors::serialize(views, Some(meta)).map_err(|e| anyhow!("serialising the split: {e}"))
}
