//! Models on disk: safetensors, one tensor per parameter named `layers.<i>.<name>`
//! (PyTorch and numpy read them), with the architecture, the class names and the input
//! convention in the header's metadata.

use super::{Init, Network, NetworkSpec};
use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// How samples must be prepared for a model: written into every model file.
pub const INPUT_CONVENTION: &str = "one row per sample: its C x H x W values (the spec's input shape) in row-major order (x fastest), ink 1.0, paper 0.0; dense weights are [in x out]";

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
        let mut net = Network::<f32>::new(spec, Init::Zero, 0)?;
        let mut problem = None;
        net.for_each_param(|layer, name, p| {
            let key = format!("layers.{layer}.{name}");
            match read_f32(&tensors, &key, p.value.shape()) {
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
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("safetensors.tmp");
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("loading model {}", path.display()))
    }
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
