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
use std::io::Read;
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

/// The most samples one split may declare (NIST36's largest has 10,800; MNIST 60,000).
/// Checked on the declared sizes before anything is inflated, so reading a file takes at
/// most a few times `MAX_SAMPLES x 1024` doubles of memory.
pub const MAX_SAMPLES: usize = 100_000;
/// The largest .mat file read.
pub const MAX_FILE_BYTES: u64 = (MAX_SAMPLES * (PIXELS + 36) * 8) as u64 + crate::files::MB;

/// One split (`train`, `valid` or `test`) from one file, read from the keys `<split>_data`
/// and `<split>_labels`.
pub fn load_split(path: &Path, split: &str) -> Result<Dataset> {
    let what = path.display().to_string();
    let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)
        .with_context(|| format!("{what}: cannot read the file"))?;
    let heads = scan(&bytes).with_context(|| format!("{what}: not a readable MATLAB .mat file"))?;
    let classes = nist36_classes();
    let read =
        |key: &str, cols: usize| matrix(&bytes, &heads, key, cols).with_context(|| what.clone());
    let mut data = read(&format!("{split}_data"), PIXELS)?;
    let labels = read(&format!("{split}_labels"), classes.len())?;
    drop(bytes);
    if data.nrows() != labels.nrows() {
        bail!(
            "{what}: {} images but {} label rows",
            data.nrows(),
            labels.nrows()
        );
    }
    check_pixel_range(&mut data).with_context(|| format!("{what}: {split}_data"))?;
    let ds = Dataset {
        images: to_nnlab_images(&data),
        labels: one_hot_labels(&labels).with_context(|| format!("{what}: {split}_labels"))?,
        classes,
        shape: Default::default(),
    };
    ds.validate(&format!("{what}: {split}_data"))?;
    Ok(ds)
}

/// Pixels must be 0..1. Values that all lie in 0..255 are 8-bit grey levels (as `x255`
/// exports write them) and are rescaled with a warning; values too large for f32 are an
/// error, other values outside 0..1 a warning.
fn check_pixel_range(data: &mut Array2<f64>) -> Result<()> {
    let finite = || data.iter().copied().filter(|v| v.is_finite());
    let (min, max) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if let Some(((i, j), v)) = data
        .indexed_iter()
        .find(|(_, v)| v.is_finite() && v.abs() > f64::from(f32::MAX))
    {
        bail!("value {j} of image {i} is {v:e}, too large for a 32-bit float");
    }
    if max > 1.0 && min >= 0.0 && max <= 255.0 {
        eprintln!(
            "warning: the pixel values run from {min} to {max}: read as 8-bit grey levels (divided by 255)"
        );
        data.mapv_inplace(|v| v / 255.0);
    } else if min < 0.0 || max > 1.0 {
        eprintln!("warning: the pixel values run from {min} to {max}, outside 0..1");
    }
    Ok(())
}

/// MATLAB's array classes (`mxCLASS`), for messages.
fn class_label(class: u8) -> &'static str {
    match class {
        1 => "a cell array",
        2 => "a struct",
        3 => "an object",
        4 => "a char array",
        5 => "a sparse matrix",
        6 => "a double matrix",
        7 => "a single matrix",
        8..=15 => "an integer matrix",
        _ => "an array of unknown class",
    }
}

/// What a top-level element declares about itself, read without inflating it whole.
struct ElementHead {
    /// Where the element's tag starts in the file.
    at: usize,
    /// Its payload (compressed or not).
    payload: std::ops::Range<usize>,
    compressed: bool,
    name: String,
    class: u8,
    complex: bool,
    dims: Vec<u64>,
    /// The size of the uncompressed matrix element, from its tag.
    size: u64,
}

const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const HEADER: usize = 128;

/// Checks the header and the top-level elements of a level-5 .mat file and reads the head
/// of every matrix (name, class, dimensions). matfile 0.5 silently drops a cut-off last
/// element, which would read as a missing key, and inflates everything; here only the
/// first bytes of a compressed element are inflated.
fn scan(bytes: &[u8]) -> Result<Vec<ElementHead>> {
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
    let mut heads = Vec::new();
    let mut at = HEADER;
    while at < bytes.len() {
        if bytes.len() - at < 8 {
            bail!(
                "truncated: {} stray bytes after the last element",
                bytes.len() - at
            );
        }
        let kind = word(bytes, at, little);
        let size = word(bytes, at + 4, little) as usize;
        let end = at + 8 + size;
        if end > bytes.len() {
            bail!(
                "truncated: an element at byte {at} needs {size} bytes, only {} remain",
                bytes.len() - at - 8
            );
        }
        let payload = at + 8..end;
        let head = match kind {
            MI_MATRIX => Some(matrix_head(&bytes[at..end], little)),
            MI_COMPRESSED => {
                Some(inflate_head(&bytes[payload.clone()]).and_then(|h| matrix_head(&h, little)))
            }
            _ => None,
        };
        if let Some(head) = head {
            let (name, class, complex, dims, size) =
                head.with_context(|| format!("the element at byte {at}"))?;
            heads.push(ElementHead {
                at,
                payload,
                compressed: kind == MI_COMPRESSED,
                name,
                class,
                complex,
                dims,
                size,
            });
        }
        // Uncompressed elements are padded to 8 bytes; compressed ones are not.
        at = if kind == MI_COMPRESSED {
            end
        } else {
            end.next_multiple_of(8).min(bytes.len())
        };
    }
    Ok(heads)
}

fn word(bytes: &[u8], at: usize, little: bool) -> u32 {
    let b: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
    if little {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }
}

