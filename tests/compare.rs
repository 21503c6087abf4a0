//! Comparing runs: exported run folders read back (metrics and layer health), refused
//! with a clear message when broken, side by side in `nnlab compare` and in the Curves tab
//! ("Open run...", driven through egui_kittest).

mod common;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};
use nnlab::data::DataSource;
use nnlab::gui::dialog::{FileDialog, FileKind};
use nnlab::gui::session::Notice;
use nnlab::gui::{LabApp, Settings, Tab};
use nnlab::train::report::{read_run, write_run_folder};
use nnlab::train::{RunConfig, Trainer};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Trains `epochs` epochs of a small MLP with rate `lr` on the NIST36 fixture and exports
/// the run to `dir`.
fn exported_run(dir: &Path, lr: f64, epochs: usize) -> Trainer {
    let config = RunConfig {
        data: DataSource::Nist36(common::nist36_fixture()),
        hidden: 16,
        epochs,
        lr,
        ..RunConfig::default()
    };
    let data = config.load_data().unwrap();
    let mut t = Trainer::new(config, data).unwrap();
    while t.history.len() < epochs {
        t.step();
    }
    write_run_folder(dir, &mut t, false).unwrap();
    t
}

#[test]
fn an_exported_run_reads_back_with_its_metrics_and_layer_health() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let t = exported_run(&run_dir, 0.01, 2);
    let run = read_run(&run_dir).unwrap();
    assert_eq!(run.config, t.config);
    assert_eq!(run.history, t.history, "every epoch's metrics, exactly");
    let epochs: Vec<usize> = run.health.iter().map(|(e, _)| *e).collect();
    assert_eq!(epochs, [1, 2], "a health record per epoch");
    let read: Vec<_> = run.health.into_iter().map(|(_, h)| h).collect();
    assert_eq!(read, t.health, "the layers' statistics, exactly");
    assert_eq!(
        read[0].iter().map(|h| h.label.as_str()).collect::<Vec<_>>(),
        ["Dense(16)", "sigmoid", "Dense(36)"]
    );
}

/// The error message of reading `dir` as a run folder.
fn refusal(dir: &Path) -> String {
    format!(
        "{:#}",
        read_run(dir).expect_err("a broken run folder is refused")
    )
}

#[test]
fn a_broken_run_folder_is_refused_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    exported_run(&run_dir, 0.01, 1);
    let metrics = run_dir.join("metrics.csv");
    let good = std::fs::read_to_string(&metrics).unwrap();

    let missing = refusal(&dir.path().join("nowhere"));
    assert!(missing.contains("not a run folder"), "{missing}");

    for (text, expected) in [
        ("", "empty"),
        ("epoch,loss\n1,2\n", "not the header"),
        (&good.replace("0.", "x."), "line 2"),
        (&format!("{good}3,1,2\n"), "line 3: 3 values"),
        (&format!("{good}{good}"), "line 3"),
    ] {
        std::fs::write(&metrics, text).unwrap();
        let message = refusal(&run_dir);
        assert!(
            message.contains("metrics.csv") && message.contains(expected),
            "{text:?}: {message}"
        );
    }
    // Sizes are checked before anything is read: a huge file is refused at once.
    let huge = std::fs::File::create(&metrics).unwrap();
    huge.set_len(1 << 40).unwrap();
    let message = refusal(&run_dir);
    assert!(message.contains("more than the"), "{message}");
    std::fs::remove_file(&metrics).unwrap();
    let message = refusal(&run_dir);
    assert!(
        message.contains("not a run folder (it has no metrics.csv"),
        "{message}"
    );

    std::fs::write(&metrics, &good).unwrap();
    std::fs::write(run_dir.join("health.csv"), "epoch,layer\n").unwrap();
    let message = refusal(&run_dir);
    assert!(message.contains("health.csv"), "{message}");
    std::fs::remove_file(run_dir.join("health.csv")).unwrap();
    assert!(
        read_run(&run_dir).unwrap().health.is_empty(),
        "health.csv is optional"
    );
}

