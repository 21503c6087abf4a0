//! Pictures of many images at once: sample grids, reconstructions, weight tiles.

use super::{Dataset, PIXELS, SIDE};
use anyhow::{Context, Result};
use image::{GrayImage, Luma};
use ndarray::{Array1, ArrayView1};
use std::path::Path;

/// Lays `tiles` (square images as rows, ink 1.0, all of one size: `SIDE x SIDE` images or
/// small kernels) out `cols` per row with a 2-pixel gap, drawn as dark ink on white paper,
/// `scale` screen pixels per image pixel.
pub fn tile_grid(tiles: &[ArrayView1<f32>], cols: usize, scale: u32) -> GrayImage {
    const GAP: u32 = 2;
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let side = tiles
        .first()
        .map_or(SIDE, |t| (t.len() as f64).sqrt().round() as usize);
    let cell = side as u32 * scale + GAP;
    let mut img = GrayImage::from_pixel(
        cols as u32 * cell + GAP,
        rows as u32 * cell + GAP,
        Luma([160]),
    );
    for (i, tile) in tiles.iter().enumerate() {
        let (ox, oy) = (
            (i % cols) as u32 * cell + GAP,
            (i / cols) as u32 * cell + GAP,
        );
        for y in 0..side as u32 * scale {
            for x in 0..side as u32 * scale {
                let v = tile[(y / scale) as usize * side + (x / scale) as usize].clamp(0.0, 1.0);
                img.put_pixel(ox + x, oy + y, Luma([((1.0 - v) * 255.0).round() as u8]));
            }
        }
    }
    img
}

pub fn save_grid_png(
    path: &Path,
    tiles: &[ArrayView1<f32>],
    cols: usize,
    scale: u32,
) -> Result<()> {
    tile_grid(tiles, cols, scale)
        .save(path)
        .with_context(|| format!("writing {}", path.display()))
}

/// The first `rows` samples of every class of a character data set, one class per column
/// (A-Z, 0-9 left to right); a class with fewer samples leaves blank tiles.
pub fn sample_grid(ds: &Dataset, rows: usize) -> GrayImage {
    let classes = ds.classes.len();
    let per_class: Vec<Vec<usize>> = (0..classes)
        .map(|c| {
            (0..ds.len())
                .filter(|&i| ds.labels[i] == c)
                .take(rows)
                .collect()
        })
        .collect();
    let blank = Array1::zeros(PIXELS);
    let tiles: Vec<ArrayView1<f32>> = (0..rows)
        .flat_map(|r| per_class.iter().map(move |s| s.get(r).copied()))
        .map(|i| i.map_or(blank.view(), |i| ds.images.row(i)))
        .collect();
    tile_grid(&tiles, classes, 1)
}
