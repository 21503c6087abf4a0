//! Reading an ONNX graph back into nnlab: a chain of the operators [`super::export`]
//! writes (and the ones PyTorch writes for the same layers) becomes a [`NetworkSpec`] and
//! its tensors, which go through the same checks as a model from nnlab's own files.

use super::proto::{AttributeProto, DimensionValue, ModelProto, NodeProto, TensorProto, data_type};
use super::{META_CLASSES, META_CONFIG};
use crate::nn::activation::ActivationSpec;
use crate::nn::batchnorm::{BatchNorm2dSpec, EPS};
use crate::nn::conv::Conv2dSpec;
use crate::nn::dense::DenseSpec;
use crate::nn::dropout::DropoutSpec;
use crate::nn::flatten::FlattenSpec;
use crate::nn::limits;
use crate::nn::model_file::Tensor;
use crate::nn::pool::MaxPool2dSpec;
use crate::nn::{Activation, LayerSpec, NetworkSpec, SavedModel, Shape};
use anyhow::{Context, Result, anyhow, bail, ensure};
use prost::Message;
use std::collections::HashMap;

/// The operators a graph may use.
const SUPPORTED: &str = "Gemm, MatMul (+ Add), Conv, MaxPool, BatchNormalization, Relu, Sigmoid, \
     Tanh, Identity, Flatten, Reshape (to [N, -1]), Dropout, a final Softmax, Constant";

/// The model in the ONNX file `bytes`.
pub fn import(bytes: &[u8]) -> Result<SavedModel> {
    let model = ModelProto::decode(bytes).map_err(|e| anyhow!("not an ONNX model: {e}"))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| anyhow!("the ONNX model has no graph"))?;
    let mut constants: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !constants.contains_key(i.name.as_str()))
        .collect();
    let [input] = inputs[..] else {
        bail!(
            "the graph has {} inputs besides its weights; nnlab models have one",
            inputs.len()
        );
    };
    let [output] = &graph.output[..] else {
        bail!(
            "the graph has {} outputs; nnlab models have one",
            graph.output.len()
        );
    };
    let (shape, image) = input_shape(input)?;
    let mut chain = Chain {
        spec: NetworkSpec {
            input: shape,
            layers: Vec::new(),
        },
        tensors: HashMap::new(),
        current: input.name.clone(),
        image,
        softmax: false,
        dense_from_reshape: false,
        bias_pending: None,
    };
    for node in &graph.node {
        if node.op_type == "Constant" {
            let value = attribute(node, "value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| anyhow!("Constant node '{}' has no tensor value", node.name))?;
            let name = node.output.first().map(String::as_str).unwrap_or_default();
            constants.insert(name, value);
            continue;
        }
        chain
            .add(node, &constants)
            .with_context(|| format!("node '{}' ({})", node.name, node.op_type))?;
    }
    ensure!(
        chain.current == output.name,
        "the graph's output '{}' is not the end of its chain of layers ('{}')",
        output.name,
        chain.current
    );
    let meta: HashMap<&str, &str> = model
        .metadata_props
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    let outputs = chain
        .spec
        .output()
        .map_err(|e| anyhow!("invalid network: {e}"))?
        .len();
    let classes = match meta.get(META_CLASSES) {
        Some(json) => serde_json::from_str(json)
            .with_context(|| format!("reading the '{META_CLASSES}' metadata"))?,
        // A classifier from elsewhere: its outputs are named by their number.
        None if chain.softmax => (0..outputs).map(|i| i.to_string()).collect(),
        None => Vec::new(),
    };
    let config = meta.get(META_CONFIG).map(|c| c.to_string());
    SavedModel::from_tensors(chain.spec, classes, config, chain.tensors)
}

