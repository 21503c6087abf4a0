//! Hostile inputs against the real binary: a corpus of bad model files, data files, sizes,
//! paths and settings, generated here. Every case runs `nnlab` under a memory limit
//! (`ulimit -v`) and a time limit, and must end with a non-zero exit and a message that
//! names the file or setting and the problem: never a panic, an abort, a hang or a silent
//! wrong result.

mod common;

use nnlab::nn::dense::DenseSpec;
use nnlab::nn::flatten::FlattenSpec;
use nnlab::nn::{Activation, Init, LayerSpec, Network, NetworkSpec, SavedModel, Shape};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual memory a case may take (KiB for `ulimit -v`): far below what the bugs took.
const MEMORY_KIB: u64 = 3 << 20;
/// Wall time a case may take: anything longer counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(120);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    seconds: f64,
}

impl Outcome {
    fn shown(&self) -> String {
        format!(
            "exit {:?} after {:.1}s\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.seconds, self.stdout, self.stderr
        )
    }
}

/// Runs `nnlab args` with `env` under the memory and time limits.
fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_nnlab"))
        .args(args)
        .env_remove("NNLAB_THREADS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("sh runs");
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// One hostile input: the command line, and what its error must say.
struct Case {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// Every one must appear in stderr (the file or setting, and the problem).
    expect: Vec<String>,
    /// None may appear in stderr (e.g. "epoch ": the run trained before it refused).
    forbid: Vec<&'static str>,
}

fn case(name: &'static str, args: &[&str], expect: &[&str]) -> Case {
    case_of(name, args.iter().map(|s| s.to_string()).collect(), expect)
}

fn case_of(name: &'static str, args: Vec<String>, expect: &[&str]) -> Case {
    Case {
        name,
        args,
        env: Vec::new(),
        expect: expect.iter().map(|e| e.to_string()).collect(),
        forbid: Vec::new(),
    }
}

/// What went wrong with `case`, if anything.
fn check(case: &Case) -> Option<String> {
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = run(&args, &env);
    let problem = if o.code.is_none() {
        "hung or was killed (no exit code)".to_string()
    } else if o.code == Some(0) {
        "exited 0".into()
    } else if o.code != Some(1) {
        format!("exited {:?}, not 1 (an abort or a crash?)", o.code)
    } else if o.stderr.contains("panicked") || o.stderr.contains("memory allocation") {
        "panicked or failed an allocation".into()
    } else if let Some(missing) = case.expect.iter().find(|e| !o.stderr.contains(e.as_str())) {
        format!("stderr does not say {missing:?}")
    } else if let Some(said) = case.forbid.iter().find(|f| o.stderr.contains(*f)) {
        format!("stderr says {said:?}")
    } else {
        return None;
    };
    Some(format!(
        "case '{}' (nnlab {}): {problem}\n{}",
        case.name,
        case.args.join(" "),
        o.shown()
    ))
}

/// Runs every case, reports the corpus size, fails listing every case that failed.
fn run_corpus(group: &str, cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    eprintln!(
        "hostile corpus '{group}': {} cases, {} passed",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_string()
}

// ---------------------------------------------------------------- model files

/// A model file with any header and tensors (they need not agree: that is the point).
fn write_raw_model(
    path: &Path,
    header: serde_json::Value,
    tensors: &[(&str, Vec<usize>, Vec<f32>)],
) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .unwrap();
            (name.to_string(), view)
        })
        .collect();
    let meta = HashMap::from([("nnlab".to_string(), header.to_string())]);
    std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

fn header(spec: &NetworkSpec, classes: &[String], config: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "spec": spec,
        "classes": classes,
        "input": "rows",
        "config": config,
    })
}

fn letters(n: usize) -> Vec<String> {
    nnlab::data::nist36_classes().into_iter().take(n).collect()
}

/// A real (untrained) model saved with the library, then changed by `edit`.
fn saved(path: &Path, spec: NetworkSpec, classes: Vec<String>, edit: impl FnOnce(&mut SavedModel)) {
    let mut model = SavedModel {
        net: Network::new(spec, Init::Xavier, 1).unwrap(),
        classes,
        config: None,
    };
    edit(&mut model);
    std::fs::write(path, model.to_bytes().unwrap()).unwrap();
}

fn mlp(inputs: usize, outputs: usize) -> NetworkSpec {
    NetworkSpec::mlp(inputs, &[8], Activation::Sigmoid, outputs)
}

