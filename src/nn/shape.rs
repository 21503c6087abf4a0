//! The shape of one sample as it flows between layers.

use super::limits::{MAX_SIDE, MAX_VALUES, at_most};
use serde::{Deserialize, Serialize};

/// The shape of one sample as it flows between layers: channels x height x width.
/// A plain feature vector of length n is `Shape { c: n, h: 1, w: 1 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub const fn image(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w }
    }
    pub const fn flat(n: usize) -> Self {
        Self { c: n, h: 1, w: 1 }
    }
    pub const fn len(self) -> usize {
        self.c * self.h * self.w
    }
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// An error unless every side and the number of values are within [`super::limits`]
    /// (computed without overflow, so any deserialised shape is safe to check).
    pub fn check_limits(self) -> Result<(), String> {
        at_most("the height", self.h, MAX_SIDE)?;
        at_most("the width", self.w, MAX_SIDE)?;
        let len = self
            .c
            .checked_mul(self.h)
            .and_then(|n| n.checked_mul(self.w))
            .unwrap_or(usize::MAX);
        at_most(
            &format!(
                "the number of values per sample ({}x{}x{})",
                self.c, self.h, self.w
            ),
            len,
            MAX_VALUES,
        )?;
        Ok(())
    }
}
