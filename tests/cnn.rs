//! Convolutional layers: gradients match central differences, shapes follow the course's
//! arithmetic, batch norm keeps its running statistics, a CNN survives a save/load round trip.

use approx::assert_relative_eq;
use ndarray::Array2;
use nnlab::nn::activation::ActivationSpec;
use nnlab::nn::batchnorm::BatchNorm2dSpec;
use nnlab::nn::conv::Conv2dSpec;
use nnlab::nn::dense::DenseSpec;
use nnlab::nn::dropout::DropoutSpec;
use nnlab::nn::flatten::FlattenSpec;
use nnlab::nn::gradcheck::{GradCheckReport, check_gradients};
use nnlab::nn::pool::MaxPool2dSpec;
use nnlab::nn::{
    Activation, Init, Layer, LayerSpec, Loss, Network, NetworkSpec, SavedModel, Shape,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

/// One-hot targets for `rows` samples over `classes`.
fn targets(rows: usize, classes: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, classes), |(i, j)| {
        if (i * 7 + 3) % classes == j { 1.0 } else { 0.0 }
    })
}

/// `layers` on `input` images, then a dense layer to 3 classes; checked with softmax + CE.
fn check(input: Shape, layers: Vec<LayerSpec>, batch: usize) -> GradCheckReport {
    let mut layers = layers;
    layers.push(LayerSpec::Dense(DenseSpec { out: 3 }));
    let spec = NetworkSpec { input, layers };
    let mut net = Network::<f64>::new(spec, Init::Xavier, 11).unwrap();
    let x = random(batch, input.len(), 5);
    let report = check_gradients(
        &mut net,
        Loss::CrossEntropy,
        x.view(),
        targets(batch, 3).view(),
        1e-6,
    );
    assert!(report.passed(), "{report:?}");
    report
}

fn conv(out: usize, kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d(Conv2dSpec {
        out,
        kernel,
        stride,
        padding,
    })
}

#[test]
fn conv_gradients_match_with_stride_and_padding() {
    let input = Shape::image(2, 7, 6);
    for (kernel, stride, padding) in [(3, 1, 0), (3, 2, 1), (2, 1, 2), (1, 1, 0)] {
        let r = check(
            input,
            vec![
                conv(3, kernel, stride, padding),
                LayerSpec::Flatten(FlattenSpec),
            ],
            3,
        );
        assert_eq!(r.tensors.len(), 4, "conv and dense weight and bias");
    }
    // Stacked convolutions: the second one needs the first one's input gradient.
    check(
        input,
        vec![
            conv(3, 3, 1, 1),
            LayerSpec::Activation(ActivationSpec {
                f: Activation::Tanh,
            }),
            conv(2, 3, 2, 0),
        ],
        2,
    );
}

#[test]
fn max_pool_gradients_match() {
    let input = Shape::image(2, 6, 5);
    check(
        input,
        vec![
            conv(2, 1, 1, 0),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 2, stride: 2 }),
        ],
        3,
    );
    // Overlapping windows add gradients from several outputs to one input.
    check(
        input,
        vec![
            conv(2, 1, 1, 0),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 3, stride: 1 }),
        ],
        2,
    );
}

#[test]
fn batch_norm_gradients_match_in_training_mode() {
    let input = Shape::image(3, 4, 4);
    let r = check(
        input,
        vec![
            conv(2, 3, 1, 1),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            LayerSpec::Activation(ActivationSpec {
                f: Activation::Sigmoid,
            }),
        ],
        4,
    );
    // The running statistics are state: not checked, not trained.
    assert_eq!(r.tensors.len(), 6, "{r:?}");
    assert!(r.tensors.iter().all(|t| !t.name.contains("running")));
}

#[test]
fn dropout_gradients_match_with_a_held_mask() {
    let input = Shape::image(2, 3, 3);
    let spec = NetworkSpec {
        input,
        layers: vec![
            conv(3, 2, 1, 0),
            LayerSpec::Dropout(DropoutSpec { p: 0.5 }),
            LayerSpec::Dense(DenseSpec { out: 3 }),
        ],
    };
    let mut net = Network::<f64>::new(spec, Init::Xavier, 2).unwrap();
    let x = random(4, input.len(), 1);
    net.forward(x.view(), true);
    let Layer::Dropout(d) = &mut net.layers_mut()[1] else {
        panic!("layer 1 is dropout")
    };
    d.hold_mask = true;
    let zeros = net.layers()[1]
        .output()
        .iter()
        .filter(|&&v| v == 0.0)
        .count();
    assert!(
        zeros > 0 && zeros < 4 * 12,
        "about half the values dropped, got {zeros} of 48"
    );
    let r = check_gradients(
        &mut net,
        Loss::CrossEntropy,
        x.view(),
        targets(4, 3).view(),
        1e-6,
    );
    assert!(r.passed(), "{r:?}");
    // Inference is the identity.
    net.forward(x.view(), false);
    assert_eq!(net.layers()[1].output(), net.layers()[0].output());
}

