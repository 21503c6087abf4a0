//! Training: the run configuration, the one training loop (used by the CLI, the GUI's
//! worker thread and the benchmarks) and metrics.

pub mod bench;
pub mod compare;
pub mod config;
pub mod finetune;
pub mod health;
pub mod latent;
pub mod metrics;
pub mod protocol;
pub mod report;
pub mod schedule;
pub mod snapshots;
pub mod trainer;
pub mod worker;

pub use config::{Model, RunConfig, Task};
pub use trainer::{EpochStats, StepReport, Trainer};
