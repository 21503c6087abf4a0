//! The lab window driven through egui_kittest: buttons reach the training worker and its
//! events reach the panels. Training runs on a real worker thread, so every wait polls
//! with a generous deadline instead of sleeping a fixed time.

mod common;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_plot::{PlotBounds, PlotMemory};
use nnlab::data::DataSource;
use nnlab::data::toy::ToyKind;
use nnlab::gui::dialog::{FileDialog, FileKind};
use nnlab::gui::session::{Notice, Phase};
use nnlab::gui::{LabApp, Settings, Tab, curves};
use nnlab::train::Model;
use nnlab::train::protocol::Ending;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Answers every dialog with a fixed path and never opens a window.
struct FixedDialog(Option<PathBuf>);

impl FileDialog for FixedDialog {
    fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
        self.0.clone()
    }
    fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
        self.0.clone()
    }
    fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
        self.0.clone()
    }
}

/// The lab on the NIST36 fixture with a small network.
fn lab(epochs: usize, lr: f64, dialog_answer: Option<PathBuf>) -> Harness<'static, LabApp> {
    let mut settings = Settings::default();
    settings.config.data = DataSource::Nist36(common::nist36_fixture());
    settings.config.hidden = 16;
    settings.config.epochs = epochs;
    settings.config.lr = lr;
    lab_with(settings, dialog_answer)
}

/// The lab with `settings` at 1280x800.
fn lab_with(settings: Settings, dialog_answer: Option<PathBuf>) -> Harness<'static, LabApp> {
    lab_asking(settings, Box::new(FixedDialog(dialog_answer)))
}

/// The lab with `settings` whose file buttons ask `dialog`.
fn lab_asking(settings: Settings, dialog: Box<dyn FileDialog>) -> Harness<'static, LabApp> {
    let app = LabApp::new(settings, dialog);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    h.step();
    h
}

/// Runs frames until `done` holds; fails after a minute (the machine may be busy).
fn wait_for(h: &mut Harness<'_, LabApp>, what: &str, done: impl Fn(&LabApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; phase {:?}, notice {:?}",
            h.state().session.phase,
            h.state().session.notice
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
}

fn position(app: &LabApp) -> f64 {
    app.session.progress.as_ref().map_or(0.0, |p| p.position)
}

fn click_at(h: &mut Harness<'_, LabApp>, pos: egui::Pos2) {
    h.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.step();
    h.step();
}

#[test]
fn train_button_starts_the_worker_and_the_curves_receive_points() {
    let csv = tempfile::tempdir().unwrap().keep().join("history.csv");
    let mut h = lab(3, 0.05, Some(csv.clone()));
    assert_eq!(h.state().session.phase, Phase::Idle);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let s = &mut h.state_mut().session;
    assert_eq!(s.history.len(), 3, "one row per epoch");
    assert_eq!(s.curves.train_loss.count(), 3);
    assert_eq!(s.curves.valid_acc.count(), 3);
    assert!(
        s.curves.batch_loss.count() >= 3,
        "batch losses are plotted too"
    );
    assert!(
        s.curves
            .train_loss
            .points()
            .iter()
            .all(|p| p[1].is_finite() && p[1] > 0.0)
    );
    assert!(
        s.validation.is_some() && s.weights.is_some(),
        "snapshots arrived"
    );
    // Exporting writes the same history as CSV.
    h.get_by_label("Export CSV...").click();
    h.step();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("epoch,train_loss,train_acc,valid_loss,valid_acc,lr,seconds\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn changing_the_learning_rate_while_training_reaches_the_worker() {
    let mut h = lab(100_000, 0.01, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "training to begin", |a| position(a) > 0.0);
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Learning rate")
        .set_value_accesskit(0.002);
    h.step();
    wait_for(&mut h, "the worker to report the new rate", |a| {
        a.session
            .curves
            .lr_changes
            .iter()
            .any(|&(_, lr)| lr == 0.002)
    });
    wait_for(&mut h, "progress at the new rate", |a| {
        a.session.progress.as_ref().is_some_and(|p| p.lr == 0.002)
    });
    let (at, _) = h.state().session.curves.lr_changes[0];
    assert!(at > 0.0, "the marker sits where training was, not at 0");
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |a| {
        a.session.phase == Phase::Finished(Ending::Stopped)
    });
}

/// Runs `frames` frames, letting the worker get on between them.
fn run_frames(h: &mut Harness<'_, LabApp>, frames: usize) {
    for _ in 0..frames {
        std::thread::sleep(Duration::from_millis(2));
        h.step();
    }
}

/// The bounds of the plot named `name` as last drawn, and the box around the points it was
/// fed (`series`).
fn plot_and_data_bounds(
    h: &mut Harness<'_, LabApp>,
    name: &str,
    series: impl Fn(&mut LabApp) -> Vec<Vec<[f64; 2]>>,
) -> (PlotBounds, PlotBounds) {
    let plot = PlotMemory::load(&h.ctx, curves::plot_id(name))
        .unwrap_or_else(|| panic!("the {name} plot was drawn"))
        .bounds()
        .to_owned();
    let data = series(h.state_mut());
    (plot, curves::data_bounds(data.iter().map(Vec::as_slice)))
}

/// Plot bounds around the data with the small margin egui_plot adds, nothing more.
fn assert_plot_fits_data(plot: PlotBounds, data: PlotBounds) {
    assert!(data.is_valid(), "the plot has data");
    let margin = 0.5 * data.height() + 1e-6;
    assert!(
        plot.min()[1] >= data.min()[1] - margin && plot.max()[1] <= data.max()[1] + margin,
        "plot y {:?}..{:?} against data y {:?}..{:?}",
        plot.min()[1],
        plot.max()[1],
        data.min()[1],
        data.max()[1]
    );
}

fn loss_series(app: &mut LabApp) -> Vec<Vec<[f64; 2]>> {
    let c = &mut app.session.curves;
    vec![
        c.batch_loss.points().to_vec(),
        c.train_loss.points().to_vec(),
        c.valid_loss.points().to_vec(),
    ]
}

#[test]
fn changing_the_rate_mid_run_leaves_the_loss_plot_within_the_datas_range() {
    let mut h = lab(100_000, 0.01, None);
    h.state_mut().settings.tab = Tab::Curves;
    h.get_by_label("Train").click();
    wait_for(&mut h, "an epoch", |a| position(a) > 1.2);
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Learning rate")
        .set_value_accesskit(0.002);
    h.step();
    wait_for(&mut h, "the rate marker", |a| {
        !a.session.curves.lr_changes.is_empty()
    });
    run_frames(&mut h, 120);
    let (plot, data) = plot_and_data_bounds(&mut h, "loss", loss_series);
    assert_plot_fits_data(plot, data);
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |a| {
        a.session.phase == Phase::Finished(Ending::Stopped)
    });
    run_frames(&mut h, 120);
    let (plot, data) = plot_and_data_bounds(&mut h, "loss", loss_series);
    assert_plot_fits_data(plot, data);
}

/// Whether `shape` is, or holds, one of egui_plot's filled min/max bands.
fn is_band(shape: &egui::Shape) -> bool {
    match shape {
        egui::Shape::Band(_) => true,
        egui::Shape::Vec(shapes) => shapes.iter().any(is_band),
        _ => false,
    }
}

