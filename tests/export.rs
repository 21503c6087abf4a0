//! Leaving the lab and coming back: ONNX files run in another runtime (tract) give
//! nnlab's outputs, read back into the same model, and the PyTorch export's `model.py`
//! builds exactly the tensors of its weights file.

use ndarray::{Array2, ArrayD, s};
use nnlab::data::builtin;
use nnlab::nn::activation::ActivationSpec;
use nnlab::nn::batchnorm::BatchNorm2dSpec;
use nnlab::nn::conv::Conv2dSpec;
use nnlab::nn::dense::DenseSpec;
use nnlab::nn::dropout::DropoutSpec;
use nnlab::nn::flatten::FlattenSpec;
use nnlab::nn::onnx::{self, proto};
use nnlab::nn::pool::MaxPool2dSpec;
use nnlab::nn::{
    Activation, Init, LayerSpec, Network, NetworkSpec, SavedModel, Shape, softmax_rows,
};
use nnlab::train::RunConfig;
use prost::Message;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use tract_onnx::prelude::*;

/// Images of the builtin test split.
fn images(n: usize) -> Array2<f32> {
    let test = builtin::Variant::Capitals.splits().unwrap().test;
    test.images.slice(s![..n, ..]).to_owned()
}

/// A model of `spec` with random weights and batch-norm statistics far from their
/// defaults, so that a tensor read in the wrong place or layout changes the outputs.
fn random_model(spec: NetworkSpec, classes: Vec<String>, seed: u64) -> SavedModel {
    let mut net = Network::<f32>::new(spec, Init::Xavier, seed).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    net.for_each_param(|_, name, p| {
        let (lo, hi) = match name {
            "running_var" => (0.5, 2.0),
            "weight" if p.value.ndim() == 1 => (0.5, 1.5),
            _ => (-0.5, 0.5),
        };
        if name != "weight" || p.value.ndim() == 1 {
            p.value.mapv_inplace(|_| rng.random_range(lo..hi));
        }
    });
    SavedModel {
        net,
        classes,
        config: None,
    }
}

fn letters(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

/// A network with every layer type: strided and padded convolution, batch norm on images
/// and on vectors, pooling with overlapping windows, every activation, dropout, flatten.
fn every_layer_spec() -> NetworkSpec {
    let act = |f| LayerSpec::Activation(ActivationSpec { f });
    NetworkSpec {
        input: Shape::image(1, 32, 32),
        layers: vec![
            LayerSpec::Conv2d(Conv2dSpec {
                out: 4,
                kernel: 3,
                stride: 2,
                padding: 1,
            }),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            act(Activation::Relu),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 3, stride: 2 }),
            LayerSpec::Conv2d(Conv2dSpec {
                out: 6,
                kernel: 2,
                stride: 1,
                padding: 0,
            }),
            act(Activation::Tanh),
            LayerSpec::Dropout(DropoutSpec { p: 0.3 }),
            LayerSpec::Flatten(FlattenSpec),
            LayerSpec::Dense(DenseSpec { out: 20 }),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            act(Activation::Sigmoid),
            act(Activation::Identity),
            LayerSpec::Dense(DenseSpec { out: 10 }),
        ],
    }
}

/// The four networks the issue names, as models.
fn models() -> Vec<(&'static str, SavedModel)> {
    let autoencoder = RunConfig::autoencoder()
        .network_spec(Shape::image(1, 32, 32), 0)
        .unwrap();
    vec![
        ("shipped CNN", builtin::default_model().unwrap()),
        (
            "course MLP",
            random_model(
                NetworkSpec::mlp(1024, &[64], Activation::Sigmoid, 36),
                builtin::Variant::Capitals.splits().unwrap().test.classes,
                1,
            ),
        ),
        ("autoencoder", random_model(autoencoder, Vec::new(), 2)),
        (
            "every layer",
            random_model(every_layer_spec(), letters(10), 3),
        ),
    ]
}

/// What nnlab computes: probabilities for a classifier, the outputs otherwise.
fn nnlab_outputs(model: &mut SavedModel, x: &Array2<f32>) -> Array2<f32> {
    let y = model.net.predict(x.view(), 64);
    if model.classes.is_empty() {
        y
    } else {
        softmax_rows(y.view())
    }
}

