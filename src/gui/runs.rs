//! Several runs at once: [`overlay_ui`], the loss and accuracy of runs overlaid (the
//! Sweep's rates, the Curves tab's compared runs), and [`ComparedRuns`], the runs the Curves
//! tab compares: the current one and those opened from exported run folders, each with a
//! colour, a name (default from the settings that differ) and a visibility toggle.

use super::curves::{Curve, CurvePlot};
use super::health::{self, HealthRecord};
use super::palette::series_colour;
use super::session::Session;
use super::settings::CurveOptions;
use crate::train::compare::{
    Difference, OUTCOME_TITLES, Outcome, default_name, differing_settings,
};
use crate::train::report::ExportedRun;
use crate::train::{EpochStats, RunConfig};
use eframe::egui;
use egui::{Color32, RichText, Ui};

/// One run as the overlay draws it.
pub struct OverlaidRun<'a> {
    pub name: &'a str,
    pub color: Color32,
    pub history: &'a [EpochStats],
}

/// One statistic of an epoch's stats, as (train, valid).
type Pair = fn(&EpochStats) -> (f64, f64);

/// Loss (log y if asked) and accuracy plots of `runs` in their order: per run, train thin
/// and valid bold in the run's colour, one legend entry (both lines share the run's name,
/// so the legend stays short and shows or hides the run). `id` names the plots
/// (`{id}-loss`, `{id}-accuracy`).
pub fn overlay_ui(ui: &mut Ui, id: &str, runs: &[OverlaidRun], log_y: bool, smoothing: f64) {
    ui.weak("thin: train, bold: valid");
    let height = ((ui.available_height() - 8.0) / 2.0).max(120.0);
    let link = ui.make_persistent_id((id, "x"));
    let loss: Pair = |s| (s.train_loss, s.valid_loss);
    let accuracy: Pair = |s| (s.train_acc, s.valid_acc);
    for (plot, y_label, log_y, y_include, pair) in [
        ("loss", "loss", log_y, None, loss),
        ("accuracy", "accuracy", false, Some(0.0..=1.0), accuracy),
    ] {
        let lines: Vec<(&str, Vec<[f64; 2]>, Color32, bool)> = runs
            .iter()
            .flat_map(|run| {
                let points = |valid: bool| -> Vec<[f64; 2]> {
                    let pick = |s: &EpochStats| if valid { pair(s).1 } else { pair(s).0 };
                    run.history
                        .iter()
                        .map(|s| [s.epoch as f64, pick(s)])
                        .collect()
                };
                [
                    (run.name, points(false), run.color, true),
                    (run.name, points(true), run.color, false),
                ]
            })
            .collect();
        let curves: Vec<Curve> = lines
            .iter()
            .map(|(name, points, color, faint)| Curve {
                name,
                points,
                color: *color,
                faint: *faint,
            })
            .collect();
        CurvePlot {
            id: &format!("{id}-{plot}"),
            y_label,
            log_y,
            smoothing,
            markers: &[],
            y_include,
            height,
            link_x: Some(link),
        }
        .show(ui, &curves);
    }
}

/// How the user shows a compared run: its name (the default until edited) and whether
/// its curves are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLabel {
    pub name: String,
    /// Set once the user edited the name: it is no longer the default.
    pub renamed: bool,
    pub visible: bool,
}

impl Default for RunLabel {
    fn default() -> Self {
        Self {
            name: String::new(),
            renamed: false,
            visible: true,
        }
    }
}

/// A run opened from its folder.
pub struct OpenedRun {
    pub run: ExportedRun,
    pub label: RunLabel,
}

/// The runs the Curves tab compares: the current run (when there is one) first, then the
/// opened ones.
#[derive(Default)]
pub struct ComparedRuns {
    pub opened: Vec<OpenedRun>,
    pub current: RunLabel,
    /// The opened run whose layer health is shown in place of the curves.
    health_of: Option<usize>,
}

/// One row of the table as drawn this frame.
struct Row<'a> {
    label: &'a mut RunLabel,
    history: &'a [EpochStats],
    config: &'a RunConfig,
    color: Color32,
    /// The name when no setting differs.
    fallback: String,
    /// The opened run's index (none for the current run).
    opened: Option<usize>,
    has_health: bool,
}

/// What the user did in the table.
enum RowAction {
    Close(usize),
    ToggleHealth(usize),
}

impl ComparedRuns {
    /// Whether runs were opened (the Curves tab then compares instead of showing one run).
    pub fn is_comparing(&self) -> bool {
        !self.opened.is_empty()
    }

    pub fn open(&mut self, run: ExportedRun) {
        self.opened.push(OpenedRun {
            run,
            label: RunLabel::default(),
        });
    }

