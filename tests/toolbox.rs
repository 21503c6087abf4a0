//! The lab's toolbox: optimisers and weight decay against hand-computed steps, schedules,
//! early stopping and the best weights, layer lists and their presets, the gradient check
//! of every layer the editor builds, the command line, and the side panel's editor.

mod common;

use approx::assert_abs_diff_eq;
use nnlab::data::DataSource;
use nnlab::nn::conv::Conv2dSpec;
use nnlab::nn::dense::DenseSpec;
use nnlab::nn::dropout::DropoutSpec;
use nnlab::nn::gradcheck::check_gradients;
use nnlab::nn::layer_list::{self, Preset};
use nnlab::nn::{
    Init, Layer, LayerSpec, Loss, Network, NetworkSpec, Optimizer, OptimizerKind,
    OptimizerSettings, Shape,
};
use nnlab::train::schedule::{RatePlan, Schedule};
use nnlab::train::trainer::Weights;
use nnlab::train::{Model, RunConfig, Trainer};
use std::process::Command;

// ---------------------------------------------------------------- optimisers

/// A dense layer 2 -> 1: weights w1, w2 and a bias, set by hand.
fn tiny(values: [f64; 3]) -> Network<f64> {
    let spec = NetworkSpec {
        input: Shape::flat(2),
        layers: vec![LayerSpec::Dense(DenseSpec { out: 1 })],
    };
    let mut net = Network::new(spec, Init::Zero, 0).unwrap();
    set(&mut net, values, false);
    net
}

/// Sets the values (or the gradients) of `tiny`'s three numbers.
fn set(net: &mut Network<f64>, values: [f64; 3], grads: bool) {
    net.for_each_param(|_, name, p| {
        let target = if grads { &mut p.grad } else { &mut p.value };
        let v = target.as_slice_mut().unwrap();
        match name {
            "weight" => v.copy_from_slice(&values[..2]),
            _ => v.copy_from_slice(&values[2..]),
        }
    });
}

fn values(net: &Network<f64>) -> Vec<f64> {
    net.params()
        .iter()
        .flat_map(|(_, _, p)| p.value.iter().copied())
        .collect()
}

fn settings(kind: OptimizerKind, weight_decay: f64) -> OptimizerSettings {
    OptimizerSettings {
        kind,
        momentum: 0.9,
        beta1: 0.9,
        beta2: 0.999,
        rho: 0.99,
        eps: 1e-8,
        weight_decay,
    }
}

/// Three steps from w = (0.5, -0.3), b = 0.1 with these gradients, at rates 0.1, 0.1 and
/// then 0.05 (a live change: the moments must carry over).
fn three_steps(kind: OptimizerKind, weight_decay: f64) -> Vec<f64> {
    let grads = [[0.2, -0.1, 0.05], [-0.1, 0.3, 0.02], [0.4, 0.0, -0.03]];
    let mut net = tiny([0.5, -0.3, 0.1]);
    let mut opt = Optimizer::new(0.1, settings(kind, weight_decay));
    for (g, lr) in grads.iter().zip([0.1, 0.1, 0.05]) {
        set(&mut net, *g, true);
        opt.lr = lr;
        opt.step(&mut net);
    }
    values(&net)
}

#[test]
fn every_optimizer_and_weight_decay_match_hand_computed_steps() {
    use OptimizerKind::*;
    // Worked out step by step with the update rules of nnlab::nn::optim (PyTorch's forms);
    // weight decay 0.01 leaves the bias alone, AdamW's is decoupled.
    let expected: [(OptimizerKind, f64, [f64; 3]); 12] = [
        (Sgd, 0.0, [0.47, -0.32, 0.0945]),
        (Sgd, 0.01, [0.468775989750, -0.319250594850, 0.0945]),
        (Momentum, 0.0, [0.4484, -0.32045, 0.087075]),
        (Momentum, 0.01, [0.446316939750, -0.319183364850, 0.087075]),
        (Nesterov, 0.0, [0.42356, -0.338405, 0.0828675]),
        (Nesterov, 0.01, [0.420520589195, -0.336524132376, 0.0828675]),
        (
            Adam,
            0.0,
            [0.340460723949, -0.268519498747, -0.104635139607],
        ),
        (
            Adam,
            0.01,
            [0.337531278030, -0.266931259572, -0.104635139607],
        ),
        (
            AdamW,
            0.0,
            [0.340460723949, -0.268519498747, -0.104635139607],
        ),
        (
            AdamW,
            0.01,
            [0.339374990543, -0.267895339091, -0.104635139607],
        ),
        (
            RmsProp,
            0.0,
            [-0.488356184405, -0.249158695451, -1.027928087351],
        ),
        (
            RmsProp,
            0.01,
            [-0.476460625095, -0.244685606722, -1.027928087351],
        ),
    ];
    for (kind, decay, want) in expected {
        let got = three_steps(kind, decay);
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() < 1e-6,
                "{} with weight decay {decay}: got {got:?}, want {want:?}",
                kind.name()
            );
        }
    }
}