/// What tract computes from the ONNX bytes, for the images `x` (rows) in the model's
/// input shape with the batch left dynamic.
fn tract_outputs(bytes: &[u8], input: Shape, x: &Array2<f32>) -> Array2<f32> {
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let n = x.nrows();
    let dims: Vec<usize> = if input.h * input.w > 1 {
        vec![n, input.c, input.h, input.w]
    } else {
        vec![n, input.c]
    };
    let tensor: Tensor = tract_ndarray::ArrayD::from_shape_vec(dims, x.iter().copied().collect())
        .unwrap()
        .into();
    let out = plan.run(tvec!(tensor.into())).unwrap();
    let view = out[0].to_plain_array_view::<f32>().unwrap();
    let cols = view.len() / n;
    Array2::from_shape_vec((n, cols), view.iter().copied().collect()).unwrap()
}

fn max_difference(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn onnx_runtime_outputs_equal_nnlabs_within_1e_5() {
    let x = images(48);
    for (name, mut model) in models() {
        let bytes = onnx::export(&model).unwrap();
        let ours = nnlab_outputs(&mut model, &x);
        let theirs = tract_outputs(&bytes, model.net.spec().input, &x);
        let diff = max_difference(&ours, &theirs);
        eprintln!("{name}: {} bytes, max difference {diff:e}", bytes.len());
        assert!(diff <= 1e-5, "{name}: max difference {diff}");
    }
}

/// Spec, classes, configuration and every parameter bit for bit.
fn assert_same_model(a: &SavedModel, b: &SavedModel, what: &str) {
    assert_eq!(a.net.spec(), b.net.spec(), "{what}: spec");
    assert_eq!(a.classes, b.classes, "{what}: classes");
    assert_eq!(a.config, b.config, "{what}: config");
    let (pa, pb) = (a.net.params(), b.net.params());
    assert_eq!(pa.len(), pb.len(), "{what}: parameter count");
    for ((la, na, ta), (lb, nb, tb)) in pa.iter().zip(&pb) {
        assert_eq!((la, na), (lb, nb), "{what}: parameter order");
        assert_eq!(ta.value, tb.value, "{what}: layers.{la}.{na}");
    }
}

#[test]
fn import_of_export_is_the_same_model() {
    for (name, mut model) in models() {
        model.config = Some(serde_json::to_string(&RunConfig::default()).unwrap());
        let back = onnx::import(&onnx::export(&model).unwrap()).unwrap();
        assert_same_model(&model, &back, name);
    }
}

#[test]
fn save_and_load_choose_onnx_by_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ONNX");
    let model = builtin::default_model().unwrap();
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        proto::ModelProto::decode(&bytes[..]).is_ok() && !bytes.starts_with(b"{"),
        "an ONNX file"
    );
    assert_same_model(&model, &SavedModel::load(&path).unwrap(), "loaded");
}

#[test]
fn exported_graph_has_a_dynamic_batch_opset_13_and_the_metadata() {
    let model = builtin::default_model().unwrap();
    let m = proto::ModelProto::decode(&onnx::export(&model).unwrap()[..]).unwrap();
    assert!(
        m.opset_import
            .iter()
            .any(|o| o.domain.is_empty() && o.version >= 13)
    );
    let g = m.graph.unwrap();
    let dims = |v: &proto::ValueInfoProto| {
        v.r#type
            .clone()
            .unwrap()
            .tensor_type
            .unwrap()
            .shape
            .unwrap()
            .dim
    };
    let input = &g.input[0];
    assert_eq!(input.name, "input");
    let d = dims(input);
    assert!(
        matches!(d[0].value, Some(proto::DimensionValue::DimParam(_))),
        "dynamic batch"
    );
    let fixed: Vec<_> = d[1..].iter().map(|d| d.value.clone()).collect();
    assert_eq!(
        fixed,
        [1, 32, 32].map(|v| Some(proto::DimensionValue::DimValue(v)))
    );
    assert_eq!(g.node.last().unwrap().op_type, "Softmax");
    let meta: BTreeMap<_, _> = m
        .metadata_props
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    let classes: Vec<String> = serde_json::from_str(meta["classes"]).unwrap();
    assert_eq!(classes, model.classes);
    assert!(meta["input_convention"].contains("ink 1.0, paper 0.0"));
    assert!(meta["input_convention"].contains("row-major"));
}

/// A graph of `nodes` on a `[N, 4]` input with no weights.
fn graph_of(nodes: Vec<proto::NodeProto>) -> Vec<u8> {
    let model = random_model(NetworkSpec::mlp(4, &[], Activation::Relu, 3), letters(3), 4);
    let mut m = proto::ModelProto::decode(&onnx::export(&model).unwrap()[..]).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.node = nodes;
    m.encode_to_vec()
}

fn node(op: &str, input: &str, output: &str) -> proto::NodeProto {
    proto::NodeProto {
        input: vec![input.into()],
        output: vec![output.into()],
        name: format!("{op} node"),
        op_type: op.into(),
        ..Default::default()
    }
}

