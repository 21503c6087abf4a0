//! What a trainer's state looks like to the views: the first layer's weights, the
//! validation results, an epoch's record, the reconstructions. The worker sends these, the
//! report writer and `nnlab eval` read the same ones, so each is computed in one place.

use super::latent::{codes, pca_2d};
use super::metrics::{confusion_matrix, psnr_rows, reconstruction_picks};
use super::protocol::{
    EpochRecord, Histogram, ParamHistogram, ReconstructionSnapshot, ValidationSnapshot,
    WeightSnapshot,
};
use super::trainer::{Evaluation, predictions};
use super::{Task, Trainer};
use crate::data::Dataset;
use crate::nn::Layer;
use ndarray::Array2;
use std::sync::Arc;

/// The weights of the first dense or convolution layer.
pub fn first_layer(t: &Trainer) -> WeightSnapshot {
    let (weights, kernel_channels) = t
        .net
        .layers()
        .iter()
        .find_map(|l| match l {
            Layer::Dense(d) => Some((d.w().to_owned(), None)),
            Layer::Conv2d(c) => {
                let shape = c.weight.value.shape();
                let (tiles, pixels) = (shape[0] * shape[1], shape[2] * shape[3]);
                let kernels = c
                    .weight
                    .value
                    .to_shape((tiles, pixels))
                    .expect("a conv weight is [out, in, k, k]")
                    .t()
                    .to_owned();
                Some((kernels, Some(shape[1])))
            }
            _ => None,
        })
        .unwrap_or_else(|| (Array2::zeros((0, 0)), None));
    WeightSnapshot {
        epoch: t.history.len(),
        weights,
        kernel_channels,
    }
}

/// A classifier's answers on a data set.
pub struct Classified {
    /// Predicted class and its probability per image.
    pub predicted: Vec<usize>,
    pub confidence: Vec<f32>,
    /// `[true, predicted]` counts.
    pub confusion: Array2<usize>,
}

impl Classified {
    /// Reads the class probabilities `outputs` (one row per image of `data`).
    pub fn of(outputs: &Array2<f32>, data: &Dataset) -> Self {
        let predicted = predictions(outputs);
        let confidence = predicted
            .iter()
            .enumerate()
            .map(|(i, &p)| outputs[[i, p]])
            .collect();
        let confusion = confusion_matrix(&data.labels, &predicted, data.classes.len());
        Self {
            predicted,
            confidence,
            confusion,
        }
    }
}

/// What an epoch leaves for the history views; the validation results are those the
/// trainer computed at the epoch's end.
pub fn epoch_record(t: &Trainer) -> EpochRecord {
    let validation = match (&t.last_valid, t.config.task) {
        (Some(valid), Task::Classify) => {
            let classified = Classified::of(&valid.outputs, &t.data.valid);
            Some(Arc::new(ValidationSnapshot {
                epoch: t.history.len(),
                loss: valid.loss,
                accuracy: valid.accuracy,
                outputs: Array2::zeros((0, 0)),
                predicted: classified.predicted,
                confidence: classified.confidence,
                confusion: Some(classified.confusion),
                psnr: Vec::new(),
                latent: None,
            }))
        }
        _ => None,
    };
    let histograms = t
        .net
        .params()
        .into_iter()
        .filter(|(_, name, _)| !name.starts_with("running_"))
        .map(|(layer, name, p)| ParamHistogram {
            name: format!("layer {layer} {name}"),
            values: Histogram::of(p.value.iter()),
            gradients: Histogram::of(p.grad.iter()),
        })
        .collect();
    EpochRecord {
        weights: Arc::new(first_layer(t)),
        validation,
        histograms,
        health: t.health.last().cloned().unwrap_or_default(),
    }
}

/// The network's outputs on the validation split, read as its task reads them.
pub fn validate(t: &mut Trainer) -> ValidationSnapshot {
    let data = t.data.clone();
    let Evaluation {
        loss,
        accuracy,
        outputs,
    } = t.evaluate(&data.valid);
    let (mut psnr, mut latent) = (Vec::new(), None);
    let (predicted, confidence, confusion) = match t.config.task {
        Task::Classify => {
            let c = Classified::of(&outputs, &data.valid);
            (c.predicted, c.confidence, Some(c.confusion))
        }
        Task::Autoencode => {
            psnr = psnr_rows(data.valid.images.view(), outputs.view());
            latent = codes(&mut t.net, data.valid.images.view()).map(|c| pca_2d(c.view()));
            (Vec::new(), Vec::new(), None)
        }
    };
    ValidationSnapshot {
        epoch: t.history.len(),
        loss,
        accuracy,
        outputs,
        predicted,
        confidence,
        confusion,
        psnr,
        latent,
    }
}

/// An autoencoder's reconstructions of the first two validation images of every class,
/// taken at `position` on the epoch axis.
pub fn reconstructions(t: &mut Trainer, position: f64) -> ReconstructionSnapshot {
    let valid = &t.data.valid;
    let indices = reconstruction_picks(&valid.labels, valid.classes.len(), 2);
    let originals = valid.images.select(ndarray::Axis(0), &indices);
    let outputs = t.net.predict(originals.view(), originals.nrows().max(1));
    let psnr = psnr_rows(originals.view(), outputs.view());
    ReconstructionSnapshot {
        position,
        indices,
        outputs,
        psnr,
    }
}