/// `nnlab compare DIRS... FLAGS...`
fn nnlab(dirs: &[&Path], flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .arg("compare")
        .args(dirs)
        .args(flags)
        .output()
        .expect("the nnlab binary runs")
}

#[test]
fn compare_prints_each_runs_outcome_and_only_the_settings_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (slow, fast) = (dir.path().join("slow"), dir.path().join("fast"));
    let slow_run = exported_run(&slow, 0.001, 2);
    exported_run(&fast, 0.1, 3);
    let png = dir.path().join("runs.png");
    let out = nnlab(&[&slow, &fast], &["--png", png.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(lines.len(), 3, "a title line and a line per run:\n{stdout}");
    assert_eq!(
        lines[0],
        [
            "run",
            "final valid",
            "best valid",
            "epochs run",
            "time",
            "epochs",
            "lr"
        ],
        "only the planned epochs and the rate differ, by name:\n{stdout}"
    );
    let final_acc = format!("{:.1}%", 100.0 * slow_run.history[1].valid_acc);
    assert_eq!(lines[1][0], slow.display().to_string());
    assert_eq!(lines[1][1], final_acc);
    assert_eq!((lines[1][3], lines[1][5], lines[1][6]), ("2", "2", "0.001"));
    assert_eq!((lines[2][3], lines[2][5], lines[2][6]), ("3", "3", "0.1"));

    let image = image::open(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (640, 480), "the loss over the accuracy");
    for colour in &nnlab::train::report::SERIES[..2] {
        assert!(
            image.pixels().filter(|p| p.0 == *colour).count() > 50,
            "the lines of each run in its colour {colour:?}"
        );
    }
}

#[test]
fn compare_refuses_a_missing_or_broken_run_folder_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    exported_run(&run, 0.01, 1);
    let out = nnlab(&[&run, &dir.path().join("nowhere")], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("nowhere") && stderr.contains("not a run folder"),
        "{stderr}"
    );
    std::fs::write(run.join("metrics.csv"), "garbage").unwrap();
    let out = nnlab(&[&run], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("metrics.csv"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Answers the folder dialog with the next of its folders; nothing else is asked.
struct Folders(VecDeque<PathBuf>);

impl FileDialog for Folders {
    fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
        self.0.pop_front()
    }
    fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
        None
    }
    fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
        None
    }
}

/// The lab in the Curves tab, whose folder dialog answers `folders` one after the other.
fn lab(folders: &[&Path]) -> Harness<'static, LabApp> {
    let settings = Settings {
        tab: Tab::Curves,
        ..Settings::default()
    };
    let dialog = Folders(folders.iter().map(|f| f.to_path_buf()).collect());
    let app = LabApp::new(settings, Box::new(dialog));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    h.step();
    h
}

fn open_run(h: &mut Harness<'_, LabApp>) {
    h.get_by_label("Open run...").click();
    h.run();
}

/// Whether a legend (of either plot) lists `name`.
fn legend_has(h: &Harness<'_, LabApp>, name: &str) -> bool {
    h.query_all_by_role_and_label(Role::CheckBox, name)
        .next()
        .is_some()
}