/// The input's sample shape, and whether it is an image, from `[N, C, H, W]` or `[N, F]`.
fn input_shape(input: &super::proto::ValueInfoProto) -> Result<(Shape, bool)> {
    let tensor = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| anyhow!("the input '{}' is not a tensor", input.name))?;
    ensure!(
        tensor.elem_type == data_type::FLOAT,
        "the input '{}' is not float32 (ONNX type {})",
        input.name,
        tensor.elem_type
    );
    let dims: Vec<Option<i64>> = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(DimensionValue::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let sizes: Option<Vec<usize>> = dims
        .iter()
        .skip(1)
        .map(|d| d.and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0))
        .collect();
    match (dims.len(), sizes.as_deref()) {
        (4, Some(&[c, h, w])) => Ok((Shape::image(c, h, w), true)),
        (2, Some(&[f])) => Ok((Shape::flat(f), false)),
        _ => bail!(
            "the input '{}' has shape {dims:?}; nnlab reads [N, C, H, W] or [N, features] with fixed sizes after the batch",
            input.name
        ),
    }
}

/// The network read so far, node by node.
struct Chain {
    spec: NetworkSpec,
    /// Parameters in nnlab's names and layouts.
    tensors: HashMap<String, Tensor>,
    /// The tensor the next node must read.
    current: String,
    /// Whether `current` is an image (`[N, C, H, W]`).
    image: bool,
    /// A softmax ended the graph.
    softmax: bool,
    /// The last node was a reshape of an image to a matrix, still to be read by a dense layer.
    dense_from_reshape: bool,
    /// The layer index of a dense layer from a MatMul, whose bias an Add may give.
    bias_pending: Option<usize>,
}