/// A white PNG with a few dark blocks: a page the OCR can segment.
fn write_page(path: &Path) {
    let mut img = image::GrayImage::from_pixel(200, 80, image::Luma([255]));
    for (x0, x1) in [(20, 34), (60, 74), (100, 114)] {
        for y in 20..60 {
            for x in x0..x1 {
                img.put_pixel(x, y, image::Luma([0]));
            }
        }
    }
    img.save(path).unwrap();
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn hostile_model_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| path_str(&p(name));
    let page = p("page.png");
    write_page(&page);
    let page = path_str(&page);

    saved(&p("ten-names.st"), mlp(1024, 36), letters(10), |_| {});
    saved(&p("ten-outputs.st"), mlp(1024, 10), letters(10), |m| {
        m.classes = letters(36)
    });
    saved(&p("mnist.st"), mlp(784, 36), letters(36), |_| {});
    saved(&p("nan.st"), mlp(1024, 36), letters(36), |m| {
        m.net.for_each_param(|_, _, p| {
            if let Some(v) = p.value.iter_mut().next() {
                *v = f32::NAN;
            }
        })
    });
    saved(&p("inf.st"), mlp(1024, 36), letters(36), |m| {
        m.net.for_each_param(|_, name, p| {
            if name == "bias" {
                p.value.fill(f32::INFINITY)
            }
        })
    });
    saved(
        &p("twice.st"),
        mlp(1024, 3),
        vec!["A".into(), "B".into(), "A".into()],
        |_| {},
    );
    saved(
        &p("autoencoder.st"),
        nnlab::train::RunConfig {
            hidden: 16,
            depth: 1,
            ..nnlab::train::RunConfig::autoencoder()
        }
        .network_spec(Shape::flat(1024), 0)
        .unwrap(),
        Vec::new(),
        |_| {},
    );
    let forever = serde_json::json!({"epochs": 1_000_000_000_000_000u64}).to_string();
    saved(&p("forever.st"), mlp(1024, 36), letters(36), |m| {
        m.config = Some(forever)
    });
    let unknown = serde_json::json!({"learning_rate": 5}).to_string();
    saved(&p("unknown-config.st"), mlp(1024, 36), letters(36), |m| {
        m.config = Some(unknown)
    });
    let huge = |out| NetworkSpec {
        input: Shape::flat(1024),
        layers: vec![LayerSpec::Dense(DenseSpec { out })],
    };
    write_raw_model(
        &p("dense-1e9.st"),
        header(&huge(1_000_000_000), &letters(36), None),
        &[],
    );
    write_raw_model(
        &p("dense-1e12.st"),
        header(&huge(1_000_000_000_000), &letters(36), None),
        &[],
    );
    let conv = NetworkSpec::cnn(Shape::image(1, 100_000, 100_000), 36);
    write_raw_model(&p("conv-huge.st"), header(&conv, &letters(36), None), &[]);
    let deep = NetworkSpec::mlp(1024, &[4; 5000], Activation::Relu, 36);
    write_raw_model(&p("deep.st"), header(&deep, &letters(36), None), &[]);
    let overflow = NetworkSpec {
        input: Shape::image(usize::MAX, usize::MAX, 2),
        layers: vec![LayerSpec::Flatten(FlattenSpec)],
    };
    write_raw_model(&p("overflow.st"), header(&overflow, &[], None), &[]);
    // Right element count, wrong shapes; too few values; an extra key in the header.
    let small = mlp(4, 2);
    let two = vec!["A".to_string(), "B".to_string()];
    write_raw_model(
        &p("transposed.st"),
        header(&small, &two, None),
        &[
            ("layers.0.weight", vec![8, 4], vec![0.0; 32]),
            ("layers.0.bias", vec![8], vec![0.0; 8]),
            ("layers.2.weight", vec![8, 2], vec![0.0; 16]),
            ("layers.2.bias", vec![2], vec![0.0; 2]),
        ],
    );
    write_raw_model(
        &p("missing-tensor.st"),
        header(&small, &two, None),
        &[("layers.0.weight", vec![4, 8], vec![0.0; 32])],
    );
    let mut extra = header(&small, &two, None);
    extra["trust_me"] = serde_json::json!(true);
    write_raw_model(&p("extra-key.st"), extra, &[]);
    std::fs::write(
        p("garbage.st"),
        b"this is not a model at all, just text\n".repeat(10),
    )
    .unwrap();
    std::fs::write(p("empty.st"), b"").unwrap();
    saved(&p("whole.st"), mlp(1024, 36), letters(36), |_| {});
    let whole = std::fs::read(p("whole.st")).unwrap();
    std::fs::write(p("cut.st"), &whole[..whole.len() / 2]).unwrap();
    mkfifo(&p("fifo.st"));
    std::fs::create_dir(p("folder.st")).unwrap();

    let ocr = |m: &str| vec!["ocr".to_string(), page.clone(), "--model".into(), s(m)];
    let eval = |m: &str| {
        ["eval", "--model", &s(m), "--data", "builtin"]
            .map(String::from)
            .to_vec()
    };
    let finetune = |m: &str| {
        [
            "finetune",
            "--from",
            &s(m),
            "--epochs",
            "1",
            "--per-class",
            "2",
        ]
        .map(String::from)
        .to_vec()
    };
    let cases = vec![
        case_of(
            "class names fewer than outputs (ocr)",
            ocr("ten-names.st"),
            &["ten-names.st", "names 10 classes but has 36 outputs"],
        ),
        case_of(
            "class names fewer than outputs (eval)",
            eval("ten-names.st"),
            &["ten-names.st", "names 10 classes"],
        ),
        case_of(
            "36 names on 10 outputs (ocr)",
            ocr("ten-outputs.st"),
            &["ten-outputs.st", "names 36 classes but has 10 outputs"],
        ),
        case_of(
            "36 names on 10 outputs (eval)",
            eval("ten-outputs.st"),
            &["ten-outputs.st", "names 36 classes"],
        ),
        case_of(
            "784-input model (eval)",
            eval("mnist.st"),
            &["mnist.st", "reads 784 values"],
        ),
        case_of("784-input model (ocr)", ocr("mnist.st"), &["784"]),
        case_of("NaN weights (ocr)", ocr("nan.st"), &["nan.st", "holds NaN"]),
        case_of(
            "NaN weights (eval)",
            eval("nan.st"),
            &["nan.st", "holds NaN"],
        ),
        case_of("infinite biases", eval("inf.st"), &["inf.st", "holds inf"]),
        case_of(
            "a class named twice",
            eval("twice.st"),
            &["twice.st", "twice"],
        ),
        case_of(
            "fine-tuning an autoencoder",
            finetune("autoencoder.st"),
            &["autoencoder.st", "not a classifier"],
        ),
        case_of(
            "stored config with 1e15 epochs",
            finetune("forever.st"),
            &["forever.st", "epochs is 1000000000000000"],
        ),
        case_of(
            "stored config with an unknown key",
            finetune("unknown-config.st"),
            &["unknown-config.st", "unknown field `learning_rate`"],
        ),
        case_of(
            "dense layer of 1e9 units",
            eval("dense-1e9.st"),
            &["dense-1e9.st", "at most 65536"],
        ),
        case_of(
            "dense layer of 1e12 units",
            ocr("dense-1e12.st"),
            &["dense-1e12.st", "at most 65536"],
        ),
        case_of(
            "conv on a 100000x100000 input",
            eval("conv-huge.st"),
            &["conv-huge.st", "the height is 100000"],
        ),
        case_of(
            "10,000 layers",
            eval("deep.st"),
            &["deep.st", "the number of layers is 10001"],
        ),
        case_of(
            "input shape that overflows",
            eval("overflow.st"),
            &["overflow.st", "at most"],
        ),
        case_of(
            "tensors of the wrong shape",
            eval("transposed.st"),
            &["transposed.st", "has shape [8, 4]"],
        ),
        case_of(
            "missing tensors",
            eval("missing-tensor.st"),
            &[
                "missing-tensor.st",
                "holds 32 values, its architecture needs 58",
            ],
        ),
        case_of(
            "unknown key in the header",
            eval("extra-key.st"),
            &["extra-key.st", "unknown field `trust_me`"],
        ),
        case_of(
            "not a safetensors file",
            eval("garbage.st"),
            &["garbage.st", "not a safetensors file"],
        ),
        case_of(
            "empty file",
            ocr("empty.st"),
            &["empty.st", "not a safetensors file"],
        ),
        case_of("model cut in half", finetune("cut.st"), &["cut.st"]),
        case_of(
            "a FIFO as the model (eval)",
            eval("fifo.st"),
            &["fifo.st", "not a regular file (a FIFO)"],
        ),
        case_of(
            "a FIFO as the model (ocr)",
            ocr("fifo.st"),
            &["fifo.st", "a FIFO"],
        ),
        case_of(
            "/dev/zero as the model",
            ["eval", "--model", "/dev/zero"].map(String::from).to_vec(),
            &["/dev/zero", "a device"],
        ),
        case_of(
            "a folder as the model",
            eval("folder.st"),
            &["folder.st", "a folder"],
        ),
        case_of(
            "a missing model",
            eval("missing.st"),
            &["missing.st", "cannot read"],
        ),
    ];
    run_corpus("model files", &cases);
}

