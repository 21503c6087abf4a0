//! The window's layout and its ends of the channels to the training worker.

use super::capture::Capture;
use super::dialog::{self, FileChooser, FileDialog, FolderAnswer};
use super::screenshot::Autopilot;
use super::session::{Notice, Session};
use super::settings::{Settings, Tab};
use super::status::FrameTimes;
use super::tab::{TabContext, TabPanel};
use super::{Action, settings, status};
use crate::data::DataSource;
use crate::train::protocol::{Command, Event};
use crate::train::report::history_csv;
use crate::train::worker::WorkerHandle;
use eframe::egui;
use egui::Ui;
use std::path::PathBuf;
use std::time::Instant;

macro_rules! tab_panels {
    ($($tab:ident, $title:literal, $slug:literal, $field:ident: $panel:ty;)+) => {
        /// One panel per tab (listed in [`super::with_tabs`]).
        #[derive(Default)]
        pub struct TabPanels {
            $(pub $field: $panel),+
        }

        impl TabPanels {
            fn panel(&mut self, tab: Tab) -> &mut dyn TabPanel {
                match tab {
                    $(Tab::$tab => &mut self.$field),+
                }
            }
        }
    };
}
with_tabs!(tab_panels);

pub struct LabApp {
    pub settings: Settings,
    pub session: Session,
    pub tabs: TabPanels,
    pub frames: FrameTimes,
    worker: Option<WorkerHandle>,
    dialog: FileChooser,
    /// The action whose file request waits in the in-window chooser; repeated once chosen.
    waiting_for_file: Option<Action>,
    /// The folder "Export run..." chose that is not empty, while the window asks whether
    /// to replace it.
    replace_asked: Option<PathBuf>,
    /// The run a sweep set aside: the current one again when the sweep ends.
    before_sweep: Option<Session>,
    capture: Capture,
    autopilot: Option<Autopilot>,
    /// A photo to read in the OCR tab at the first frame.
    photo: Option<PathBuf>,
    /// False in the screenshot mode, so a scripted run leaves the user's settings alone.
    pub persist: bool,
}

impl LabApp {
    pub fn new(settings: Settings, dialog: Box<dyn FileDialog>) -> Self {
        Self {
            settings,
            session: Session::default(),
            tabs: TabPanels::default(),
            frames: FrameTimes::default(),
            worker: None,
            dialog: FileChooser::new(dialog),
            waiting_for_file: None,
            replace_asked: None,
            before_sweep: None,
            capture: Capture::default(),
            autopilot: None,
            photo: None,
            persist: true,
        }
    }

    pub(super) fn with_autopilot(mut self, autopilot: Autopilot) -> Self {
        self.autopilot = Some(autopilot);
        self.persist = false;
        self
    }

    /// Reads `photo` in the OCR tab when the window opens.
    pub fn with_photo(mut self, photo: Option<PathBuf>) -> Self {
        self.photo = photo;
        self
    }