#[test]
fn a_dense_batch_loss_is_drawn_as_a_line_not_as_grey_filled_bands() {
    let mut h = lab(1, 0.05, None);
    let batch_loss = &mut h.state_mut().session.curves.batch_loss;
    for i in 0..900 {
        // Noisy, several points per pixel column: what egui_plot folds into bands.
        batch_loss.push(i as f64 / 300.0, 1.0 + ((i * 7919) % 101) as f64 / 100.0);
    }
    run_frames(&mut h, 3);
    let bands = h
        .output()
        .shapes
        .iter()
        .filter(|s| is_band(&s.shape))
        .count();
    assert_eq!(bands, 0, "filled bands drawn");
}

#[test]
fn a_constant_rate_fills_the_rate_plot_instead_of_lying_flat_on_0_to_1() {
    let mut h = lab(100_000, 0.01, None);
    h.state_mut().settings.tab = Tab::Curves;
    h.get_by_label("Train").click();
    wait_for(&mut h, "an epoch", |a| position(a) > 1.2);
    run_frames(&mut h, 30);
    let (plot, data) = plot_and_data_bounds(&mut h, "rate", |a| {
        vec![a.session.curves.lr.points().to_vec()]
    });
    assert!(data.is_finite(), "the rate plot has points");
    assert!(
        plot.max()[1] <= 10.0 * data.max()[1],
        "a rate of {} is drawn on an axis up to {}",
        data.max()[1],
        plot.max()[1]
    );
    h.get_by_label("Stop").click();
}

#[test]
fn pause_stops_progress_and_step_and_resume_continue_it() {
    let mut h = lab(100_000, 0.01, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "training to begin", |a| position(a) > 0.0);
    h.get_by_label("Pause").click();
    wait_for(&mut h, "the pause", |a| a.session.phase == Phase::Paused);
    let paused_at = position(h.state());
    let quiet_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < quiet_until {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        position(h.state()),
        paused_at,
        "no batch trained while paused"
    );
    h.get_by_label("Step").click();
    wait_for(&mut h, "one step", |a| position(a) > paused_at);
    assert_eq!(
        h.state().session.phase,
        Phase::Paused,
        "a step keeps the run paused"
    );
    let stepped_at = position(h.state());
    h.get_by_label("Resume").click();
    wait_for(&mut h, "training to continue", |a| {
        position(a) > stepped_at + 1.0
    });
    h.get_by_label("Stop").click();
}

#[test]
fn a_diverging_learning_rate_pauses_with_a_message_and_reset_clears_it() {
    let mut h = lab(50, 10.0, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "divergence", |a| a.session.phase == Phase::Diverged);
    h.step();
    let message = h
        .get_by_label_contains("Training diverged")
        .value()
        .unwrap_or_default();
    assert!(message.contains("lower learning rate"), "{message}");
    h.get_by_label("Reset").click();
    h.step();
    assert_eq!(h.state().session.phase, Phase::Idle);
    assert!(h.state().session.notice.is_none());
    h.step();
    assert!(h.query_by_label_contains("Training diverged").is_none());
}

#[test]
fn after_divergence_a_lower_rate_resumes_from_the_rolled_back_weights() {
    let mut h = lab(50, 10.0, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "divergence", |a| a.session.phase == Phase::Diverged);
    let Some(Notice::Warning(message)) = h.state().session.notice.clone() else {
        panic!("a warning");
    };
    assert!(
        message.contains("went back to its weights before the first batch"),
        "{message}"
    );
    let diverged_at = position(h.state());
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Learning rate")
        .set_value_accesskit(0.01);
    h.step();
    h.get_by_label("Resume").click();
    wait_for(&mut h, "the run to resume", |a| {
        a.session.phase == Phase::Training
    });
    wait_for(&mut h, "training past the point it diverged at", |a| {
        position(a) > diverged_at + 0.5 || a.session.phase == Phase::Diverged
    });
    assert_eq!(
        h.state().session.phase,
        Phase::Training,
        "{:?}",
        h.state().session.notice
    );
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |a| {
        a.session.phase == Phase::Finished(Ending::Stopped)
    });
}

#[test]
fn a_bad_nist36_folder_shows_the_loaders_message() {
    let missing = PathBuf::from("/nonexistent/nist36");
    let mut h = lab(3, 0.01, Some(missing.clone()));
    h.get_by_label("Open folder...").click();
    h.step();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the error", |a| a.session.notice.is_some());
    let Some(Notice::Error(message)) = h.state().session.notice.clone() else {
        panic!("expected an error, got {:?}", h.state().session.notice)
    };
    assert!(
        message.contains("/nonexistent/nist36"),
        "the message names the folder: {message}"
    );
    assert_eq!(h.state().session.phase, Phase::Idle, "nothing is running");
    h.step();
    assert!(
        h.query_by_label_contains("/nonexistent/nist36").is_some(),
        "the message is in the window"
    );
}

