//! Models on disk: safetensors, one tensor per parameter named `layers.<i>.<name>`
//! (PyTorch and numpy read them), with the architecture, the class names and the input
//! convention in the header's metadata.

use super::{Init, Network, NetworkSpec};
use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// How samples must be prepared for a model: written into every model file.
pub const INPUT_CONVENTION: &str = "rows of 32x32 pixels in row-major order (x fastest), ink 1.0, paper 0.0; dense weights are [in x out]";

/// The one metadata key. safetensors keeps metadata in a hash map, whose order changes
/// from run to run, so everything goes under one key to make saved files reproducible.
const KEY: &str = "nnlab";

/// What the metadata says about the model (fields in a fixed order).
#[derive(serde::Serialize, serde::Deserialize)]
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
    /// The run configuration that produced it (JSON), if known.
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
        let mut named = HashMap::new();
        for (key, view) in tensors.tensors() {
            if view.dtype() != Dtype::F32 {
                bail!("tensor '{key}' is {:?}, expected F32", view.dtype());
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let shape = view.shape().to_vec();
            named.insert(key, Tensor { shape, values });
        }
        Self::from_tensors(spec, classes, config, named)
    }

    /// The model of `spec` with its parameters taken from `tensors` (nnlab's names and
    /// layouts), each checked against the shape the architecture needs. Every model file
    /// format reads its models through here.
    pub fn from_tensors(
        spec: NetworkSpec,
        classes: Vec<String>,
        config: Option<String>,
        mut tensors: HashMap<String, Tensor>,
    ) -> Result<Self> {
        let mut net = Network::<f32>::new(spec, Init::Zero, 0)?;
        let mut problem = None;
        net.for_each_param(|layer, name, p| {
            let key = format!("layers.{layer}.{name}");
            match take_shaped(&mut tensors, &key, p.value.shape()) {
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
        Ok(Self {
            net,
            classes,
            config,
        })
    }

    /// Writes to a temporary file beside `path`, then renames it: a crash never leaves
    /// half a model behind.
    /// A path ending in `.onnx` gets an ONNX file ([`super::onnx::export`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = if super::onnx::is_onnx_path(path) {
            super::onnx::export(self)?
        } else {
            self.to_bytes()?
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    /// Reads nnlab's safetensors files, and ONNX files by their `.onnx` extension.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let model = if super::onnx::is_onnx_path(path) {
            super::onnx::import(&bytes)
        } else {
            Self::from_bytes(&bytes)
        };
        model.with_context(|| format!("loading model {}", path.display()))
    }
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