impl Chain {
    fn add(&mut self, node: &NodeProto, constants: &HashMap<&str, &TensorProto>) -> Result<()> {
        ensure!(
            node.domain.is_empty() || node.domain == "ai.onnx",
            "operator domain '{}' is not ONNX's own",
            node.domain
        );
        ensure!(
            !self.softmax,
            "only the output may follow the softmax, which must be last"
        );
        // Checked as the chain grows: the layer list is re-read on some nodes.
        ensure!(
            self.spec.layers.len() < limits::MAX_LAYERS,
            "the graph has more than {} layers",
            limits::MAX_LAYERS
        );
        let data = node.input.first().map(String::as_str).unwrap_or_default();
        ensure!(
            data == self.current,
            "it reads '{data}', not the previous layer's output '{}': nnlab reads a chain of layers",
            self.current
        );
        let [output] = &node.output[..] else {
            bail!(
                "it has {} outputs; nnlab's layers have one",
                node.output.len()
            );
        };
        let constant = |k: usize| constant_input(node, constants, k);
        let required = |k: usize| {
            constant(k)?.ok_or_else(|| anyhow!("it needs a constant tensor as input {k}"))
        };
        let from_reshape = std::mem::take(&mut self.dense_from_reshape);
        let bias_pending = self.bias_pending.take();
        let i = self.spec.layers.len();
        let layer = match node.op_type.as_str() {
            "Gemm" => {
                ensure!(!self.image, "Gemm needs a matrix, not an image");
                ensure!(
                    attr_f(node, "alpha", 1.0) == 1.0 && attr_f(node, "beta", 1.0) == 1.0,
                    "alpha and beta other than 1 are not supported"
                );
                ensure!(attr_i(node, "transA", 0) == 0, "transA is not supported");
                let w = floats(required(1)?)?;
                let w = match attr_i(node, "transB", 0) {
                    0 => w,
                    1 => w.transposed()?,
                    t => bail!("transB {t} is not 0 or 1"),
                };
                self.dense(i, w, constant(2)?.map(floats).transpose()?)?
            }
            "MatMul" => {
                ensure!(!self.image, "MatMul needs a matrix, not an image");
                let layer = self.dense(i, floats(required(1)?)?, None)?;
                self.bias_pending = Some(i);
                layer
            }
            "Add" => {
                let Some(layer) = bias_pending else {
                    bail!("Add is supported only as the bias of a MatMul");
                };
                let bias = floats(required(1)?)?;
                let key = format!("layers.{layer}.bias");
                let want = self.tensors[&key].shape.clone();
                ensure!(
                    bias.values.len() == want[0],
                    "the bias has shape {:?}, the MatMul makes {} outputs",
                    bias.shape,
                    want[0]
                );
                self.tensors.insert(key, bias.reshaped(want));
                self.current.clone_from(output);
                return Ok(());
            }
            "Conv" => {
                ensure!(self.image, "Conv needs an image");
                ensure!(
                    attr_i(node, "group", 1) == 1,
                    "grouped convolution is not supported"
                );
                no_dilation(node)?;
                no_auto_pad(node)?;
                let w = floats(required(1)?)?;
                let [out, _, kh, kw] = w.shape[..] else {
                    bail!("the weight has shape {:?}, not [out, in, k, k]", w.shape);
                };
                ensure!(kh == kw, "a {kh}x{kw} kernel is not square");
                check_kernel_shape(node, kh)?;
                let stride = square(node, "strides")?.unwrap_or(1);
                let padding = same_pads(node)?;
                let bias = match constant(2)? {
                    Some(b) => floats(b)?,
                    None => Tensor::zeros(vec![out]),
                };
                self.tensors.insert(format!("layers.{i}.weight"), w);
                self.tensors.insert(format!("layers.{i}.bias"), bias);
                LayerSpec::Conv2d(Conv2dSpec {
                    out,
                    kernel: kh,
                    stride,
                    padding,
                })
            }
            "MaxPool" => {
                ensure!(self.image, "MaxPool needs an image");
                no_dilation(node)?;
                no_auto_pad(node)?;
                ensure!(same_pads(node)? == 0, "padded pooling is not supported");
                ensure!(
                    attr_i(node, "ceil_mode", 0) == 0,
                    "ceil_mode is not supported"
                );
                ensure!(
                    attr_i(node, "storage_order", 0) == 0,
                    "storage_order is not supported"
                );
                let size = square(node, "kernel_shape")?
                    .ok_or_else(|| anyhow!("it has no kernel_shape"))?;
                let stride = square(node, "strides")?.unwrap_or(1);
                LayerSpec::MaxPool2d(MaxPool2dSpec { size, stride })
            }
            "BatchNormalization" => {
                let eps = attr_f(node, "epsilon", 1e-5);
                ensure!(
                    ((eps as f64) - EPS).abs() <= EPS * 1e-3,
                    "epsilon {eps} differs from nnlab's {EPS}"
                );
                ensure!(
                    attr_i(node, "training_mode", 0) == 0,
                    "training mode is not supported"
                );
                for (k, name) in ["weight", "bias", "running_mean", "running_var"]
                    .iter()
                    .enumerate()
                {
                    let t = floats(required(k + 1)?)?;
                    let len = t.values.len();
                    self.tensors
                        .insert(format!("layers.{i}.{name}"), t.reshaped(vec![len]));
                }
                LayerSpec::BatchNorm2d(BatchNorm2dSpec)
            }
            "Relu" => activation(Activation::Relu),
            "Sigmoid" => activation(Activation::Sigmoid),
            "Tanh" => activation(Activation::Tanh),
            "Identity" => activation(Activation::Identity),
            "Flatten" => {
                ensure!(
                    attr_i(node, "axis", 1) == 1,
                    "only Flatten with axis 1 (keeping the batch) is supported"
                );
                self.image = false;
                LayerSpec::Flatten(FlattenSpec)
            }
            "Reshape" => {
                let shape = int64s(required(1)?)?;
                let len = self
                    .spec
                    .shapes()
                    .map_or(self.spec.input, |s| *s.last().expect("non-empty"))
                    .len() as i64;
                ensure!(
                    matches!(shape[..], [0 | -1, n] if n == -1 || n == len),
                    "only a reshape to [N, -1] (flattening each sample) is supported, not {shape:?}"
                );
                self.image = false;
                self.dense_from_reshape = true;
                self.current.clone_from(output);
                return Ok(());
            }
            "Dropout" => {
                if let Some(mode) = constant(2)? {
                    ensure!(
                        int64s(mode).is_ok_and(|m| m.iter().all(|&v| v == 0)),
                        "a dropout in training mode is not supported"
                    );
                }
                // The ratio as the shortest decimal that gives its float, e.g. 0.3.
                let p = match constant(1)? {
                    Some(r) => shortest_decimal(floats(r)?.values.first().copied().unwrap_or(0.5)),
                    None => 0.5,
                };
                LayerSpec::Dropout(DropoutSpec { p })
            }
            "Softmax" => {
                ensure!(!self.image, "Softmax over an image is not supported");
                let axis = attr_i(node, "axis", -1);
                ensure!(
                    axis == 1 || axis == -1,
                    "Softmax over axis {axis} is not supported"
                );
                self.softmax = true;
                self.current.clone_from(output);
                return Ok(());
            }
            other => bail!("unsupported operator '{other}': nnlab imports {SUPPORTED}"),
        };
        if from_reshape && !matches!(layer, LayerSpec::Dense(_)) {
            // A reshape not read by a dense layer stands for a flatten layer of its own.
            self.spec.layers.push(LayerSpec::Flatten(FlattenSpec));
            self.renumber_layer(i);
        }
        self.spec.layers.push(layer);
        self.current.clone_from(output);
        Ok(())
    }

