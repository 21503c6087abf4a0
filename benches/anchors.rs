//! `cargo bench`: the anchor workloads of `nnlab bench` (see `src/train/bench.rs`), timed by
//! the same code and interleaved with the anchors' numpy and PyTorch scripts. Arguments after
//! `--` pick the workload (`mlp`, `cnn`, `all` or one workload), the timed epochs and the
//! rounds, e.g. `cargo bench -- cnn 3 5`. The anchors are `NNLAB_ANCHORS`, else
//! `../shared/anchors` beside the crate; their Python is found as `nnlab bench` finds it.

use nnlab::train::bench::{BenchOptions, run};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench target; only our own arguments count.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let number = |i: usize| args.get(i).and_then(|e| e.parse().ok()).unwrap_or(3);
    let anchors = std::env::var_os("NNLAB_ANCHORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/anchors"),
        PathBuf::from,
    );
    let anchors = if anchors.is_dir() {
        Some(anchors)
    } else {
        println!(
            "anchors: no folder {} (set NNLAB_ANCHORS): nnlab's times only",
            anchors.display()
        );
        None
    };
    let options = BenchOptions {
        workload: args.first().map_or("all", String::as_str).to_string(),
        epochs: number(1),
        rounds: number(2),
        anchors,
        python: BenchOptions::default_python(),
    };
    match run(&options) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
