//! Each data kind and task keeps its own run settings, so that trying the toy sets or the
//! autoencoder never rewrites the settings the user typed for the letters: switching back
//! brings them back. Only the first switch to a kind loads its preset.

use crate::data::DataSource;
use crate::train::{RunConfig, Task};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The settings last used with each data kind and task.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Profiles {
    /// By [`key`].
    saved: BTreeMap<String, RunConfig>,
}

impl Profiles {
    /// Makes `config` train `task` on `data`: the settings it has now are kept for its own
    /// kind and task, and those last used with the new ones come back (their preset the
    /// first time). Within one kind and task only the data changes (another folder).
    pub fn switch(&mut self, config: &mut RunConfig, data: DataSource, task: Task) {
        let (from, to) = (key(&config.data, config.task), key(&data, task));
        if from == to {
            config.data = data;
            return;
        }
        let next = match self.saved.get(&to) {
            Some(own) => RunConfig {
                data,
                ..own.clone()
            },
            None => first_settings(config, data, task),
        };
        self.saved.insert(from, std::mem::replace(config, next));
    }
}

/// The name a data kind and task keep their settings under. Folders of one format share
/// it (their images are alike); every toy set has its own.
fn key(data: &DataSource, task: Task) -> String {
    let kind = match data {
        DataSource::Builtin => "builtin",
        DataSource::BuiltinMixedCase => "builtin62",
        DataSource::Nist36(_) => "nist36",
        DataSource::Cifar10(_) => "cifar10",
        DataSource::ImageFolder { .. } => "images",
        DataSource::Toy(kind) => kind.name(),
    };
    format!("{kind}/{task:?}")
}

/// The settings a data kind and task start with: the toy preset for the first toy set
/// after images, the task's defaults for the first images after a toy set, another task's
/// defaults on the same data; otherwise (images to images, toy to toy) the current
/// settings, which suit data of the same family. The seed is always kept.
fn first_settings(current: &RunConfig, data: DataSource, task: Task) -> RunConfig {
    let was_toy = matches!(current.data, DataSource::Toy(_));
    let base = match data {
        DataSource::Toy(kind) if !was_toy => RunConfig {
            init: current.init,
            ..RunConfig::toy(kind)
        },
        _ if task != current.task => RunConfig::for_task(task).on_data_of(current),
        _ if was_toy && !matches!(data, DataSource::Toy(_)) => RunConfig::for_task(task),
        _ => current.clone(),
    };
    RunConfig {
        data,
        task,
        seed: current.seed,
        ..base
    }
}