#[test]
fn the_course_cnn_has_the_course_shapes() {
    let spec = NetworkSpec::course_cnn();
    let shapes = spec.shapes().unwrap();
    assert_eq!(shapes[1], Shape::image(8, 30, 30));
    assert_eq!(shapes[4], Shape::image(8, 15, 15));
    assert_eq!(shapes[5], Shape::image(16, 13, 13));
    assert_eq!(shapes[8].len(), 13 * 13 * 16);
    assert_eq!(spec.output().unwrap(), Shape::flat(36));
    assert!(
        spec.describe()
            .starts_with("1x32x32 -> Conv(8, 3x3) -> BatchNorm -> relu -> MaxPool(2)")
    );
    let too_small = NetworkSpec {
        input: Shape::image(1, 2, 2),
        layers: vec![conv(4, 3, 1, 0)],
    };
    let err = too_small.shapes().unwrap_err();
    assert!(err.contains("does not fit a 2x2 image"), "{err}");
}

#[test]
fn the_whole_course_cnn_passes_the_gradient_check() {
    // A smaller image keeps the check quick; every layer kind of the course CNN is in it.
    let spec = NetworkSpec::cnn(Shape::image(1, 10, 10), 4);
    let mut net = Network::<f64>::new(spec, Init::Xavier, 3).unwrap();
    let x = random(3, 100, 9);
    let r = check_gradients(
        &mut net,
        Loss::CrossEntropy,
        x.view(),
        targets(3, 4).view(),
        1e-6,
    );
    assert!(r.passed(), "{r:?}");
}

#[test]
fn batch_norm_uses_running_statistics_in_inference() {
    let input = Shape::image(2, 3, 3);
    let spec = NetworkSpec {
        input,
        layers: vec![LayerSpec::BatchNorm2d(BatchNorm2dSpec)],
    };
    let mut net = Network::<f64>::new(spec, Init::Xavier, 0).unwrap();
    // Channel 0 around 5, channel 1 around -2.
    let x = Array2::from_shape_fn(
        (8, 18),
        |(i, j)| if j < 9 { 5.0 } else { -2.0 } + ((i * 18 + j) % 5) as f64 * 0.1,
    );
    let y = net.forward(x.view(), true).to_owned();
    assert!(
        y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64 > 0.5,
        "normalised to unit variance"
    );
    assert!(y.sum().abs() < 1e-9, "zero mean per channel");
    for _ in 0..200 {
        net.forward(x.view(), true);
    }
    let params = net.params();
    let mean = &params
        .iter()
        .find(|(_, n, _)| *n == "running_mean")
        .unwrap()
        .2
        .value;
    let channel_mean =
        |cols: std::ops::Range<usize>| x.slice(ndarray::s![.., cols]).mean().unwrap();
    assert_relative_eq!(mean[0], channel_mean(0..9), epsilon = 1e-6);
    assert_relative_eq!(mean[1], channel_mean(9..18), epsilon = 1e-6);
    assert!(params.iter().filter(|(_, _, p)| !p.trainable).count() == 2);
    // With running statistics, inference normalises close to what training did.
    let inferred = net.forward(x.view(), false).to_owned();
    assert_relative_eq!(inferred, y, epsilon = 0.05);
}

#[test]
fn a_cnn_round_trips_through_safetensors() {
    let mut net = Network::<f32>::new(NetworkSpec::course_cnn(), Init::Xavier, 4).unwrap();
    let x = random(6, 1024, 2).mapv(|v| v as f32);
    net.forward(x.view(), true); // moves the running statistics away from 0 and 1
    let model = SavedModel {
        net,
        classes: nnlab::data::nist36_classes(),
        config: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.safetensors");
    model.save(&path).unwrap();
    let back = SavedModel::load(&path).unwrap();
    assert_eq!(back.net.spec(), model.net.spec());
    let names: Vec<String> = back
        .net
        .params()
        .iter()
        .map(|(i, n, _)| format!("{i}.{n}"))
        .collect();
    assert!(names.contains(&"1.running_var".to_string()), "{names:?}");
    for ((_, _, a), (_, _, b)) in model.net.params().iter().zip(back.net.params()) {
        assert_eq!(a.value, b.value);
        assert_eq!(a.trainable, b.trainable);
    }
    let (mut a, mut b) = (model.net.clone(), back.net.clone());
    assert_relative_eq!(a.predict(x.view(), 4), b.predict(x.view(), 4));
}

/// `per_class` noisy copies of a random 1 x 8 x 8 prototype per class.
fn prototypes(classes: usize, per_class: usize, seed: u64) -> nnlab::data::Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let protos = Array2::from_shape_simple_fn((classes, 64), || {
        if rng.random::<f32>() < 0.3 { 1.0 } else { 0.0 }
    });
    let mut images = Array2::zeros((classes * per_class, 64));
    let mut labels = Vec::new();
    for (i, mut row) in images.rows_mut().into_iter().enumerate() {
        let class = i % classes;
        for (v, &p) in row.iter_mut().zip(protos.row(class)) {
            *v = (p + rng.random_range(-0.3..0.3f32)).clamp(0.0, 1.0);
        }
        labels.push(class);
    }
    let names = (0..classes).map(|c| format!("c{c}")).collect();
    nnlab::data::Dataset {
        images,
        labels,
        classes: names,
        shape: Shape::image(1, 8, 8),
    }
}