/// A tensor big enough for the cores to share its update steps every weight as a lone one:
/// the even weights of a 1000 -> 200 layer follow `tiny`'s w1, the odd ones its w2.
#[test]
fn a_shared_update_steps_every_weight_as_alone() {
    let grads = [[0.2, -0.1, 0.05], [-0.1, 0.3, 0.02], [0.4, 0.0, -0.03]];
    let pick = |v: &[f64; 3], i: usize| if i.is_multiple_of(2) { v[0] } else { v[1] };
    for kind in OptimizerKind::ALL {
        let spec = NetworkSpec {
            input: Shape::flat(1000),
            layers: vec![LayerSpec::Dense(DenseSpec { out: 200 })],
        };
        let mut net = Network::<f64>::new(spec, Init::Zero, 0).unwrap();
        let fill = |net: &mut Network<f64>, v: &[f64; 3], grads: bool| {
            net.for_each_param(|_, name, p| {
                let target = if grads { &mut p.grad } else { &mut p.value };
                for (i, x) in target.iter_mut().enumerate() {
                    *x = if name == "weight" { pick(v, i) } else { v[2] };
                }
            })
        };
        fill(&mut net, &[0.5, -0.3, 0.1], false);
        let mut opt = Optimizer::new(0.1, settings(kind, 0.01));
        for (g, lr) in grads.iter().zip([0.1, 0.1, 0.05]) {
            fill(&mut net, g, true);
            opt.lr = lr;
            opt.step(&mut net);
        }
        let alone = three_steps(kind, 0.01);
        let weights = &net.params()[0].2.value;
        for (i, &w) in weights.iter().enumerate() {
            assert_eq!(
                w,
                pick(&[alone[0], alone[1], 0.0], i),
                "{} weight {i}",
                kind.name()
            );
        }
    }
}

#[test]
fn weight_decay_shrinks_dense_and_conv_weights_only() {
    let spec = NetworkSpec {
        input: Shape::image(1, 4, 4),
        layers: layer_list::parse("conv 2 3, bn, relu, flatten, dense 3").unwrap(),
    };
    let mut net = Network::<f64>::new(spec, Init::Xavier, 3).unwrap();
    net.for_each_param(|_, _, p| p.value.fill(0.5)); // no gradient: only the decay acts
    let mut opt = Optimizer::new(0.1, settings(OptimizerKind::Sgd, 0.1));
    opt.step(&mut net);
    for (layer, name, p) in net.params() {
        // Layer 0 is the convolution, 4 the dense layer; 1 is batch norm.
        let shrunk = matches!((layer, name), (0, "weight") | (4, "weight"));
        let want = if shrunk { 0.5 * (1.0 - 0.1 * 0.1) } else { 0.5 };
        for &v in p.value.iter() {
            assert_abs_diff_eq!(v, want, epsilon = 1e-12);
        }
    }
}

#[test]
fn optimizer_settings_out_of_range_are_refused() {
    let mut s = settings(OptimizerKind::Adam, 0.0);
    s.beta1 = 1.0;
    assert!(s.check().unwrap_err().contains("beta1"));
    let mut s = settings(OptimizerKind::Sgd, -0.1);
    assert!(s.check().unwrap_err().contains("weight decay"));
    s.weight_decay = 0.0;
    s.eps = 0.0;
    assert!(s.check().unwrap_err().contains("eps"));
    assert_eq!("AdamW".parse::<OptimizerKind>(), Ok(OptimizerKind::AdamW));
    assert!(
        "lion"
            .parse::<OptimizerKind>()
            .unwrap_err()
            .contains("rmsprop")
    );
}

// ---------------------------------------------------------------- schedules

fn plan(schedule: &str, warmup: usize, epochs: usize) -> RatePlan {
    RatePlan {
        schedule: schedule.parse().unwrap(),
        warmup,
        epochs,
    }
}

fn assert_factors(got: Vec<f64>, want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_abs_diff_eq!(*g, *w, epsilon = 1e-12);
    }
}