#[test]
fn clicking_a_confusion_cell_opens_its_gallery_most_confident_first() {
    let mut h = lab(3, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.get_by_label("Confusion").click();
    h.step();
    h.step();
    let app = h.state();
    let v = app.session.validation.clone().unwrap();
    let m = v.confusion.clone().unwrap();
    // A mistake if there is one, else the fullest cell.
    let ((t, p), count) = m
        .indexed_iter()
        .filter(|&(_, &n)| n > 0)
        .max_by_key(|&((t, p), &n)| (t != p, n))
        .map(|(cell, &n)| (cell, n))
        .unwrap();
    let pos = app
        .tabs
        .confusion
        .cell_center(t, p)
        .expect("the matrix was drawn");
    assert!(app.tabs.confusion.gallery().is_none());
    click_at(&mut h, pos);
    assert_eq!(h.state().tabs.confusion.selected, Some((t, p)));
    let gallery = h
        .state()
        .tabs
        .confusion
        .gallery()
        .expect("the gallery opened");
    assert_eq!(gallery.images.len(), count.min(64));
    let confidences: Vec<f32> = gallery.images.iter().map(|g| g.1).collect();
    assert!(
        confidences.windows(2).all(|w| w[0] >= w[1]),
        "most confident first: {confidences:?}"
    );
    let data = h.state().session.data.clone().unwrap();
    for &(i, _, _) in &gallery.images {
        assert_eq!(
            (data.valid.labels[i], v.predicted[i]),
            (t, p),
            "image {i} belongs to the cell"
        );
    }
}

#[test]
fn the_confusion_gallery_shows_whole_rows_and_scrolls_to_the_rest() {
    let mut settings = Settings::default();
    settings.config.epochs = 1;
    let mut h = lab_with(settings, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.get_by_label("Confusion").click();
    run_frames(&mut h, 2);
    // A diagonal cell of the builtin set holds dozens of images: more rows than shown.
    let pos = h
        .state()
        .tabs
        .confusion
        .cell_center(0, 0)
        .expect("the matrix");
    click_at(&mut h, pos);
    run_frames(&mut h, 3);
    let shown = h
        .state()
        .tabs
        .confusion
        .gallery()
        .expect("a gallery")
        .images
        .len();
    assert!(shown > 30, "{shown} images");
    let matrix_right = pos.x + 20.0;
    let bar = h
        .query_all_by_role(egui::accesskit::Role::ScrollBar)
        .map(|b| b.rect())
        .find(|r| r.min.x > matrix_right)
        .expect("the gallery scrolls");
    let in_sight: Vec<egui::Rect> = h
        .query_all_by_role(egui::accesskit::Role::Image)
        .map(|n| n.rect())
        .filter(|r| r.min.x > matrix_right && r.max.y > bar.min.y && r.min.y < bar.max.y)
        .collect();
    assert!(in_sight.len() >= 16, "three rows in sight: {in_sight:?}");
    for image in in_sight {
        assert!(
            bar.y_range().contains(image.min.y) && bar.y_range().contains(image.max.y),
            "a row cut at the gallery's bottom {}: image at {image:?}",
            bar.max.y
        );
    }
}

#[test]
fn the_autoencoder_task_trains_and_its_tab_shows_reconstructions() {
    let mut h = lab(100_000, 0.01, None);
    h.get_by_label("autoencoder").click();
    h.step();
    let config = h.state().settings.config.clone();
    assert_eq!(
        (config.hidden, config.depth, config.batch, config.lr),
        (32, 3, 36, 3e-5),
        "the course's autoencoder defaults"
    );
    assert_eq!(
        config.data,
        DataSource::Nist36(common::nist36_fixture()),
        "the data stays"
    );
    assert_eq!(h.state().settings.tab, Tab::Autoencoder, "its tab opens");
    // A faster rate than the course's, so a few seconds of training change the pictures.
    h.state_mut().settings.config.lr = 0.01;
    h.get_by_label("Train").click();
    wait_for(&mut h, "the first epoch and reconstructions", |a| {
        a.session.curves.valid_psnr.count() >= 1 && a.tabs.autoencoder.rows_shown() > 0
    });
    let first = h.state().session.reconstructions.clone().unwrap();
    assert!(
        first.psnr.iter().all(|p| p.is_finite() && *p > 0.0),
        "{:?}",
        first.psnr
    );
    let rows = h.state().tabs.autoencoder.rows_shown();
    assert_eq!(rows, 5, "5 classes of the fixture have validation images");
    h.step();
    assert_eq!(
        h.query_all_by_label_contains("reconstructions of").count(),
        5,
        "one picture of originals and reconstructions per chosen class"
    );
    wait_for(&mut h, "newer reconstructions", |a| {
        a.session
            .reconstructions
            .as_ref()
            .is_some_and(|r| r.position > first.position)
    });
    let v = h.state().session.validation.clone().unwrap();
    let data = h.state().session.data.clone().unwrap();
    assert_eq!(
        v.psnr.len(),
        data.valid.len(),
        "a PSNR per validation image"
    );
    assert_eq!(v.latent.as_ref().unwrap().dim(), (data.valid.len(), 2));
    assert!(
        h.query_by_label_contains("mean valid PSNR").is_some(),
        "the tab states the mean PSNR"
    );
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |a| {
        a.session.phase == Phase::Finished(Ending::Stopped)
    });
}

#[test]
fn after_stop_the_autoencoder_plots_keep_their_epochs_in_view() {
    let mut h = lab(100_000, 0.01, None);
    h.get_by_label("autoencoder").click();
    h.step();
    h.state_mut().settings.config.lr = 0.01;
    h.get_by_label("Train").click();
    wait_for(&mut h, "two epochs", |a| position(a) > 2.2);
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |a| {
        a.session.phase == Phase::Finished(Ending::Stopped)
    });
    run_frames(&mut h, 30);
    let psnr = |a: &mut LabApp| vec![a.session.curves.valid_psnr.points().to_vec()];
    for (name, (plot, data)) in [
        (
            "ae-loss",
            plot_and_data_bounds(&mut h, "ae-loss", loss_series),
        ),
        ("ae-psnr", plot_and_data_bounds(&mut h, "ae-psnr", psnr)),
    ] {
        assert!(
            plot.min()[0] <= data.min()[0] && plot.max()[0] >= data.max()[0],
            "{name}: x {:?}..{:?} leaves out epochs {:?}..{:?}",
            plot.min()[0],
            plot.max()[0],
            data.min()[0],
            data.max()[0]
        );
        assert!(
            plot.width() < 1.5 * data.width() + 1.0,
            "{name}: x {:?}..{:?} for epochs {:?}..{:?}",
            plot.min()[0],
            plot.max()[0],
            data.min()[0],
            data.max()[0]
        );
        assert_plot_fits_data(plot, data);
    }
}

#[test]
fn the_cnn_model_trains_and_the_weights_tab_shows_its_kernels() {
    let mut h = lab(1, 0.01, None);
    assert!(h.query_by_label("Hidden units").is_some());
    h.get_by_label("CNN").click();
    h.step();
    let config = h.state().settings.config.clone();
    assert_eq!(
        (config.model, config.lr, config.augment),
        (Model::Cnn, 1e-3, true),
        "the CNN's defaults"
    );
    assert_eq!(
        config.data,
        DataSource::Nist36(common::nist36_fixture()),
        "the data stays"
    );
    assert!(
        h.query_by_label("Hidden units").is_none(),
        "the CNN's layers are fixed"
    );
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let s = &h.state().session;
    assert!(s.validation.is_some(), "curves and confusion get results");
    let kernels = s.weights.clone().expect("a weight snapshot");
    assert_eq!(kernels.kernel_channels, Some(1));
    assert_eq!(kernels.weights.dim(), (9, 8), "eight 3x3 kernels");
    let before = s.initial_weights.clone().unwrap();
    assert_ne!(before.weights, kernels.weights, "the kernels trained");
    h.get_by_label("Weights").click();
    h.step();
    h.step();
    let trained = format!("After epoch {}", config.epochs);
    assert!(h.query_by_label_contains(&trained).is_some(), "{trained}");
    assert!(
        h.query_by_label_contains("not a square image").is_none(),
        "the kernels are drawn"
    );
}

