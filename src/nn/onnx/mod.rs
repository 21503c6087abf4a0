//! ONNX files: a [`SavedModel`] written as an ONNX graph (opset 13) that ONNX Runtime,
//! a browser or a phone can run, and ONNX graphs made of the operators nnlab has read
//! back into a [`SavedModel`].
//!
//! The graph takes `input`, `[N, C, H, W]` (or `[N, features]` for a model on flat
//! vectors) with a dynamic batch, and gives `output`: class probabilities (a softmax is
//! added) for a classifier, the last layer's values otherwise. Parameters are initializers
//! named as in nnlab's own files (`layers.<i>.weight`) in PyTorch's layouts, so dense
//! weights are `[out x in]` (Gemm with `transB = 1`, as PyTorch exports `nn.Linear`).

mod import;
pub mod proto;

pub use import::import;

use super::activation::ActivationSpec;
use super::batchnorm::EPS;
use super::conv::Conv2dSpec;
use super::dropout::DropoutSpec;
use super::pool::MaxPool2dSpec;
use super::{Activation, LayerSpec, NetworkSpec, SavedModel, Shape};
use anyhow::{Result, bail};
use prost::Message;
use proto::{
    AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto,
    TypeProto, ValueInfoProto, attribute_type, data_type,
};

/// The operator set the exported graphs use.
pub const OPSET: i64 = 13;
/// The IR version that goes with opset 13 (ONNX 1.8).
const IR_VERSION: i64 = 7;
/// The graph's input and output names.
pub const INPUT: &str = "input";
pub const OUTPUT: &str = "output";
/// The name of the dynamic batch axis.
const BATCH: &str = "N";

/// Metadata keys of an exported model.
pub const META_CLASSES: &str = "classes";
pub const META_INPUT: &str = "input_convention";
pub const META_CONFIG: &str = "nnlab_config";

/// How an exported model's input must be prepared.
pub const ONNX_INPUT_CONVENTION: &str = "float32 [N, C, H, W] (or [N, features] for a model on flat vectors): \
     ink 1.0, paper 0.0, rows top to bottom and pixels left to right (row-major); \
     output: class probabilities (softmax) for a classifier, else the last layer's values";

