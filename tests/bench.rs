//! `nnlab bench --anchors`: the anchors' scripts run interleaved with nnlab and the report
//! gives same-run ratios; a missing Python, a missing script or a failing one is a clear
//! message. The anchors here are stand-ins: a shell script plays Python and prints the
//! scripts' RESULT lines, so the tests need neither numpy nor torch.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An anchors folder with both scripts (never run: the fake Python reads only their names).
fn anchors_dir(dir: &Path) -> PathBuf {
    let anchors = dir.join("anchors");
    fs::create_dir_all(&anchors).unwrap();
    for script in ["mlp_numpy.py", "torch_anchor.py"] {
        fs::write(anchors.join(script), "# stand-in\n").unwrap();
    }
    anchors
}

/// A fake Python: `-c CODE` succeeds unless CODE is in `cannot_import`; a script run prints
/// the RESULT line of `numpy` / `torch` (or fails like `fail_torch`), and appends its
/// arguments to `calls.log`.
fn fake_python(dir: &Path, cannot_import: &str, fail_torch: bool) -> PathBuf {
    let log = dir.join("calls.log");
    let torch = if fail_torch {
        "echo 'RuntimeError: boom' >&2; exit 3".to_string()
    } else {
        "echo 'RESULT workload=D impl=torch-f32 samples_per_s=43200 epoch_s=0.25 threads=2'"
            .to_string()
    };
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = -c ]; then case \"$2\" in *'{cannot_import}'*) exit 1;; esac; exit 0; fi\n\
         echo \"$@\" >> '{}'\n\
         case \"$1\" in\n\
           *mlp_numpy.py) echo 'numpy warming up'; \
              echo 'RESULT workload=D impl=numpy-f32 samples_per_s=21600 epoch_s=0.5 threads=2';;\n\
           *torch_anchor.py) {torch};;\n\
         esac\n",
        log.display()
    );
    let path = dir.join("python");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .arg("bench")
        .args(["--workload", "forward", "--epochs", "1"])
        .args(args)
        .output()
        .expect("the nnlab binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The value of `key=` on the `bench forward` line.
fn field(stdout: &str, key: &str) -> Option<String> {
    let line = stdout.lines().find(|l| l.starts_with("bench forward "))?;
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

fn number(stdout: &str, key: &str) -> f64 {
    let v = field(stdout, key).unwrap_or_else(|| panic!("no {key} in:\n{stdout}"));
    v.trim_end_matches('x').parse().unwrap()
}

#[test]
fn anchors_run_interleaved_and_the_ratios_are_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = anchors_dir(dir.path());
    let python = fake_python(dir.path(), "no module is missing", false);
    let out = bench(&[
        "--rounds",
        "3",
        "--anchors",
        anchors.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let rounds = stdout.lines().filter(|l| l.starts_with("round ")).count();
    assert_eq!(rounds, 3, "{stdout}");
    // Each round ran both scripts once, on the forward pass, with nnlab's epochs.
    let calls = fs::read_to_string(dir.path().join("calls.log")).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 6, "{calls:?}");
    for (i, call) in calls.iter().enumerate() {
        let script = ["mlp_numpy.py", "torch_anchor.py"][i % 2];
        assert!(call.contains(script), "call {i}: {call}");
        assert!(
            call.contains("--workload D") && call.contains("--dtype f32"),
            "{call}"
        );
        assert!(call.contains("--epochs 1"), "{call}");
    }
    let nnlab = number(&stdout, "epoch_s");
    assert_eq!(number(&stdout, "numpy_f32_s"), 0.5);
    assert_eq!(number(&stdout, "torch_f32_s"), 0.25);
    // The ratio is the median of the rounds' ratios: within the spread of 0.5 / nnlab's.
    let ratio = number(&stdout, "vs_numpy_f32");
    let range = field(&stdout, "epoch_s_range").unwrap();
    let (lo, hi) = range.split_once('-').unwrap();
    let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
    assert!(lo <= nnlab && nnlab <= hi, "{stdout}");
    assert!(
        0.5 / hi * 0.99 <= ratio && ratio <= 0.5 / lo * 1.01,
        "ratio {ratio} outside 0.5 / [{lo}, {hi}]:\n{stdout}"
    );
    let torch_ratio = number(&stdout, "vs_torch_f32");
    assert!(
        (torch_ratio * 2.0 - ratio).abs() <= 0.011 * ratio.max(1.0),
        "{stdout}"
    );
}

#[test]
fn without_python_it_says_so_and_times_nnlab_alone() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = anchors_dir(dir.path());
    let missing = dir.path().join("no-such-python");
    let out = bench(&[
        "--rounds",
        "1",
        "--anchors",
        anchors.to_str().unwrap(),
        "--python",
        missing.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("no Python at"), "{stdout}");
    assert!(number(&stdout, "epoch_s") > 0.0);
    assert!(field(&stdout, "numpy_f32_s").is_none(), "{stdout}");
}

#[test]
fn a_python_without_torch_leaves_out_the_torch_column() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = anchors_dir(dir.path());
    let python = fake_python(dir.path(), "import torch", false);
    let out = bench(&[
        "--rounds",
        "1",
        "--anchors",
        anchors.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("cannot import torch"), "{stdout}");
    assert_eq!(number(&stdout, "numpy_f32_s"), 0.5);
    assert!(field(&stdout, "torch_f32_s").is_none(), "{stdout}");
}

#[test]
fn a_failing_script_is_reported_and_the_run_fails() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = anchors_dir(dir.path());
    let python = fake_python(dir.path(), "no module is missing", true);
    let out = bench(&[
        "--rounds",
        "1",
        "--anchors",
        anchors.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("torch_anchor.py") && stderr.contains("boom"),
        "{stderr}"
    );
    assert_eq!(field(&stdout, "torch_f32_s").as_deref(), Some("failed"));
    assert_eq!(number(&stdout, "numpy_f32_s"), 0.5, "{stdout}");
}

#[test]
fn a_folder_without_the_scripts_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(&["--anchors", dir.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mlp_numpy.py not found"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unknown_workload_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["bench", "--workload", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown workload 'nope'"));
}

#[test]
fn result_lines_are_read_strictly() {
    use nnlab::train::bench::epoch_seconds_in;
    let line = "x\nRESULT workload=A impl=numpy-f32 samples_per_s=100 epoch_s=0.125 batch=32\n";
    assert_eq!(epoch_seconds_in(line).unwrap(), 0.125);
    for bad in [
        "no result here",
        "RESULT workload=A impl=numpy-f32",
        "RESULT epoch_s=abc",
        "RESULT epoch_s=-1",
        "RESULT epoch_s=inf",
    ] {
        let err = epoch_seconds_in(bad).unwrap_err().to_string();
        assert!(!err.is_empty(), "{bad}");
    }
}

#[test]
fn bench_names_the_gemm_kernel_and_no_avx512_forces_avx2() {
    let forced = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args([
            "bench",
            "--workload",
            "forward",
            "--epochs",
            "1",
            "--rounds",
            "1",
        ])
        .env("NNLAB_NO_AVX512", "1")
        .output()
        .unwrap();
    let stdout = text(&forced.stdout);
    assert!(forced.status.success(), "{stdout}");
    let kernel = stdout
        .lines()
        .find_map(|l| l.strip_prefix("gemm kernel: "))
        .unwrap_or_else(|| panic!("no kernel line in:\n{stdout}"));
    assert!(
        kernel.starts_with("avx2") || kernel.starts_with("general"),
        "{kernel}"
    );
}

#[test]
fn every_training_workload_runs() {
    // The trainer refuses a data set without a validation split: the bench's random data
    // must bring one (it did not, and `nnlab bench` failed before timing anything).
    let out = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args([
            "bench",
            "--workload",
            "all",
            "--epochs",
            "1",
            "--rounds",
            "1",
        ])
        .output()
        .expect("the nnlab binary runs");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for name in ["mlp_b32", "mlp_b128", "forward", "cnn_b32"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("bench {name} "))),
            "no {name} line in:\n{stdout}"
        );
    }
}
