//! NIST36 loader: the course's MATLAB level-5 files `nist36_{train,valid,test}.mat`.
//!
//! Each file holds `<split>_data` [N x 1024] and `<split>_labels` [N x 36] (one-hot, columns
//! A-Z then 0-9), as double or single, zlib-compressed or not. The course stores every image
//! transposed (a row is the image read column by column: view it as `row.reshape(32,32).T`)
//! with ink 0.0 on paper 1.0; this loader converts to nnlab's convention (row-major, x
//! fastest, ink 1.0, paper 0.0).

use super::{Dataset, PIXELS, SIDE, Splits, nist36_classes};
use anyhow::{Context, Result, bail};
use matfile::{MatFile, NumericData};
use ndarray::Array2;
use std::path::Path;

/// The three splits from `dir/nist36_{train,valid,test}.mat`.
pub fn load_folder(dir: &Path) -> Result<Splits> {
    if !dir.is_dir() {
        bail!(
            "{}: no such folder (expected nist36_train.mat, nist36_valid.mat, nist36_test.mat in it)",
            dir.display()
        );
    }
    let split = |name: &str| load_split(&dir.join(format!("nist36_{name}.mat")), name);
    Ok(Splits {
        name: dir.display().to_string(),
        train: split("train")?,
        valid: split("valid")?,
        test: split("test")?,
    })
}

/// One split (`train`, `valid` or `test`) from one file, read from the keys `<split>_data`
/// and `<split>_labels`.
pub fn load_split(path: &Path, split: &str) -> Result<Dataset> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("{what}: cannot read the file"))?;
    let file = parse(&bytes).with_context(|| format!("{what}: not a readable MATLAB .mat file"))?;
    let classes = nist36_classes();
    let data = matrix(&file, &format!("{split}_data"), PIXELS).with_context(|| what.clone())?;
    let labels =
        matrix(&file, &format!("{split}_labels"), classes.len()).with_context(|| what.clone())?;
    if data.nrows() != labels.nrows() {
        bail!(
            "{what}: {} images but {} label rows",
            data.nrows(),
            labels.nrows()
        );
    }
    let ds = Dataset {
        images: to_nnlab_images(&data),
        labels: one_hot_labels(&labels).with_context(|| format!("{what}: {split}_labels"))?,
        classes,
        shape: Default::default(),
    };
    ds.validate(&format!("{what}: {split}_data"))?;
    Ok(ds)
}

/// Parses a level-5 .mat file, first checking that its top-level elements are complete:
/// matfile 0.5 silently drops a cut-off last element, which would read as a missing key.
fn parse(bytes: &[u8]) -> Result<MatFile> {
    const HEADER: usize = 128;
    if bytes.len() < HEADER || !matches!(&bytes[126..128], b"IM" | b"MI") {
        bail!("no MATLAB level-5 header ({} bytes)", bytes.len());
    }
    let little = &bytes[126..128] == b"IM";
    let version = if little {
        [bytes[125], bytes[124]]
    } else {
        [bytes[124], bytes[125]]
    };
    if version != [1, 0] {
        bail!(
            "MATLAB file version 0x{:02x}{:02x} is not supported (save it as -v7 or older, not -v7.3)",
            version[0],
            version[1]
        );
    }
    let word = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut at = HEADER;
    while at < bytes.len() {
        if bytes.len() - at < 8 {
            bail!(
                "truncated: {} stray bytes after the last element",
                bytes.len() - at
            );
        }
        let size = word(at + 4) as usize;
        let end = at + 8 + size;
        if end > bytes.len() {
            bail!(
                "truncated: an element at byte {at} needs {size} bytes, only {} remain",
                bytes.len() - at - 8
            );
        }
        // Uncompressed elements are padded to 8 bytes; compressed ones (type 15) are not.
        at = if word(at) == 15 {
            end
        } else {
            end.next_multiple_of(8).min(bytes.len())
        };
    }
    // matfile 0.5 can still panic on crafted sizes inside an element (integer overflow);
    // turn that into an error rather than take the caller down.
    std::panic::catch_unwind(|| MatFile::parse(bytes))
        .map_err(|_| anyhow::anyhow!("corrupt contents (the .mat parser gave up)"))?
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The array `key` as a row-major f64 matrix with `cols` columns.
fn matrix(file: &MatFile, key: &str, cols: usize) -> Result<Array2<f64>> {
    let Some(array) = file.find_by_name(key) else {
        let keys: Vec<&str> = file.arrays().iter().map(|a| a.name()).collect();
        bail!(
            "no array '{key}' (the file has: {})",
            if keys.is_empty() {
                "none".into()
            } else {
                keys.join(", ")
            }
        );
    };
    let size = array.size();
    if size.len() != 2 || size[1] != cols {
        bail!(
            "'{key}' is {}, expected N x {cols}",
            size.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" x ")
        );
    }
    let values: Vec<f64> = match array.data() {
        NumericData::Double { real, imag: None } => real.clone(),
        NumericData::Single { real, imag: None } => real.iter().map(|&v| f64::from(v)).collect(),
        NumericData::Double { .. } | NumericData::Single { .. } => bail!("'{key}' is complex"),
        other => bail!(
            "'{key}' holds {}, expected double or single",
            type_name(other)
        ),
    };
    // MATLAB stores column-major: the first index varies fastest.
    let column_major = Array2::from_shape_vec((cols, size[0]), values)
        .context("array size does not match its data")?;
    Ok(column_major
        .reversed_axes()
        .as_standard_layout()
        .into_owned())
}

fn type_name(data: &NumericData) -> &'static str {
    match data {
        NumericData::Int8 { .. } => "int8",
        NumericData::UInt8 { .. } => "uint8",
        NumericData::Int16 { .. } => "int16",
        NumericData::UInt16 { .. } => "uint16",
        NumericData::Int32 { .. } => "int32",
        NumericData::UInt32 { .. } => "uint32",
        NumericData::Int64 { .. } => "int64",
        NumericData::UInt64 { .. } => "uint64",
        NumericData::Single { .. } => "single",
        NumericData::Double { .. } => "double",
    }
}

/// Course rows (transposed, ink 0) to nnlab rows (row-major, ink 1): nnlab pixel (y, x) is
/// course value `x * SIDE + y`, inverted. NaN stays NaN so `Dataset::validate` reports it.
fn to_nnlab_images(course: &Array2<f64>) -> Array2<f32> {
    Array2::from_shape_fn((course.nrows(), PIXELS), |(i, p)| {
        let (y, x) = (p / SIDE, p % SIDE);
        (1.0 - course[[i, x * SIDE + y]]) as f32
    })
}

/// The class index of each one-hot row; any other row is an error naming it.
fn one_hot_labels(one_hot: &Array2<f64>) -> Result<Vec<usize>> {
    one_hot
        .rows()
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let ones: Vec<usize> = row
                .iter()
                .enumerate()
                .filter(|&(_, &v)| v == 1.0)
                .map(|(c, _)| c)
                .collect();
            let others = row.iter().filter(|&&v| v != 0.0 && v != 1.0).count();
            match (ones.as_slice(), others) {
                ([class], 0) => Ok(*class),
                _ => bail!(
                    "row {i} is not one-hot ({} ones, {others} values other than 0 and 1)",
                    ones.len()
                ),
            }
        })
        .collect()
}
