//! A picture of a data set: one column per class, dark ink on white paper as a reader
//! expects to see handwriting.

use super::Dataset;
use image::{GrayImage, Luma};

/// Pixels between tiles.
const GAP: u32 = 2;

/// The first `rows` samples of every class, one class per column (A-Z, 0-9 left to right).
pub fn sample_grid(ds: &Dataset, rows: usize) -> GrayImage {
    let (h, w) = (ds.shape.h as u32, ds.shape.w as u32);
    let columns = ds.classes.len() as u32;
    let mut img = GrayImage::from_pixel(
        columns * (w + GAP) + GAP,
        rows as u32 * (h + GAP) + GAP,
        Luma([255]),
    );
    for class in 0..ds.classes.len() {
        let samples = ds
            .labels
            .iter()
            .enumerate()
            .filter(|&(_, &l)| l == class)
            .map(|(i, _)| i);
        for (row, i) in samples.take(rows).enumerate() {
            let (x0, y0) = (GAP + class as u32 * (w + GAP), GAP + row as u32 * (h + GAP));
            for ((y, x), &v) in ds.image(i).indexed_iter() {
                let shade = 255.0 * (1.0 - v.clamp(0.0, 1.0));
                img.put_pixel(x0 + x as u32, y0 + y as u32, Luma([shade.round() as u8]));
            }
        }
    }
    img
}