// ---------------------------------------------------------------- data files and sizes

const MI_INT8: u32 = 1;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MX_CELL: u32 = 1;
const MX_STRUCT: u32 = 2;
const MX_SPARSE: u32 = 5;
const MX_DOUBLE: u32 = 6;

/// A little-endian matrix element (tag included) of `class` with `dims`, its name, and
/// `real` (already column-major) as doubles; `flags` may add the complex bit.
fn matrix_element(name: &str, class: u32, flags: u32, dims: &[i32], real: &[f64]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut sub = |kind: u32, bytes: &[u8]| {
        body.extend(kind.to_le_bytes());
        body.extend((bytes.len() as u32).to_le_bytes());
        body.extend(bytes);
        body.resize(body.len().next_multiple_of(8), 0);
    };
    sub(MI_UINT32, &[(class | flags).to_le_bytes(), [0; 4]].concat());
    sub(
        MI_INT32,
        &dims
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    sub(MI_INT8, name.as_bytes());
    sub(
        MI_DOUBLE,
        &real
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    let mut element = MI_MATRIX.to_le_bytes().to_vec();
    element.extend((body.len() as u32).to_le_bytes());
    element.extend(body);
    element
}

/// `element` as a compressed element (zlib), followed in the stream by `trailing` zeros.
fn compressed(element: &[u8], trailing: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(element).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = trailing;
    while left > 0 {
        let n = left.min(zeros.len());
        z.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    let data = z.finish().unwrap();
    let mut out = MI_COMPRESSED.to_le_bytes().to_vec();
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}

fn mat_file(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("{:<116}", "MATLAB 5.0 MAT-file, hostile test").into_bytes();
    out.extend([0; 8]);
    out.extend(0x0100u16.to_le_bytes());
    out.extend(b"IM");
    for e in elements {
        out.extend(e);
    }
    out
}

/// `n` course-layout images of `pixel` each, with one-hot labels, as the two elements of `split`.
fn split_elements(split: &str, n: usize, pixel: f64) -> [Vec<u8>; 2] {
    let mut labels = vec![0.0; n * 36];
    for i in 0..n {
        labels[(i % 36) * n + i] = 1.0; // column-major
    }
    [
        matrix_element(
            &format!("{split}_data"),
            MX_DOUBLE,
            0,
            &[n as i32, 1024],
            &vec![pixel; n * 1024],
        ),
        matrix_element(
            &format!("{split}_labels"),
            MX_DOUBLE,
            0,
            &[n as i32, 36],
            &labels,
        ),
    ]
}

/// A NIST36 folder whose train file holds `train` elements (valid and test are fine).
fn nist_folder(root: &Path, name: &str, train: &[Vec<u8>]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("nist36_train.mat"), mat_file(train)).unwrap();
    for split in ["valid", "test"] {
        let file = dir.join(format!("nist36_{split}.mat"));
        std::fs::write(file, mat_file(&split_elements(split, 36, 0.5))).unwrap();
    }
    dir
}

/// An image folder of `per_class` PNGs in each of two classes.
fn image_folder(root: &Path, name: &str, per_class: usize) -> PathBuf {
    let dir = root.join(name);
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..per_class {
            let img = image::RgbImage::from_pixel(8, 8, image::Rgb([i as u8 * 40, 90, 200]));
            img.save(dir.join(class).join(format!("{i}.png"))).unwrap();
        }
    }
    dir
}

/// A real JPEG of a few strokes, encoded here.
fn jpeg_bytes() -> Vec<u8> {
    let img = image::GrayImage::from_fn(400, 300, |x, y| {
        image::Luma([if (x / 20 + y / 30) % 3 == 0 { 30 } else { 230 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[test]
fn hostile_data_files_and_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let p = |name: &str| root.join(name);
    let s = |name: &str| path_str(&p(name));
    let train = |data: &Path| {
        vec![
            "train".to_string(),
            "--data".into(),
            path_str(data),
            "--epochs".into(),
            "1".into(),
        ]
    };

    let [data, labels] = split_elements("train", 36, 0.5);
    let mut bomb_head = matrix_element("train_data", MX_DOUBLE, 0, &[500_000, 1024], &[]);
    bomb_head.truncate(64);
    let declared_bomb = nist_folder(
        root,
        "declared-bomb",
        &[compressed(&bomb_head, 0), labels.clone()],
    );
    let small = matrix_element("train_data", MX_DOUBLE, 0, &[2, 1024], &vec![0.5; 2048]);
    let stream_bomb = nist_folder(
        root,
        "stream-bomb",
        &[compressed(&small, 64 << 20), labels.clone()],
    );
    let cell = nist_folder(
        root,
        "cell",
        &[
            matrix_element("train_data", MX_CELL, 0, &[1, 1], &[]),
            labels.clone(),
        ],
    );
    let sparse = nist_folder(
        root,
        "sparse",
        &[
            matrix_element("train_data", MX_SPARSE, 0, &[36, 1024], &[]),
            labels.clone(),
        ],
    );
    let strukt = nist_folder(
        root,
        "struct",
        &[
            matrix_element("train_data", MX_STRUCT, 0, &[1, 1], &[]),
            labels.clone(),
        ],
    );
    let complex = nist_folder(
        root,
        "complex",
        &[
            matrix_element(
                "train_data",
                MX_DOUBLE,
                0x800,
                &[36, 1024],
                &vec![0.5; 36 * 1024],
            ),
            labels.clone(),
        ],
    );
    let mut huge_value = vec![0.5; 36 * 1024];
    huge_value[5] = 1e300;
    let overflow = nist_folder(
        root,
        "1e300",
        &[
            matrix_element("train_data", MX_DOUBLE, 0, &[36, 1024], &huge_value),
            labels.clone(),
        ],
    );
    let negative = nist_folder(
        root,
        "negative-dims",
        &[
            matrix_element("train_data", MX_DOUBLE, 0, &[-1, 1024], &[]),
            labels.clone(),
        ],
    );
    let three_d = nist_folder(
        root,
        "3d",
        &[
            matrix_element(
                "train_data",
                MX_DOUBLE,
                0,
                &[36, 32, 32],
                &vec![0.5; 36 * 1024],
            ),
            labels.clone(),
        ],
    );
    let mut corrupt = compressed(&data, 0);
    let mid = corrupt.len() / 2;
    corrupt[mid..].iter_mut().for_each(|b| *b = 0xAA);
    let corrupt_zlib = nist_folder(root, "corrupt-zlib", &[corrupt, labels.clone()]);
    let fifo_mat = nist_folder(root, "fifo-mat", &[]);
    std::fs::remove_file(fifo_mat.join("nist36_train.mat")).unwrap();
    mkfifo(&fifo_mat.join("nist36_train.mat"));
    let zero_mat = nist_folder(root, "zero-mat", &[]);
    std::fs::remove_file(zero_mat.join("nist36_train.mat")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero_mat.join("nist36_train.mat")).unwrap();

    let images = image_folder(root, "images", 3);
    let fifo_images = image_folder(root, "fifo-images", 3);
    mkfifo(&fifo_images.join("cat").join("x.png"));
    std::fs::write(p("huge.json"), r#"{"hidden": 1000000000000}"#).unwrap();
    std::fs::write(p("unknown.json"), r#"{"learning_rate": 5}"#).unwrap();
    mkfifo(&p("fifo.json"));
    mkfifo(&p("fifo.jpg"));
    mkfifo(&p("fifo-truth.txt"));
    let jpeg = jpeg_bytes();
    std::fs::write(p("whole.jpg"), &jpeg).unwrap();
    std::fs::write(p("cut.jpg"), &jpeg[..jpeg.len() * 24 / 100]).unwrap();
    std::fs::write(p("tabs.txt"), "whole.jpg\tTO DO\tLIST\n").unwrap();
    std::fs::write(p("unicode.txt"), "whole.jpg\tÜBER ÄRGER\n").unwrap();
    std::fs::write(p("empty.txt"), "").unwrap();
    std::fs::write(p("nothing-to-score.txt"), "whole.jpg\t... ---\n").unwrap();

    let mut cases = vec![
        case_of(
            "a .mat declaring 500000 x 1024 before inflating",
            train(&declared_bomb),
            &["declared-bomb", "at most 100000 samples"],
        ),
        case_of(
            "a .mat whose stream inflates past its header",
            train(&stream_bomb),
            &["stream-bomb", "inflates to"],
        ),
        case_of(
            "a cell array as train_data",
            train(&cell),
            &["cell", "'train_data' is a cell array"],
        ),
        case_of(
            "a sparse matrix as train_data",
            train(&sparse),
            &["sparse", "'train_data' is a sparse matrix"],
        ),
        case_of(
            "a struct as train_data",
            train(&strukt),
            &["struct", "'train_data' is a struct"],
        ),
        case_of(
            "complex train_data",
            train(&complex),
            &["complex", "'train_data' is complex"],
        ),
        case_of(
            "a pixel of 1e300",
            train(&overflow),
            &["1e300", "is 1e300, too large for a 32-bit float"],
        ),
        case_of(
            "negative dimensions",
            train(&negative),
            &["negative-dims", "at most 100000 samples"],
        ),
        case_of(
            "three dimensions",
            train(&three_d),
            &["3d", "'train_data' is 36 x 32 x 32, expected N x 1024"],
        ),
        case_of(
            "a corrupt zlib stream",
            train(&corrupt_zlib),
            &["corrupt-zlib", "corrupt"],
        ),
        case_of(
            "a FIFO as a .mat file",
            train(&fifo_mat),
            &["fifo-mat", "a FIFO"],
        ),
        case_of(
            "/dev/zero as a .mat file",
            train(&zero_mat),
            &["zero-mat", "a device"],
        ),
        case_of(
            "a FIFO in an image folder",
            train(&fifo_images),
            &["x.png", "a FIFO"],
        ),
        case(
            "--hidden 1e12",
            &["train", "--hidden", "1000000000000"],
            &["hidden (units per hidden layer) is 1000000000000", "16384"],
        ),
        case(
            "--depth 1e9",
            &["train", "--depth", "1000000000"],
            &["depth (hidden layers) is 1000000000", "64"],
        ),
        case(
            "hidden 1e12 in a config file",
            &["train", "--config", &s("huge.json")],
            &[
                "huge.json",
                "hidden (units per hidden layer) is 1000000000000",
            ],
        ),
        case(
            "--image-size 100000",
            &[
                "train",
                "--data",
                &path_str(&images),
                "--image-size",
                "100000",
            ],
            &["image-size is 100000", "512"],
        ),
        case("--batch 0", &["train", "--batch", "0"], &["batch is 0"]),
        case("--epochs 0", &["train", "--epochs", "0"], &["epochs is 0"]),
        case(
            "--epochs 1e15",
            &["train", "--epochs", "1000000000000000"],
            &["epochs is 1000000000000000", "100000"],
        ),
        case(
            "an unknown key in a config file",
            &["train", "--config", &s("unknown.json")],
            &["unknown.json", "unknown field `learning_rate`"],
        ),
        case(
            "a FIFO as the config",
            &["train", "--config", &s("fifo.json")],
            &["fifo.json", "a FIFO"],
        ),
        case(
            "/dev/zero as the config",
            &["train", "--config", "/dev/zero"],
            &["/dev/zero", "a device"],
        ),
        case(
            "a FIFO as a photo",
            &["ocr", &s("fifo.jpg")],
            &["fifo.jpg", "a FIFO"],
        ),
        case(
            "/dev/zero as a photo",
            &["ocr", "/dev/zero"],
            &["/dev/zero", "a device"],
        ),
        case(
            "a truncated JPEG",
            &["ocr", &s("cut.jpg")],
            &["cut.jpg", "truncated"],
        ),
        case(
            "a FIFO as the truth file",
            &["ocr-eval", &s("fifo-truth.txt"), &s("")],
            &["fifo-truth.txt", "a FIFO"],
        ),
        case(
            "a truth line with two tabs",
            &["ocr-eval", &s("tabs.txt"), &s("")],
            &["tabs.txt line 1", "more than one tab"],
        ),
        case(
            "a truth line with Unicode",
            &["ocr-eval", &s("unicode.txt"), &s("")],
            &["unicode.txt line 1", "'Ü'"],
        ),
        case(
            "an empty truth file",
            &["ocr-eval", &s("empty.txt"), &s("")],
            &["empty.txt", "holds no photos"],
        ),
        case(
            "a truth without letters",
            &["ocr-eval", &s("nothing-to-score.txt"), &s("")],
            &["nothing-to-score.txt", "no letter or digit"],
        ),
    ];
    for (value, name) in [
        ("100000", "NNLAB_THREADS=100000"),
        ("-3", "NNLAB_THREADS=-3"),
        ("many", "NNLAB_THREADS=many"),
    ] {
        let mut c = case(
            name,
            &["gradcheck"],
            &[&format!("NNLAB_THREADS is '{value}'"), "1 to 256"],
        );
        c.env.push(("NNLAB_THREADS", value.to_string()));
        cases.push(c);
    }
    run_corpus("data files and sizes", &cases);

    // The whole JPEG reads; only the truncated one is refused.
    let whole = run(&["ocr", &s("whole.jpg")], &[]);
    assert_eq!(whole.code, Some(0), "{}", whole.shown());
}

#[test]
fn pixels_stored_as_0_to_255_are_rescaled_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("default.safetensors");
    nnlab::data::builtin::default_model()
        .unwrap()
        .save(&model)
        .unwrap();
    let folder = nist_folder(dir.path(), "x255", &split_elements("train", 36, 255.0));
    for split in ["valid", "test"] {
        std::fs::write(
            folder.join(format!("nist36_{split}.mat")),
            mat_file(&split_elements(split, 36, 255.0)),
        )
        .unwrap();
    }
    let o = run(
        &[
            "eval",
            "--model",
            &path_str(&model),
            "--data",
            &path_str(&folder),
            "--split",
            "valid",
        ],
        &[],
    );
    assert_eq!(o.code, Some(0), "{}", o.shown());
    assert!(
        o.stderr
            .contains("read as 8-bit grey levels (divided by 255)"),
        "{}",
        o.shown()
    );
}

// ---------------------------------------------------------------- saves

/// A quick training run on the NIST36 fixture with `more` flags.
fn quick_train(more: &[&str]) -> Vec<String> {
    let data = path_str(&common::nist36_fixture());
    let mut args: Vec<String> = ["train", "--data", &data, "--epochs", "1"]
        .map(String::from)
        .to_vec();
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

#[test]
fn hostile_save_targets_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| path_str(&p(name));
    std::fs::create_dir(p("old-run")).unwrap();
    std::fs::write(p("old-run").join("config.json"), "{}").unwrap();
    std::fs::write(p("a-file"), "not a folder").unwrap();
    std::fs::create_dir(p("a-folder")).unwrap();
    let cases = vec![
        case_of(
            "--save /dev/null",
            quick_train(&["--save", "/dev/null"]),
            &["/dev/null", "will not write over", "a device"],
        ),
        case_of(
            "--save onto a folder",
            quick_train(&["--save", &s("a-folder")]),
            &["a-folder", "a folder"],
        ),
        case_of(
            "--save into a missing folder",
            quick_train(&["--save", &s("nowhere/m.safetensors")]),
            &["nowhere", "does not exist"],
        ),
        case_of(
            "--save-run over an earlier run",
            quick_train(&["--save-run", &s("old-run")]),
            &["old-run", "not empty", "--force"],
        ),
        case_of(
            "--save-run onto a file",
            quick_train(&["--save-run", &s("a-file")]),
            &["a-file", "not a folder"],
        ),
        case_of(
            "--save-run into a missing folder",
            quick_train(&["--save-run", &s("nowhere/run")]),
            &["nowhere", "does not exist"],
        ),
        case_of(
            "--recon-png into a missing folder",
            [
                "autoencoder",
                "--epochs",
                "1",
                "--recon-png",
                &s("nowhere/r.png"),
            ]
            .map(String::from)
            .to_vec(),
            &["nowhere", "does not exist"],
        ),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| Case {
            forbid: vec!["epoch "],
            ..c
        })
        .collect();
    run_corpus("saves", &cases);
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is no longer a device"
    );
    let old = std::fs::read_to_string(p("old-run").join("config.json")).unwrap();
    assert_eq!(old, "{}", "the refused run changed the old folder");
}

#[test]
fn saves_write_through_symlinks_replace_runs_whole_and_clear_stale_temps() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| path_str(&p(name));
    // A symlink is written through: the link stays, its target gets the model.
    std::fs::write(p("target.safetensors"), "old").unwrap();
    std::os::unix::fs::symlink(p("target.safetensors"), p("link.safetensors")).unwrap();
    // A stale temporary file of a killed save (pid 4194305 is above Linux's pid limit).
    let stale = p(".target.safetensors.nnlab-tmp-4194305");
    std::fs::write(&stale, vec![0u8; 1 << 20]).unwrap();
    std::fs::create_dir(p("run")).unwrap();
    std::fs::write(p("run").join("leftover.txt"), "from an earlier run").unwrap();
    let o = run(
        &quick_train(&[
            "--save",
            &s("link.safetensors"),
            "--save-run",
            &s("run"),
            "--force",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        &[],
    );
    assert_eq!(o.code, Some(0), "{}", o.shown());
    assert!(
        std::fs::symlink_metadata(p("link.safetensors"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    SavedModel::load(&p("target.safetensors")).expect("the model landed in the symlink's target");
    assert!(!stale.exists(), "the stale temporary file was left");
    assert!(
        !p("run").join("leftover.txt").exists(),
        "the old run's files were mixed into the new one"
    );
    assert!(p("run").join("config.json").is_file() && p("run").join("model.safetensors").is_file());
    let temps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("nnlab-tmp"))
        .map(|e| e.file_name())
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

#[test]
fn a_run_folder_a_crash_left_aside_is_put_back_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    // What a kill between moving the old folder aside and renaming the new one in leaves
    // (where the two cannot be exchanged in one step): no `run`, the old run aside, the
    // new one half written (pid 4194305 is above Linux's pid limit: no such process).
    let aside = p(".run.nnlab-tmp-4194305.old");
    std::fs::create_dir(&aside).unwrap();
    std::fs::write(aside.join("config.json"), "the old run").unwrap();
    let half = p(".run.nnlab-tmp-4194305");
    std::fs::create_dir(&half).unwrap();
    std::fs::write(half.join("config.json"), "half of a new run").unwrap();
    let run_dir = path_str(&p("run"));
    let o = run(
        &quick_train(&["--save-run", &run_dir])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &[],
    );
    assert_eq!(
        std::fs::read_to_string(p("run").join("config.json"))
            .ok()
            .as_deref(),
        Some("the old run"),
        "the old run was not put back\n{}",
        o.shown()
    );
    // Back in place, it is an earlier run like any other: not replaced without --force.
    assert_eq!(o.code, Some(1), "{}", o.shown());
    assert!(o.stderr.contains("--force"), "{}", o.shown());
    assert!(
        !aside.exists() && !half.exists(),
        "the crash's leftovers stayed"
    );
}

// ---------------------------------------------------------------- failures never silent

#[test]
fn runs_that_cannot_learn_and_unscoreable_inputs_fail_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| path_str(&p(name));
    let single = image_folder(dir.path(), "one-per-class", 1);
    write_page(&p("a.png"));
    std::fs::write(p("bad.png"), "not a PNG").unwrap();
    write_page(&p("c.png"));
    saved(&p("m.safetensors"), mlp(1024, 36), letters(36), |_| {});
    let cases = vec![
        case(
            "train --lr 1",
            &["train", "--lr", "1", "--epochs", "3"],
            &["stopped learning", "lower the learning rate"],
        ),
        case(
            "autoencoder --lr 1",
            &["autoencoder", "--lr", "1", "--epochs", "3"],
            &["stopped learning"],
        ),
        case(
            "--momentum -1",
            &["train", "--momentum", "-1"],
            &["momentum is -1", "below 1"],
        ),
        case(
            "--momentum 1",
            &["train", "--momentum", "1"],
            &["momentum is 1"],
        ),
        case(
            "--momentum NaN",
            &["train", "--momentum", "NaN"],
            &["momentum is NaN"],
        ),
        case(
            "--lr -1",
            &["train", "--lr", "-1"],
            &["lr (the learning rate) is -1", "positive"],
        ),
        case(
            "--lr 0",
            &["autoencoder", "--lr", "0"],
            &["lr (the learning rate) is 0"],
        ),
        case(
            "an empty validation split",
            &["train", "--data", &path_str(&single), "--epochs", "1"],
            &["one-per-class", "validation split", "empty"],
        ),
        case(
            "ocr a bad c",
            &["ocr", &s("a.png"), &s("bad.png"), &s("c.png")],
            &["bad.png", "1 of 3 photos could not be read"],
        ),
        case(
            "finetune flags it ignores",
            &[
                "finetune",
                "--from",
                &s("m.safetensors"),
                "--hidden",
                "5",
                "--epochs",
                "0",
            ],
            &["warning: --hidden ignored", "epochs is 0"],
        ),
    ];
    run_corpus("silent failures", &cases);
    // `ocr a bad c` still read a and c.
    let o = run(&["ocr", &s("a.png"), &s("bad.png"), &s("c.png")], &[]);
    for name in ["a.png", "c.png"] {
        assert!(
            o.stdout.contains(&format!("== {}", s(name))),
            "{name} was not read:\n{}",
            o.shown()
        );
    }
}