#[test]
fn fine_tuning_from_a_saved_model_replaces_its_head_and_keeps_frozen_layers() {
    let saved = tempfile::tempdir()
        .unwrap()
        .keep()
        .join("letters.safetensors");
    let mut h = lab(2, 0.05, Some(saved.clone()));
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.get_by_label("Save model...").click();
    wait_for(&mut h, "the model file", |_| saved.is_file());
    let trained = nnlab::nn::SavedModel::load(&saved).unwrap();
    h.get_by_label("Reset").click();
    h.step();
    // Only the letters, with the first layers kept as trained (the default: all but the head).
    h.state_mut().settings.config.classes = "A-Z".into();
    h.get_by_label("Fine-tune from model...").click();
    wait_for(&mut h, "the fine-tuning run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let s = &h.state().session;
    let data = s.data.clone().unwrap();
    assert_eq!(data.train.classes.len(), 26, "the selected classes");
    assert!(
        s.network.contains("fine-tuned from letters.safetensors"),
        "{}",
        s.network
    );
    let first = trained.net.params()[0].2.value.clone();
    let (start, end) = (
        s.initial_weights.clone().unwrap(),
        s.weights.clone().unwrap(),
    );
    assert_eq!(
        start.weights.view().into_dyn(),
        first.view(),
        "starts from the saved weights"
    );
    assert_eq!(start.weights, end.weights, "the frozen first layer stayed");
    assert!(
        s.history.last().unwrap().train_acc > 0.0,
        "the new head trained"
    );
}

#[test]
fn the_ocr_tab_reads_with_the_model_trained_in_this_session() {
    let mut h = lab(1, 0.05, None);
    h.get_by_label("OCR").click();
    h.step();
    assert!(
        !h.state().tabs.ocr.uses_trained(),
        "the shipped default at first"
    );
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.step();
    assert!(
        h.state().tabs.ocr.uses_trained(),
        "the trained classifier reads"
    );
    h.get_by_label("shipped:").click();
    h.step();
    assert!(
        !h.state().tabs.ocr.uses_trained(),
        "the user can pick the default"
    );
}

#[test]
fn the_ocr_tab_keeps_the_default_when_the_trained_model_knows_only_digits() {
    let mut h = lab(1, 0.05, None);
    h.state_mut().settings.config.classes = "0-9".into();
    h.get_by_label("OCR").click();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    run_frames(&mut h, 2);
    assert!(
        !h.state().tabs.ocr.uses_trained(),
        "a digits-only model would read letters as digits"
    );
    assert!(h.query_by_label_contains("26 fewer classes").is_some());
    h.get_by_label("trained in this session").click();
    h.step();
    assert!(
        h.state().tabs.ocr.uses_trained(),
        "the user may still pick it"
    );
}

/// Presses the primary button at the first point, moves through the rest, releases.
fn drag_through(h: &mut Harness<'_, LabApp>, points: &[egui::Pos2]) {
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(egui::Event::PointerMoved(points[0]));
    h.event(button(points[0], true));
    h.step();
    for &p in &points[1..] {
        h.event(egui::Event::PointerMoved(p));
        h.step();
    }
    h.event(button(points[points.len() - 1], false));
    h.step();
}

#[test]
fn drawing_a_bar_shows_the_top_five_and_clear_empties_them() {
    let mut h = lab(3, 0.05, None);
    h.get_by_label("Draw").click();
    h.step();
    let canvas = h
        .state()
        .tabs
        .draw
        .canvas_rect
        .expect("the canvas was drawn");
    assert!(
        h.state().tabs.draw.prediction.is_none(),
        "nothing drawn yet"
    );
    let bar: Vec<egui::Pos2> = (0..=10)
        .map(|i| canvas.center_top() + egui::vec2(0.0, 40.0 + 20.0 * i as f32))
        .collect();
    drag_through(&mut h, &bar);
    h.get_by_label("saliency").click();
    h.step();
    let p = h
        .state()
        .tabs
        .draw
        .prediction
        .as_ref()
        .expect("a prediction");
    assert_eq!(p.top.len(), 5);
    assert!(
        p.top
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability),
        "most probable first: {:?}",
        p.top
    );
    assert!(
        ["I", "1", "L", "J", "T"].contains(&p.top[0].class.as_str()),
        "a vertical bar reads as a bar-like character: {:?}",
        p.top
    );
    // The normalised input holds a vertical stroke: ink in the middle columns only.
    let ink_column = |x: usize| (0..32).map(|y| p.input[y * 32 + x]).sum::<f32>();
    assert!(ink_column(16) + ink_column(15) > 10.0 && ink_column(3) == 0.0);
    assert!(
        p.saliency.iter().any(|&v| v == 1.0),
        "saliency is scaled to 1"
    );
    let labels: Vec<String> = p
        .top
        .iter()
        .enumerate()
        .map(|(rank, g)| format!("{}. {}", rank + 1, g.class))
        .collect();
    for label in &labels {
        h.get_by_label(label);
    }
    assert!(h.query_by_label_contains("the shipped default").is_some());
    h.get_by_label("Clear").click();
    h.step();
    assert!(h.state().tabs.draw.prediction.is_none());
    assert!(h.state().tabs.draw.canvas.iter().all(|&v| v == 0.0));
    for label in &labels {
        assert!(h.query_by_label(label).is_none(), "{label} is gone");
    }
    // Once the user trained a letter classifier, the tab reads with it.
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    drag_through(&mut h, &bar);
    assert!(
        h.query_by_label_contains("the network of this session")
            .is_some()
    );
    assert!(h.state().tabs.draw.prediction.is_some());
}

#[test]
fn the_gradient_check_tab_passes_the_side_panels_mlp() {
    let mut h = lab(3, 0.05, None);
    h.get_by_label("Gradient check").click();
    h.step();
    h.get_by_label("Check gradients").click();
    wait_for(&mut h, "the check", |a| a.tabs.gradcheck.result.is_some());
    h.step();
    let Some(Ok(checked)) = &h.state().tabs.gradcheck.result else {
        panic!("the check failed to run")
    };
    assert_eq!(checked.network, "1024 -> Dense(16) -> sigmoid -> Dense(36)");
    assert_eq!(
        checked.report.tensors.len(),
        4,
        "two weights and two biases"
    );
    assert_eq!(h.query_all_by_label("pass").count(), 4, "a row per tensor");
    assert!(h.query_by_label_contains("Every tensor passes").is_some());
}

fn toy_lab(kind: &str) -> Harness<'static, LabApp> {
    let mut h = lab(3, 0.05, None);
    h.get_by_label("Toy").click();
    h.step();
    h.get_by_label(kind).click();
    // The side panel loses its NIST36 line: let the layout settle before clicking in it.
    h.step();
    h.step();
    h
}

#[test]
fn the_toy_tab_learns_xor_and_draws_its_decision_regions() {
    let mut h = toy_lab("xor");
    let config = h.state().settings.config.clone();
    assert_eq!(config.data, DataSource::Toy(ToyKind::Xor));
    assert_eq!((config.hidden, config.depth), (16, 2), "the toy settings");
    assert!(!h.state().tabs.toy.has_heatmap());
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    wait_for(&mut h, "the heatmap", |a| a.tabs.toy.has_heatmap());
    let last = h.state().session.history.last().unwrap().clone();
    assert!(last.train_acc > 0.9, "xor is learnt: {last:?}");
    // The regions drawn are xor's: class 0 where the signs agree (data are standardised).
    for (x, y, class) in [
        (1.0, 1.0, 0),
        (-1.0, -1.0, 0),
        (-1.0, 1.0, 1),
        (1.0, -1.0, 1),
    ] {
        let shown = h.state().tabs.toy.region_class(egui::pos2(x, y));
        assert_eq!(shown, Some(class), "the region at ({x}, {y})");
    }
    h.step();
    assert!(h.query_by_label("the hidden units differ").is_some());
}

/// Types `value` into the side panel's number field named `label`.
fn type_number(h: &mut Harness<'_, LabApp>, label: &str, value: f64) {
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, label)
        .set_value_accesskit(value);
    h.step();
    h.step();
}

