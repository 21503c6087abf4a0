//! The engine: gradients match central differences, the course's toy problem learns,
//! models survive a save/load round trip.

use approx::assert_relative_eq;
use ndarray::{Array2, ArrayView2};
use nnlab::data::{Splits, toy};
use nnlab::nn::gradcheck::{check_gradients, compare_gradients};
use nnlab::nn::{Activation, Init, Loss, Network, NetworkSpec, SavedModel, Shape};
use nnlab::train::{RunConfig, Task, Trainer};
use std::sync::Arc;

#[test]
fn gradient_check_passes_on_the_toy_network() {
    let report = nnlab::cli::toy_gradcheck().unwrap();
    assert_eq!(report.tensors.len(), 4, "two weights and two biases");
    assert!(report.passed(), "relative error {:e}", report.total);
}

/// Back-propagates `loss` of `net` on `x` / `t`, leaving the gradients in `net`.
fn backprop(net: &mut Network<f64>, loss: Loss, x: ArrayView2<f64>, t: ArrayView2<f64>) {
    let mut grad = Array2::zeros((0, 0));
    let out = net.forward(x, true).to_owned();
    loss.evaluate(out.view(), t, &mut grad);
    net.backward(x, grad.view());
}

#[test]
fn gradient_check_catches_a_wrong_gradient() {
    let ds = toy::four_clusters(3, 2);
    let x = ds.images.mapv(f64::from);
    let t = ds.one_hot().mapv(f64::from);
    let loss = Loss::CrossEntropy;
    for act in [
        Activation::Tanh,
        Activation::Relu,
        Activation::Identity,
        Activation::Sigmoid,
    ] {
        let spec = NetworkSpec::mlp(2, &[6, 5], act, 4);
        let mut net = Network::<f64>::new(spec, Init::Xavier, 4).unwrap();
        backprop(&mut net, loss, x.view(), t.view());
        let good = compare_gradients(&mut net, loss, x.view(), t.view(), 1e-6, usize::MAX, 0);
        assert!(good.passed(), "{act:?}: {good:?}");
        assert!(good.tensors.iter().all(|c| c.passed()), "{act:?}: {good:?}");

        // One entry of the middle layer's bias gradient made wrong by 0.1.
        net.for_each_param(|layer, name, p| {
            if (layer, name) == (2, "bias") {
                p.grad.as_slice_mut().expect("contiguous")[1] += 0.1;
            }
        });
        let bad = compare_gradients(&mut net, loss, x.view(), t.view(), 1e-6, usize::MAX, 0);
        assert!(!bad.passed(), "{act:?}: a wrong gradient passed: {bad:?}");
        let failed: Vec<&str> = bad
            .tensors
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["layers.2.bias"], "{act:?}: {bad:?}");
    }
}

#[test]
fn gradient_check_passes_the_autoencoder() {
    let ds = toy::four_clusters(3, 2);
    let x = ds.images.mapv(f64::from);
    let spec = RunConfig::for_task(Task::Autoencode)
        .network_spec(Shape::flat(2), 4)
        .unwrap();
    let mut net = Network::<f64>::new(spec, Init::Xavier, 5).unwrap();
    let r = check_gradients(
        &mut net,
        Loss::SquaredError,
        x.view(),
        x.mapv(|v| v / 40.0).view(),
        1e-6,
    );
    assert!(r.passed(), "autoencoder: {r:?}");
}

fn toy_splits() -> Arc<Splits> {
    let ds = toy::four_clusters(10, 0);
    Arc::new(Splits {
        name: "toy".into(),
        train: ds.clone(),
        valid: ds.clone(),
        test: ds,
    })
}

