//! A model for PyTorch: `model.safetensors`, a `state_dict` in PyTorch's layouts and
//! names (`layers.<i>.weight`, the names of an `nn.Sequential` kept as `self.layers`), and
//! `model.py`, which builds the same network with `torch.nn`, loads those weights and has
//! `predict(images)` and a training loop over data from `nnlab export-data`.

use crate::nn::activation::ActivationSpec;
use crate::nn::conv::Conv2dSpec;
use crate::nn::dense::DenseSpec;
use crate::nn::dropout::DropoutSpec;
use crate::nn::onnx::image_flags;
use crate::nn::pool::MaxPool2dSpec;
use crate::nn::{Activation, LayerSpec, SavedModel};
use crate::train::RunConfig;
use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, tensor::TensorView};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file names inside the export folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const SCRIPT_FILE: &str = "model.py";

/// The files an export wrote.
#[derive(Debug)]
pub struct TorchExport {
    pub weights: PathBuf,
    pub script: PathBuf,
}

/// Writes `model.safetensors` and `model.py` for `model` into `dir` (created if missing).
pub fn write(model: &SavedModel, dir: &Path) -> Result<TorchExport> {
    // Both are built before anything is written, so a model that cannot be expressed
    // leaves no half export behind.
    let weights = state_dict(model)?;
    let script = model_py(model)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let export = TorchExport {
        weights: dir.join(WEIGHTS_FILE),
        script: dir.join(SCRIPT_FILE),
    };
    for (path, bytes) in [
        (&export.weights, weights),
        (&export.script, script.into_bytes()),
    ] {
        crate::files::write_atomic(path, &bytes)?;
    }
    Ok(export)
}

/// The safetensors bytes of the model's `state_dict`: dense weights transposed to
/// `[out, in]`, and each batch norm's `num_batches_tracked` (int64, 0) that
/// `load_state_dict` expects.
pub fn state_dict(model: &SavedModel) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (i, (spec, layer)) in model
        .net
        .spec()
        .layers
        .iter()
        .zip(model.net.layers())
        .enumerate()
    {
        for (name, p) in layer.params() {
            let value = if matches!(spec, LayerSpec::Dense(_)) && name == "weight" {
                p.value.t()
            } else {
                p.value.view()
            };
            let bytes = value.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((
                format!("layers.{i}.{name}"),
                Dtype::F32,
                value.shape().to_vec(),
                bytes,
            ));
        }
        if matches!(spec, LayerSpec::BatchNorm2d(_)) {
            let zero = 0i64.to_le_bytes().to_vec();
            tensors.push((
                format!("layers.{i}.num_batches_tracked"),
                Dtype::I64,
                vec![],
                zero,
            ));
        }
    }
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| anyhow!("tensor {name}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(meta)).map_err(|e| anyhow!("serialising weights: {e}"))
}

/// The `torch.nn` module of each layer, one constructor call each.
pub fn modules(model: &SavedModel) -> Result<Vec<String>> {
    let spec = model.net.spec();
    let images = image_flags(spec)?;
    let shapes = spec.shapes().map_err(|e| anyhow!("invalid network: {e}"))?;
    let modules = spec.layers.iter().enumerate().map(|(i, layer)| {
        let input = shapes[i];
        let module = match *layer {
            // A dense layer straight on an image flattens it itself.
            LayerSpec::Dense(DenseSpec { out }) if images[i] => {
                format!("FlatLinear({}, {out})", input.len())
            }
            LayerSpec::Dense(DenseSpec { out }) => format!("nn.Linear({}, {out})", input.len()),
            LayerSpec::Conv2d(Conv2dSpec {
                out,
                kernel,
                stride,
                padding,
            }) => format!(
                "nn.Conv2d({}, {out}, kernel_size={kernel}, stride={stride}, padding={padding})",
                input.c
            ),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size, stride }) => {
                format!("nn.MaxPool2d(kernel_size={size}, stride={stride})")
            }
            LayerSpec::BatchNorm2d(_) if images[i] => format!("nn.BatchNorm2d({})", input.c),
            LayerSpec::BatchNorm2d(_) => format!("nn.BatchNorm1d({})", input.c),
            LayerSpec::Activation(ActivationSpec { f }) => match f {
                Activation::Sigmoid => "nn.Sigmoid()".into(),
                Activation::Tanh => "nn.Tanh()".into(),
                Activation::Relu => "nn.ReLU()".into(),
                Activation::Identity => "nn.Identity()".into(),
            },
            LayerSpec::Flatten(_) => "nn.Flatten()".into(),
            LayerSpec::Dropout(DropoutSpec { p }) => format!("nn.Dropout(p={p})"),
            // Every kind is mapped today; a kind registered later lands here until it is.
            #[allow(unreachable_patterns)]
            _ => bail!("layer {i} ({}) has no PyTorch module yet", layer.label()),
        };
        Ok(module)
    });
    modules.collect()
}

