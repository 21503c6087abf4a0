//! The autoencoder: same engine and training loop as the classifier, squared error.

mod common;

use nnlab::data::DataSource;
use nnlab::train::metrics::psnr;
use nnlab::train::{RunConfig, Trainer};
use std::sync::Arc;

#[test]
fn reconstruction_loss_falls_and_psnr_rises() {
    let data = Arc::new(DataSource::Nist36(common::nist36_fixture()).load().unwrap());
    // The course's settings (lr 3e-5, momentum 0.9, batch 36).
    let config = RunConfig {
        epochs: 15,
        ..RunConfig::autoencoder()
    };
    let mut trainer = Trainer::new(config, data.clone()).unwrap();
    let psnr_before = mean_psnr(&mut trainer);
    for _ in 0..15 {
        assert!(!trainer.run_epoch(|_| {}).diverged());
    }
    let h = &trainer.history;
    assert!(
        h.last().unwrap().valid_loss < 0.5 * h[0].valid_loss,
        "{h:?}"
    );
    let psnr_after = mean_psnr(&mut trainer);
    assert!(
        psnr_after > psnr_before + 3.0,
        "{psnr_before} -> {psnr_after}"
    );
    assert_eq!(trainer.net.spec().output().unwrap().len(), 1024);
}

fn mean_psnr(trainer: &mut Trainer) -> f64 {
    let valid = trainer.data.valid.clone();
    let recon = trainer.evaluate(&valid).outputs;
    (0..valid.len())
        .map(|i| psnr(valid.images.row(i), recon.row(i)))
        .sum::<f64>()
        / valid.len() as f64
}

#[test]
fn cli_reports_psnr_and_writes_the_reconstruction_grid() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("recon.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args([
            "autoencoder",
            "--data",
            common::nist36_fixture().to_str().unwrap(),
            "--epochs",
            "2",
        ])
        .arg("--recon-png")
        .arg(&png)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid PSNR: mean"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("accuracy") && !stderr.contains("acc "),
        "an autoencoder has no accuracy:\n{stdout}{stderr}"
    );
    assert!(stderr.contains("PSNR"), "each epoch's PSNR: {stderr}");
    let img = image::open(&png).unwrap();
    // 5 classes x 2 images, original beside reconstruction: 4 tiles a row, 5 rows.
    assert!(
        img.width() > 4 * 96 && img.height() > 5 * 96,
        "{}x{}",
        img.width(),
        img.height()
    );
}
