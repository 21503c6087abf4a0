//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared test data folder: `$NNLAB_SHARED/data`, or `/work/shared/data`.
pub fn shared_data() -> PathBuf {
    std::env::var_os("NNLAB_SHARED")
        .map_or_else(|| PathBuf::from("/work/shared"), PathBuf::from)
        .join("data")
}

/// The small NIST36 fixture (360 train / 72 valid / 72 test images).
pub fn nist36_fixture() -> PathBuf {
    shared_data().join("nist36_fixture")
}
