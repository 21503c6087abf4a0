//! Shared test support: where the project's shared test data lives.

use std::path::PathBuf;

/// The shared `data/` folder (photos, `ocr_truth.txt`, `nist36_fixture/`): `$NNLAB_SHARED/data`,
/// else `/work/shared/data`, else `<crate>/../shared/data`. Panics naming every place
/// tried when none has it: a missing fixture must fail the test, never skip it.
pub fn shared_data() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("NNLAB_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/work/shared"),
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        ])
        .collect();
    candidates.iter().map(|c| c.join("data")).find(|d| d.is_dir()).unwrap_or_else(|| {
        panic!("shared test data not found: none of {candidates:?} has a data/ folder (set NNLAB_SHARED)")
    })
}

/// The small NIST36 fixture folder (360/72/72 samples, plus the f32 uncompressed valid file).
pub fn nist36_fixture() -> PathBuf {
    let dir = shared_data().join("nist36_fixture");
    assert!(
        dir.join("nist36_train.mat").is_file(),
        "NIST36 fixture missing in {}",
        dir.display()
    );
    dir
}
