//! The NIST36 loader on the shared fixture, and its errors on every kind of bad file.

mod common;

use nnlab::data::nist36::{load_folder, load_split};
use nnlab::data::{Dataset, PIXELS, SIDE};
use std::path::{Path, PathBuf};

/// Writes a little-endian MATLAB level-5 file of uncompressed double matrices
/// (`name`, rows, cols, values row-major), the layout `scipy.io.savemat` produces.
fn write_mat(path: &Path, arrays: &[(&str, usize, usize, &[f64])]) {
    let mut out = format!("{:<116}", "MATLAB 5.0 MAT-file, written by nnlab tests").into_bytes();
    out.extend([0; 8]);
    out.extend(0x0100u16.to_le_bytes());
    out.extend(b"IM");
    for &(name, rows, cols, values) in arrays {
        assert_eq!(values.len(), rows * cols);
        let mut body = Vec::new();
        let mut sub = |kind: u32, bytes: &[u8]| {
            body.extend(kind.to_le_bytes());
            body.extend((bytes.len() as u32).to_le_bytes());
            body.extend(bytes);
            body.resize(body.len().next_multiple_of(8), 0);
        };
        const MI_INT8: u32 = 1;
        const MI_INT32: u32 = 5;
        const MI_UINT32: u32 = 6;
        const MI_DOUBLE: u32 = 9;
        const MX_DOUBLE_CLASS: u32 = 6;
        sub(MI_UINT32, &[MX_DOUBLE_CLASS.to_le_bytes(), [0; 4]].concat());
        sub(
            MI_INT32,
            &[(rows as i32).to_le_bytes(), (cols as i32).to_le_bytes()].concat(),
        );
        sub(MI_INT8, name.as_bytes());
        // MATLAB is column-major.
        let column_major = (0..cols).flat_map(|c| (0..rows).map(move |r| values[r * cols + c]));
        sub(
            MI_DOUBLE,
            &column_major.flat_map(f64::to_le_bytes).collect::<Vec<_>>(),
        );
        const MI_MATRIX: u32 = 14;
        out.extend(MI_MATRIX.to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
    }
    std::fs::write(path, out).unwrap();
}

/// Course-layout data: `n` blank images (paper 1.0) and one-hot labels of class i % 36.
fn blank_split(n: usize) -> (Vec<f64>, Vec<f64>) {
    let data = vec![1.0; n * PIXELS];
    let mut labels = vec![0.0; n * 36];
    for i in 0..n {
        labels[i * 36 + i % 36] = 1.0;
    }
    (data, labels)
}

/// The error of loading `file` as split `valid`, checked to name the file and mention `problem`.
fn expect_error(path: &Path, problem: &str) {
    let err = load_split(path, "valid").expect_err("a bad file must be rejected");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name the file: {msg}"
    );
    assert!(
        msg.contains(problem),
        "error does not say '{problem}': {msg}"
    );
}

fn temp_mat(dir: &tempfile::TempDir, arrays: &[(&str, usize, usize, &[f64])]) -> PathBuf {
    let path = dir.path().join("bad.mat");
    write_mat(&path, arrays);
    path
}

fn class_index(ds: &Dataset, name: &str) -> usize {
    ds.classes.iter().position(|c| c == name).unwrap()
}

/// Mean image of one class as 32 x 32 (nnlab layout).
fn mean_image(ds: &Dataset, class: usize) -> ndarray::Array2<f32> {
    let rows: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == class).collect();
    let mean = ds.subset(&rows).images.mean_axis(ndarray::Axis(0)).unwrap();
    mean.into_shape_with_order((SIDE, SIDE)).unwrap()
}