    /// One frame of the whole window.
    pub fn show(&mut self, ui: &mut Ui) {
        let started = Instant::now();
        self.receive(ui.ctx());
        if let Some(path) = self.photo.take() {
            self.tabs.ocr.open_path(ui.ctx(), &path);
            self.settings.tab = Tab::Ocr;
        }
        let mut actions = Vec::new();
        if let Some(mut pilot) = self.autopilot.take() {
            actions.extend(pilot.drive(ui.ctx(), self));
            self.autopilot = Some(pilot);
        }
        egui::Panel::left("settings")
            .resizable(false)
            .exact_size(250.0)
            .show(ui, |ui| {
                let task = self.settings.config.task;
                egui::Panel::bottom("run controls").show(ui, |ui| {
                    actions.extend(settings::controls_ui(ui, &mut self.settings, &self.session));
                });
                egui::ScrollArea::vertical().show(ui, |ui| {
                    actions.extend(settings::ui(ui, &mut self.settings, &self.session));
                });
                if self.settings.config.task != task {
                    self.settings.tab = Tab::for_task(self.settings.config.task);
                }
            });
        egui::Panel::bottom("status").show(ui, |ui| status::ui(ui, &self.session, &self.frames));
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                for &tab in Tab::ALL {
                    ui.selectable_value(&mut self.settings.tab, tab, tab.title());
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(notice) = &self.session.notice
                && status::notice_ui(ui, notice)
            {
                self.session.notice = None;
            }
            let mut cx = TabContext {
                session: &mut self.session,
                settings: &mut self.settings,
                actions: &mut actions,
            };
            self.tabs.panel(cx.settings.tab).ui(ui, &mut cx);
        });
        if self.dialog.ui(ui.ctx())
            && let Some(action) = self.waiting_for_file.take()
        {
            actions.push(action);
        }
        if let Some(dir) = &self.replace_asked
            && let Some(answer) = dialog::replace_folder_ui(ui.ctx(), dir)
            && let Some(dir) = self.replace_asked.take()
        {
            match answer {
                FolderAnswer::Replace => self.export_run(dir, true),
                FolderAnswer::ChooseAnother => actions.push(Action::ExportRun),
                FolderAnswer::Cancel => {}
            }
        }
        for action in actions {
            self.perform(ui.ctx(), action.clone());
            if self.dialog.take_opened() {
                self.waiting_for_file = Some(action);
            }
        }
        self.frames.record_ui(started.elapsed());
    }

    /// Applies the worker's events and finished captures.
    fn receive(&mut self, ctx: &egui::Context) {
        let worker = self.worker.get_or_insert_with(|| {
            let ctx = ctx.clone();
            WorkerHandle::spawn(move || ctx.request_repaint())
        });
        for event in worker.poll() {
            if let Event::Started { config, .. } = &event
                && !self.tabs.sweep.is_running()
            {
                // A loaded model brings its own settings; show them.
                self.settings.config = (**config).clone();
            }
            let sweeping = self.tabs.sweep.is_running();
            self.tabs.sweep.apply(&event);
            self.session.apply(event);
            if sweeping && !self.tabs.sweep.is_running() {
                // The sweep's members stay in its tab; the user's run is back.
                self.session = self.before_sweep.take().unwrap_or_default();
            }
        }
        for result in self.capture.finished() {
            self.session.note_result("saved", result);
        }
    }

    fn send(&mut self, command: Command) {
        if let Some(w) = &mut self.worker {
            w.send(command);
        }
    }

    fn export_run(&mut self, dir: PathBuf, replace: bool) {
        self.send(Command::ExportRun {
            dir,
            weights: self.settings.keep,
            replace,
        });
    }

    fn perform(&mut self, ctx: &egui::Context, action: Action) {
        if matches!(
            action,
            Action::Train | Action::Reset | Action::LoadModel | Action::FineTune(_)
        ) {
            self.tabs.sweep.cancel();
        }
        match action {
            Action::Sweep(rates) => {
                self.before_sweep = Some(std::mem::take(&mut self.session));
                self.tabs.sweep.start(rates.len());
                self.send(Command::Sweep(self.settings.config.clone(), rates));
            }
            Action::Train => {
                self.tabs.confusion.selected = None;
                self.send(Command::Start(self.settings.config.clone()));
            }
            Action::AdoptSweepMember(index) => {
                self.before_sweep = None;
                self.tabs.confusion.selected = None;
                self.send(Command::AdoptSweepMember(index));
            }
            Action::Inspect(sample) => {
                self.tabs.layers.inspect(sample);
                self.settings.tab = Tab::Layers;
            }
            Action::Pause => self.send(Command::Pause),
            Action::Resume => self.send(Command::Resume),
            Action::Step => self.send(Command::Step),
            Action::Stop => self.send(Command::Stop),
            Action::Reset => {
                self.before_sweep = None;
                self.session.restart();
                self.tabs.confusion.selected = None;
                self.send(Command::Reset);
            }
            Action::SetLr(lr) => {
                if self.session.config.as_ref().is_some_and(|c| c.lr != lr) {
                    self.send(Command::SetLr(lr));
                }
            }
            Action::OpenPhoto => {
                if let Some(path) = self
                    .dialog
                    .open_file("Open a photo of handwriting", super::ocr::IMAGE)
                {
                    self.tabs.ocr.open_path(ctx, &path);
                }
            }
            Action::PickDataFolder => {
                if let Some(dir) = self
                    .dialog
                    .pick_folder("Open a data folder (NIST36, CIFAR-10 or images by class)")
                {
                    self.settings
                        .choose_data(DataSource::parse(&dir.to_string_lossy()));
                }
            }
            Action::SaveModel => {
                if let Some(path) =
                    self.dialog
                        .save_file("Save model", dialog::MODEL, "model.safetensors")
                {
                    self.send(Command::Save(path, self.settings.keep));
                }
            }
            Action::ExportOnnx => {
                if let Some(path) = self
                    .dialog
                    .save_file("Export ONNX", dialog::ONNX, "model.onnx")
                {
                    // The file's extension selects the format the worker writes.
                    let path = if crate::nn::onnx::is_onnx_path(&path) {
                        path
                    } else {
                        path.with_added_extension("onnx")
                    };
                    self.send(Command::Save(path, self.settings.keep));
                }
            }
            Action::LoadModel => {
                if let Some(path) = self.dialog.open_file("Load model", dialog::MODEL) {
                    self.send(Command::Load(path, self.settings.config.clone()));
                }
            }
            Action::FineTune(freeze) => {
                if let Some(path) = self.dialog.open_file("Fine-tune from model", dialog::MODEL) {
                    self.tabs.confusion.selected = None;
                    self.send(Command::FineTune {
                        model: path,
                        config: self.settings.config.clone(),
                        freeze,
                    });
                }
            }
            Action::ExportCsv => {
                if let Some(path) =
                    self.dialog
                        .save_file("Export history", dialog::CSV, "history.csv")
                {
                    let result = std::fs::write(&path, history_csv(&self.session.history))
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
                        .map(|()| path);
                    self.session.note_result("exported", result);
                }
            }
            Action::ExportRun => {
                if let Some(dir) = self.dialog.pick_folder("Export the run to a folder") {
                    if dialog::has_entries(&dir) {
                        self.replace_asked = Some(dir);
                    } else {
                        self.export_run(dir, false);
                    }
                }
            }
            Action::OpenRun => {
                if let Some(dir) = self.dialog.pick_folder("Open an exported run folder") {
                    match crate::train::report::read_run(&dir) {
                        Ok(run) => {
                            self.tabs.curves.runs.open(run);
                            self.settings.tab = Tab::Curves;
                            self.session.note_result("opened", Ok(dir));
                        }
                        Err(e) => self.session.notice = Some(Notice::Error(format!("{e:#}"))),
                    }
                }
            }
            Action::SavePlot => {
                if let Some(path) = self
                    .dialog
                    .save_file("Save plot", dialog::PNG, "curves.png")
                {
                    self.capture.request(ctx, path, self.tabs.curves.plot_rect);
                }
            }
        }
    }
}

impl eframe::App for LabApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        self.show(ui);
        if let Some(seconds) = frame.info().cpu_usage {
            self.frames.record_frame(seconds);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if self.autopilot.is_some() {
            eprintln!("frame times: {}", self.frames.summary());
        }
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.autopilot.is_some() {
            // A scripted screenshot shows no hover tooltip wherever the pointer happens to be.
            raw_input
                .events
                .retain(|e| !matches!(e, egui::Event::PointerMoved(_)));
            raw_input.events.push(egui::Event::PointerGone);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}
