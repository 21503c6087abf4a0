//! `nnlab bench`: the anchor workloads of `../shared/anchors`, timed the same way
//! (3 untimed warm-up steps, median over epochs, samples/s = 10800 / epoch seconds).
//!
//! The host this runs on drifts by up to 2x within an hour, so a speed claim is a ratio taken
//! in one run: with `--anchors DIR` every round times nnlab and then runs the anchors' numpy
//! and PyTorch scripts on the same workload, and the report gives medians over the rounds and
//! the same-run ratios.

use super::{RunConfig, Trainer};
use crate::data::{Dataset, PIXELS, Splits, nist36_classes};
use crate::nn::gemm_f32::Isa;
use crate::nn::{Activation, Init, Network, NetworkSpec, OptimizerKind, Shape};
use anyhow::{Context, Result, anyhow, bail};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLES: usize = 10_800;

/// Seeded random images and labels of the NIST36 shapes: the anchors' 10,800 training
/// samples, and 36 for each of the validation and test splits a run must have (a trainer
/// refuses empty ones; so few keep the epoch-end pass out of the timing).
fn random_data(seed: u64) -> Arc<Splits> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = |n: usize| Dataset {
        images: Array2::from_shape_simple_fn((n, PIXELS), || rng.random::<f32>()),
        labels: (0..n).map(|_| rng.random_range(0..36)).collect(),
        classes: nist36_classes(),
        shape: Shape::image(1, 32, 32),
    };
    let train = split(SAMPLES);
    let (valid, test) = (split(36), split(36));
    Arc::new(Splits {
        name: "random".into(),
        train,
        valid,
        test,
    })
}

/// The middle value (of the upper half for an even count); `None` for no values.
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Workload A: one epoch of 1024-64-36 sigmoid/softmax, plain SGD lr 1e-3.
fn mlp_epoch(data: &Arc<Splits>, batch: usize, epochs: usize) -> Result<f64> {
    let config = RunConfig {
        batch,
        lr: 1e-3,
        optimizer: OptimizerKind::Sgd,
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
    Ok(median(times).expect("at least one epoch"))
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
    Ok(median(times).expect("at least ten passes"))
}

/// One anchor workload: how nnlab times it and the anchors' arguments for the same work.
struct Workload {
    name: &'static str,
    /// `mlp` or `cnn`, the groups `--workload` also takes.
    group: &'static str,
    anchor_args: &'static [&'static str],
}

const WORKLOADS: [Workload; 4] = [
    Workload {
        name: "mlp_b32",
        group: "mlp",
        anchor_args: &["--workload", "A", "--batch", "32"],
    },
    Workload {
        name: "mlp_b128",
        group: "mlp",
        anchor_args: &["--workload", "A", "--batch", "128"],
    },
    Workload {
        name: "forward",
        group: "mlp",
        anchor_args: &["--workload", "D"],
    },
    Workload {
        name: "cnn_b32",
        group: "cnn",
        anchor_args: &["--workload", "C", "--batch", "32"],
    },
];

impl Workload {
    /// nnlab's seconds per epoch (per pass for `forward`): the median of `epochs`.
    fn time(&self, data: &Arc<Splits>, epochs: usize) -> Result<f64> {
        match self.name {
            "mlp_b32" => mlp_epoch(data, 32, epochs),
            "mlp_b128" => mlp_epoch(data, 128, epochs),
            "forward" => forward_pass(data, epochs),
            _ => cnn_epoch(data, epochs),
        }
    }
}

/// The workloads `--workload` names: a group, `all`, or one workload.
fn select(workload: &str) -> Result<Vec<&'static Workload>> {
    let chosen: Vec<_> = WORKLOADS
        .iter()
        .filter(|w| workload == "all" || workload == w.group || workload == w.name)
        .collect();
    if chosen.is_empty() {
        let names: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
        bail!(
            "unknown workload '{workload}' (mlp, cnn, all, or one of {})",
            names.join(", ")
        );
    }
    Ok(chosen)
}

/// The anchors' two implementations, both timed in f32.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Anchor {
    Numpy,
    Torch,
}

impl Anchor {
    const ALL: [Anchor; 2] = [Self::Numpy, Self::Torch];

