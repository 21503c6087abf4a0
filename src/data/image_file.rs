//! Image files from outside: read as regular files of bounded size, decoded only when
//! their declared size is bounded too, refused when a JPEG is cut short (the decoder would
//! fill the missing part with grey), and turned upright by their EXIF orientation.

use anyhow::{Context, Result, anyhow, bail};
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;
use std::path::Path;

/// Photos larger than this many pixels are refused (a 20000 x 20000 image would need
/// over a gigabyte just to decode).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Image files larger than this are refused before they are read.
pub const MAX_FILE_BYTES: u64 = 256 * crate::files::MB;

/// Reads and decodes the image file at `path` (a regular file), upright.
pub fn read_image(path: &Path) -> Result<DynamicImage> {
    let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)?;
    decode_image(&bytes).with_context(|| format!("{} is not a usable image", path.display()))
}

/// An error when the JPEG `bytes` stop before the end of their image: the decoder would
/// fill the missing part with grey and report no error. The end marker must follow the
/// first scan of the main image (found by walking the segments, so an embedded thumbnail's
/// end marker does not count).
fn check_jpeg_complete(bytes: &[u8]) -> Result<()> {
    const SOI: [u8; 2] = [0xFF, 0xD8];
    const SOS: u8 = 0xDA;
    const EOI: [u8; 2] = [0xFF, 0xD9];
    if !bytes.starts_with(&SOI) {
        return Ok(());
    }
    let mut at = 2;
    let scan = loop {
        let Some(marker) = bytes.get(at..at + 4) else {
            bail!("the JPEG is truncated: it ends in its header, at byte {at}");
        };
        if marker[0] != 0xFF {
            bail!("the JPEG is corrupt: no segment marker at byte {at}");
        }
        if marker[1] == 0xFF {
            at += 1; // fill byte
            continue;
        }
        if marker[1] == SOS {
            break at;
        }
        at += 2 + usize::from(u16::from_be_bytes([marker[2], marker[3]]));
    };
    if !bytes[scan..].windows(2).any(|w| w == EOI) {
        bail!(
            "the JPEG is truncated: its image data stops at byte {} without an end marker",
            bytes.len()
        );
    }
    Ok(())
}

/// Decodes an encoded image (JPEG, PNG, ...) and applies its EXIF orientation.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .context("reading the header")?;
    match reader.format() {
        None => bail!(
            "unknown file format (not an image, or a format nnlab does not read; PNG and JPEG work)"
        ),
        Some(image::ImageFormat::Jpeg) => check_jpeg_complete(bytes)?,
        Some(_) => {}
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
