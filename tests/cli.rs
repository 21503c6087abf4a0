//! The `nnlab` binary end to end on the NIST36 fixture.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(args)
        .output()
        .expect("the nnlab binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `nnlab args`, asserting success; returns stdout.
fn nnlab_ok(args: &[&str]) -> String {
    let out = nnlab(args);
    assert!(
        out.status.success(),
        "nnlab {args:?} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Accuracy from a line `<split>: loss L accuracy A`.
fn accuracy(stdout: &str, split: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{split}: ")))
        .unwrap_or_else(|| panic!("no {split} line in:\n{stdout}"));
    let acc: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{line}");
    acc
}

fn fixture() -> String {
    common::nist36_fixture().display().to_string()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn train_saves_a_model_that_eval_reads() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let data = fixture();
    let stdout = nnlab_ok(&[
        "train",
        "--data",
        &data,
        "--epochs",
        "3",
        "--hidden",
        "32",
        "--save",
        path_str(&model),
    ]);
    for split in ["train", "valid", "test"] {
        accuracy(&stdout, split);
    }
    assert!(model.is_file());

    let stdout = nnlab_ok(&["eval", "--model", path_str(&model), "--data", &data]);
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("test: 72 samples") && first.contains("accuracy"),
        "{stdout}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("confusion matrix"))
        .expect("a confusion matrix")
        + 1;
    let columns: Vec<&str> = lines[header].split_whitespace().collect();
    assert_eq!(columns.len(), 36);
    assert_eq!((columns[0], columns[35]), ("A", "9"));
    let rows = &lines[header + 1..header + 37];
    let mut total = 0;
    for row in rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.len(), 37, "row label + 36 counts: {row}");
        let counts: Vec<usize> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(
            counts.iter().sum::<usize>(),
            2,
            "the fixture's test split has 2 samples per class: {row}"
        );
        total += counts.iter().sum::<usize>();
    }
    assert_eq!(total, 72);
}

#[test]
fn json_prints_one_parsable_line_per_epoch() {
    let stdout = nnlab_ok(&[
        "train",
        "--data",
        &fixture(),
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--json",
    ]);
    let epochs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i + 1);
        assert!(e["train_loss"].as_f64().unwrap().is_finite());
        assert!((0.0..=1.0).contains(&e["valid_acc"].as_f64().unwrap()));
    }
}

#[test]
fn gradcheck_passes() {
    let stdout = nnlab_ok(&["gradcheck"]);
    assert!(stdout.lines().any(|l| l.trim() == "PASS"), "{stdout}");
}

#[test]
fn missing_data_folder_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-nist-here");
    let out = nnlab(&["train", "--data", path_str(&missing), "--epochs", "1"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no-nist-here"),
        "the message names the folder: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The weights of a safetensors file: everything after its 8-byte length and JSON header.
fn tensor_bytes(bytes: &[u8]) -> &[u8] {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    &bytes[8 + header_len..]
}

fn header(bytes: &[u8]) -> serde_json::Value {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + header_len]).unwrap()
}

#[test]
fn a_config_file_reproduces_a_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    // Augmented: the warps are drawn from the seed too.
    let run_config = serde_json::json!(
        {"data": {"nist36": fixture()}, "hidden": 16, "epochs": 2, "seed": 7, "augment": true}
    );
    std::fs::write(&config, run_config.to_string()).unwrap();
    let run = |name: &str, extra: &[&str]| {
        let model = dir.path().join(name);
        let mut args = vec![
            "train",
            "--config",
            path_str(&config),
            "--save",
            path_str(&model),
        ];
        args.extend(extra);
        nnlab_ok(&args);
        std::fs::read(&model).unwrap()
    };
    let (first, second, other_seed) = (
        run("a.safetensors", &[]),
        run("b.safetensors", &[]),
        run("c.safetensors", &["--seed", "8"]),
    );
    assert_eq!(
        tensor_bytes(&first),
        tensor_bytes(&second),
        "same config, different weights"
    );
    assert_eq!(header(&first), header(&second));
    assert_ne!(
        tensor_bytes(&first),
        tensor_bytes(&other_seed),
        "the seed must matter"
    );
}

