//! The Layers tab driven through egui_kittest: a sample from the Draw canvas, a validation
//! image of a run, and the symmetry a zero initialisation leaves in the hidden units.

mod common;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use nnlab::data::DataSource;
use nnlab::gui::dialog::{FileDialog, FileKind};
use nnlab::gui::health;
use nnlab::gui::session::Phase;
use nnlab::gui::{LabApp, Settings, Tab};
use nnlab::nn::Activation;
use nnlab::nn::Init;
use nnlab::train::RunConfig;
use nnlab::train::protocol::Ending;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct NoDialog;

impl FileDialog for NoDialog {
    fn pick_folder(&mut self, _: &str) -> Option<PathBuf> {
        None
    }
    fn open_file(&mut self, _: &str, _: FileKind) -> Option<PathBuf> {
        None
    }
    fn save_file(&mut self, _: &str, _: FileKind, _: &str) -> Option<PathBuf> {
        None
    }
}

fn lab(settings: Settings) -> Harness<'static, LabApp> {
    let app = LabApp::new(settings, Box::new(NoDialog));
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
            "timed out waiting for {what}; notice {:?}",
            h.state().session.notice
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
}

/// Frames until the Layers tab shows the inspection of what it shows now (the first frame
/// starts it).
fn wait_for_inspection(h: &mut Harness<'_, LabApp>) {
    h.step();
    wait_for(h, "the inspection", |a| {
        a.tabs.layers.inspection.is_some() && !a.tabs.layers.is_running()
    });
    h.step();
    h.step();
}

fn maps(h: &Harness<'_, LabApp>, layer: &str) -> usize {
    h.query_all_by_label_contains(&format!("{layer} map "))
        .count()
}

#[test]
fn the_draw_canvas_followed_through_the_default_cnn_shows_one_map_per_channel_and_kernels() {
    let mut h = lab(Settings::default());
    h.get_by_label("Draw").click();
    h.step();
    let draw = &mut h.state_mut().tabs.draw;
    draw.stroke(egui::pos2(140.0, 40.0), egui::pos2(140.0, 240.0));
    h.step();
    h.get_by_label("Inspect layers").click();
    h.step();
    assert_eq!(h.state().settings.tab, Tab::Layers);
    wait_for_inspection(&mut h);
    h.get_by_label("Input: the Draw canvas");
    // The shipped default is the vgg-cnn preset: three stages of two padded conv-BN-ReLU
    // (16, 32 and 64 channels) and a pool, dropout, dense 128, ReLU, dropout, dense 36.
    assert_eq!(
        maps(&h, "layer 1 Conv(16, 3x3, pad 1)"),
        16,
        "one map per channel"
    );
    assert_eq!(maps(&h, "layer 2 BatchNorm"), 16);
    assert_eq!(maps(&h, "layer 7 MaxPool(2)"), 16);
    assert_eq!(maps(&h, "layer 8 Conv(32, 3x3, pad 1)"), 32);
    h.get_by_label("layer 24 Dense(128) units");
    assert_eq!(
        h.query_all_by_label_contains("16 x 32 x 32").count(),
        6,
        "the two convolutions, their batch norms and their ReLUs"
    );
    assert_eq!(
        h.query_all_by_label_contains("128 units").count(),
        3,
        "the dense layer, its ReLU and its dropout"
    );
    h.get_by_label("Softmax");
    // A trained network's hidden units differ.
    assert!(h.query_by_label_contains("all 128 values equal").is_none());

    // With 16 maps a row the layer may lie below the fold: clicked through accessibility.
    h.get_by_label("layer 8 Conv(32, 3x3, pad 1) map 3")
        .click_accesskit();
    h.step();
    h.step();
    assert_eq!(h.state().tabs.layers.kernel_of, Some((7, 3)));
    h.get_by_label_contains("Kernel of map 3: 16 input channel(s) of 3 x 3");

    h.get_by_label("gradients").click();
    wait_for(&mut h, "the gradients", |a| {
        a.tabs.layers.inspection.as_ref().is_some_and(|i| {
            i.as_ref()
                .is_ok_and(|i| i.layers.iter().all(|l| l.gradient.is_some()))
        })
    });
    h.step();
    h.step();
    assert_eq!(
        h.query_all_by_label_contains("layer 1 Conv(16, 3x3, pad 1) gradient map ")
            .count(),
        16,
        "a gradient row under the maps"
    );
}