#[test]
fn the_toy_preset_loads_once_and_each_data_kind_keeps_its_own_settings() {
    let mut h = lab_with(Settings::default(), Some(common::nist36_fixture()));
    type_number(&mut h, "Hidden units", 100.0);
    type_number(&mut h, "Epochs", 7.0);
    h.get_by_label("Toy").click();
    h.step();
    h.get_by_label("spirals").click();
    run_frames(&mut h, 2);
    let toy = h.state().settings.config.clone();
    assert_eq!(toy.data, DataSource::Toy(ToyKind::Spirals));
    assert_eq!(
        (toy.hidden, toy.depth, toy.epochs),
        (16, 2, 300),
        "the toy preset"
    );
    type_number(&mut h, "Hidden units", 5.0);
    h.get_by_label("builtin").click();
    run_frames(&mut h, 2);
    let builtin = h.state().settings.config.clone();
    assert_eq!(builtin.data, DataSource::Builtin);
    assert_eq!(
        (builtin.hidden, builtin.epochs),
        (100, 7),
        "the builtin settings the user typed are back"
    );
    h.get_by_label("Open folder...").click();
    run_frames(&mut h, 2);
    let nist = h.state().settings.config.clone();
    assert!(
        matches!(nist.data, DataSource::Nist36(_)),
        "{:?}",
        nist.data
    );
    assert_eq!(
        nist.hidden, 100,
        "a first folder starts from the image settings"
    );
    type_number(&mut h, "Hidden units", 40.0);
    h.get_by_label("builtin").click();
    run_frames(&mut h, 2);
    assert_eq!(
        h.state().settings.config.hidden,
        100,
        "builtin kept its own"
    );
    h.get_by_label("Toy").click();
    h.step();
    h.get_by_label("spirals").click();
    run_frames(&mut h, 2);
    let again = h.state().settings.config.clone();
    assert_eq!(
        (again.hidden, again.epochs),
        (5, 300),
        "the spirals settings typed before, not the preset again"
    );
}

#[test]
fn switching_the_task_back_brings_back_the_typed_settings() {
    let mut h = lab_with(Settings::default(), None);
    type_number(&mut h, "Hidden units", 100.0);
    h.get_by_label("autoencoder").click();
    run_frames(&mut h, 2);
    let defaults = nnlab::train::RunConfig::for_task(nnlab::train::Task::Autoencode);
    assert_eq!(
        h.state().settings.config.hidden,
        defaults.hidden,
        "its defaults"
    );
    type_number(&mut h, "Hidden units", 12.0);
    h.get_by_label("classifier").click();
    run_frames(&mut h, 2);
    assert_eq!(
        h.state().settings.config.hidden,
        100,
        "not the defaults again"
    );
    h.get_by_label("autoencoder").click();
    run_frames(&mut h, 2);
    assert_eq!(h.state().settings.config.hidden, 12);
}

#[test]
fn the_toy_tab_shows_its_own_set_not_the_last_runs() {
    // After a letters run the Toy tab shows neither its accuracy nor its data.
    let mut h = lab(1, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the letters run", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.get_by_label("Toy").click();
    run_frames(&mut h, 2);
    assert!(h.query_by_label_contains("train accuracy").is_none());
    assert!(
        h.state().tabs.toy.shown_points().is_none(),
        "no toy set chosen"
    );
    h.get_by_label("xor").click();
    run_frames(&mut h, 2);
    assert!(
        h.query_by_label_contains("train accuracy").is_none(),
        "xor has no run yet"
    );
    assert_shows(&h, ToyKind::Xor);
    h.state_mut().settings.config.epochs = 1;
    h.get_by_label("Train").click();
    // The letters run finished too: wait for the xor run's own end (under load the worker
    // may not have started it when the first frames are drawn).
    wait_for(&mut h, "the xor run", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
            && a.session
                .config
                .as_ref()
                .is_some_and(|c| c.data == DataSource::Toy(ToyKind::Xor))
    });
    run_frames(&mut h, 2);
    assert!(
        h.query_by_label_contains("train accuracy").is_some(),
        "xor's own run"
    );
    // A new set shows its points at once, before Train, without the xor run's regions.
    h.get_by_label("circles").click();
    run_frames(&mut h, 2);
    assert_shows(&h, ToyKind::Circles);
    assert!(!h.state().tabs.toy.has_heatmap());
    assert!(h.query_by_label_contains("train accuracy").is_none());
}

fn assert_shows(h: &Harness<'_, LabApp>, kind: ToyKind) {
    let shown = h.state().tabs.toy.shown_points().expect("points drawn");
    assert_eq!(
        shown.train.images,
        kind.splits().train.images,
        "{kind:?}'s points"
    );
}

/// Scrolls the side panel until the widget `label` is in sight, as a user would (the
/// panel's lower settings are below the fold at 800 px), and clicks it.
fn click_below_the_fold(h: &mut Harness<'_, LabApp>, label: &str) {
    h.get_by_label(label).scroll_to_me();
    for _ in 0..10 {
        h.step(); // the scroll is animated
    }
    h.get_by_label(label).click();
    h.step();
}

#[test]
fn ticking_augment_and_touching_letters_reaches_the_workers_run_and_the_toy_sets_grey_them_out() {
    let mut h = lab(1, 0.05, None);
    let ticked = |h: &Harness<'_, LabApp>| {
        let c = &h.state().settings.config;
        (c.augment, c.touching)
    };
    assert_eq!(ticked(&h), (false, false));
    click_below_the_fold(&mut h, "Augment training images");
    click_below_the_fold(&mut h, "Train on touching letters");
    assert_eq!(ticked(&h), (true, true), "both boxes are ticked");
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let run = h.state().session.config.clone().expect("the run's config");
    assert!(run.augment, "the worker trains with augmentation");
    assert!(run.touching, "the worker trains on touching letters");
    h.get_by_label("Reset").click();
    h.step();
    h.get_by_label("Toy").click();
    h.step();
    h.get_by_label("xor").click();
    h.step();
    h.step();
    for (label, why) in [
        ("Augment training images", "points are not images"),
        ("Train on touching letters", "points are not characters"),
    ] {
        assert!(
            h.get_by_label(label).accesskit_node().is_disabled(),
            "{why}"
        );
    }
}

#[test]
fn with_zero_init_the_toy_networks_hidden_units_stay_identical() {
    let mut h = toy_lab("circles");
    h.get_by_label("zero").click();
    h.state_mut().settings.config.epochs = 30;
    h.get_by_label("Train").click();
    // It cannot learn, and the window says so before the last epoch.
    wait_for(
        &mut h,
        "the stall warning",
        |a| matches!(&a.session.notice, Some(Notice::Warning(m)) if m.contains("zero initialisation")),
    );
    h.step();
    assert!(
        h.query_by_label("all 16 hidden units of the first layer are identical")
            .is_some()
    );
    let last = h.state().session.history.last().unwrap().clone();
    assert!(
        last.train_acc < 0.7,
        "a symmetric net cannot learn the ring: {last:?}"
    );
}