#[test]
fn a_saved_run_report_retrains_bit_for_bit_from_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    nnlab_ok(&[
        "train",
        "--data",
        &fixture(),
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--seed",
        "5",
        "--save-run",
        path_str(&run),
    ]);
    for file in [
        "config.json",
        "model.safetensors",
        "metrics.csv",
        "curves.png",
        "weights.png",
        "confusion.png",
    ] {
        assert!(run.join(file).is_file(), "{file} written");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,train_acc,valid_loss,valid_acc,lr,seconds"
    );
    assert_eq!(lines.len(), 3, "one line per epoch: {metrics}");
    let confusion = image::open(run.join("confusion.png")).unwrap().to_luma8();
    assert_eq!(
        confusion.dimensions(),
        (14 + 36 * 12, 14 + 36 * 12),
        "a cell per class pair, below and right of the class names"
    );
    let names_drawn = (0..confusion.width())
        .flat_map(|x| (0..14).map(move |y| (x, y)))
        .any(|(x, y)| confusion.get_pixel(x, y)[0] < 128);
    assert!(names_drawn, "class names written above the columns");
    let again = dir.path().join("again.safetensors");
    nnlab_ok(&[
        "train",
        "--config",
        path_str(&run.join("config.json")),
        "--save",
        path_str(&again),
    ]);
    let exported = std::fs::read(run.join("model.safetensors")).unwrap();
    let retrained = std::fs::read(&again).unwrap();
    assert_eq!(header(&exported), header(&retrained));
    assert_eq!(
        tensor_bytes(&exported),
        tensor_bytes(&retrained),
        "the report's config.json reproduces the run"
    );
}

#[test]
fn a_cnn_run_report_draws_its_first_convolution_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    nnlab_ok(&[
        "train",
        "--data",
        &fixture(),
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--save-run",
        path_str(&run),
    ]);
    let (w, h) = image::image_dimensions(run.join("weights.png")).unwrap();
    // Eight 3x3 kernels, 3 to a row, each enlarged 21 times with 2-pixel gaps.
    assert_eq!((w, h), (3 * (3 * 21 + 2) + 2, 3 * (3 * 21 + 2) + 2));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `nnlab gradcheck | head -0`: the reader is gone before the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .arg("gradcheck")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the nnlab binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("nnlab ends");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(13),
        "not ended by SIGPIPE: {:?}",
        out.status
    );
}

/// `train_piece_reader` (the binary that makes the shipped piece reader) writes a reader of
/// two planes (a piece and the ink around it) with a class for "no letter", and refuses
/// silly numbers.
#[test]
fn train_piece_reader_writes_a_two_plane_model_with_no_letter() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_train_piece_reader"))
            .args(args)
            .output()
            .expect("the train_piece_reader binary runs")
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reader.safetensors");
    let args = ["--preset", "course-mlp", "--epochs", "1", "--copies", "1"];
    let done = run(&[&args[..], &["--out", path_str(&out)]].concat());
    assert!(done.status.success(), "{}", text(&done.stderr));
    let model = nnlab::nn::SavedModel::load(&out).unwrap();
    assert_eq!(model.net.spec().input.len(), 2 * 32 * 32);
    assert_eq!(model.classes.len(), 37);
    assert_eq!(
        model.classes.last().unwrap(),
        nnlab::data::in_context::NO_LETTER
    );
    for silly in [["--epochs", "0"], ["--copies", "1000"]] {
        let refused = run(&silly);
        assert!(!refused.status.success());
        assert!(text(&refused.stderr).contains("--epochs takes 1 to 1000"));
    }
}