    /// The table of the runs and, below it, their overlaid curves (or one opened run's
    /// layer health).
    pub fn ui(&mut self, ui: &mut Ui, session: &Session, options: &CurveOptions) {
        let health_of = self.health_of.filter(|&i| i < self.opened.len());
        let action = {
            let mut rows = self.rows(session);
            let configs: Vec<&RunConfig> = rows.iter().map(|r| r.config).collect();
            let differences = differing_settings(&configs);
            for (i, row) in rows.iter_mut().enumerate() {
                if !row.label.renamed {
                    row.label.name = default_name(&differences, i, &row.fallback);
                }
            }
            let action = egui::ScrollArea::horizontal()
                .id_salt("runs-table")
                .show(ui, |ui| table_ui(ui, &mut rows, &differences, health_of))
                .inner;
            if health_of.is_none() {
                let visible: Vec<OverlaidRun> = rows
                    .iter()
                    .filter(|r| r.label.visible)
                    .map(|r| OverlaidRun {
                        name: &r.label.name,
                        color: r.color,
                        history: r.history,
                    })
                    .collect();
                overlay_ui(ui, "runs", &visible, options.log_y, options.smoothing);
            }
            action
        };
        if let Some(opened) = health_of.map(|i| &self.opened[i]) {
            ui.strong(format!("Layer health of {}", opened.label.name));
            let records: Vec<HealthRecord> = opened
                .run
                .health
                .iter()
                .map(|(epoch, layers)| (*epoch, layers.as_slice()))
                .collect();
            health::charts_ui(ui, "opened run ", &records);
        }
        match action {
            Some(RowAction::Close(i)) => {
                self.opened.remove(i);
                self.health_of = None;
            }
            Some(RowAction::ToggleHealth(i)) => {
                self.health_of = (health_of != Some(i)).then_some(i);
            }
            None => {}
        }
    }

    fn rows<'a>(&'a mut self, session: &'a Session) -> Vec<Row<'a>> {
        let mut rows = Vec::new();
        if let Some(config) = &session.config {
            rows.push(Row {
                label: &mut self.current,
                history: &session.history,
                config,
                color: series_colour(0),
                fallback: "current run".into(),
                opened: None,
                has_health: false,
            });
        }
        for (i, o) in self.opened.iter_mut().enumerate() {
            let folder = o.run.dir.file_name().unwrap_or(o.run.dir.as_os_str());
            rows.push(Row {
                label: &mut o.label,
                history: &o.run.history,
                config: &o.run.config,
                color: series_colour(i + 1),
                fallback: folder.to_string_lossy().into_owned(),
                opened: Some(i),
                has_health: !o.run.health.is_empty(),
            });
        }
        rows
    }
}

/// The table: visibility and colour, name, the buttons of opened runs, how each run
/// ended and the settings that differ.
fn table_ui(
    ui: &mut Ui,
    rows: &mut [Row],
    differences: &[Difference],
    health_of: Option<usize>,
) -> Option<RowAction> {
    let mut action = None;
    egui::Grid::new("runs-table")
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            // The buttons next to the name, where a wide table cannot push them out of sight.
            let titles = ["", "run", ""].into_iter().chain(OUTCOME_TITLES);
            for title in titles.chain(differences.iter().map(|d| d.setting.as_str())) {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for (i, row) in rows.iter_mut().enumerate() {
                ui.horizontal(|ui| {
                    ui.checkbox(&mut row.label.visible, "show")
                        .on_hover_text("show this run's curves");
                    let (swatch, _) =
                        ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
                    ui.painter().rect_filled(swatch, 2.0, row.color);
                });
                let name = ui.add(
                    // A grid cell offers last frame's column width: ask for the width.
                    egui::TextEdit::singleline(&mut row.label.name)
                        .min_size(egui::vec2(150.0, 0.0))
                        .desired_width(150.0)
                        .hint_text(row.fallback.as_str()),
                );
                if name.changed() {
                    // An emptied name goes back to the default.
                    row.label.renamed = !row.label.name.trim().is_empty();
                }
                match row.opened {
                    None => {
                        ui.weak("current");
                    }
                    Some(index) => {
                        ui.horizontal(|ui| {
                            if row.has_health
                                && ui
                                    .selectable_label(health_of == Some(index), "health")
                                    .on_hover_text("this run's layer health in place of the curves")
                                    .clicked()
                            {
                                action = Some(RowAction::ToggleHealth(index));
                            }
                            if ui
                                .button("Close")
                                .on_hover_text("take this run out of the comparison")
                                .clicked()
                            {
                                action = Some(RowAction::Close(index));
                            }
                        });
                    }
                }
                for cell in Outcome::of(row.history).cells() {
                    ui.label(cell);
                }
                for d in differences {
                    ui.label(&d.values[i]);
                }
                ui.end_row();
            }
        });
    action
}
