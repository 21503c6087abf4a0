//! `cargo bench`: the anchor workloads of `nnlab bench` (see `src/train/bench.rs`), timed by
//! the same code. Arguments after `--` pick the workload (`mlp`, `cnn`, `all`) and the
//! number of timed epochs, e.g. `cargo bench -- cnn 5`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench target; only our own arguments count.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let workload = args.first().map_or("all", String::as_str);
    let epochs = args.get(1).and_then(|e| e.parse().ok()).unwrap_or(3);
    match nnlab::train::bench::run(workload, epochs) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
