//! `nnlab bench`: the anchor workloads of `../shared/anchors`, timed the same way
//! (3 untimed warm-up steps, median over epochs, samples/s = 10800 / epoch seconds).

use super::{RunConfig, Trainer};
use crate::data::{Dataset, PIXELS, Splits, nist36_classes};
use crate::nn::{Activation, Init, Network, NetworkSpec, Shape};
use anyhow::{Result, bail};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

const SAMPLES: usize = 10_800;

/// Seeded random images and labels of the NIST36 shapes.
fn random_data(seed: u64) -> Arc<Splits> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let images = Array2::from_shape_simple_fn((SAMPLES, PIXELS), || rng.random::<f32>());
    let labels = (0..SAMPLES).map(|_| rng.random_range(0..36)).collect();
    let train = Dataset {
        images,
        labels,
        classes: nist36_classes(),
        shape: Shape::image(1, 32, 32),
    };
    let empty = Dataset {
        images: Array2::zeros((0, PIXELS)),
        labels: vec![],
        ..train.clone()
    };
    Arc::new(Splits {
        name: "random".into(),
        train,
        valid: empty.clone(),
        test: empty,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Workload A: one epoch of 1024-64-36 sigmoid/softmax, plain SGD lr 1e-3.
fn mlp_epoch(data: &Arc<Splits>, batch: usize, epochs: usize) -> Result<f64> {
    let config = RunConfig {
        batch,
        lr: 1e-3,
        momentum: 0.0,
        ..RunConfig::default()
    };
    epoch_seconds(config, data, epochs)
}

/// Workload C: one epoch of the course's CNN, batch 32, SGD with momentum 0.9.
fn cnn_epoch(data: &Arc<Splits>, epochs: usize) -> Result<f64> {
    epoch_seconds(
        RunConfig {
            batch: 32,
            augment: false, // the anchors time plain training
            ..RunConfig::cnn()
        },
        data,
        epochs,
    )
}

/// Median seconds per training epoch of `config` on `data`, after 3 warm-up steps.
fn epoch_seconds(config: RunConfig, data: &Arc<Splits>, epochs: usize) -> Result<f64> {
    let mut trainer = Trainer::new(config, data.clone())?;
    for _ in 0..3 {
        trainer.step();
    }
    trainer.run_epoch(|_| {}); // finish the warm-up epoch
    let mut times = Vec::new();
    for _ in 0..epochs {
        let t = Instant::now();
        trainer.run_epoch(|_| {});
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// Workload D: the forward pass of A (with softmax) over all samples at once.
fn forward_pass(data: &Arc<Splits>, passes: usize) -> Result<f64> {
    let spec = NetworkSpec::mlp(PIXELS, &[64], Activation::Sigmoid, 36);
    let mut net = Network::<f32>::new(spec, Init::Xavier, 1)?;
    let x = data.train.images.view();
    let _ = crate::nn::softmax_rows(net.forward(x, false));
    let mut times = Vec::new();
    for _ in 0..passes.max(10) {
        let t = Instant::now();
        let p = crate::nn::softmax_rows(net.forward(x, false));
        std::hint::black_box(p);
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// The anchors' epoch seconds per workload, f32 on 2 threads (numpy, PyTorch): medians of 3
/// runs under SCHED_FIFO on this kind of machine, from `../shared/anchors/README.md`.
const ANCHOR_SECONDS: [(&str, f64, f64); 4] = [
    ("mlp_b32", 0.080, 0.127),
    ("mlp_b128", 0.063, 0.048),
    ("forward", 0.0123, 0.0124),
    ("cnn_b32", 4.24, 1.25),
];

/// One result line, with how many times the anchors' epoch time it is faster.
fn report(name: &str, seconds: f64) {
    let mut line = format!(
        "bench {name} samples_per_s={:.0} epoch_s={seconds:.4}",
        SAMPLES as f64 / seconds
    );
    if let Some(&(_, numpy, torch)) = ANCHOR_SECONDS.iter().find(|a| a.0 == name) {
        line += &format!(
            " vs_numpy_f32={:.2}x vs_torch_f32={:.2}x",
            numpy / seconds,
            torch / seconds
        );
    }
    println!("{line}");
}

pub fn run(workload: &str, epochs: usize) -> Result<ExitCode> {
    let epochs = epochs.max(1);
    let data = random_data(0);
    let all = workload == "all";
    let mut ran = false;
    if all || workload == "mlp" {
        report("mlp_b32", mlp_epoch(&data, 32, epochs)?);
        report("mlp_b128", mlp_epoch(&data, 128, epochs)?);
        report("forward", forward_pass(&data, epochs)?);
        ran = true;
    }
    if all || workload == "cnn" {
        report("cnn_b32", cnn_epoch(&data, epochs)?);
        ran = true;
    }
    if !ran {
        bail!("unknown workload '{workload}' (mlp, cnn, all)");
    }
    Ok(ExitCode::SUCCESS)
}