#[test]
fn the_epoch_slider_replays_an_earlier_epochs_weights_and_confusion() {
    let mut h = lab(3, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let epochs: Vec<usize> = h
        .state()
        .session
        .epochs
        .records()
        .map(|r| r.weights.epoch)
        .collect();
    assert_eq!(epochs, vec![1, 2, 3], "a record per epoch");
    h.get_by_label("Weights").click();
    h.step();
    assert!(
        h.query_by_label("After epoch 3").is_some(),
        "live: the final weights"
    );
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Replay epoch")
        .set_value_accesskit(1.0);
    h.step();
    h.step();
    assert!(
        h.query_by_label("After epoch 1").is_some(),
        "the tiles show epoch 1"
    );
    let app = h.state();
    let replayed = app.session.epochs.replayed().expect("replaying");
    assert_eq!(replayed.weights.epoch, 1);
    let last = app.session.weights.as_ref().unwrap();
    assert_eq!(last.epoch, 3);
    assert_ne!(
        replayed.weights.weights, last.weights,
        "epoch 1's weights differ from the final ones"
    );
    assert!(
        replayed
            .histograms
            .iter()
            .any(|p| p.name == "layer 0 weight" && p.gradients.counts.iter().sum::<usize>() > 0),
        "histograms of the first layer's weights and gradients"
    );
    assert!(
        h.query_by_label_contains("values and last-batch gradients")
            .is_some()
    );
    h.get_by_label("Confusion").click();
    h.step();
    h.step();
    assert!(
        h.query_by_label_contains("Validation split after epoch 1:")
            .is_some(),
        "the confusion tab replays the same epoch"
    );
}

#[test]
fn export_run_writes_a_report_folder_that_reproduces_the_config() {
    let dir = tempfile::tempdir().unwrap().keep().join("report");
    let mut h = lab(2, 0.05, Some(dir.clone()));
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.get_by_label("Export run...").click();
    wait_for(&mut h, "the export", |a| a.session.notice.is_some());
    assert_eq!(
        h.state().session.notice,
        Some(Notice::Info(format!("saved {}", dir.display())))
    );
    for file in [
        "config.json",
        "model.safetensors",
        "metrics.csv",
        "curves.png",
        "weights.png",
        "confusion.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let config: nnlab::train::RunConfig =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config, h.state().settings.config, "the run's settings");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
}

/// Answers each dialog with the next of its paths.
struct AnswerInTurn(std::collections::VecDeque<PathBuf>);

impl FileDialog for AnswerInTurn {
    fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
        self.0.pop_front()
    }
    fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
        self.0.pop_front()
    }
    fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
        self.0.pop_front()
    }
}

#[test]
fn export_run_over_a_folder_with_files_asks_before_replacing_it() {
    let root = tempfile::tempdir().unwrap();
    let (full, other) = (root.path().join("full"), root.path().join("other"));
    std::fs::create_dir(&full).unwrap();
    let old = full.join("old.txt");
    std::fs::write(&old, "keep me").unwrap();
    let answers = [&full, &full, &other, &full].map(|p| p.to_path_buf());
    let mut settings = Settings::default();
    settings.config.data = DataSource::Nist36(common::nist36_fixture());
    settings.config.epochs = 1;
    let mut h = lab_asking(settings, Box::new(AnswerInTurn(answers.into())));
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let question = "The folder is not empty";
    h.get_by_label("Export run...").click();
    run_frames(&mut h, 4);
    assert!(h.query_by_label(question).is_some(), "it asks");
    h.get_by_label("Cancel").click();
    run_frames(&mut h, 5);
    assert!(h.query_by_label(question).is_none(), "Cancel closes it");
    assert!(
        old.is_file() && !full.join("config.json").exists(),
        "nothing written"
    );
    assert_eq!(h.state().session.notice, None);

    h.get_by_label("Export run...").click();
    run_frames(&mut h, 4);
    h.get_by_label("Choose another folder...").click();
    wait_for(&mut h, "the export to the other folder", |a| {
        a.session.notice.is_some()
    });
    assert_eq!(
        h.state().session.notice,
        Some(Notice::Info(format!("saved {}", other.display())))
    );
    assert!(other.join("config.json").is_file() && old.is_file());

    h.get_by_label("Export run...").click();
    run_frames(&mut h, 4);
    h.get_by_label("Replace it").click();
    wait_for(&mut h, "the replacing export", |a| {
        a.session.notice == Some(Notice::Info(format!("saved {}", full.display())))
    });
    assert!(
        full.join("config.json").is_file(),
        "the run is written there"
    );
    assert!(
        !old.exists(),
        "what was in the folder is gone, not mixed in"
    );
}

/// Opens the Sweep tab, lists `rates` and runs the sweep to its end.
fn run_sweep(h: &mut Harness<'_, LabApp>, rates: &str) {
    h.get_by_label("Sweep").click();
    h.step();
    h.state_mut().tabs.sweep.rates = rates.into();
    h.step();
    h.get_by_label("Run sweep").click();
    h.step();
    wait_for(h, "the sweep to end", |a| !a.tabs.sweep.is_running());
    h.step();
}