/// True for a path that names an ONNX file (by its extension).
pub fn is_onnx_path(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// For the input of every layer of `spec` and, last, for its output: whether that tensor
/// is an image (`[N, C, H, W]`) rather than a flat `[N, features]` matrix in ONNX and
/// PyTorch, where the two differ. A network starts with images if its input has pixels;
/// dense and flatten layers make flat vectors. Convolution and pooling need images, so a
/// network that applies them to flat vectors cannot be written out.
pub fn image_flags(spec: &NetworkSpec) -> Result<Vec<bool>> {
    let shapes = spec
        .shapes()
        .map_err(|e| anyhow::anyhow!("invalid network: {e}"))?;
    let mut image = is_image(spec.input);
    let mut flags = vec![image];
    for (i, layer) in spec.layers.iter().enumerate() {
        match layer {
            LayerSpec::Dense(_) | LayerSpec::Flatten(_) => image = false,
            LayerSpec::Conv2d(_) | LayerSpec::MaxPool2d(_) if !image => bail!(
                "layer {i} ({}) works on images but gets a flat vector of {} values: \
                 ONNX and PyTorch cannot express that",
                layer.label(),
                shapes[i].len()
            ),
            _ => {}
        }
        flags.push(image);
    }
    Ok(flags)
}

/// A shape with pixels is an image; `c x 1 x 1` is a flat vector of `c` features.
fn is_image(shape: Shape) -> bool {
    shape.h * shape.w > 1
}

/// The model as an ONNX file's bytes.
pub fn export(model: &SavedModel) -> Result<Vec<u8>> {
    let spec = model.net.spec();
    let images = image_flags(spec)?;
    let shapes = spec
        .shapes()
        .map_err(|e| anyhow::anyhow!("invalid network: {e}"))?;
    let mut g = Graph::default();
    let mut current = INPUT.to_string();
    for (i, (layer, net_layer)) in spec.layers.iter().zip(model.net.layers()).enumerate() {
        let name = format!("layers.{i}");
        let params = net_layer.params();
        let value = |k: usize| &params[k].1.value;
        let mut inputs = vec![current.clone()];
        let (op, attributes) = match *layer {
            LayerSpec::Dense(_) => {
                if images[i] {
                    // Gemm needs a matrix: a reshape (not a Flatten layer) marks that the
                    // dense layer reads the image's pixels directly.
                    let flat = format!("{name}.flat");
                    let shape = g.int64s(&format!("{name}.flat_shape"), &[0, -1]);
                    g.node("Reshape", &flat, vec![current.clone(), shape], vec![]);
                    inputs[0] = flat;
                }
                let w = value(0).t();
                inputs.push(g.floats(&format!("{name}.weight"), w.shape(), w.iter()));
                inputs.push(g.floats(&format!("{name}.bias"), value(1).shape(), value(1)));
                ("Gemm", vec![int("transB", 1)])
            }
            LayerSpec::Conv2d(Conv2dSpec {
                kernel,
                stride,
                padding,
                ..
            }) => {
                for (k, suffix) in ["weight", "bias"].iter().enumerate() {
                    let v = value(k);
                    inputs.push(g.floats(&format!("{name}.{suffix}"), v.shape(), v));
                }
                let (k, s, p) = (kernel as i64, stride as i64, padding as i64);
                let attributes = vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[s, s]),
                    ints("pads", &[p, p, p, p]),
                ];
                ("Conv", attributes)
            }
            LayerSpec::MaxPool2d(MaxPool2dSpec { size, stride }) => {
                let (k, s) = (size as i64, stride as i64);
                let attributes = vec![ints("kernel_shape", &[k, k]), ints("strides", &[s, s])];
                ("MaxPool", attributes)
            }
            LayerSpec::BatchNorm2d(_) => {
                for (k, suffix) in ["weight", "bias", "running_mean", "running_var"]
                    .iter()
                    .enumerate()
                {
                    let v = value(k);
                    inputs.push(g.floats(&format!("{name}.{suffix}"), v.shape(), v));
                }
                ("BatchNormalization", vec![float("epsilon", EPS as f32)])
            }
            LayerSpec::Activation(ActivationSpec { f }) => (activation_op(f), vec![]),
            LayerSpec::Flatten(_) => ("Flatten", vec![int("axis", 1)]),
            LayerSpec::Dropout(DropoutSpec { p }) => {
                inputs.push(g.floats(&format!("{name}.ratio"), &[], [p as f32].iter()));
                ("Dropout", vec![])
            }
            // Every kind is mapped today; a kind registered later lands here until it is.
            #[allow(unreachable_patterns)]
            _ => bail!("layer {i} ({}) has no ONNX operator yet", layer.label()),
        };
        g.node(op, &name, inputs, attributes);
        current = name;
    }
    let out_shape = *shapes.last().expect("a network has layers");
    let image_out = images[spec.layers.len()];
    let out_dims = dims_of(out_shape, image_out);
    if model.classes.is_empty() {
        g.rename_last_output(OUTPUT);
    } else {
        if image_out {
            bail!(
                "a classifier must end in a flat vector (a dense or flatten layer) to get a softmax"
            );
        }
        g.node("Softmax", OUTPUT, vec![current], vec![int("axis", 1)]);
    }
    let graph = GraphProto {
        node: g.nodes,
        name: "nnlab".into(),
        initializer: g.initializers,
        input: vec![value_info(INPUT, &dims_of(spec.input, images[0]))],
        output: vec![value_info(OUTPUT, &out_dims)],
    };
    let mut metadata = vec![
        entry(META_CLASSES, serde_json::to_string(&model.classes)?),
        entry(META_INPUT, ONNX_INPUT_CONVENTION.into()),
    ];
    if let Some(config) = &model.config {
        metadata.push(entry(META_CONFIG, config.clone()));
    }
    let proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "nnlab".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: spec.describe(),
        graph: Some(graph),
        metadata_props: metadata,
    };
    Ok(proto.encode_to_vec())
}

fn dims_of(shape: Shape, image: bool) -> Vec<usize> {
    if image {
        vec![shape.c, shape.h, shape.w]
    } else {
        vec![shape.len()]
    }
}

pub(crate) fn activation_op(f: Activation) -> &'static str {
    match f {
        Activation::Sigmoid => "Sigmoid",
        Activation::Tanh => "Tanh",
        Activation::Relu => "Relu",
        Activation::Identity => "Identity",
    }
}

/// Nodes and initializers as the export adds them.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    fn node(&mut self, op: &str, output: &str, input: Vec<String>, attribute: Vec<AttributeProto>) {
        self.nodes.push(NodeProto {
            input,
            output: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.to_string(),
            domain: String::new(),
            attribute,
        });
    }

    fn rename_last_output(&mut self, name: &str) {
        if let Some(last) = self.nodes.last_mut() {
            last.output = vec![name.to_string()];
        }
    }

    /// Adds an f32 initializer (values little-endian in `raw_data`); returns its name.
    fn floats<'a>(
        &mut self,
        name: &str,
        shape: &[usize],
        values: impl IntoIterator<Item = &'a f32>,
    ) -> String {
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            name: name.to_string(),
            raw_data: values.into_iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.to_string()
    }

    fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: data_type::INT64,
            name: name.to_string(),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name.to_string()
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..Default::default()
    }
}

fn ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f,
        ..Default::default()
    }
}

fn entry(key: &str, value: String) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.into(),
        value,
    }
}

/// A float tensor of a dynamic batch by `dims`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimensionValue::DimParam(BATCH.into())),
    };
    let rest = dims.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d as i64)),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(rest).collect(),
                }),
            }),
        }),
    }
}