#[test]
fn toy_problem_learns_as_in_the_course() {
    // 2 -> 25 sigmoid -> 4 softmax, batch 5, lr 1e-3, 500 passes over the 40 points.
    let config = RunConfig {
        hidden: 25,
        batch: 5,
        lr: 1e-3,
        momentum: 0.0,
        epochs: 500,
        seed: 0,
        ..RunConfig::default()
    };
    let mut trainer = Trainer::new(config, toy_splits()).unwrap();
    for _ in 0..500 {
        assert!(!trainer.run_epoch(|_| {}).diverged());
    }
    let last = trainer.history.last().unwrap();
    let total_loss = last.valid_loss * 40.0;
    assert!(total_loss < 35.0, "loss {total_loss}");
    assert!(last.valid_acc > 0.75, "accuracy {}", last.valid_acc);
}

#[test]
fn zero_init_keeps_hidden_units_identical() {
    let config = RunConfig {
        hidden: 8,
        batch: 5,
        init: Init::Zero,
        epochs: 5,
        ..RunConfig::default()
    };
    let mut trainer = Trainer::new(config, toy_splits()).unwrap();
    for _ in 0..5 {
        trainer.run_epoch(|_| {});
    }
    let w = match &trainer.net.layers()[0] {
        nnlab::nn::Layer::Dense(d) => d.w().to_owned(),
        _ => unreachable!(),
    };
    for col in 1..8 {
        assert_eq!(w.column(col), w.column(0), "the symmetry never breaks");
    }
}

#[test]
fn diverging_learning_rate_is_reported_not_applied() {
    let config = RunConfig {
        hidden: 8,
        batch: 40,
        lr: 10.0,
        momentum: 0.0,
        ..RunConfig::default()
    };
    let mut trainer = Trainer::new(config, toy_splits()).unwrap();
    let diverged = (0..50).map(|_| trainer.step()).any(|r| r.diverged());
    assert!(diverged, "lr 10 on unnormalised inputs must blow up");
    assert!(
        trainer
            .net
            .params()
            .iter()
            .all(|(_, _, p)| p.value.iter().all(|v| v.is_finite()))
    );
}

#[test]
fn model_round_trips_through_safetensors() {
    let spec = NetworkSpec::mlp(1024, &[64], Activation::Sigmoid, 36);
    let net = Network::<f32>::new(spec, Init::Xavier, 7).unwrap();
    let model = SavedModel {
        net,
        classes: nnlab::data::nist36_classes(),
        config: Some("{}".into()),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model.save(&path).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        model.to_bytes().unwrap(),
        "saving is reproducible"
    );
    let back = SavedModel::load(&path).unwrap();
    assert_eq!(back.classes, model.classes);
    assert_eq!(back.net.spec(), model.net.spec());
    for ((_, _, a), (_, _, b)) in model.net.params().iter().zip(back.net.params()) {
        assert_eq!(a.value, b.value);
    }
    // Same outputs.
    let x = ndarray::Array2::from_shape_fn((3, 1024), |(i, j)| ((i * 7 + j) % 5) as f32 / 4.0);
    let (mut a, mut b) = (model.net.clone(), back.net.clone());
    assert_relative_eq!(a.predict(x.view(), 2), b.predict(x.view(), 2));
}

#[test]
fn loading_garbage_gives_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    std::fs::write(&path, b"not a model at all").unwrap();
    let err = SavedModel::load(&path).unwrap_err();
    assert!(format!("{err:#}").contains("bad.safetensors"), "{err:#}");
    let err = SavedModel::load(&dir.path().join("missing.safetensors")).unwrap_err();
    assert!(format!("{err:#}").contains("missing.safetensors"));
}