/// The generated script.
pub fn model_py(model: &SavedModel) -> Result<String> {
    let spec = model.net.spec();
    let config = RunConfig::of_model(model)?.unwrap_or_default();
    let classifier = !model.classes.is_empty();
    let mut layers = String::new();
    for (i, m) in modules(model)?.iter().enumerate() {
        writeln!(layers, "            {m},  # layers.{i}").expect("writing to a string");
    }
    let input = spec.input;
    let input_shape = if input.h * input.w > 1 {
        format!("({}, {}, {})", input.c, input.h, input.w)
    } else {
        format!("({},)", input.c)
    };
    let replacements = [
        ("{DESCRIBE}", spec.describe()),
        ("{CLASSES}", serde_json::to_string(&model.classes)?),
        ("{INPUT_SHAPE}", input_shape),
        ("{LAYERS}", layers),
        (
            "{CLASSIFIER}",
            if classifier { "True" } else { "False" }.into(),
        ),
        ("{EPOCHS}", config.epochs.to_string()),
        ("{LR}", config.lr.to_string()),
        ("{MOMENTUM}", config.momentum.to_string()),
        ("{BATCH}", config.batch.to_string()),
    ];
    let mut script = TEMPLATE.to_string();
    for (key, value) in replacements {
        script = script.replace(key, &value);
    }
    Ok(script)
}

const TEMPLATE: &str = r#""""A network exported by nnlab: {DESCRIBE}

    python model.py                          # load model.safetensors, print its layers
    python model.py --data DATA --epochs 5   # keep training on `nnlab export-data` splits

Inputs are float32 images, ink 1.0 and paper 0.0, row-major, shaped INPUT_SHAPE per
sample. The losses are summed over a batch and the optimiser is SGD with momentum, as in
nnlab, so the learning rate means the same.
"""
import argparse
import os

import torch
from torch import nn
from safetensors.torch import load_file, save_file

CLASSES = {CLASSES}
INPUT_SHAPE = {INPUT_SHAPE}
CLASSIFIER = {CLASSIFIER}
EPOCHS, LR, MOMENTUM, BATCH = {EPOCHS}, {LR}, {MOMENTUM}, {BATCH}


class FlatLinear(nn.Linear):
    """nn.Linear on the flattened sample (nnlab's dense layer reads images as vectors)."""

    def forward(self, x):
        return super().forward(x.flatten(1))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
{LAYERS}        )

    def forward(self, x):
        return self.layers(x.reshape(-1, *INPUT_SHAPE)).flatten(1)


def load(path="model.safetensors"):
    net = Net()
    net.load_state_dict(load_file(path))
    return net.eval()


def predict(net, images):
    """Class probabilities (a classifier) or outputs for images of INPUT_SHAPE (or flat rows)."""
    net.eval()
    with torch.no_grad():
        out = net(torch.as_tensor(images, dtype=torch.float32))
        return torch.softmax(out, dim=1) if CLASSIFIER else out


def load_split(data_dir, split):
    """Images [N, *INPUT_SHAPE] and labels [N] of an `nnlab export-data` split."""
    tensors = load_file(os.path.join(data_dir, f"{split}.safetensors"))
    return tensors["images"].reshape(-1, *INPUT_SHAPE), tensors["labels"]


def loss_fn():
    if CLASSIFIER:
        return nn.CrossEntropyLoss(reduction="sum")
    return nn.MSELoss(reduction="sum")


def evaluate(net, images, labels, device="cpu"):
    """Mean loss per sample and accuracy (accuracy only for a classifier)."""
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(images), 1024):
            x = images[start:start + 1024].to(device)
            y = labels[start:start + 1024].to(device)
            out = net(x)
            target = y if CLASSIFIER else x.flatten(1)
            loss += loss_fn()(out, target).item()
            if CLASSIFIER:
                correct += (out.argmax(1) == y).sum().item()
    return loss / max(len(images), 1), correct / max(len(images), 1)


def train(net, data_dir, epochs=EPOCHS, lr=LR, momentum=MOMENTUM, batch=BATCH, device="cpu"):
    images, labels = load_split(data_dir, "train")
    valid = load_split(data_dir, "valid")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=batch, shuffle=True
    )
    net.to(device)
    optimiser = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    criterion = loss_fn()
    for epoch in range(1, epochs + 1):
        net.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimiser.zero_grad()
            out = net(x)
            loss = criterion(out, y if CLASSIFIER else x.flatten(1))
            loss.backward()
            optimiser.step()
        valid_loss, valid_acc = evaluate(net, *valid, device=device)
        print(f"epoch {epoch}: valid loss {valid_loss:.4f} accuracy {valid_acc:.4f}")
    return net


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=os.path.join(here, "model.safetensors"))
    parser.add_argument("--data", help="a folder written by `nnlab export-data`")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--out", default="trained.safetensors")
    args = parser.parse_args()
    net = load(args.weights)
    print(net)
    if args.data:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print("test before: loss {:.4f} accuracy {:.4f}".format(*evaluate(net, *load_split(args.data, "test"))))
        train(net, args.data, epochs=args.epochs, lr=args.lr, device=device)
        net.to("cpu")
        print("test after: loss {:.4f} accuracy {:.4f}".format(*evaluate(net, *load_split(args.data, "test"))))
        save_file(net.state_dict(), args.out)
        print(f"saved {args.out}")
"#;
