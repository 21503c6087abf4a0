//! How the weights of a new network start.

use serde::{Deserialize, Serialize};

/// How the weights of dense and convolution layers start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Uniform in +-sqrt(6 / (fan_in + fan_out)), biases zero.
    #[default]
    Xavier,
    /// Every weight zero: every hidden unit stays identical (the symmetry problem).
    Zero,
}

impl std::str::FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "xavier" => Ok(Self::Xavier),
            "zero" => Ok(Self::Zero),
            _ => Err(format!("unknown init '{s}' (xavier, zero)")),
        }
    }
}