#[test]
fn schedules_follow_their_formulas() {
    assert_factors(plan("constant", 0, 3).epoch_factors(), &[1.0, 1.0, 1.0]);
    assert_factors(
        plan("step:2:0.5", 0, 6).epoch_factors(),
        &[1.0, 1.0, 0.5, 0.5, 0.25, 0.25],
    );
    assert_factors(plan("exp:0.5", 0, 3).epoch_factors(), &[1.0, 0.5, 0.25]);
    // Half a cosine from 1 to the floor 0.1 over 5 epochs; the middle is halfway.
    let c = plan("cosine:0.1", 0, 5).epoch_factors();
    assert_abs_diff_eq!(c[0], 1.0, epsilon = 1e-12);
    assert_abs_diff_eq!(c[2], 0.55, epsilon = 1e-12);
    assert_abs_diff_eq!(c[4], 0.1, epsilon = 1e-12);
    assert!(c.windows(2).all(|w| w[1] < w[0]), "{c:?}");
}

#[test]
fn warm_up_climbs_linearly_then_the_schedule_starts() {
    let p = plan("step:1:0.5", 2, 4);
    assert_abs_diff_eq!(p.factor(1, 5, 10), 0.25, epsilon = 1e-12);
    assert_abs_diff_eq!(p.factor(2, 5, 10), 0.75, epsilon = 1e-12);
    assert_abs_diff_eq!(p.factor(2, 10, 10), 1.0, epsilon = 1e-12);
    assert_abs_diff_eq!(p.factor(3, 1, 10), 1.0, epsilon = 1e-12);
    assert_abs_diff_eq!(p.factor(4, 1, 10), 0.5, epsilon = 1e-12);
}