/// The first bytes of a compressed element: enough for its matrix head.
fn inflate_head(compressed: &[u8]) -> Result<Vec<u8>> {
    const HEAD: u64 = 512;
    let mut head = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(HEAD)
        .read_to_end(&mut head)
        .map_err(|e| anyhow::anyhow!("its compressed data is corrupt ({e})"))?;
    Ok(head)
}

/// Name, class, complexity, dimensions and tag size of the matrix element that `element`
/// starts with (tag included).
fn matrix_head(element: &[u8], little: bool) -> Result<(String, u8, bool, Vec<u64>, u64)> {
    let cut = || anyhow::anyhow!("its matrix header is cut short");
    let get = |at: usize| (at + 4 <= element.len()).then(|| word(element, at, little));
    if get(0).ok_or_else(cut)? != MI_MATRIX {
        bail!("it is not a matrix (type {})", get(0).unwrap_or(0));
    }
    let size = u64::from(get(4).ok_or_else(cut)?);
    // Sub-element 1: array flags (class in the low byte, complex bit 0x800).
    let flags = get(16).ok_or_else(cut)?;
    let (class, complex) = ((flags & 0xff) as u8, flags & 0x800 != 0);
    // Sub-element 2: dimensions (int32 each).
    let dims_bytes = get(28).ok_or_else(cut)? as usize;
    if dims_bytes == 0 || dims_bytes > 4 * 32 || !dims_bytes.is_multiple_of(4) {
        bail!("its dimensions take {dims_bytes} bytes");
    }
    let dims: Vec<u64> = (0..dims_bytes / 4)
        .map(|k| {
            get(32 + 4 * k)
                .map(|d| u64::from(d as i32 as u32))
                .ok_or_else(cut)
        })
        .collect::<Result<_>>()?;
    // Sub-element 3: the name, in the short form (length in the upper half of the tag) or
    // the long one.
    let name_at = 32 + dims_bytes.next_multiple_of(8);
    let tag = get(name_at).ok_or_else(cut)?;
    let (start, len) = if tag >> 16 != 0 {
        (name_at + 4, (tag >> 16) as usize)
    } else {
        (name_at + 8, get(name_at + 4).ok_or_else(cut)? as usize)
    };
    let name = element.get(start..start + len).ok_or_else(cut)?;
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        class,
        complex,
        dims,
        size,
    ))
}

/// The array `key` as a row-major f64 matrix with `cols` columns, its declared size
/// checked before it is inflated or decoded.
fn matrix(bytes: &[u8], heads: &[ElementHead], key: &str, cols: usize) -> Result<Array2<f64>> {
    let Some(head) = heads.iter().find(|h| h.name == key) else {
        let keys: Vec<String> = heads
            .iter()
            .map(|h| match h.class {
                6 | 7 => h.name.clone(),
                c => format!("{} ({})", h.name, class_label(c)),
            })
            .collect();
        bail!(
            "no array '{key}' (the file has: {})",
            if keys.is_empty() {
                "none".into()
            } else {
                keys.join(", ")
            }
        );
    };
    if !matches!(head.class, 6 | 7) {
        bail!(
            "'{key}' is {}, expected a double or single matrix",
            class_label(head.class)
        );
    }
    if head.complex {
        bail!("'{key}' is complex");
    }
    let shown = head
        .dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    if head.dims.len() != 2 || head.dims[1] != cols as u64 {
        bail!("'{key}' is {shown}, expected N x {cols}");
    }
    let rows = head.dims[0];
    if rows > MAX_SAMPLES as u64 {
        bail!("'{key}' is {shown}: at most {MAX_SAMPLES} samples are accepted");
    }
    // The element holds its values (at most 8 bytes each) and a few headers.
    let limit = rows * cols as u64 * 8 + 4096;
    if head.size > limit {
        bail!(
            "'{key}' declares {} bytes, more than {limit} for {shown} values",
            head.size
        );
    }
    let element = if head.compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&bytes[head.payload.clone()])
            .take(head.size + 8 + 1)
            .read_to_end(&mut out)
            .map_err(|e| anyhow::anyhow!("'{key}': its compressed data is corrupt ({e})"))?;
        if out.len() as u64 != head.size + 8 {
            bail!(
                "'{key}': its compressed data inflates to {} bytes, its header says {}",
                out.len(),
                head.size + 8
            );
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(&bytes[head.at..head.payload.end])
    };
    let mut one = Vec::with_capacity(HEADER + element.len());
    one.extend_from_slice(&bytes[..HEADER]);
    one.extend_from_slice(&element);
    drop(element);
    let file =
        parse_one(&one).with_context(|| format!("'{key}' (the element at byte {})", head.at))?;
    drop(one);
    let array = file
        .find_by_name(key)
        .ok_or_else(|| anyhow::anyhow!("'{key}': the .mat parser found no such array"))?;
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
    let column_major = Array2::from_shape_vec((cols, rows as usize), values)
        .with_context(|| format!("'{key}': its size does not match its data"))?;
    Ok(column_major
        .reversed_axes()
        .as_standard_layout()
        .into_owned())
}

/// Parses a .mat file of one element with matfile.
fn parse_one(bytes: &[u8]) -> Result<MatFile> {
    // matfile 0.5 can still panic on crafted sizes inside an element (integer overflow);
    // turn that into an error rather than take the caller down.
    std::panic::catch_unwind(|| MatFile::parse(bytes))
        .map_err(|_| anyhow::anyhow!("corrupt contents (the .mat parser gave up)"))?
        .map_err(|e| anyhow::anyhow!("the .mat parser says: {e}"))
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