    fn script(self) -> &'static str {
        match self {
            Self::Numpy => "mlp_numpy.py",
            Self::Torch => "torch_anchor.py",
        }
    }

    /// The Python module the script cannot run without.
    fn module(self) -> &'static str {
        match self {
            Self::Numpy => "numpy",
            Self::Torch => "torch",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Numpy => "numpy_f32",
            Self::Torch => "torch_f32",
        }
    }
}

/// The anchors' scripts and the Python that runs them.
struct Anchors {
    dir: PathBuf,
    python: PathBuf,
    /// The implementations whose module the Python imports.
    usable: Vec<Anchor>,
}

/// Longest an anchor script may run before it counts as hung (the numpy CNN takes about
/// 30 s for 3 epochs on an idle machine).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(900);

impl Anchors {
    /// Checks that `dir` holds the anchors' scripts (an error if not) and which of them
    /// `python` can run (none when there is no Python: then nnlab is timed alone).
    fn find(dir: &Path, python: &Path) -> Result<Self> {
        for anchor in Anchor::ALL {
            let script = dir.join(anchor.script());
            if !script.is_file() {
                bail!(
                    "{} not found: --anchors takes the anchors' folder (../shared/anchors)",
                    script.display()
                );
            }
        }
        let mut usable = Vec::new();
        for anchor in Anchor::ALL {
            let probe = Command::new(python)
                .args(["-c", &format!("import {}", anchor.module())])
                .stdin(Stdio::null())
                .output();
            match probe {
                Ok(out) if out.status.success() => usable.push(anchor),
                Ok(_) => println!(
                    "anchors: {} cannot import {}: no {} column",
                    python.display(),
                    anchor.module(),
                    anchor.label()
                ),
                Err(e) => {
                    println!(
                        "anchors: no Python at {} ({e}): nnlab's times only",
                        python.display()
                    );
                    break;
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            python: python.to_path_buf(),
            usable,
        })
    }

    /// Runs `anchor`'s script on `workload` and returns its `epoch_s`.
    fn time(&self, anchor: Anchor, workload: &Workload, epochs: usize) -> Result<f64> {
        let script = self.dir.join(anchor.script());
        let what = format!("{} {}", self.python.display(), script.display());
        let child = Command::new(&self.python)
            .arg(&script)
            .args(workload.anchor_args)
            .args(["--dtype", "f32", "--epochs", &epochs.to_string()])
            .args(["--threads", &crate::nn::parallel::cores().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let (ok, stdout, stderr) = finish(child, SCRIPT_TIMEOUT).with_context(|| what.clone())?;
        if !ok {
            let last = stderr.lines().last().unwrap_or("no message");
            bail!("{what} failed: {last}");
        }
        epoch_seconds_in(&stdout).with_context(|| format!("reading the output of {what}"))
    }
}

/// Waits for `child` (killing it after `timeout`); returns whether it succeeded, its stdout
/// and its stderr.
fn finish(mut child: Child, timeout: Duration) -> Result<(bool, String, String)> {
    // Read both pipes while it runs, so a chatty child never blocks on a full pipe.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {} s: stopped", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = |h: std::thread::JoinHandle<String>| h.join().unwrap_or_default();
    Ok((status.success(), text(stdout), text(stderr)))
}

/// The `epoch_s` of an anchor script's last line,
/// `RESULT workload=A impl=numpy-f32 samples_per_s=.. epoch_s=.. ...`.
pub fn epoch_seconds_in(stdout: &str) -> Result<f64> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| anyhow!("no RESULT line"))?;
    let field = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("epoch_s="))
        .ok_or_else(|| anyhow!("no epoch_s in '{line}'"))?;
    match field.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => bail!("epoch_s '{field}' is not a positive number of seconds"),
    }
}

/// What `nnlab bench` runs.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// `mlp`, `cnn`, `all` or one workload's name.
    pub workload: String,
    /// Timed epochs per workload and round (nnlab and the anchors alike).
    pub epochs: usize,
    /// Interleaved rounds (nnlab, numpy, PyTorch; repeated).
    pub rounds: usize,
    /// The anchors' folder; `None` times nnlab alone.
    pub anchors: Option<PathBuf>,
    /// The Python with numpy (and torch) that runs the anchors.
    pub python: PathBuf,
}