#[test]
fn schedules_read_and_write_their_text() {
    for text in ["constant", "step:5:0.5", "exp:0.9", "cosine:0.01"] {
        let s: Schedule = text.parse().unwrap();
        assert_eq!(s.to_string(), text);
    }
    for (bad, says) in [
        ("step:0:0.5", "at least 1"),
        ("cosine:2", "[0, 1]"),
        ("exp:x", "not a number"),
        ("linear", "unknown schedule"),
        ("exp:-1", "above 0"),
    ] {
        let e = bad.parse::<Schedule>().unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

// ---------------------------------------------------------------- trainer

fn fixture_config() -> RunConfig {
    RunConfig {
        data: DataSource::Nist36(common::nist36_fixture()),
        hidden: 16,
        epochs: 3,
        ..RunConfig::default()
    }
}

fn trainer(config: RunConfig) -> Trainer {
    let data = config.load_data().unwrap();
    Trainer::new(config, data).unwrap()
}

#[test]
fn the_trainer_follows_the_schedule_and_a_live_change_rescales_it() {
    let mut t = trainer(RunConfig {
        schedule: "exp:0.5".parse().unwrap(),
        lr: 1e-3,
        ..fixture_config()
    });
    assert_abs_diff_eq!(t.current_lr(), 1e-3, epsilon = 1e-15);
    let done = t.run_epoch(|_| {}).epoch_done.unwrap();
    assert_abs_diff_eq!(done.lr, 1e-3, epsilon = 1e-15);
    assert_abs_diff_eq!(t.current_lr(), 5e-4, epsilon = 1e-15);
    t.set_lr(4e-3);
    assert_abs_diff_eq!(t.current_lr(), 2e-3, epsilon = 1e-15);
    let done = t.run_epoch(|_| {}).epoch_done.unwrap();
    assert_abs_diff_eq!(done.lr, 2e-3, epsilon = 1e-15);
}

#[test]
fn label_smoothing_makes_the_network_less_sure_and_keeps_validation_labels() {
    let run = |label_smoothing| {
        let mut t = trainer(RunConfig {
            label_smoothing,
            lr: 0.01,
            epochs: 8,
            ..fixture_config()
        });
        let mut last = None;
        for _ in 0..8 {
            last = t.run_epoch(|_| {}).epoch_done;
        }
        let epoch = last.expect("an epoch ended");
        let data = t.data.clone();
        let valid = t.evaluate(&data.valid);
        assert_eq!(epoch.valid_loss, valid.loss, "validation keeps its labels");
        let rows = valid.outputs.nrows() as f32;
        let surest = valid
            .outputs
            .rows()
            .into_iter()
            .map(|p| p.fold(0.0f32, |m, &v| m.max(v)))
            .sum::<f32>()
            / rows;
        (surest, epoch.train_acc)
    };
    let (sure, _) = run(0.0);
    let (smoothed, train_acc) = run(0.3);
    assert!(
        smoothed < sure - 0.05,
        "mean top probability {smoothed:.3} smoothed against {sure:.3}"
    );
    assert!(
        train_acc > 0.5,
        "smoothed targets still count as labels: {train_acc}"
    );
}

#[test]
fn early_stopping_ends_after_the_patience_and_keeps_the_best_weights() {
    // Five samples per class and a high rate: the validation loss soon rises.
    let mut t = trainer(RunConfig {
        per_class: 5,
        hidden: 64,
        lr: 0.05,
        epochs: 200,
        early_stop: 3,
        ..fixture_config()
    });
    let mut epochs = 0;
    loop {
        let r = t.run_epoch(|_| {});
        assert!(!r.diverged());
        epochs += 1;
        if r.stop_early {
            break;
        }
        assert!(epochs < 200, "never stopped early");
    }
    let best = t.best.as_ref().unwrap();
    let lowest = t
        .history
        .iter()
        .min_by(|a, b| a.valid_loss.total_cmp(&b.valid_loss))
        .unwrap();
    assert_eq!(best.epoch, lowest.epoch);
    assert_eq!(t.history.len(), best.epoch + 3);
    let best_loss = best.valid_loss;
    let data = t.data.clone();
    let last = t.evaluate(&data.valid).loss;
    let kept = t.with_weights(Weights::Best, |t| t.evaluate(&data.valid).loss);
    assert_abs_diff_eq!(kept, best_loss, epsilon = 1e-9);
    assert!(last > kept, "last {last}, best {kept}");
    // Saving the best writes the best epoch's weights.
    let mut saved = t.saved(Weights::Best);
    let ev = nnlab::train::trainer::evaluate(
        &mut saved.net,
        Loss::CrossEntropy,
        nnlab::train::Task::Classify,
        &data.valid,
    );
    assert_abs_diff_eq!(ev.loss, best_loss, epsilon = 1e-9);
}

#[test]
fn a_bad_optimizer_setting_is_refused_before_training() {
    let config = RunConfig {
        momentum: 1.5,
        ..fixture_config()
    };
    let data = config.load_data().unwrap();
    let e = Trainer::new(config, data).err().unwrap().to_string();
    assert!(e.contains("momentum"), "{e}");
}

// ---------------------------------------------------------------- layer lists

#[test]
fn layer_lists_read_and_write_their_text() {
    let text = "conv 8 3, bn, relu, pool 2, conv 16 3 2 1, pool 3 2, flatten, dropout 0.25, \
                dense 48, sigmoid, tanh, identity, dense 36";
    let layers = layer_list::parse(text).unwrap();
    assert_eq!(layers.len(), 13);
    assert_eq!(
        layers[4],
        LayerSpec::Conv2d(Conv2dSpec {
            out: 16,
            kernel: 3,
            stride: 2,
            padding: 1
        })
    );
    assert_eq!(layer_list::text(&layers), text.replace("  ", " "));
    for (bad, says) in [
        ("dense 8, conv x 3", "row 2 'conv x 3'"),
        ("dense", "dense N"),
        ("softmax", "unknown layer 'softmax'"),
        ("dense 4,, dense 2", "row 2 '': an empty row"),
    ] {
        let e = layer_list::parse(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn a_list_that_cannot_work_is_refused_naming_its_row() {
    let image = Shape::image(1, 32, 32);
    let check = |text: &str| layer_list::check(image, &layer_list::parse(text).unwrap(), 36);
    let ok = check("conv 8 3, relu, flatten, dense 36");
    assert_eq!(ok.error, None);
    assert_eq!(ok.rows[0].output, Some(Shape::image(8, 30, 30)));
    assert_eq!(ok.rows[0].parameters, 8 * 9 + 8);
    assert_eq!(ok.total, 80 + 8 * 30 * 30 * 36 + 36);
    for (bad, says) in [
        ("conv 8 33, flatten, dense 36", "row 1 (conv 8 33)"),
        (
            "conv 8 3, dense 36",
            "row 2 (dense 36): a dense layer needs a flat vector",
        ),
        (
            "flatten, dense 64, sigmoid",
            "row 3 (sigmoid): the last row must be",
        ),
        ("flatten, dense 10", "'dense 36'"),
        ("flatten, dropout 1.5, dense 36", "row 2 (dropout 1.5)"),
        (
            "pool 2, pool 2, pool 2, pool 2, pool 2, pool 2, flatten, dense 36",
            "row 6",
        ),
    ] {
        let e = check(bad)
            .error
            .unwrap_or_else(|| panic!("{bad} was accepted"));
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn presets_build_and_count_their_parameters_like_the_network() {
    for preset in Preset::ALL {
        let layers = preset.layers(36);
        let input = Shape::image(1, 32, 32);
        let check = layer_list::check(input, &layers, 36);
        assert_eq!(check.error, None, "{}", preset.name());
        let net = Network::<f32>::new(NetworkSpec { input, layers }, Init::Xavier, 1).unwrap();
        let trainable: usize = net
            .params()
            .iter()
            .filter(|(_, _, p)| p.trainable)
            .map(|(_, _, p)| p.value.len())
            .sum();
        assert_eq!(check.total, trainable, "{}", preset.name());
    }
    assert_eq!(
        Preset::CourseCnn.layers(36),
        NetworkSpec::course_cnn().layers,
        "the course CNN preset is the course's CNN"
    );
    assert!("vgg".parse::<Preset>().unwrap_err().contains("deep-cnn"));
}

#[test]
fn a_run_config_keeps_its_layer_list_as_text() {
    let config = RunConfig {
        model: Model::Layers,
        layers: Preset::Lenet5.layers(36),
        optimizer: OptimizerKind::AdamW,
        schedule: "cosine:0.05".parse().unwrap(),
        warmup: 2,
        early_stop: 4,
        weight_decay: 0.01,
        ..RunConfig::default()
    };
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["layers"], Preset::Lenet5.text(36));
    assert_eq!(json["schedule"], "cosine:0.05");
    assert_eq!(json["optimizer"], "adamw");
    let back: RunConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, config);
    // An old config without the new fields still reads, as today's run.
    let old: RunConfig = serde_json::from_str(r#"{"lr": 0.01, "momentum": 0.5}"#).unwrap();
    assert_eq!(old.optimizer, OptimizerKind::Momentum);
    assert_eq!(old.schedule, Schedule::Constant);
}

#[test]
fn the_gradient_check_passes_for_every_layer_the_editor_builds() {
    let text = "conv 3 3 1 1, bn, relu, pool 2, conv 4 2 2 0, tanh, flatten, dropout 0.3, \
                dense 6, sigmoid, identity, bn, dense 3";
    let spec = NetworkSpec {
        input: Shape::image(2, 6, 6),
        layers: layer_list::parse(text).unwrap(),
    };
    assert_eq!(layer_list::check(spec.input, &spec.layers, 3).error, None);
    let mut net = Network::<f64>::new(spec, Init::Xavier, 5).unwrap();
    for layer in net.layers_mut() {
        if let Layer::Dropout(d) = layer {
            d.hold_mask = true; // one function of the weights in training mode
        }
    }
    let x = ndarray::Array2::from_shape_fn((4, 72), |(i, j)| ((i * 72 + j) as f64 * 0.37).sin());
    let t = ndarray::Array2::from_shape_fn((4, 3), |(i, c)| f64::from(u8::from(c == i % 3)));
    let report = check_gradients(&mut net, Loss::CrossEntropy, x.view(), t.view(), 1e-6);
    assert!(report.passed(), "{report:?}");
    assert!(report.tensors.iter().all(|t| t.passed()), "{report:?}");
    // In evaluation, dropout passes values through unchanged.
    let mut dropout = Network::<f64>::new(
        NetworkSpec {
            input: Shape::flat(72),
            layers: vec![LayerSpec::Dropout(DropoutSpec { p: 0.5 })],
        },
        Init::Xavier,
        0,
    )
    .unwrap();
    assert_eq!(dropout.forward(x.view(), false), x.view());
    assert_ne!(dropout.forward(x.view(), true), x.view());
}

// ---------------------------------------------------------------- command line

fn nnlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(args)
        .output()
        .expect("the nnlab binary runs")
}

fn tensor_bytes(bytes: &[u8]) -> Vec<u8> {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + header_len..].to_vec()
}

#[test]
fn the_command_line_takes_every_new_flag_and_its_run_retrains_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::nist36_fixture().display().to_string();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--data",
        &fixture,
        "--layers",
        "conv 4 5 2, bn, relu, flatten, dropout 0.2, dense 36",
        "--optimizer",
        "adamw",
        "--lr",
        "0.003",
        "--weight-decay",
        "0.01",
        "--label-smoothing",
        "0.1",
        "--touching",
        "--schedule",
        "step:1:0.5",
        "--warmup",
        "1",
        "--early-stop",
        "5",
        "--epochs",
        "3",
        "--keep",
        "best",
        "--save-run",
        run.to_str().unwrap(),
    ];
    let out = nnlab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("keeping the best weights"), "{stderr}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"], "layers");
    assert_eq!(config["optimizer"], "adamw");
    assert_eq!(config["schedule"], "step:1:0.5");
    assert_eq!(config["warmup"], 1);
    assert_eq!(config["early_stop"], 5);
    assert_eq!(config["label_smoothing"], 0.1);
    assert_eq!(config["touching"], true);
    let again = dir.path().join("again");
    let out = nnlab(&[
        "train",
        "--config",
        run.join("config.json").to_str().unwrap(),
        "--keep",
        "best",
        "--save-run",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights =
        |d: &std::path::Path| tensor_bytes(&std::fs::read(d.join("model.safetensors")).unwrap());
    assert_eq!(
        weights(&run),
        weights(&again),
        "the config must retrain bit for bit"
    );
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.csv"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn the_command_line_refuses_a_bad_list_and_bad_flags_clearly() {
    let fixture = common::nist36_fixture().display().to_string();
    for (flags, says) in [
        (vec!["--layers", "conv 8 3, dense 36"], "row 2 (dense 36)"),
        (vec!["--layers", "conv 8"], "conv OUT KERNEL"),
        (vec!["--optimizer", "lion"], "unknown optimizer"),
        (vec!["--schedule", "cosine:3"], "floor"),
        (vec!["--preset", "resnet50"], "unknown preset"),
        (vec!["--weight-decay=-1"], "weight decay"),
        (vec!["--label-smoothing", "0.7"], "label smoothing is 0.7"),
        (vec!["--label-smoothing", "nan"], "label smoothing"),
    ] {
        let mut args = vec!["train", "--data", &fixture, "--epochs", "1"];
        args.extend(&flags);
        let out = nnlab(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} was accepted");
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_preset_fits_its_output_layer_to_the_chosen_classes() {
    let fixture = common::nist36_fixture().display().to_string();
    let out = nnlab(&[
        "train",
        "--data",
        &fixture,
        "--preset",
        "lenet5",
        "--classes",
        "0-9",
        "--epochs",
        "1",
        "--augment",
        "false",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Dense(10)"), "{stderr}");
}

// ---------------------------------------------------------------- the side panel's editor

mod editor {
    use super::common;
    use eframe::egui;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT, Queryable};
    use nnlab::data::DataSource;
    use nnlab::gui::dialog::{FileDialog, FileKind};
    use nnlab::gui::session::Phase;
    use nnlab::gui::{LabApp, Settings};
    use nnlab::nn::LayerSpec;
    use nnlab::nn::dense::DenseSpec;
    use nnlab::train::protocol::Ending;
    use nnlab::train::{Model, RunConfig};
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    struct NoDialog;

    impl FileDialog for NoDialog {
        fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
            None
        }
        fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
            None
        }
        fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
            None
        }
    }

    /// The lab on the NIST36 fixture with an empty layer list.
    fn lab() -> Harness<'static, LabApp> {
        let settings = Settings {
            config: RunConfig {
                model: Model::Layers,
                layers: Vec::new(),
                data: DataSource::Nist36(common::nist36_fixture()),
                epochs: 1,
                lr: 1e-3,
                ..RunConfig::default()
            },
            ..Settings::default()
        };
        let app = LabApp::new(settings, Box::new(NoDialog));
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 1400.0))
            .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
        h.step();
        h
    }

    fn add(h: &mut Harness<'_, LabApp>, row: &str) {
        h.get_by_label("Add layer").click();
        h.step();
        h.step();
        h.step();
        h.get_by_label(row).click();
        h.step();
        h.step();
    }

    fn layers(h: &Harness<'_, LabApp>) -> Vec<String> {
        h.state()
            .settings
            .config
            .layers
            .iter()
            .map(LayerSpec::row_text)
            .collect()
    }

    #[test]
    fn the_editor_builds_a_network_row_by_row_refuses_a_bad_one_and_trains_it() {
        let mut h = lab();
        assert!(h.query_by_label_contains("the list is empty").is_some());
        add(&mut h, "Conv2d");
        assert!(h.query_by_label("8x30x30").is_some(), "conv 8 3 on 32x32");
        add(&mut h, "ReLU");
        add(&mut h, "MaxPool2d");
        assert!(h.query_by_label("8x15x15").is_some());
        add(&mut h, "Dense");
        // A dense layer on an image: refused, naming the row.
        assert!(
            h.query_by_label_contains("row 4 (dense 36): a dense layer needs a flat vector")
                .is_some()
        );
        add(&mut h, "Flatten");
        assert_eq!(
            layers(&h),
            ["conv 8 3", "relu", "pool 2", "dense 36", "flatten"]
        );
        // Move the flatten up before the dense layer.
        h.get_all_by_label("Up").last().unwrap().click_accesskit();
        h.step();
        h.step();
        assert_eq!(
            layers(&h),
            ["conv 8 3", "relu", "pool 2", "flatten", "dense 36"]
        );
        assert!(h.query_by_label_contains("Cannot train").is_none());
        assert!(h.query_by_label("1800").is_some(), "8 x 15 x 15 flattened");
        assert!(h.query_by_label("64,836").is_some(), "1800 x 36 + 36");
        assert!(h.query_by_label("Total: 64,916 parameters").is_some());
        // A row added and removed again.
        add(&mut h, "Dropout");
        assert_eq!(h.state().settings.config.layers.len(), 6);
        assert!(h.query_by_label_contains("row 6 (dropout 0.25)").is_some());
        h.get_all_by_label("Remove")
            .last()
            .unwrap()
            .click_accesskit();
        h.step();
        h.step();
        assert_eq!(
            h.state().settings.config.layers.last(),
            Some(&LayerSpec::Dense(DenseSpec { out: 36 }))
        );
        h.get_by_label("Train").click();
        let deadline = Instant::now() + Duration::from_secs(120);
        while h.state().session.phase != Phase::Finished(Ending::Completed) {
            assert!(
                Instant::now() < deadline,
                "the run did not finish: {:?} {:?}",
                h.state().session.phase,
                h.state().session.notice
            );
            std::thread::sleep(Duration::from_millis(5));
            h.step();
        }
        let s = &h.state().session;
        assert_eq!(s.history.len(), 1);
        assert!(s.curves.lr.count() > 0, "the scheduled rate is plotted");
        assert!(
            s.network
                .contains("Conv(8, 3x3) -> relu -> MaxPool(2) -> Flatten -> Dense(36)"),
            "{}",
            s.network
        );
    }

    #[test]
    fn a_preset_chosen_in_the_editor_brings_its_rows_and_its_recipe() {
        let mut h = lab();
        h.get_by_label("Preset").click();
        h.step();
        h.step();
        h.get_by_label("vgg-cnn").click();
        h.step();
        h.step();
        let config = &h.state().settings.config;
        assert_eq!(
            config.layers,
            nnlab::nn::layer_list::Preset::VggCnn.layers(36)
        );
        assert_eq!(
            (config.optimizer, config.lr, config.epochs),
            (nnlab::nn::OptimizerKind::AdamW, 2e-3, 40)
        );
        assert!(h.query_by_label("Total: 208,084 parameters").is_some());
        // The rows' shapes: the last stage's two convolutions, batch norms and ReLUs.
        assert_eq!(h.query_all_by_label("64x8x8").count(), 6);
        assert!(h.query_by_label_contains("Cannot train").is_none());
    }

    /// Answers every dialog with the path it holds at the time (a test changes it).
    struct PathDialog(std::sync::Arc<std::sync::Mutex<PathBuf>>);

    impl FileDialog for PathDialog {
        fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
            None
        }
        fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
            Some(self.0.lock().unwrap().clone())
        }
        fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
            Some(self.0.lock().unwrap().clone())
        }
    }

    fn lab_with(
        config: RunConfig,
        path: &std::sync::Arc<std::sync::Mutex<PathBuf>>,
    ) -> Harness<'static, LabApp> {
        let settings = Settings {
            config,
            ..Settings::default()
        };
        let app = LabApp::new(settings, Box::new(PathDialog(path.clone())));
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 1400.0))
            .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
        h.step();
        h
    }

    fn wait(h: &mut Harness<'_, LabApp>, what: &str, done: impl Fn(&LabApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(h.state()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?} {:?}",
                h.state().session.phase,
                h.state().session.notice
            );
            std::thread::sleep(Duration::from_millis(5));
            h.step();
        }
    }

    #[test]
    fn switching_an_mlp_to_layers_shows_its_rows_and_the_same_parameter_count() {
        let config = RunConfig {
            hidden: 20,
            depth: 2,
            data: DataSource::Nist36(common::nist36_fixture()),
            ..RunConfig::default()
        };
        let mut h = lab_with(config, &Default::default());
        // The side panel's radio, not the Layers tab of the same name.
        h.get_all_by_label("Layers")
            .find(|n| n.accesskit_node().role() == egui::accesskit::Role::RadioButton)
            .unwrap()
            .click();
        h.step();
        h.step();
        assert_eq!(h.state().settings.config.model, Model::Layers);
        assert_eq!(
            layers(&h),
            [
                "flatten", "dense 20", "sigmoid", "dense 20", "sigmoid", "dense 36"
            ]
        );
        // 1024 x 20 + 20, 20 x 20 + 20, 20 x 36 + 36: the MLP's own count.
        assert!(h.query_by_label("Total: 21,676 parameters").is_some());
        assert_eq!(h.state().settings.config.hidden, 20, "other settings stay");
    }

    #[test]
    fn a_model_file_without_its_run_config_loads_into_the_editor_as_rows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("elsewhere.safetensors");
        let spec = nnlab::nn::NetworkSpec::mlp(1024, &[12], nnlab::nn::Activation::Relu, 36);
        let model = nnlab::nn::SavedModel {
            net: nnlab::nn::Network::new(spec, nnlab::nn::Init::Xavier, 3).unwrap(),
            classes: nnlab::data::nist36_classes(),
            config: None,
        };
        model.save(&file).unwrap();
        let config = RunConfig {
            data: DataSource::Nist36(common::nist36_fixture()),
            ..RunConfig::default()
        };
        let mut h = lab_with(config, &std::sync::Arc::new(std::sync::Mutex::new(file)));
        h.get_by_label("Load model...").click();
        wait(&mut h, "the model to load", |a| {
            a.session.phase == Phase::Paused
        });
        assert_eq!(h.state().settings.config.model, Model::Layers);
        assert_eq!(layers(&h), ["flatten", "dense 12", "relu", "dense 36"]);
        assert!(h.query_by_label("Total: 12,768 parameters").is_some());
    }

    #[test]
    fn a_model_file_with_a_bad_stored_config_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad-config.safetensors");
        let spec = nnlab::nn::NetworkSpec::mlp(1024, &[12], nnlab::nn::Activation::Relu, 36);
        let bad = RunConfig {
            epochs: 1_000_000_000_000_000,
            ..RunConfig::default()
        };
        let model = nnlab::nn::SavedModel {
            net: nnlab::nn::Network::new(spec, nnlab::nn::Init::Xavier, 3).unwrap(),
            classes: nnlab::data::nist36_classes(),
            config: Some(serde_json::to_string(&bad).unwrap()),
        };
        model.save(&file).unwrap();
        let config = RunConfig {
            data: DataSource::Nist36(common::nist36_fixture()),
            ..RunConfig::default()
        };
        let path = std::sync::Arc::new(std::sync::Mutex::new(file));
        for button in ["Load model...", "Fine-tune from model..."] {
            let mut h = lab_with(config.clone(), &path);
            h.get_by_label(button).click();
            wait(&mut h, "a refusal", |a| a.session.notice.is_some());
            let notice = format!("{:?}", h.state().session.notice);
            assert!(notice.contains("epochs"), "{button}: {notice}");
            assert!(h.state().session.history.is_empty(), "{button}");
        }
    }

    #[test]
    fn save_model_writes_the_best_or_the_last_weights_as_chosen() {
        // Five samples per class and a high rate: the validation loss soon rises, so the
        // best epoch is not the last.
        let config = RunConfig {
            data: DataSource::Nist36(common::nist36_fixture()),
            per_class: 5,
            hidden: 64,
            lr: 0.05,
            epochs: 200,
            early_stop: 3,
            ..RunConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = std::sync::Arc::new(std::sync::Mutex::new(PathBuf::new()));
        let mut h = lab_with(config, &path);
        h.get_by_label("Train").click();
        wait(&mut h, "early stopping", |a| {
            matches!(a.session.phase, Phase::Finished(_))
        });
        let mut losses = Vec::new();
        for choice in ["best", "last"] {
            let file = dir.path().join(format!("{choice}.safetensors"));
            *path.lock().unwrap() = file.clone();
            h.get_by_label(choice).click();
            h.step();
            h.get_by_label("Save model...").click();
            wait(&mut h, "the save", |_| file.is_file());
            let mut saved = nnlab::nn::SavedModel::load(&file).unwrap();
            let data = h.state().session.data.clone().unwrap();
            let ev = nnlab::train::trainer::evaluate(
                &mut saved.net,
                nnlab::nn::Loss::CrossEntropy,
                nnlab::train::Task::Classify,
                &data.valid,
            );
            losses.push(ev.loss);
        }
        let valid = h.state_mut().session.curves.valid_loss.points().to_vec();
        let lowest = valid.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
        let last = valid.last().unwrap()[1];
        assert!(
            (losses[0] - lowest).abs() < 1e-4,
            "best {} vs {lowest}",
            losses[0]
        );
        assert!(
            (losses[1] - last).abs() < 1e-4,
            "last {} vs {last}",
            losses[1]
        );
        assert!(
            losses[1] > losses[0] + 1e-3,
            "the last epoch is worse: {losses:?}"
        );
    }

    #[test]
    fn training_a_list_that_cannot_work_is_refused_with_its_row() {
        let mut h = lab();
        add(&mut h, "Conv2d");
        add(&mut h, "Dense");
        h.get_by_label("Train").click();
        let deadline = Instant::now() + Duration::from_secs(60);
        while h.state().session.notice.is_none() {
            assert!(Instant::now() < deadline, "no refusal");
            std::thread::sleep(Duration::from_millis(5));
            h.step();
        }
        let notice = format!("{:?}", h.state().session.notice);
        assert!(notice.contains("row 2 (dense 36)"), "{notice}");
        assert!(h.state().session.history.is_empty());
    }
}
