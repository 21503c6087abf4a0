//! Fine-tuning: a saved model's layers as the start for a new set of classes. The last
//! dense layer is replaced by a fresh one with one output per new class, the first layers
//! can be frozen, and the one training loop ([`Trainer`]) does the rest.

use super::{RunConfig, Trainer};
use crate::data::Splits;
use crate::nn::dense::DenseSpec;
use crate::nn::{Init, LayerSpec, Network, SavedModel};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// Index of the layer that fine-tuning replaces: the last dense layer.
pub fn head_index(net: &Network<f32>) -> Result<usize> {
    net.spec()
        .layers
        .iter()
        .rposition(|l| matches!(l, LayerSpec::Dense { .. }))
        .context("the model has no dense layer to replace")
}

/// `model`'s network with its last dense layer replaced by a fresh one (seeded) of
/// `classes` outputs; every other layer keeps its trained values.
pub fn with_new_head(model: &SavedModel, classes: usize, seed: u64) -> Result<Network<f32>> {
    let head = head_index(&model.net)?;
    let mut spec = model.net.spec().clone();
    spec.layers[head] = LayerSpec::Dense(DenseSpec { out: classes });
    let mut net =
        Network::new(spec, Init::Xavier, seed).context("building the fine-tuned network")?;
    let trained: HashMap<(usize, &str), _> = model
        .net
        .params()
        .into_iter()
        .map(|(i, n, p)| ((i, n), p))
        .collect();
    net.for_each_param(|layer, name, p| {
        if layer != head {
            let source = trained[&(layer, name)];
            p.value.assign(&source.value);
        }
    });
    Ok(net)
}

/// Keeps the parameters of the first `count` layers fixed (at most every layer before the
/// head, which always trains). Returns how many layers are frozen.
pub fn freeze_first_layers(net: &mut Network<f32>, count: usize) -> Result<usize> {
    let count = count.min(head_index(net)?);
    net.for_each_param(|layer, name, p| {
        // Running statistics are never trainable, frozen layer or not.
        if !name.starts_with("running_") {
            p.trainable = layer >= count;
        }
    });
    Ok(count)
}

/// How many trained parameter tensors are held fixed (running statistics do not count).
pub fn frozen_tensors(net: &Network<f32>) -> usize {
    net.params()
        .iter()
        .filter(|(_, name, p)| !p.trainable && !name.starts_with("running_"))
        .count()
}

/// `config` (data, classes, optimiser) with the network settings `model` was trained with
/// (its layer list when it stores no run configuration), so the run's record describes
/// the network it really trains. A stored configuration that is not valid is refused.
pub fn adopt_network(config: RunConfig, model: &SavedModel) -> Result<RunConfig> {
    let own = config.for_model_file(model)?;
    Ok(RunConfig {
        task: own.task,
        model: own.model,
        hidden: own.hidden,
        depth: own.depth,
        activation: own.activation,
        layers: own.layers,
        ..config
    })
}

/// A trainer that fine-tunes `model` on `data` with `config`'s optimiser settings,
/// freezing its first `freeze` layers (`usize::MAX`: all but the new head).
pub fn trainer(
    model: &SavedModel,
    data: Arc<Splits>,
    config: RunConfig,
    freeze: usize,
) -> Result<Trainer> {
    model.check_classifier_for(data.train.shape, &data.name)?;
    let mut net = with_new_head(model, data.train.classes.len(), config.seed)?;
    freeze_first_layers(&mut net, freeze)?;
    Trainer::with_network(config, data, net)
}
