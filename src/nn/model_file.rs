//! Models on disk: safetensors, one tensor per parameter named `layers.<i>.<name>`
//! (PyTorch and numpy read them), with the architecture, the class names and the input
//! convention in the header's metadata.

use super::limits;
use super::{Init, Network, NetworkSpec, Shape};
use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// How samples must be prepared for a model: written into every model file.
pub const INPUT_CONVENTION: &str = "one row per sample: its C x H x W values (the spec's input shape) in row-major order (x fastest), ink 1.0, paper 0.0; dense weights are [in x out]";

/// The one metadata key. safetensors keeps metadata in a hash map, whose order changes
/// from run to run, so everything goes under one key to make saved files reproducible.
const KEY: &str = "nnlab";

/// The largest model file read: the largest network [`limits`] allow, plus its header.
pub const MAX_MODEL_BYTES: u64 = (limits::MAX_PARAMETERS as u64) * 4 + 16 * crate::files::MB;
/// The longest class name.
pub const MAX_CLASS_NAME: usize = 64;

/// What the metadata says about the model (fields in a fixed order).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    spec: NetworkSpec,
    #[serde(default)]
    classes: Vec<String>,
    input: String,
    /// The run configuration (JSON), if known.
    #[serde(default)]
    config: Option<String>,
}

/// A trained network with what is needed to use it.
#[derive(Clone, Debug)]
pub struct SavedModel {
    pub net: Network<f32>,
    /// Output names: "A".."Z", "0".."9" for a classifier; empty for an autoencoder.
    pub classes: Vec<String>,
    /// The run configuration that produced it (JSON), if known. Only syntax is checked
    /// here; `RunConfig::of_model` checks its settings like any configuration's.
    pub config: Option<String>,
}

impl SavedModel {
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let params = self.net.params();
        let bytes: Vec<Vec<u8>> = params
            .iter()
            .map(|(_, _, p)| p.value.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let mut views = Vec::new();
        for ((layer, name, p), data) in params.iter().zip(&bytes) {
            let view = TensorView::new(Dtype::F32, p.value.shape().to_vec(), data)
                .map_err(|e| anyhow!("tensor layers.{layer}.{name}: {e}"))?;
            views.push((format!("layers.{layer}.{name}"), view));
        }
        let header = Header {
            spec: self.net.spec().clone(),
            classes: self.classes.clone(),
            input: INPUT_CONVENTION.to_string(),
            config: self.config.clone(),
        };
        let meta = HashMap::from([(KEY.to_string(), serde_json::to_string(&header)?)]);
        safetensors::serialize(views, Some(meta)).map_err(|e| anyhow!("serialising model: {e}"))
    }

