//! Reading a photo: any format `image` decodes, turned upright by its EXIF orientation,
//! then brought to a bounded working resolution in grey.

use anyhow::{Context, Result, anyhow, bail};
use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader};
use std::io::Cursor;
use std::path::Path;

/// Photos larger than this many pixels are refused (a 20000 x 20000 image would need
/// over a gigabyte just to decode).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Reads and decodes the image file at `path`, upright.
pub fn read_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_image(&bytes).with_context(|| format!("{} is not a usable image", path.display()))
}

/// Decodes an encoded image (JPEG, PNG, ...) and applies its EXIF orientation.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .context("reading the header")?;
    if reader.format().is_none() {
        bail!(
            "unknown file format (not an image, or a format nnlab does not read; PNG and JPEG work)"
        );
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| anyhow!("cannot decode: {e}"))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        bail!("the image is empty ({w}x{h} pixels)");
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        bail!(
            "the image is {w}x{h} pixels; at most {} megapixels are accepted",
            MAX_PIXELS / 1_000_000
        );
    }
    // A missing or broken EXIF block just means "upright".
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| anyhow!("cannot decode ({w}x{h}): {e}"))?;
    img.apply_orientation(orientation);
    Ok(img)
}

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
    // `thumbnail` averages whole source areas: fast, and no aliasing of thin strokes.
    let small = img.thumbnail_exact(nw, nh);
    (small.to_luma8(), w as f32 / nw as f32)
}