#[test]
fn other_operators_are_refused_naming_the_first() {
    let bytes = graph_of(vec![
        node("Relu", "input", "a"),
        node("LeakyRelu", "a", "b"),
        node("Elu", "b", "output"),
    ]);
    let err = format!("{:#}", onnx::import(&bytes).unwrap_err());
    assert!(err.contains("unsupported operator 'LeakyRelu'"), "{err}");
    assert!(!err.contains("Elu'"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leaky.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let err = format!("{:#}", SavedModel::load(&path).unwrap_err());
    assert!(
        err.contains("LeakyRelu") && err.contains("leaky.onnx"),
        "{err}"
    );
}

#[test]
fn broken_onnx_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.onnx");
    std::fs::write(&path, b"\xff\xff\xff\xff not protobuf").unwrap();
    let err = format!("{:#}", SavedModel::load(&path).unwrap_err());
    assert!(err.contains("not an ONNX model"), "{err}");
    // A dense weight of the wrong layout is caught (in the course's CNN, whose layer 8 is
    // the dense layer of 48).
    let model = random_model(
        NetworkSpec::cnn(Shape::image(1, 32, 32), 36),
        builtin::Variant::Capitals.splits().unwrap().test.classes,
        4,
    );
    let mut m = proto::ModelProto::decode(&onnx::export(&model).unwrap()[..]).unwrap();
    let g = m.graph.as_mut().unwrap();
    let w = g
        .initializer
        .iter_mut()
        .find(|t| t.name == "layers.8.weight")
        .unwrap();
    assert_eq!(w.dims, [48, 2704]);
    w.dims = vec![2704, 48];
    let err = format!("{:#}", onnx::import(&m.encode_to_vec()).unwrap_err());
    assert!(
        err.contains("node 'layers.8' (Gemm): the bias has shape [48] for 2704 outputs"),
        "{err}"
    );
    // A branch (a node that does not read the previous one) is refused.
    let bytes = graph_of(vec![
        node("Relu", "input", "a"),
        node("Relu", "input", "output"),
    ]);
    let err = format!("{:#}", onnx::import(&bytes).unwrap_err());
    assert!(err.contains("chain of layers"), "{err}");
}

/// PyTorch writes `nn.Linear` as MatMul + Add in some exporters, constants as Constant
/// nodes and `flatten` as Reshape: those graphs read as the same layers.
#[test]
fn pytorch_style_graphs_are_read() {
    let mut model = random_model(NetworkSpec::mlp(4, &[], Activation::Relu, 3), letters(3), 5);
    let w = model.net.params()[0].2.value.clone();
    let b = model.net.params()[1].2.value.clone();
    let tensor = |name: &str, v: &ArrayD<f32>| proto::TensorProto {
        dims: v.shape().iter().map(|&d| d as i64).collect(),
        data_type: proto::data_type::FLOAT,
        name: name.into(),
        float_data: v.iter().copied().collect(),
        ..Default::default()
    };
    let mut matmul = node("MatMul", "input", "mm");
    matmul.input.push("w".into());
    let mut add = node("Add", "mm", "logits");
    add.input.push("b".into());
    let bias = proto::NodeProto {
        output: vec!["b".into()],
        op_type: "Constant".into(),
        attribute: vec![proto::AttributeProto {
            name: "value".into(),
            r#type: proto::attribute_type::TENSOR,
            t: Some(tensor("", &b)),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut softmax = node("Softmax", "logits", "output");
    softmax.attribute.push(proto::AttributeProto {
        name: "axis".into(),
        r#type: proto::attribute_type::INT,
        i: 1,
        ..Default::default()
    });
    let mut m = proto::ModelProto::decode(&graph_of(vec![])[..]).unwrap();
    m.metadata_props.clear();
    let g = m.graph.as_mut().unwrap();
    g.node = vec![bias, matmul, add, softmax];
    g.initializer = vec![tensor("w", &w)];
    let back = onnx::import(&m.encode_to_vec()).unwrap();
    assert_eq!(back.net.spec(), model.net.spec());
    assert_eq!(
        back.classes,
        ["0", "1", "2"],
        "numbered classes without metadata"
    );
    let x = Array2::from_shape_fn((5, 4), |(i, j)| (i * 4 + j) as f32 / 10.0);
    let mut back = back;
    assert_eq!(
        back.net.predict(x.view(), 8),
        model.net.predict(x.view(), 8)
    );
}

/// The tensors a `torch.nn` constructor call creates, read from `model.py`'s layer list:
/// name suffix -> shape.
fn module_tensors(call: &str) -> Vec<(&'static str, Vec<usize>)> {
    let (ctor, args) = call.split_once('(').unwrap();
    let args: Vec<usize> = args
        .trim_end_matches(')')
        .split(',')
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .map(|a| a.rsplit('=').next().unwrap())
        .filter_map(|a| a.parse().ok())
        .collect();
    match ctor {
        "nn.Linear" | "FlatLinear" => {
            vec![("weight", vec![args[1], args[0]]), ("bias", vec![args[1]])]
        }
        "nn.Conv2d" => vec![
            ("weight", vec![args[1], args[0], args[2], args[2]]),
            ("bias", vec![args[1]]),
        ],
        "nn.BatchNorm2d" | "nn.BatchNorm1d" => vec![
            ("weight", vec![args[0]]),
            ("bias", vec![args[0]]),
            ("running_mean", vec![args[0]]),
            ("running_var", vec![args[0]]),
            ("num_batches_tracked", vec![]),
        ],
        _ => vec![],
    }
}

#[test]
fn model_py_builds_the_tensors_of_the_exported_state_dict() {
    for (name, model) in models() {
        let dir = tempfile::tempdir().unwrap();
        let files = nnlab::export::torch::write(&model, dir.path()).unwrap();
        let script = std::fs::read_to_string(&files.script).unwrap();
        let bytes = std::fs::read(&files.weights).unwrap();
        let weights = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut expected = BTreeMap::new();
        let mut layers = 0;
        for line in script.lines() {
            let Some((call, index)) = line.trim().split_once(",  # layers.") else {
                continue;
            };
            assert_eq!(index, layers.to_string(), "{name}: layers in order");
            for (suffix, shape) in module_tensors(call) {
                expected.insert(format!("layers.{index}.{suffix}"), shape);
            }
            layers += 1;
        }
        assert_eq!(
            layers,
            model.net.spec().layers.len(),
            "{name}: one module a layer"
        );
        let actual: BTreeMap<String, Vec<usize>> = weights
            .tensors()
            .into_iter()
            .map(|(k, v)| (k, v.shape().to_vec()))
            .collect();
        assert_eq!(actual, expected, "{name}");
        // Dense weights are PyTorch's [out, in]: nnlab's [in, out] transposed.
        let (layer, _, w) = model.net.params()[0..]
            .iter()
            .find(|(l, n, _)| {
                *n == "weight" && matches!(model.net.spec().layers[*l], LayerSpec::Dense(_))
            })
            .copied()
            .unwrap();
        let t = weights.tensor(&format!("layers.{layer}.weight")).unwrap();
        let first_row: Vec<f32> = t.data()[..4 * t.shape()[1]]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let column: Vec<f32> = w
            .value
            .view()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap()
            .column(0)
            .to_vec();
        assert_eq!(first_row, column, "{name}: the dense weight is transposed");
    }
}

#[test]
fn model_py_names_the_classes_and_the_training_settings() {
    let mut model = builtin::default_model().unwrap();
    model.config = Some(serde_json::to_string(&RunConfig::cnn()).unwrap());
    let script = nnlab::export::torch::model_py(&model).unwrap();
    let c = RunConfig::cnn();
    assert!(script.contains(&format!(
        "CLASSES = {}",
        serde_json::to_string(&model.classes).unwrap()
    )));
    assert!(script.contains("INPUT_SHAPE = (1, 32, 32)"));
    assert!(script.contains(&format!(
        "EPOCHS, LR, MOMENTUM, BATCH = {}, {}, {}, {}",
        c.epochs, c.lr, c.momentum, c.batch
    )));
    assert!(script.contains("def predict(net, images)") && script.contains("def train("));
    assert!(
        !script.contains("{LAYERS}") && !script.contains("{CLASSES}"),
        "all filled in"
    );
}

#[test]
fn export_data_writes_the_splits_with_labels_and_class_names() {
    let splits = builtin::Variant::Capitals.splits().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = nnlab::export::data::write(&splits, dir.path()).unwrap();
    assert_eq!(files.len(), 3);
    let bytes = std::fs::read(dir.path().join("valid.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let classes: Vec<String> =
        serde_json::from_str(&meta.metadata().as_ref().unwrap()["classes"]).unwrap();
    assert_eq!(classes, splits.valid.classes);
    let t = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let images = t.tensor("images").unwrap();
    let n = splits.valid.len();
    assert_eq!(images.shape(), [n, 1, 32, 32]);
    assert_eq!(images.dtype(), safetensors::Dtype::F32);
    let labels = t.tensor("labels").unwrap();
    assert_eq!(labels.dtype(), safetensors::Dtype::I64);
    let read: Vec<usize> = labels
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
        .collect();
    assert_eq!(read, splits.valid.labels);
    let pixel = |i: usize| f32::from_le_bytes(images.data()[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!(pixel(1024 + 500), splits.valid.images[[1, 500]]);
}

/// The every-layer model's ONNX message, to be spoiled by a test.
fn every_layer_proto() -> proto::ModelProto {
    let model = random_model(every_layer_spec(), letters(10), 6);
    proto::ModelProto::decode(&onnx::export(&model).unwrap()[..]).unwrap()
}

fn import_error(m: &proto::ModelProto) -> String {
    format!("{:#}", onnx::import(&m.encode_to_vec()).unwrap_err())
}

fn initializer<'a>(m: &'a mut proto::ModelProto, name: &str) -> &'a mut proto::TensorProto {
    let g = m.graph.as_mut().unwrap();
    g.initializer.iter_mut().find(|t| t.name == name).unwrap()
}

#[test]
fn tensor_sizes_are_checked_before_anything_is_allocated() {
    // Declared sizes far beyond the data: refused from the header, not allocated.
    let mut m = every_layer_proto();
    initializer(&mut m, "layers.0.weight").dims = vec![i64::MAX, i64::MAX, 3, 3];
    assert!(
        import_error(&m).contains("too large"),
        "{}",
        import_error(&m)
    );
    let mut m = every_layer_proto();
    initializer(&mut m, "layers.0.weight").dims = vec![1 << 20, 1 << 20, 3, 3];
    let err = import_error(&m);
    assert!(err.contains("144 bytes for 9895604649984 values"), "{err}");
    // An empty axis would let a weight with no values claim a huge number of outputs.
    let mut m = every_layer_proto();
    let w = initializer(&mut m, "layers.8.weight");
    w.dims = vec![1 << 40, 0];
    w.raw_data.clear();
    let err = import_error(&m);
    assert!(err.contains("an axis of size 0"), "{err}");
    let mut m = every_layer_proto();
    initializer(&mut m, "layers.8.bias").dims = vec![-20];
    assert!(import_error(&m).contains("an axis of size -20"));
    // An input of sizes beyond the limits is refused before a network is made.
    let mut m = every_layer_proto();
    let input = &mut m.graph.as_mut().unwrap().input[0];
    let shape = input.r#type.as_mut().unwrap().tensor_type.as_mut().unwrap();
    shape.shape.as_mut().unwrap().dim[2].value = Some(proto::DimensionValue::DimValue(1 << 40));
    let err = import_error(&m);
    assert!(
        err.contains("the height is 1099511627776, at most"),
        "{err}"
    );
}

#[test]
fn imported_models_get_the_checks_of_every_model_file() {
    let mut m = every_layer_proto();
    let w = initializer(&mut m, "layers.8.weight");
    w.raw_data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = import_error(&m);
    assert!(err.contains("tensor 'layers.8.weight' holds NaN"), "{err}");
    let mut m = every_layer_proto();
    let classes = m.metadata_props.iter_mut().find(|e| e.key == "classes");
    classes.unwrap().value = serde_json::to_string(&letters(7)).unwrap();
    let err = import_error(&m);
    assert!(
        err.contains("the model names 7 classes but has 10 outputs"),
        "{err}"
    );
    let mut m = every_layer_proto();
    let var = initializer(&mut m, "layers.1.running_var");
    var.raw_data[..4].copy_from_slice(&(-1.0f32).to_le_bytes());
    assert!(import_error(&m).contains("negative variance"));
}

#[test]
fn truncated_and_scrambled_onnx_files_are_refused_without_a_panic() {
    let bytes = every_layer_proto().encode_to_vec();
    for len in [0, 1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(onnx::import(&bytes[..len]).is_err(), "{len} bytes");
    }
    // Seeded random damage: every result is a model or an error, never a panic.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut refused = 0;
    for _ in 0..3000 {
        let mut spoiled = bytes.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..spoiled.len());
            spoiled[i] = rng.random();
        }
        refused += usize::from(onnx::import(&spoiled).is_err());
    }
    eprintln!("{refused} of 3000 spoiled files refused");
    assert!(refused > 100);
}

#[test]
fn an_onnx_file_larger_than_any_model_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.onnx");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: no disk is used.
    file.set_len(nnlab::nn::model_file::MAX_MODEL_BYTES + 1)
        .unwrap();
    let err = format!("{:#}", SavedModel::load(&path).unwrap_err());
    assert!(err.contains("more than the"), "{err}");
}