impl BenchOptions {
    /// The Python to use by default: `NNLAB_PYTHON`, else the venv the anchors' README
    /// installs (`${SCRATCH:-/tmp}/anchorwork/venv`) when it exists, else `python3`.
    pub fn default_python() -> PathBuf {
        if let Some(p) = std::env::var_os("NNLAB_PYTHON") {
            return p.into();
        }
        let scratch = std::env::var_os("SCRATCH").unwrap_or_else(|| "/tmp".into());
        let venv = Path::new(&scratch).join("anchorwork/venv/bin/python");
        if venv.exists() {
            return venv;
        }
        "python3".into()
    }
}

/// The seconds of one workload, one entry per round (`None` where that run failed).
struct Timings {
    workload: &'static Workload,
    nnlab: Vec<f64>,
    anchors: Vec<(Anchor, Vec<Option<f64>>)>,
}

pub fn run(options: &BenchOptions) -> Result<ExitCode> {
    let workloads = select(&options.workload)?;
    let (epochs, rounds) = (options.epochs.max(1), options.rounds.max(1));
    let anchors = match &options.anchors {
        Some(dir) => Some(Anchors::find(dir, &options.python)?),
        None => None,
    };
    let usable = anchors.as_ref().map_or(vec![], |a| a.usable.clone());
    let kernel = Isa::chosen().map_or("general (ndarray: no AVX2 and FMA)", Isa::name);
    println!("gemm kernel: {kernel}");
    println!("load average before: {}", load_average());
    let data = random_data(0);
    let mut all: Vec<Timings> = workloads
        .iter()
        .map(|&workload| Timings {
            workload,
            nnlab: vec![],
            anchors: usable.iter().map(|&a| (a, vec![])).collect(),
        })
        .collect();
    let mut failed = 0;
    for round in 1..=rounds {
        for t in &mut all {
            let seconds = t.workload.time(&data, epochs)?;
            t.nnlab.push(seconds);
            let mut line = format!(
                "round {round}/{rounds} {} nnlab_s={seconds:.4}",
                t.workload.name
            );
            for (anchor, times) in &mut t.anchors {
                let a = anchors.as_ref().expect("usable anchors come from Anchors");
                let result = a.time(*anchor, t.workload, epochs);
                match &result {
                    Ok(s) => line += &format!(" {}_s={s:.4}", anchor.label()),
                    Err(e) => {
                        failed += 1;
                        eprintln!("round {round} {}: {e:#}", t.workload.name);
                        line += &format!(" {}_s=failed", anchor.label());
                    }
                }
                times.push(result.ok());
            }
            println!("{line}");
        }
    }
    println!("load average after: {}", load_average());
    for t in &all {
        report(t);
    }
    if failed > 0 {
        eprintln!("error: {failed} anchor run(s) failed (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `/proc/loadavg`'s first three fields: how busy the shared machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `key=median key_range=min-max` of some values, `None` for none.
fn spread(key: &str, values: &[f64], digits: usize) -> Option<String> {
    let m = median(values.to_vec())?;
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(format!(
        "{key}={m:.digits$} {key}_range={lo:.digits$}-{hi:.digits$}"
    ))
}

/// One workload's result line: nnlab's median, each anchor's median and the same-run
/// ratio (the median of the per-round ratios), each with its range over the rounds.
fn report(t: &Timings) {
    let seconds = median(t.nnlab.clone()).expect("at least one round");
    let mut line = format!(
        "bench {} samples_per_s={:.0} {}",
        t.workload.name,
        SAMPLES as f64 / seconds,
        spread("epoch_s", &t.nnlab, 4).expect("at least one round")
    );
    for (anchor, times) in &t.anchors {
        let label = anchor.label();
        let done: Vec<f64> = times.iter().flatten().copied().collect();
        let ratios: Vec<f64> = times
            .iter()
            .zip(&t.nnlab)
            .filter_map(|(a, n)| a.map(|a| a / n))
            .collect();
        match (
            spread(&format!("{label}_s"), &done, 4),
            spread(&format!("vs_{label}"), &ratios, 2),
        ) {
            (Some(s), Some(r)) => line += &format!(" {s} {r}"),
            _ => line += &format!(" {label}_s=failed"),
        }
    }
    println!("{line}");
}