/// A finished 2-epoch run on the NIST36 fixture (16 hidden units, changed by `adjust`),
/// with the tab `tab` open.
fn nist36_run(adjust: impl FnOnce(&mut RunConfig), tab: Tab) -> Harness<'static, LabApp> {
    let mut settings = Settings::default();
    settings.config.data = DataSource::Nist36(common::nist36_fixture());
    settings.config.hidden = 16;
    settings.config.epochs = 2;
    settings.config.lr = 0.05;
    adjust(&mut settings.config);
    let mut h = lab(settings);
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to finish", |a| {
        a.session.phase == Phase::Finished(Ending::Completed) && a.session.model.is_some()
    });
    h.state_mut().settings.tab = tab;
    h.step();
    h
}

#[test]
fn a_zero_initialised_run_shows_identical_hidden_units() {
    let mut h = nist36_run(|c| c.init = Init::Zero, Tab::Layers);
    wait_for_inspection(&mut h);
    h.get_by_label_contains("Input: validation image 0");
    h.get_by_label("layer 1 Dense(16) units");
    let equal = h.query_all_by_label_contains("all 16 values equal").count();
    assert!(equal >= 2, "the dense layer and its activation: {equal}");
}

#[test]
fn a_runs_validation_images_are_browsed_and_a_random_one_of_the_chosen_class_is_shown() {
    let mut h = nist36_run(|_| {}, Tab::Layers);
    wait_for_inspection(&mut h);
    assert!(h.query_by_label_contains("all 16 values equal").is_none());
    h.get_by_label(">").click();
    wait_for_inspection(&mut h);
    h.get_by_label_contains("Input: validation image 1 (");
    let data = h.state().session.data.clone().unwrap();
    let class = data.valid.labels[5];
    h.state_mut().tabs.layers.class = class;
    h.get_by_label("Random of class").click();
    h.step();
    let index = h.state().tabs.layers.index;
    assert_eq!(data.valid.labels[index], class);
    wait_for_inspection(&mut h);
    h.get_by_label(&format!(
        "Input: validation image {index} ({})",
        data.valid.classes[class]
    ));
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
fn inspect_on_an_ocr_box_follows_its_crop_through_the_network() {
    let photo = common::shared_data().join("02_letters.jpg");
    let app = LabApp::new(Settings::default(), Box::new(NoDialog)).with_photo(Some(photo));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    h.step();
    wait_for(&mut h, "the photo to be read", |a| {
        !a.tabs.ocr.is_running() && a.tabs.ocr.box_center(0).is_some()
    });
    // The photo is fitted to the view once it is laid out: let the boxes settle.
    for _ in 0..5 {
        h.step();
    }
    let first = h.state().tabs.ocr.box_center(0).unwrap();
    click_at(&mut h, first);
    h.get_by_label("Inspect box 1 in Layers").click_accesskit();
    for _ in 0..3 {
        h.step();
    }
    assert_eq!(h.state().settings.tab, Tab::Layers);
    wait_for_inspection(&mut h);
    let read_as = h.state().tabs.ocr.characters()[0].text.clone();
    h.get_by_label(&format!("Input: OCR box 1 (read as {read_as})"));
    assert_eq!(maps(&h, "layer 1 Conv(16, 3x3, pad 1)"), 16);
    let seen = h
        .state()
        .tabs
        .layers
        .inspection
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap();
    let top = nnlab::data::nist36_classes()[seen.top].clone();
    let ocr_top = &h.state().tabs.ocr.characters()[0].top[0].class;
    assert_eq!(
        &top, ocr_top,
        "the same crop, the same network, the same answer"
    );
}

#[test]
fn the_health_tab_charts_every_layer_of_a_deep_sigmoid_mlp_per_epoch() {
    let mut h = nist36_run(
        |c| {
            c.depth = 4;
            c.activation = Activation::Sigmoid;
        },
        Tab::Health,
    );
    h.step();
    h.get_by_label_contains("Gradient norm of the first weighted layer / the last, epoch 2:");
    let session = &h.state().session;
    let gradients = health::lines(session, |l| l.grad_norm);
    let names: Vec<&str> = gradients.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "1. Dense(16)",
            "3. Dense(16)",
            "5. Dense(16)",
            "7. Dense(16)",
            "9. Dense(36)"
        ]
    );
    assert!(
        gradients.iter().all(|(_, p)| p.len() == 2),
        "one point per epoch"
    );
    let saturation = health::lines(session, |l| l.inactive);
    assert_eq!(saturation.len(), 4, "one line per sigmoid layer");
    let (_, ratio) = health::first_to_last_gradient(session).unwrap();
    assert!(
        ratio < 0.1,
        "the first layer's gradient has vanished: {ratio}"
    );
    for chart in [
        "health mean",
        "health spread",
        "health inactive",
        "health gradient",
    ] {
        let drawn = egui_plot::PlotMemory::load(&h.ctx, nnlab::gui::curves::plot_id(chart));
        assert!(drawn.is_some(), "the chart {chart} was drawn");
    }
}