    /// A dense layer of weight `w` (`[in, out]`) and `bias` for layer `i`.
    fn dense(&mut self, i: usize, w: Tensor, bias: Option<Tensor>) -> Result<LayerSpec> {
        let [_, out] = w.shape[..] else {
            bail!("the weight has shape {:?}, not a matrix", w.shape);
        };
        let bias = match bias {
            Some(b) => {
                ensure!(
                    b.values.len() == out,
                    "the bias has shape {:?} for {out} outputs",
                    b.shape
                );
                b.reshaped(vec![out])
            }
            None => Tensor::zeros(vec![out]),
        };
        self.tensors.insert(format!("layers.{i}.weight"), w);
        self.tensors.insert(format!("layers.{i}.bias"), bias);
        Ok(LayerSpec::Dense(DenseSpec { out }))
    }

    /// Moves the tensors stored for layer `i` to layer `i + 1` (a flatten layer was put
    /// before it).
    fn renumber_layer(&mut self, i: usize) {
        let old = format!("layers.{i}.");
        let moved: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| k.starts_with(&old))
            .cloned()
            .collect();
        for key in moved {
            let t = self.tensors.remove(&key).expect("listed");
            let suffix = &key[old.len()..];
            self.tensors.insert(format!("layers.{}.{suffix}", i + 1), t);
        }
    }
}

/// Input `k` of `node`, which must be a constant if present.
fn constant_input<'a>(
    node: &NodeProto,
    constants: &HashMap<&str, &'a TensorProto>,
    k: usize,
) -> Result<Option<&'a TensorProto>> {
    match node.input.get(k).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(name) => constants
            .get(name)
            .copied()
            .map(Some)
            .ok_or_else(|| anyhow!("its input '{name}' is not a constant tensor")),
    }
}

fn activation(f: Activation) -> LayerSpec {
    LayerSpec::Activation(ActivationSpec { f })
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn attr_i(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

fn attr_f(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).map_or(default, |a| a.f)
}

fn attr_ints<'a>(node: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    attribute(node, name).map(|a| a.ints.as_slice())
}

/// The one value of a two-axis attribute such as `strides = [s, s]`.
fn square(node: &NodeProto, name: &str) -> Result<Option<usize>> {
    match attr_ints(node, name) {
        None => Ok(None),
        Some(&[a, b]) if a == b && a > 0 => Ok(Some(a as usize)),
        Some(v) => bail!("{name} {v:?} is not two equal positive sizes"),
    }
}

fn check_kernel_shape(node: &NodeProto, k: usize) -> Result<()> {
    match square(node, "kernel_shape")? {
        Some(s) if s != k => bail!("kernel_shape {s} does not match the {k}x{k} weight"),
        _ => Ok(()),
    }
}