#[test]
fn two_opened_runs_are_two_curves_named_by_the_setting_that_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    exported_run(&a, 0.001, 1);
    exported_run(&b, 0.1, 1);
    let mut h = lab(&[&a, &b]);
    open_run(&mut h);
    assert!(legend_has(&h, "a"), "one run: named by its folder");
    open_run(&mut h);
    for name in ["lr 0.001", "lr 0.1"] {
        assert!(legend_has(&h, name), "{name} in the legends");
    }
    assert!(!legend_has(&h, "a"), "named by what differs now");
    assert!(
        h.query_by_label("lr").is_some(),
        "the differing setting's column"
    );
    assert!(
        h.query_all_by_label("0.1").next().is_some(),
        "and its value"
    );
    assert!(
        h.query_by_label("hidden").is_none(),
        "a setting both share is not listed"
    );

    // Hidden, then renamed.
    let show = h.get_all_by_role_and_label(Role::CheckBox, "show");
    show.into_iter().next().unwrap().click();
    h.run();
    assert!(!legend_has(&h, "lr 0.001"), "hidden runs are not drawn");
    assert!(legend_has(&h, "lr 0.1"));
    h.state_mut().tabs.curves.runs.opened[0].label.visible = true;
    h.run();
    let name_field = || By::new().role(Role::TextInput).value("lr 0.1");
    h.get(name_field()).focus();
    h.run();
    h.get(name_field()).type_text("fast");
    h.run();
    let name = h.state().tabs.curves.runs.opened[1].label.name.clone();
    assert!(name.contains("fast"), "the typed name: {name:?}");
    assert!(legend_has(&h, &name), "the edited name");
    assert!(!legend_has(&h, "lr 0.1"));
}

#[test]
fn an_opened_runs_layer_health_is_shown_and_a_broken_folder_is_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    exported_run(&run, 0.01, 2);
    let mut h = lab(&[&run, &dir.path().join("nowhere")]);
    open_run(&mut h);
    assert!(
        matches!(&h.state().session.notice, Some(Notice::Info(m)) if m.starts_with("opened")),
        "{:?}",
        h.state().session.notice
    );
    h.get_by_label("health").click();
    h.run();
    assert!(h.query_by_label_contains("Layer health of run").is_some());
    assert!(legend_has(&h, "1. Dense(16)"), "a line per weighted layer");
    assert!(!legend_has(&h, "run"), "in place of the curves");
    h.get_by_label("health").click();
    h.run();
    assert!(legend_has(&h, "run"), "the curves again");

    open_run(&mut h);
    match &h.state().session.notice {
        Some(Notice::Error(message)) => assert!(message.contains("nowhere"), "{message}"),
        other => panic!("a broken folder is an error notice, not {other:?}"),
    }
    assert_eq!(h.state().tabs.curves.runs.opened.len(), 1);
}

#[test]
fn the_current_run_is_one_of_the_compared_runs() {
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened");
    let exported = exported_run(&opened, 0.001, 1);
    let mut h = lab(&[&opened]);
    // The current run as the worker's events leave it: its settings and finished epochs.
    let session = &mut h.state_mut().session;
    session.config = Some(RunConfig {
        lr: 0.05,
        ..exported.config.clone()
    });
    session.history = exported.history.clone();
    h.run();
    assert!(
        !legend_has(&h, "current run"),
        "one run alone: the usual curves"
    );
    open_run(&mut h);
    assert!(legend_has(&h, "lr 0.05"), "the current run");
    assert!(legend_has(&h, "lr 0.001"), "the opened run");
    assert!(
        h.query_by_label("current").is_some(),
        "marked as the current run"
    );
}

#[test]
fn a_default_name_lists_the_first_two_differing_settings_numbers_with_their_names() {
    use nnlab::nn::Activation;
    use nnlab::train::compare::{default_name, differing_settings};
    let relu = RunConfig {
        activation: Activation::Relu,
        lr: 0.01,
        seed: 7,
        ..RunConfig::default()
    };
    let base = RunConfig::default();
    let differences = differing_settings(&[&relu, &base]);
    let settings: Vec<&str> = differences.iter().map(|d| d.setting.as_str()).collect();
    assert_eq!(settings, ["activation", "lr", "seed"]);
    assert_eq!(default_name(&differences, 0, "a"), "relu, lr 0.01");
    assert_eq!(default_name(&differences, 1, "b"), "sigmoid, lr 0.001");
    assert_eq!(
        default_name(&[], 1, "b"),
        "b",
        "nothing differs: the fallback"
    );
}
