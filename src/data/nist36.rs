//! NIST36 `.mat` loader (being built).

use super::Splits;
use anyhow::{Result, bail};
use std::path::Path;

pub fn load_folder(dir: &Path) -> Result<Splits> {
    bail!("{}: the NIST36 loader is not available yet", dir.display())
}