/// The padding, if the same on all four sides.
fn same_pads(node: &NodeProto) -> Result<usize> {
    match attr_ints(node, "pads") {
        None => Ok(0),
        Some(&[a, b, c, d]) if a == b && b == c && c == d && a >= 0 => Ok(a as usize),
        Some(v) => bail!("pads {v:?} are not the same on every side"),
    }
}

fn no_dilation(node: &NodeProto) -> Result<()> {
    match attr_ints(node, "dilations") {
        Some(d) if d.iter().any(|&v| v != 1) => bail!("dilations {d:?} are not supported"),
        _ => Ok(()),
    }
}

fn no_auto_pad(node: &NodeProto) -> Result<()> {
    match attribute(node, "auto_pad").map(|a| a.s.as_slice()) {
        None | Some(b"NOTSET") | Some(b"") => Ok(()),
        Some(s) => bail!("auto_pad {} is not supported", String::from_utf8_lossy(s)),
    }
}

fn shortest_decimal(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// The shape of `t` and its number of values. Every axis must be positive: then no axis
/// is larger than the values the file holds (checked by the readers), so sizes taken from
/// a shape (a bias for a weight's outputs) are bounded by the file's size.
fn dims(t: &TensorProto) -> Result<(Vec<usize>, usize)> {
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .ok()
                .filter(|&d| d > 0)
                .ok_or_else(|| anyhow!("tensor '{}' has an axis of size {d}", t.name))
        })
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| anyhow!("tensor '{}' is too large", t.name))?;
    ensure!(
        t.data_location == 0,
        "tensor '{}' keeps its values in an external file, which nnlab does not read",
        t.name
    );
    Ok((shape, count))
}

/// The values of a float (or double) tensor.
fn floats(t: &TensorProto) -> Result<Tensor> {
    let (shape, count) = dims(t)?;
    let values: Vec<f32> = match t.data_type {
        data_type::FLOAT if !t.raw_data.is_empty() => {
            raw_words(t, count)?.map(f32::from_le_bytes).collect()
        }
        data_type::FLOAT => t.float_data.clone(),
        data_type::DOUBLE if !t.raw_data.is_empty() => raw_words(t, count)?
            .map(|b| f64::from_le_bytes(b) as f32)
            .collect(),
        data_type::DOUBLE => t.double_data.iter().map(|&v| v as f32).collect(),
        other => bail!("tensor '{}' has ONNX type {other}, not float", t.name),
    };
    ensure!(
        values.len() == count,
        "tensor '{}' has {} values for shape {shape:?}",
        t.name,
        values.len()
    );
    Ok(Tensor { shape, values })
}

fn int64s(t: &TensorProto) -> Result<Vec<i64>> {
    let (_, count) = dims(t)?;
    let values: Vec<i64> = match t.data_type {
        data_type::INT64 if !t.raw_data.is_empty() => {
            raw_words(t, count)?.map(i64::from_le_bytes).collect()
        }
        data_type::INT64 => t.int64_data.clone(),
        other => bail!("tensor '{}' has ONNX type {other}, not int64", t.name),
    };
    ensure!(
        values.len() == count,
        "tensor '{}' has {} values for {count}",
        t.name,
        values.len()
    );
    Ok(values)
}

/// The `count` little-endian words of `N` bytes in `t.raw_data`, which must hold exactly
/// that many (compared without multiplying, so a huge `count` cannot overflow).
fn raw_words<const N: usize>(
    t: &TensorProto,
    count: usize,
) -> Result<impl Iterator<Item = [u8; N]> + '_> {
    let bytes = t.raw_data.len();
    ensure!(
        bytes.is_multiple_of(N) && bytes / N == count,
        "tensor '{}' has {bytes} bytes for {count} values of {N} bytes",
        t.name
    );
    Ok(t.raw_data
        .chunks_exact(N)
        .map(|b| b.try_into().expect("chunks of N bytes")))
}
