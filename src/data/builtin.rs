//! `builtin`: the embedded default data set (being built).

use super::Splits;
use anyhow::{Result, bail};

pub fn splits() -> Result<Splits> {
    bail!("the builtin data set is not available yet; pass a NIST36 folder with --data")
}