    /// Reads a model from untrusted bytes: the description is checked against the
    /// [`limits`] and the tensors' sizes against the description before the network is
    /// allocated, then everything [`SavedModel::validate`] checks.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| anyhow!("not a safetensors file: {e}"))?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(KEY))
            .ok_or_else(|| anyhow!("not an nnlab model: no '{KEY}' entry in its metadata"))?;
        let Header {
            spec,
            classes,
            config,
            ..
        } = serde_json::from_str(json).context("reading the model description")?;
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| anyhow!("corrupt model: {e}"))?;
        let held = tensors
            .tensors()
            .iter()
            .map(|(_, t)| t.shape().iter().map(|&d| d as u128).product::<u128>())
            .sum();
        Self::assemble(spec, classes, config, held, |key, shape| {
            read_f32(&tensors, key, shape)
        })
    }

    /// The model of `spec` with its parameters taken from `tensors` (nnlab's names and
    /// layouts), checked like a model from nnlab's own files: ONNX imports come through here.
    pub fn from_tensors(
        spec: NetworkSpec,
        classes: Vec<String>,
        config: Option<String>,
        mut tensors: HashMap<String, Tensor>,
    ) -> Result<Self> {
        let held = tensors.values().map(|t| t.values.len() as u128).sum();
        Self::assemble(spec, classes, config, held, |key, shape| {
            take_shaped(&mut tensors, key, shape)
        })
    }

    /// What every model file goes through: the architecture checked against the
    /// [`limits`], the `held` values of the file against the `spec`'s parameter count
    /// before the network is allocated, each parameter read by `read(name, shape)`, and
    /// the whole model [`SavedModel::validate`]d.
    fn assemble(
        spec: NetworkSpec,
        classes: Vec<String>,
        config: Option<String>,
        held: u128,
        mut read: impl FnMut(&str, &[usize]) -> Result<Vec<f32>>,
    ) -> Result<Self> {
        let shapes = spec
            .shapes()
            .map_err(|e| anyhow!("the model's architecture: {e}"))?;
        check_tensor_total(&spec, &shapes, held)?;
        let mut net = Network::<f32>::new(spec, Init::Zero, 0)?;
        let mut problem = None;
        net.for_each_param(|layer, name, p| {
            let key = format!("layers.{layer}.{name}");
            match read(&key, p.value.shape()) {
                Ok(values) => p
                    .value
                    .as_slice_mut()
                    .expect("contiguous")
                    .copy_from_slice(&values),
                Err(e) => {
                    problem.get_or_insert(e);
                }
            }
        });
        if let Some(e) = problem {
            return Err(e);
        }
        let model = Self {
            net,
            classes,
            config,
        };
        model.validate()?;
        Ok(model)
    }

    /// Everything a model must satisfy to be used, wherever it came from (a file, an
    /// import, a training run): class names that match the outputs (or none, for an
    /// autoencoder whose output is its input), finite weights, non-negative running
    /// variances, a run configuration that is a JSON object.
    pub fn validate(&self) -> Result<()> {
        let spec = self.net.spec();
        let shapes = spec
            .shapes()
            .map_err(|e| anyhow!("the model's architecture: {e}"))?;
        let (input, output) = (spec.input.len(), shapes.last().expect("non-empty").len());
        if self.classes.is_empty() {
            if output != input {
                bail!(
                    "the model has {output} outputs but no class names (and is no autoencoder: it reads {input} values)"
                );
            }
        } else {
            if self.classes.len() != output {
                bail!(
                    "the model names {} classes but has {output} outputs",
                    self.classes.len()
                );
            }
            let mut seen = std::collections::HashSet::new();
            for c in &self.classes {
                if c.trim().is_empty() || c.chars().count() > MAX_CLASS_NAME {
                    bail!("the model has a class named {c:?} (1 to {MAX_CLASS_NAME} characters)");
                }
                if !seen.insert(c) {
                    bail!("the model names the class {c:?} twice");
                }
            }
        }
        for (layer, name, p) in self.net.params() {
            if let Some(i) = p.value.iter().position(|v| !v.is_finite()) {
                bail!(
                    "tensor 'layers.{layer}.{name}' holds {} at index {i}",
                    p.value.iter().nth(i).expect("found")
                );
            }
            if name == "running_var" && p.value.iter().any(|&v| v < 0.0) {
                bail!("tensor 'layers.{layer}.{name}' holds a negative variance");
            }
        }
        if let Some(json) = &self.config {
            let value: serde_json::Value =
                serde_json::from_str(json).context("the model's run configuration")?;
            if !value.is_object() {
                bail!("the model's run configuration is not a JSON object");
            }
        }
        Ok(())
    }

    /// Whether the model classifies (names its outputs) rather than reconstructs.
    pub fn is_classifier(&self) -> bool {
        !self.classes.is_empty()
    }

    /// An error unless the model is a classifier reading samples of `shape`; `what` names
    /// the samples (a data set, "the OCR's 32x32 crops").
    pub fn check_classifier_for(&self, shape: Shape, what: &str) -> Result<()> {
        if !self.is_classifier() {
            bail!("the model is an autoencoder (it names no classes), not a classifier");
        }
        let want = self.net.spec().input.len();
        if want != shape.len() {
            bail!(
                "the model reads {want} values per image but {what} has {} ({}x{}x{})",
                shape.len(),
                shape.c,
                shape.h,
                shape.w
            );
        }
        Ok(())
    }

    /// Writes through a temporary file and a rename ([`crate::files::write_atomic`]): a
    /// crash never leaves half a model behind. A path ending in `.onnx` gets an ONNX file
    /// ([`super::onnx::export`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = if super::onnx::is_onnx_path(path) {
            super::onnx::export(self)?
        } else {
            self.to_bytes()?
        };
        crate::files::write_atomic(path, &bytes)
    }

    /// Reads and checks the model file at `path` (a regular file of at most
    /// [`MAX_MODEL_BYTES`]): nnlab's safetensors, or ONNX by the `.onnx` extension. Every
    /// command and the GUI load models through here.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::files::read_regular(path, MAX_MODEL_BYTES)?;
        let model = if super::onnx::is_onnx_path(path) {
            super::onnx::import(&bytes)
        } else {
            Self::from_bytes(&bytes)
        };
        model.with_context(|| format!("loading model {}", path.display()))
    }
}

/// An error unless the file holds exactly the values `spec` needs: checked on the tensors'
/// declared sizes, before the network is allocated.
fn check_tensor_total(spec: &NetworkSpec, shapes: &[Shape], held: u128) -> Result<()> {
    let needed: u128 = spec
        .layers
        .iter()
        .zip(shapes)
        .map(|(l, &input)| l.parameter_count(input).stored)
        .sum();
    if held != needed {
        bail!("the file holds {held} values, its architecture needs {needed}");
    }
    Ok(())
}

fn read_f32(tensors: &SafeTensors, key: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = tensors
        .tensor(key)
        .map_err(|_| anyhow!("model has no tensor '{key}'"))?;
    if t.dtype() != Dtype::F32 {
        bail!("tensor '{key}' is {:?}, expected F32", t.dtype());
    }
    if t.shape() != shape {
        bail!(
            "tensor '{key}' has shape {:?}, the architecture needs {shape:?}",
            t.shape()
        );
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn take_shaped(
    tensors: &mut HashMap<String, Tensor>,
    key: &str,
    shape: &[usize],
) -> Result<Vec<f32>> {
    let t = tensors
        .remove(key)
        .ok_or_else(|| anyhow!("model has no tensor '{key}'"))?;
    if t.shape != shape {
        bail!(
            "tensor '{key}' has shape {:?}, the architecture needs {shape:?}",
            t.shape
        );
    }
    Ok(t.values)
}

/// A tensor read from a model file: its shape and its values in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl Tensor {
    pub fn zeros(shape: Vec<usize>) -> Self {
        let values = vec![0.0; shape.iter().product()];
        Self { shape, values }
    }

    /// The same values under another shape of as many elements.
    pub fn reshaped(self, shape: Vec<usize>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), self.values.len());
        Self { shape, ..self }
    }

    /// A matrix's transpose.
    pub fn transposed(&self) -> Result<Self> {
        let [rows, cols] = self.shape[..] else {
            bail!("tensor of shape {:?} is not a matrix", self.shape);
        };
        let values = (0..cols)
            .flat_map(|c| (0..rows).map(move |r| self.values[r * cols + c]))
            .collect();
        Ok(Self {
            shape: vec![cols, rows],
            values,
        })
    }
}