#[test]
fn a_sweep_leaves_the_trained_run_alone_and_a_rate_can_be_adopted() {
    let mut h = lab(2, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let model = h.state().session.model.clone().unwrap();
    let history = h.state().session.history.clone();
    run_sweep(&mut h, "0.5x, 1000x");
    wait_for(&mut h, "the user's run back", |a| {
        a.session
            .model
            .as_ref()
            .is_some_and(|m| std::sync::Arc::ptr_eq(m, &model))
    });
    let s = &h.state().session;
    assert_eq!(s.history, history, "the run's curves stay");
    assert_eq!(s.phase, Phase::Finished(Ending::Completed));
    assert_eq!(s.config.as_ref().unwrap().lr, 0.05);
    assert_eq!(h.state().tabs.sweep.members.len(), 2);
    h.query_all_by_label("use this rate's network")
        .next()
        .expect("a button per rate")
        .click();
    wait_for(&mut h, "the adopted rate's run", |a| {
        a.session.config.as_ref().is_some_and(|c| c.lr == 0.025)
            && a.session.phase == Phase::Finished(Ending::Completed)
    });
    let s = &h.state().session;
    assert_eq!(
        s.history,
        h.state().tabs.sweep.members[0].history,
        "its curves are the member's"
    );
    assert!(s.model.is_some(), "Draw and OCR read with it");
}

#[test]
fn a_two_rate_sweep_overlays_two_runs_from_the_same_start_and_tabulates_them() {
    let mut h = lab(3, 0.05, None);
    // A plain run at the current rate, to compare with the sweep's 1x rate.
    h.get_by_label("Train").click();
    wait_for(&mut h, "the plain run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let plain = h.state().session.history.clone();
    run_sweep(&mut h, "1x, 0.2x");
    let members = h.state().tabs.sweep.members.clone();
    let rates: Vec<f64> = members.iter().map(|m| m.lr).collect();
    assert_eq!(rates, [0.05, 0.05 * 0.2]);
    for m in &members {
        assert_eq!(m.result(), "completed");
        assert_eq!(m.history.len(), 3, "a curve of 3 epochs per rate");
    }
    let losses = |h: &[nnlab::train::EpochStats]| -> Vec<(f64, f64)> {
        h.iter().map(|s| (s.train_loss, s.valid_acc)).collect()
    };
    assert_eq!(
        losses(&members[0].history),
        losses(&plain),
        "the 1x rate retrains the plain run exactly: same initial weights and batches"
    );
    assert_ne!(
        losses(&members[1].history),
        losses(&plain),
        "the rate matters"
    );
    for m in &members {
        let label = format!("rate {}", nnlab::gui::sweep::format_rate(m.lr));
        assert!(
            h.query_by_label(&label).is_some(),
            "a table row for {label}"
        );
    }
    assert_eq!(
        h.query_all_by_label("completed").count(),
        2,
        "two table rows"
    );
    assert_eq!(
        h.state().settings.config.lr,
        0.05,
        "the side panel keeps the base rate"
    );
}

#[test]
fn a_diverging_rate_in_a_sweep_is_marked_and_the_next_rate_still_trains() {
    let mut h = lab(2, 0.05, None);
    run_sweep(&mut h, "200x, 1x");
    let members = h.state().tabs.sweep.members.clone();
    assert_eq!(members.len(), 2);
    assert!(
        members[0].result().starts_with("diverged at epoch"),
        "{}",
        members[0].result()
    );
    assert_eq!(members[1].result(), "completed");
    assert_eq!(members[1].history.len(), 2);
    assert!(h.query_by_label_contains("diverged at epoch").is_some());
    assert_eq!(
        h.state().session.phase,
        Phase::Idle,
        "no run before the sweep: none after it (its members stay in the Sweep tab)"
    );
    assert!(
        h.state().session.notice.is_none(),
        "a member's divergence is its row's, not the run's banner"
    );
}

/// Clicks `button`, then fills the in-window chooser's path field with `path` and presses
/// `confirm` (the native dialog of these tests answers at once, as rfd does with no portal).
fn choose_in_window(
    h: &mut Harness<'_, LabApp>,
    button: &str,
    path: &std::path::Path,
    confirm: &str,
) {
    h.get_by_label(button).click();
    run_frames(h, 4);
    let field = h.get_by_label("Path:");
    field.focus();
    field.set_text_value_accesskit(&path.display().to_string());
    run_frames(h, 2);
    h.get_by_label(confirm).click();
    run_frames(h, 4);
}

#[test]
fn with_no_native_dialog_open_data_folder_opens_the_in_window_chooser_and_uses_its_folder() {
    let mut h = lab(1, 0.05, None);
    h.state_mut().settings.config.data = DataSource::Builtin;
    run_frames(&mut h, 2);
    let fixture = common::nist36_fixture();
    choose_in_window(&mut h, "Open folder...", &fixture, "Choose this folder");
    assert_eq!(h.state().settings.config.data, DataSource::Nist36(fixture));
    assert!(
        h.query_by_label("Choose this folder").is_none(),
        "the chooser closed"
    );
}

#[test]
fn with_no_native_dialog_save_model_saves_where_the_in_window_chooser_says() {
    let mut h = lab(1, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let dir = tempfile::tempdir().unwrap();
    let typed = dir.path().join("typed"); // the chooser adds the extension
    choose_in_window(&mut h, "Save model...", &typed, "Save");
    let saved = dir.path().join("typed.safetensors");
    wait_for(&mut h, "the model to be saved", |_| saved.is_file());
    assert!(
        nnlab::nn::SavedModel::load(&saved).is_ok(),
        "a model that loads"
    );
}

#[test]
fn every_file_button_opens_the_in_window_chooser_when_the_native_dialog_cannot() {
    let mut h = lab(1, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let buttons = [
        (Tab::Curves, "Open folder..."),
        (Tab::Curves, "Save model..."),
        (Tab::Curves, "Load model..."),
        (Tab::Curves, "Fine-tune from model..."),
        (Tab::Curves, "Export run..."),
        (Tab::Curves, "Export CSV..."),
        (Tab::Curves, "Save plot PNG..."),
        (Tab::Ocr, "Open photo…"),
    ];
    for (tab, button) in buttons {
        h.state_mut().settings.tab = tab;
        run_frames(&mut h, 2);
        h.get_by_label(button).click();
        run_frames(&mut h, 4);
        assert!(
            h.query_by_label("Path:").is_some(),
            "{button} opened the in-window chooser"
        );
        h.get_by_label("Cancel").click();
        run_frames(&mut h, 3);
        assert!(h.query_by_label("Path:").is_none(), "Cancel closed it");
    }
}

#[test]
fn a_run_that_cannot_start_leaves_the_last_one_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("kept.safetensors");
    let mut h = lab(1, 0.05, Some(saved.clone()));
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    h.state_mut().settings.config.classes = "foo".into();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the error", |a| {
        matches!(a.session.notice, Some(Notice::Error(_)))
    });
    let s = &h.state().session;
    assert_eq!(s.phase, Phase::Finished(Ending::Completed));
    assert_eq!(s.history.len(), 1, "the curves stay");
    assert!(s.has_network() && s.model.is_some(), "the model stays");
    h.get_by_label("Save model...").click();
    wait_for(&mut h, "the kept network to be saved", |_| saved.is_file());
}

/// Where the widget labelled `label` was drawn.
fn rect_of_label(h: &Harness<'_, LabApp>, label: &str) -> egui::Rect {
    h.get_by_label(label).rect()
}

/// A named change of the settings.
type SettingsChange = (&'static str, fn(&mut Settings));

#[test]
fn the_run_buttons_stay_in_place_whatever_the_settings_and_the_phase() {
    use nnlab::nn::OptimizerKind;
    use nnlab::train::schedule::Schedule;
    let mut h = lab(100_000, 0.01, None);
    let train = rect_of_label(&h, "Train");
    let pause = rect_of_label(&h, "Pause");
    let changes: [SettingsChange; 3] = [
        ("Adam's rows", |s| s.config.optimizer = OptimizerKind::Adam),
        ("a step schedule's rows", |s| {
            s.config.schedule = Schedule::Step {
                every: 5,
                gamma: 0.5,
            }
        }),
        ("the CNN's text", |s| s.config.model = Model::Cnn),
    ];
    for (what, change) in changes {
        change(&mut h.state_mut().settings);
        run_frames(&mut h, 2);
        assert_eq!(rect_of_label(&h, "Train"), train, "Train moved with {what}");
    }
    h.get_by_label("Train").click();
    wait_for(&mut h, "training", |a| position(a) > 0.0);
    run_frames(&mut h, 2);
    assert_eq!(
        rect_of_label(&h, "Train"),
        train,
        "Train moved when training"
    );
    h.get_by_label("Pause").click();
    wait_for(&mut h, "the pause", |a| a.session.phase == Phase::Paused);
    run_frames(&mut h, 2);
    assert_eq!(rect_of_label(&h, "Train"), train, "Train moved when paused");
    assert_eq!(
        rect_of_label(&h, "Resume"),
        pause,
        "Resume is where Pause was"
    );
    h.get_by_label("Stop").click();
}

#[test]
fn a_hundred_points_along_the_rate_slider_are_about_a_tenfold_rate() {
    let mut h = lab(1, 1e-3, None);
    let slider = h
        .get_by_role_and_label(egui::accesskit::Role::Slider, "Learning rate")
        .rect();
    assert!(slider.width() > 200.0, "across the panel: {slider:?}");
    let start = slider.center();
    let path: Vec<egui::Pos2> = (0..=10)
        .map(|i| start + egui::vec2(10.0 * i as f32, 0.0))
        .collect();
    drag_through(&mut h, &path);
    let decades = (h.state().settings.config.lr / 1e-3).log10();
    assert!(
        (0.8..1.25).contains(&decades),
        "100 points moved the rate {decades} decades"
    );
    // The next drag starts from the new rate and goes on.
    let back: Vec<egui::Pos2> = path.iter().map(|&p| start - (p - start)).collect();
    drag_through(&mut h, &back);
    let lr = h.state().settings.config.lr;
    assert!((lr / 1e-3).log10().abs() < 0.2, "back near 1e-3: {lr}");
}

/// A widget as accessibility sees it: where, what and its name.
struct Placed {
    rect: egui::Rect,
    role: egui::accesskit::Role,
    label: String,
}

impl std::fmt::Display for Placed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} '{}' at {:?}", self.role, self.label, self.rect)
    }
}