fn splits(ds: nnlab::data::Dataset) -> std::sync::Arc<nnlab::data::Splits> {
    std::sync::Arc::new(nnlab::data::Splits {
        name: "prototypes".into(),
        train: ds.clone(),
        valid: ds.clone(),
        test: ds,
    })
}

#[test]
fn fine_tuning_trains_a_new_head_and_keeps_frozen_layers() {
    use nnlab::train::{RunConfig, Trainer, finetune};
    let config = RunConfig {
        lr: 3e-3,
        batch: 8,
        augment: false, // random-pixel prototypes have no shape a warp would keep
        ..RunConfig::cnn()
    };
    let pretrain = splits(prototypes(5, 40, 1));
    let mut trainer = Trainer::new(config.clone(), pretrain).unwrap();
    for _ in 0..5 {
        trainer.run_epoch(|_| {});
    }
    assert!(
        trainer.history.last().unwrap().valid_acc > 0.9,
        "{:?}",
        trainer.history.last()
    );
    let model = SavedModel {
        classes: trainer.data.train.classes.clone(),
        net: trainer.net,
        config: None,
    };

    // Three new classes: all but the new head frozen.
    let new = splits(prototypes(3, 10, 2));
    let mut tuned = finetune::trainer(&model, new.clone(), config.clone(), usize::MAX).unwrap();
    let head = finetune::head_index(&tuned.net).unwrap();
    assert_eq!(head, 10);
    assert_eq!(tuned.net.spec().output().unwrap(), Shape::flat(3));
    for _ in 0..10 {
        tuned.run_epoch(|_| {});
    }
    assert!(
        tuned.history.last().unwrap().valid_acc > 0.9,
        "{:?}",
        tuned.history.last()
    );
    let before = model.net.params();
    for (i, name, p) in tuned.net.params() {
        let old = before
            .iter()
            .find(|(j, n, _)| *j == i && *n == name)
            .unwrap()
            .2;
        if i < head && !name.starts_with("running_") {
            assert!(
                !p.trainable && p.value == old.value,
                "layer {i} {name} is frozen"
            );
        }
    }
    // Freezing nothing trains the first convolution too.
    let mut free = finetune::trainer(&model, new, config, 0).unwrap();
    free.run_epoch(|_| {});
    assert_ne!(free.net.params()[0].2.value, before[0].2.value);
}

#[test]
fn every_layer_lists_its_parameters_in_one_order_for_reading_and_writing() {
    let spec = NetworkSpec {
        input: Shape::image(1, 6, 6),
        layers: vec![
            conv(2, 3, 1, 1),
            LayerSpec::BatchNorm2d(BatchNorm2dSpec),
            LayerSpec::Activation(ActivationSpec {
                f: Activation::Relu,
            }),
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 2, stride: 2 }),
            LayerSpec::Flatten(FlattenSpec),
            LayerSpec::Dropout(DropoutSpec { p: 0.5 }),
            LayerSpec::Dense(DenseSpec { out: 3 }),
        ],
    };
    let mut net = Network::<f64>::new(spec, Init::Xavier, 2).unwrap();
    let read: Vec<(usize, &str, usize)> = net
        .params()
        .iter()
        .map(|(layer, name, p)| (*layer, *name, p.value.len()))
        .collect();
    let mut written = Vec::new();
    net.for_each_param(|layer, name, p| written.push((layer, name, p.value.len())));
    assert_eq!(read, written);
    let names: Vec<(usize, &str)> = read.iter().map(|&(l, n, _)| (l, n)).collect();
    assert_eq!(
        names,
        [
            (0, "weight"),
            (0, "bias"),
            (1, "weight"),
            (1, "bias"),
            (1, "running_mean"),
            (1, "running_var"),
            (6, "weight"),
            (6, "bias"),
        ]
    );
}