#[test]
fn toy_sets_are_seeded_standardised_and_learnable_with_the_toy_settings() {
    use nnlab::data::toy::ToyKind;
    for kind in ToyKind::ALL {
        let splits = kind.splits();
        let again = kind.splits();
        assert_eq!(
            splits.train.images, again.train.images,
            "{kind:?} is seeded"
        );
        assert_ne!(
            splits.train.images, splits.valid.images,
            "{kind:?}: the splits are different draws"
        );
        let mean = splits.train.images.mean_axis(ndarray::Axis(0)).unwrap();
        let std = splits.train.images.std_axis(ndarray::Axis(0), 0.0);
        for d in 0..2 {
            assert!(mean[d].abs() < 1e-4, "{kind:?} mean {mean}");
            assert!((std[d] - 1.0).abs() < 1e-3, "{kind:?} deviation {std}");
        }
        assert_eq!(
            splits.train.class_counts().iter().sum::<usize>(),
            200,
            "{kind:?}"
        );
    }
    // xor cannot be separated by a line; the toy settings' two tanh layers learn it.
    let config = RunConfig::toy(ToyKind::Xor);
    let mut trainer = Trainer::new(config.clone(), Arc::new(ToyKind::Xor.splits())).unwrap();
    for _ in 0..config.epochs {
        trainer.run_epoch(|_| {});
    }
    let last = trainer.history.last().unwrap();
    assert!(last.valid_acc > 0.9, "{last:?}");
}

#[test]
fn a_sampled_gradient_check_passes_every_tensor_of_the_course_cnn() {
    use nnlab::nn::gradcheck::check_gradient_sample;
    let mut net = Network::<f64>::new(NetworkSpec::course_cnn(), Init::Xavier, 2).unwrap();
    let x =
        ndarray::Array2::from_shape_fn((2, 1024), |(i, j)| ((i * 31 + j * 7) % 13) as f64 / 13.0);
    let t = ndarray::Array2::from_shape_fn((2, 36), |(i, c)| f64::from(u8::from(c == 5 + i)));
    let r = check_gradient_sample(
        &mut net,
        nnlab::nn::Loss::CrossEntropy,
        x.view(),
        t.view(),
        1e-6,
        20,
        1,
    );
    assert_eq!(
        r.tensors.len(),
        12,
        "weights and biases of 2 convs, 2 batch norms, 2 dense: {r:?}"
    );
    assert!(r.tensors.iter().all(|t| t.passed()), "{r:#?}");
}

#[test]
fn blocked_products_match_the_plain_sums_for_every_remainder() {
    use nnlab::nn::gemm::{add_product, add_product_t};
    let value = |i: usize| ((i * 37) % 11) as f64 - 5.0;
    // Sizes that leave remainders for every block of both kernels.
    for (m, n, k) in [(5, 7, 19), (8, 9, 900), (1, 1, 3), (4, 3, 8), (16, 72, 169)] {
        let a: Vec<f64> = (0..m * k).map(value).collect();
        let b_t: Vec<f64> = (0..n * k).map(|i| value(i + 3)).collect();
        let b: Vec<f64> = (0..k * n).map(|i| b_t[(i % n) * k + i / n]).collect();
        let expected: Vec<f64> = (0..m * n)
            .map(|e| {
                1.0 + (0..k)
                    .map(|t| a[e / n * k + t] * b_t[e % n * k + t])
                    .sum::<f64>()
            })
            .collect();
        let mut via_t = vec![1.0; m * n];
        add_product_t(&a, &b_t, &mut via_t, k);
        let mut via_plain = vec![1.0; m * n];
        add_product(&a, &b, &mut via_plain, k);
        assert_eq!(via_t, expected, "a * bᵀ for {m}x{n}x{k}");
        assert_eq!(via_plain, expected, "a * b for {m}x{n}x{k}");
    }
}

#[test]
fn parallel_passes_run_every_part_once_from_any_thread_and_pass_on_panics() {
    use nnlab::nn::parallel;
    let run_all = |parts: usize| {
        let mut out = vec![0usize; parts];
        parallel::for_each(out.iter_mut().enumerate(), |(i, o)| *o += i + 1);
        assert_eq!(out, (1..=parts).collect::<Vec<_>>());
    };
    // Callers on several threads at once, nested passes, and many short passes in a row.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| (0..2000).for_each(|n| run_all(n % 7)));
        }
        s.spawn(|| parallel::for_each(0..3, |_| run_all(5)));
    });
    let panicked = std::panic::catch_unwind(|| {
        parallel::for_each(0..4, |i| assert!(i != 2, "part 2 fails"));
    });
    assert!(panicked.is_err(), "a panic in a part reaches the caller");
    run_all(9);
}
