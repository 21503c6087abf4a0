//! Training-time augmentation: the warp moves ink without inventing any, the trainer warps
//! only training batches, and an augmented run is still reproducible from its seed; the same
//! for touching letters, which only classifiers of characters take.

mod common;

use nnlab::data::augment::Warp;
use nnlab::data::{DataSource, Splits, toy};
use nnlab::nn::Shape;
use nnlab::train::{RunConfig, Task, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn random_image(shape: Shape, seed: u64) -> ndarray::Array1<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ndarray::Array1::from_shape_fn(shape.len(), |_| rng.random_range(0.0..1.0))
}

fn warped(warp: &Warp, image: &ndarray::Array1<f32>, shape: Shape) -> ndarray::Array1<f32> {
    let mut out = ndarray::Array1::from_elem(shape.len(), f32::NAN);
    warp.apply(
        image.as_slice().unwrap(),
        shape,
        out.as_slice_mut().unwrap(),
    );
    out
}

#[test]
fn the_identity_warp_returns_the_image_and_any_warp_keeps_a_blank_image_blank() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for shape in [Shape::image(1, 32, 32), Shape::image(3, 8, 12)] {
        let image = random_image(shape, 1);
        assert_eq!(warped(&Warp::IDENTITY, &image, shape), image, "{shape:?}");
        let blank = ndarray::Array1::zeros(shape.len());
        for _ in 0..20 {
            assert_eq!(warped(&Warp::random(&mut rng), &blank, shape), blank);
        }
    }
}

#[test]
fn a_random_warp_moves_a_glyph_but_keeps_most_of_its_ink_in_every_channel() {
    let data = DataSource::Nist36(common::nist36_fixture()).load().unwrap();
    let glyph = data.train.images.row(0).to_owned();
    // The same glyph in three channels, the second one half as dark.
    let shape = Shape::image(3, 32, 32);
    let image = ndarray::concatenate![ndarray::Axis(0), glyph, glyph.mapv(|v| v / 2.0), glyph];
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..20 {
        let out = warped(&Warp::random(&mut rng), &image, shape);
        let planes: Vec<_> = out.exact_chunks(1024).into_iter().collect();
        assert_ne!(planes[0], glyph.view(), "the glyph moved");
        assert_eq!(planes[0], planes[2], "one warp for every channel");
        let ink = |p: &ndarray::ArrayView1<f32>| p.sum();
        assert!((ink(&planes[1]) - ink(&planes[0]) / 2.0).abs() < 1e-3);
        let ratio = ink(&planes[0]) / glyph.sum();
        // Scale 0.9-1.1 changes the ink by up to about 20%; the glyph stays in the frame.
        assert!((0.75..1.3).contains(&ratio), "ink ratio {ratio}");
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}

fn fixture_splits() -> Arc<Splits> {
    Arc::new(DataSource::Nist36(common::nist36_fixture()).load().unwrap())
}

fn config(augment: bool, seed: u64) -> RunConfig {
    RunConfig {
        hidden: 16,
        lr: 0.01,
        epochs: 2,
        seed,
        augment,
        ..RunConfig::default()
    }
}

#[test]
fn augmentation_changes_training_batches_but_not_evaluation_or_the_data() {
    let data = fixture_splits();
    let images = data.train.images.clone();
    let mut plain = Trainer::new(config(false, 4), data.clone()).unwrap();
    let mut augmented = Trainer::new(config(true, 4), data.clone()).unwrap();
    assert_eq!(
        plain.evaluate(&data.valid),
        augmented.evaluate(&data.valid),
        "the same network evaluates the same, augmented run or not"
    );
    let (a, b) = (plain.step(), augmented.step());
    assert_eq!(
        (a.samples, a.batch),
        (b.samples, b.batch),
        "same batch order"
    );
    assert_ne!(a.loss, b.loss, "the augmented batch holds other pixels");
    assert_eq!(data.train.images, images, "the data set is not warped");
    let epoch = augmented.run_epoch(|_| {}).epoch_done.unwrap();
    let fresh = augmented.evaluate(&data.valid);
    assert_eq!(epoch.valid_acc, fresh.accuracy, "validation is not warped");
    assert_eq!(epoch.valid_loss, fresh.loss);
}

#[test]
fn an_augmented_run_is_reproducible_from_its_seed() {
    let data = fixture_splits();
    let train = |augment| {
        let mut t = Trainer::new(config(augment, 5), data.clone()).unwrap();
        t.run_epoch(|_| {});
        t.saved_model().net.params()[0].2.value.clone()
    };
    let (first, again, plain) = (train(true), train(true), train(false));
    assert_eq!(first, again, "same seed, same warps, same weights");
    assert_ne!(first, plain, "the warps changed what was learnt");
}

#[test]
fn augmentation_refuses_the_toy_sets_points_with_a_reason() {
    let points = toy::ToyKind::Xor.splits();
    let err = Trainer::new(
        RunConfig {
            augment: true,
            ..RunConfig::toy(toy::ToyKind::Xor)
        },
        Arc::new(points),
    )
    .err()
    .expect("a toy set cannot be warped");
    let message = format!("{err:#}");
    assert!(message.contains("toy: xor"), "{message}");
    assert!(message.contains("not images"), "{message}");
    assert!(message.contains("turn augmentation off"), "{message}");
}

fn touching(on: bool, seed: u64) -> RunConfig {
    RunConfig {
        touching: on,
        ..config(false, seed)
    }
}

#[test]
fn touching_letters_change_training_batches_only_and_reproduce_from_the_seed() {
    let data = fixture_splits();
    let images = data.train.images.clone();
    let train = |on| {
        let mut t = Trainer::new(touching(on, 6), data.clone()).unwrap();
        let epoch = t.run_epoch(|_| {}).epoch_done.unwrap();
        let fresh = t.evaluate(&data.valid);
        assert_eq!(epoch.valid_acc, fresh.accuracy, "validation is not touched");
        assert!(
            (0.0..=1.0).contains(&epoch.train_acc),
            "{}",
            epoch.train_acc
        );
        t.saved_model().net.params()[0].2.value.clone()
    };
    let (first, again, plain) = (train(true), train(true), train(false));
    assert_eq!(first, again, "same seed, same neighbours, same weights");
    assert_ne!(first, plain, "the touching letters changed what was learnt");
    assert_eq!(data.train.images, images, "the data set is not touched");
}

#[test]
fn touching_letters_refuse_what_is_not_a_character_classifier() {
    let err = |config: RunConfig, data: Splits| {
        format!(
            "{:#}",
            Trainer::new(config, Arc::new(data)).err().expect("refused")
        )
    };
    let points = toy::ToyKind::Xor.splits();
    let message = err(
        RunConfig {
            touching: true,
            ..RunConfig::toy(toy::ToyKind::Xor)
        },
        points,
    );
    assert!(message.contains("32x32 character images"), "{message}");
    let autoencoder = RunConfig {
        task: Task::Autoencode,
        ..touching(true, 1)
    };
    let message = format!("{:#}", autoencoder.validate().unwrap_err());
    assert!(message.contains("autoencoder"), "{message}");
}