#[test]
fn fixture_loads_with_all_classes_in_every_split() {
    let splits = load_folder(&common::nist36_fixture()).unwrap();
    for (ds, per_class) in [(&splits.train, 10), (&splits.valid, 2), (&splits.test, 2)] {
        assert_eq!(ds.images.dim(), (36 * per_class, PIXELS));
        assert_eq!(ds.class_counts(), vec![per_class; 36]);
        assert_eq!(ds.classes[0], "A");
        assert_eq!(ds.classes[35], "9");
        assert!(ds.images.iter().all(|v| (0.0..=1.0).contains(v)));
        // Ink 1.0 on paper 0.0: most of a glyph image is paper.
        let mean = ds.images.mean().unwrap();
        assert!(mean < 0.4, "mean pixel {mean}: ink and paper look swapped");
    }
}

#[test]
fn f32_uncompressed_file_loads_like_the_f64_compressed_one() {
    // The two valid files hold different renderings (no row in common), so compare what they share.
    let dir = common::nist36_fixture();
    let f64_zlib = load_split(&dir.join("nist36_valid.mat"), "valid").unwrap();
    let f32_raw = load_split(&dir.join("nist36_valid_f32_uncompressed.mat"), "valid").unwrap();
    assert_eq!(f32_raw.class_counts(), vec![2; 36]);
    assert!(f32_raw.images.iter().all(|v| (0.0..=1.0).contains(v)));
    let (a, b) = (
        f64_zlib.images.mean().unwrap(),
        f32_raw.images.mean().unwrap(),
    );
    assert!((a - b).abs() < 0.2 * a, "mean ink {a} (f64) vs {b} (f32)");
}

/// Where the largest value of `profile` lies within its non-zero span, 0.0 (start) to 1.0 (end).
fn relative_peak(profile: ndarray::Array1<f32>) -> f32 {
    let inked: Vec<usize> = (0..profile.len()).filter(|&i| profile[i] > 0.0).collect();
    let (first, last) = (inked[0], inked[inked.len() - 1]);
    let peak = (0..profile.len()).fold(
        first,
        |best, i| if profile[i] > profile[best] { i } else { best },
    );
    (peak - first) as f32 / (last - first) as f32
}

#[test]
fn images_are_upright_not_transposed() {
    let splits = load_folder(&common::nist36_fixture()).unwrap();
    let ds = &splits.train;
    let by_row = |m: &ndarray::Array2<f32>| relative_peak(m.sum_axis(ndarray::Axis(1)));
    let by_col = |m: &ndarray::Array2<f32>| relative_peak(m.sum_axis(ndarray::Axis(0)));
    // The glyphs are small and centred, so positions are relative to the ink's extent. 'T' and
    // '7' have their full-width bar at the top; 'L' its bar at the bottom and its stem on the
    // left. Transposed images would turn the bars into columns and the stems into rows.
    for glyph in ["T", "7"] {
        let at = by_row(&mean_image(ds, class_index(ds, glyph)));
        assert!(
            at < 1.0 / 3.0,
            "'{glyph}': most ink at {at} of its height, expected its bar in the top third"
        );
    }
    let l = mean_image(ds, class_index(ds, "L"));
    let (row, col) = (by_row(&l), by_col(&l));
    assert!(
        row > 2.0 / 3.0,
        "'L': most ink at {row} of its height, expected its bar in the bottom third"
    );
    assert!(
        col < 1.0 / 3.0,
        "'L': most ink at {col} of its width, expected its stem in the left third"
    );
}

#[test]
fn one_pixel_lands_where_numpy_shows_it() {
    // The course views a row as `row.reshape(32,32).T`: flat index k = 3 * 32 + 5 is drawn at
    // y = 5, x = 3, and its value 0.0 is ink.
    let dir = tempfile::tempdir().unwrap();
    let (mut data, labels) = blank_split(1);
    data[3 * SIDE + 5] = 0.0;
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 1, PIXELS, &data),
            ("valid_labels", 1, 36, &labels),
        ],
    );
    let ds = load_split(&path, "valid").unwrap();
    let img = ds.image(0);
    assert_eq!(img[[5, 3]], 1.0);
    assert_eq!(img.sum(), 1.0);
    assert_eq!(ds.labels, vec![0]);
}