/// Every drawn widget of the window.
fn placed_widgets(h: &Harness<'_, LabApp>) -> Vec<Placed> {
    h.root()
        .query_all(egui_kittest::kittest::by().predicate(|_| true))
        .filter(|node| node.accesskit_node().bounding_box().is_some())
        .map(|node| Placed {
            rect: node.rect(),
            role: node.accesskit_node().role(),
            label: node.accesskit_node().label().unwrap_or_default(),
        })
        .filter(|p| p.rect.is_positive())
        .collect()
}

/// The visible part of the scroll area `w` lies in, if any: the y range of the nearest
/// vertical scroll bar at its right. Accessibility rectangles are not clipped, so this is
/// how a widget scrolled out of sight is told from one cut off by the layout.
fn scroll_view_of(w: &Placed, bars: &[&Placed]) -> Option<egui::Rangef> {
    bars.iter()
        .filter(|b| b.rect.height() > b.rect.width() && b.rect.min.x >= w.rect.min.x - 1.0)
        .min_by(|a, b| a.rect.min.x.total_cmp(&b.rect.min.x))
        .map(|b| b.rect.y_range())
}

/// What is wrong with the layout at `size`: widgets beside, above or below the window
/// (below only outside a scroll area, which scrolls them into sight), and widgets that
/// overlap in sight (a widget inside another, like a button's text, is not an overlap).
fn layout_faults(h: &Harness<'_, LabApp>, size: egui::Vec2) -> Vec<String> {
    use egui::accesskit::Role;
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size).expand(0.5);
    let widgets = placed_widgets(h);
    let bars: Vec<&Placed> = widgets
        .iter()
        .filter(|w| w.role == Role::ScrollBar)
        .collect();
    let mut faults = Vec::new();
    let mut in_sight = Vec::new();
    for w in widgets.iter().filter(|w| w.role != Role::ScrollBar) {
        let r = w.rect;
        let view = scroll_view_of(w, &bars);
        if r.min.x < window.min.x || r.max.x > window.max.x {
            faults.push(format!("beside the window: {w}"));
        } else if r.min.y < window.min.y {
            faults.push(format!("above the window: {w}"));
        } else if r.max.y > window.max.y && view.is_none_or(|v| v.min > r.max.y) {
            faults.push(format!("below the window: {w}"));
        }
        if view.is_none_or(|v| v.contains(r.min.y) && v.contains(r.max.y)) {
            in_sight.push(w);
        }
    }
    for (i, a) in in_sight.iter().enumerate() {
        for b in &in_sight[i + 1..] {
            let overlap = a.rect.intersect(b.rect);
            let nested = a.rect.expand(1.0).contains_rect(b.rect)
                || b.rect.expand(1.0).contains_rect(a.rect);
            if overlap.width() > 2.0 && overlap.height() > 2.0 && !nested {
                faults.push(format!("overlapping: {a} and {b}"));
            }
        }
    }
    faults
}

/// Renders every tab at the smallest supported window and a common one and checks that
/// every widget lies inside it, clear of the others.
fn assert_every_tab_fits(h: &mut Harness<'_, LabApp>) {
    let mut faults = Vec::new();
    for size in [egui::vec2(1024.0, 700.0), egui::vec2(1280.0, 800.0)] {
        h.set_size(size);
        for &tab in Tab::ALL {
            h.state_mut().settings.tab = tab;
            run_frames(h, 4);
            for fault in layout_faults(h, size) {
                faults.push(format!("{size:?} {tab:?}: {fault}"));
            }
        }
    }
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}

#[test]
fn every_tab_of_a_classifier_run_fits_1024x700_and_1280x800() {
    let mut h = lab(1, 0.05, None);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let photo = common::shared_data().join("02_letters.jpg");
    let ctx = h.ctx.clone();
    h.state_mut().tabs.ocr.open_path(&ctx, &photo);
    h.state_mut().settings.tab = Tab::Ocr; // the tab receives the reading
    wait_for(&mut h, "the photo to be read", |a| !a.tabs.ocr.is_running());
    assert_every_tab_fits(&mut h);
}

#[test]
fn every_tab_of_an_autoencoder_run_fits_1024x700_and_1280x800() {
    let mut h = lab(1, 0.01, None);
    h.get_by_label("autoencoder").click();
    h.step();
    h.state_mut().settings.config.lr = 0.01;
    h.state_mut().settings.config.epochs = 1;
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    assert_every_tab_fits(&mut h);
}

#[test]
fn export_onnx_writes_the_trained_network_that_load_model_reads_back() {
    let path = tempfile::tempdir().unwrap().keep().join("net.onnx");
    let mut h = lab(1, 0.05, Some(path.clone()));
    assert!(
        h.get_by_label("Export ONNX...")
            .accesskit_node()
            .is_disabled(),
        "nothing to export yet"
    );
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed)
    });
    let trained = h.state().session.weights.clone().unwrap();
    h.get_by_label("Export ONNX...").click();
    wait_for(&mut h, "the ONNX file", |_| path.is_file());
    let exported = nnlab::nn::SavedModel::load(&path).unwrap();
    assert_eq!(exported.net.spec().describe(), h.state().session.network);
    h.get_by_label("Load model...").click();
    wait_for(&mut h, "the ONNX model to load", |a| {
        a.session.phase == Phase::Paused && a.session.weights.is_some()
    });
    let loaded = h.state().session.weights.clone().unwrap();
    assert_eq!(
        loaded.weights, trained.weights,
        "the trained weights came back"
    );
}

#[test]
fn a_run_that_stops_learning_pauses_and_says_why() {
    // At rate 1 the letters MLP saturates: its loss never gets below the first batch's.
    let mut settings = Settings::default();
    settings.config.lr = 1.0;
    settings.config.epochs = 6;
    let mut h = lab_with(settings, None);
    h.get_by_label("Train").click();
    wait_for(
        &mut h,
        "the stall warning",
        |a| matches!(&a.session.notice, Some(Notice::Warning(m)) if m.contains("stopped learning")),
    );
    assert_eq!(h.state().session.phase, Phase::Paused);
    let notice = format!("{:?}", h.state().session.notice);
    assert!(notice.contains("lower learning rate"), "{notice}");
    let at = position(h.state());
    assert!(at < 6.0, "paused before the last epoch, at {at}");
    run_frames(&mut h, 20);
    assert_eq!(position(h.state()), at, "paused means no more batches");
    assert!(h.query_by_label("Resume").is_some());
}
