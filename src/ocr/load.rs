//! Reading a photo ([`crate::data::image_file`]: any format `image` decodes, checked and
//! turned upright), then brought to a bounded working resolution in grey.

pub use crate::data::image_file::{MAX_PIXELS, decode_image, read_image};
use image::{DynamicImage, GrayImage};

/// The grey image at a longest side of at most `max_side` pixels, and the factor from
/// working coordinates back to the photo's.
pub fn working_grey(img: &DynamicImage, max_side: u32) -> (GrayImage, f32) {
    let (w, h) = (img.width(), img.height());
    let longest = w.max(h);
    if longest <= max_side {
        return (img.to_luma8(), 1.0);
    }
    let scale = longest as f32 / max_side as f32;
    let (nw, nh) = (
        ((w as f32 / scale).round() as u32).max(1),
        ((h as f32 / scale).round() as u32).max(1),
    );
    let small = match img {
        DynamicImage::ImageRgb8(rgb) => shrink_to_grey(rgb.as_raw(), 3, w, h, nw, nh),
        DynamicImage::ImageLuma8(grey) => shrink_to_grey(grey.as_raw(), 1, w, h, nw, nh),
        other => shrink_to_grey(other.to_luma8().as_raw(), 1, w, h, nw, nh),
    };
    (small, w as f32 / nw as f32)
}

/// Averages blocks of `pixels` (`channels` = 1 grey or 3 RGB, `w x h`) into a `nw x nh`
/// grey image in one pass: the photo is never converted at full size, and averaging whole
/// areas keeps thin strokes (no aliasing).
fn shrink_to_grey(pixels: &[u8], channels: usize, w: u32, h: u32, nw: u32, nh: u32) -> GrayImage {
    let row_len = w as usize * channels;
    // Source columns [starts[i], starts[i+1]) make output column i.
    let starts: Vec<usize> = (0..=nw)
        .map(|i| (i as u64 * w as u64 / nw as u64) as usize)
        .collect();
    let mut out = GrayImage::new(nw, nh);
    // Each output row first sums its source rows per value (vectorises), then its columns.
    let mut column_sums = vec![0u32; row_len];
    let mut y = 0;
    for (oy, out_row) in out.chunks_exact_mut(nw as usize).enumerate() {
        let y_end = ((oy as u64 + 1) * h as u64 / nh as u64) as usize;
        column_sums.fill(0);
        for row in pixels[y * row_len..y_end * row_len].chunks_exact(row_len) {
            for (s, &v) in column_sums.iter_mut().zip(row) {
                *s += v as u32;
            }
        }
        let rows = (y_end - y).max(1) as u32;
        for (o, cols) in out_row.iter_mut().zip(starts.windows(2)) {
            let block = &column_sums[cols[0] * channels..cols[1] * channels];
            let sum = if channels == 3 {
                let (mut r, mut g, mut b) = (0u64, 0u64, 0u64);
                for px in block.chunks_exact(3) {
                    (r, g, b) = (r + px[0] as u64, g + px[1] as u64, b + px[2] as u64);
                }
                // Rec. 709 luma in 8-bit fixed point.
                (54 * r + 183 * g + 19 * b) >> 8
            } else {
                block.iter().map(|&v| v as u64).sum()
            };
            let n = ((cols[1] - cols[0]) as u64 * rows as u64).max(1);
            *o = ((sum + n / 2) / n).min(255) as u8;
        }
        y = y_end;
    }
    out
}
