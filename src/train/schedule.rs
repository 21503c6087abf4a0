//! Learning-rate schedules: the run's rate times a factor that depends on where training
//! stands. The rate set in the side panel (or by a live change) is the schedule's base, so a
//! live change rescales the rest of the schedule from that point on.

use serde::{Deserialize, Serialize};

/// How the rate falls over the epochs after the warm-up. Written as on the command line:
/// `constant`, `step:N:GAMMA`, `exp:GAMMA`, `cosine:FLOOR`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum Schedule {
    #[default]
    Constant,
    /// Times `gamma` every `every` epochs.
    Step { every: usize, gamma: f64 },
    /// Times `gamma` every epoch.
    Exp { gamma: f64 },
    /// Half a cosine from the full rate down to `floor` times it in the last epoch.
    Cosine { floor: f64 },
}

impl Schedule {
    /// The names of the kinds, for the side panel.
    pub const KINDS: [&'static str; 4] = ["constant", "step", "exp", "cosine"];

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Constant => Self::KINDS[0],
            Self::Step { .. } => Self::KINDS[1],
            Self::Exp { .. } => Self::KINDS[2],
            Self::Cosine { .. } => Self::KINDS[3],
        }
    }

    /// The schedule of kind `kind` with its usual settings.
    pub fn of_kind(kind: &str) -> Self {
        match kind {
            "step" => Self::Step {
                every: 10,
                gamma: 0.5,
            },
            "exp" => Self::Exp { gamma: 0.95 },
            "cosine" => Self::Cosine { floor: 0.01 },
            _ => Self::Constant,
        }
    }

    /// Why this schedule cannot run, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(format!("the schedule's {name} must be above 0, not {v}"))
            }
        };
        match *self {
            Self::Constant => Ok(()),
            Self::Step { every: 0, .. } => Err("a step schedule needs N of at least 1".into()),
            Self::Step { gamma, .. } | Self::Exp { gamma } => positive("gamma", gamma),
            Self::Cosine { floor } if (0.0..=1.0).contains(&floor) => Ok(()),
            Self::Cosine { floor } => Err(format!(
                "a cosine schedule's floor is a fraction of the rate in [0, 1], not {floor}"
            )),
        }
    }

    /// The factor in the `decay_epoch`-th epoch after the warm-up (0-based) of `span` such epochs.
    fn factor(&self, decay_epoch: usize, span: usize) -> f64 {
        match *self {
            Self::Constant => 1.0,
            Self::Step { every, gamma } => gamma.powi((decay_epoch / every.max(1)) as i32),
            Self::Exp { gamma } => gamma.powi(decay_epoch as i32),
            Self::Cosine { floor } => {
                let last = span.saturating_sub(1).max(1) as f64;
                let done = (decay_epoch as f64 / last).min(1.0);
                floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * done).cos())
            }
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.trim().split(':').map(str::trim).collect();
        let number = |text: &str| {
            text.parse::<f64>()
                .map_err(|_| format!("'{text}' in the schedule '{s}' is not a number"))
        };
        let schedule = match parts.as_slice() {
            ["constant"] => Self::Constant,
            ["step", n, gamma] => Self::Step {
                every: n
                    .parse()
                    .map_err(|_| format!("'{n}' in the schedule '{s}' is not an epoch count"))?,
                gamma: number(gamma)?,
            },
            ["exp", gamma] => Self::Exp {
                gamma: number(gamma)?,
            },
            ["cosine", floor] => Self::Cosine {
                floor: number(floor)?,
            },
            _ => {
                return Err(format!(
                    "unknown schedule '{s}' (constant, step:N:GAMMA, exp:GAMMA, cosine:FLOOR)"
                ));
            }
        };
        schedule.check()?;
        Ok(schedule)
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Constant => write!(f, "constant"),
            Self::Step { every, gamma } => write!(f, "step:{every}:{gamma}"),
            Self::Exp { gamma } => write!(f, "exp:{gamma}"),
            Self::Cosine { floor } => write!(f, "cosine:{floor}"),
        }
    }
}

impl TryFrom<String> for Schedule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Schedule> for String {
    fn from(s: Schedule) -> String {
        s.to_string()
    }
}

/// A schedule with its linear warm-up, over a run of `epochs` epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePlan {
    pub schedule: Schedule,
    /// Epochs over which the rate climbs linearly from nearly 0 to the full rate.
    pub warmup: usize,
    pub epochs: usize,
}

impl RatePlan {
    /// The factor for batch `batch` (1-based) of `batches` in epoch `epoch` (1-based).
    pub fn factor(&self, epoch: usize, batch: usize, batches: usize) -> f64 {
        let epoch0 = epoch.saturating_sub(1);
        let decay_epoch = epoch0.saturating_sub(self.warmup);
        let decay = self
            .schedule
            .factor(decay_epoch, self.epochs.saturating_sub(self.warmup));
        if epoch0 < self.warmup {
            let done = epoch0 as f64 + batch as f64 / batches.max(1) as f64;
            decay * (done / self.warmup as f64).min(1.0)
        } else {
            decay
        }
    }

    /// The factor in the last batch of each epoch, epochs 1..=`epochs` (for the rate plot).
    pub fn epoch_factors(&self) -> Vec<f64> {
        (1..=self.epochs).map(|e| self.factor(e, 1, 1)).collect()
    }
}