#[test]
fn missing_folder_and_missing_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-such-folder");
    let msg = format!("{:#}", load_folder(&nowhere).unwrap_err());
    assert!(
        msg.contains("no-such-folder") && msg.contains("no such folder"),
        "{msg}"
    );

    for name in ["nist36_train.mat", "nist36_valid.mat"] {
        std::fs::copy(common::nist36_fixture().join(name), dir.path().join(name)).unwrap();
    }
    let msg = format!("{:#}", load_folder(dir.path()).unwrap_err());
    assert!(
        msg.contains("nist36_test.mat") && msg.contains("cannot read"),
        "{msg}"
    );
}

#[test]
fn garbage_is_not_a_mat_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.mat");
    std::fs::write(&path, "this is a text file, not MATLAB data\n".repeat(20)).unwrap();
    expect_error(&path, "not a readable MATLAB .mat file");
    std::fs::write(&path, b"").unwrap();
    expect_error(&path, "no MATLAB level-5 header");
}

#[test]
fn truncated_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::nist36_fixture();
    for name in ["nist36_valid.mat", "nist36_valid_f32_uncompressed.mat"] {
        let bytes = std::fs::read(fixture.join(name)).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
        expect_error(&path, "truncated");
    }
}

#[test]
fn wrong_keys_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (data, labels) = blank_split(2);
    let path = temp_mat(
        &dir,
        &[
            ("images", 2, PIXELS, &data),
            ("valid_labels", 2, 36, &labels),
        ],
    );
    expect_error(
        &path,
        "no array 'valid_data' (the file has: images, valid_labels)",
    );
    // The right file for the wrong split.
    let valid = common::nist36_fixture().join("nist36_valid.mat");
    let msg = format!("{:#}", load_split(&valid, "train").unwrap_err());
    assert!(
        msg.contains("nist36_valid.mat") && msg.contains("no array 'train_data'"),
        "{msg}"
    );
}

#[test]
fn wrong_shapes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (data, labels) = blank_split(2);
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 2, 512, &data[..1024]),
            ("valid_labels", 2, 36, &labels),
        ],
    );
    expect_error(&path, "'valid_data' is 2 x 512, expected N x 1024");
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 2, PIXELS, &data),
            ("valid_labels", 2, 26, &labels[..52]),
        ],
    );
    expect_error(&path, "'valid_labels' is 2 x 26, expected N x 36");
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 2, PIXELS, &data),
            ("valid_labels", 1, 36, &labels[..36]),
        ],
    );
    expect_error(&path, "2 images but 1 label rows");
}

#[test]
fn labels_that_are_not_one_hot_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (data, labels) = blank_split(3);
    let mut two_ones = labels.clone();
    two_ones[36 + 7] = 1.0;
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 3, PIXELS, &data),
            ("valid_labels", 3, 36, &two_ones),
        ],
    );
    expect_error(&path, "valid_labels: row 1 is not one-hot (2 ones");
    let mut soft = labels.clone();
    soft[2 * 36 + 2] = 0.5;
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 3, PIXELS, &data),
            ("valid_labels", 3, 36, &soft),
        ],
    );
    expect_error(
        &path,
        "valid_labels: row 2 is not one-hot (0 ones, 1 values other than 0 and 1)",
    );
}

#[test]
fn nan_pixels_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut data, labels) = blank_split(2);
    data[PIXELS + 40] = f64::NAN;
    let path = temp_mat(
        &dir,
        &[
            ("valid_data", 2, PIXELS, &data),
            ("valid_labels", 2, 36, &labels),
        ],
    );
    // Course index 40 = 1 * 32 + 8 is nnlab pixel y 8, x 1 = 8 * 32 + 1.
    expect_error(&path, "valid_data: value 257 of image 1 is not a number");
}
