//! The Curves tab and [`CurvePlot`], the reusable line plot it is built from. A plot is
//! fed finished series; it knows nothing about training.

use super::Action;
use super::runs::ComparedRuns;
use super::series::smooth;
use super::session::Curves;
use super::settings::CurveOptions;
use super::tab::{TabContext, TabPanel};
use crate::train::Task;
use eframe::egui;
use egui::{Align2, Color32, Rect, Ui};
use egui_plot::{
    AxisHints, ColorConflictHandling, Corner, GridMark, HoverPosition, Legend, Line, LineStyle,
    Plot, PlotBounds, PlotPoint, Points, Text, VLine,
};
use std::ops::RangeInclusive;

pub const TRAIN: Color32 = Color32::from_rgb(70, 140, 230);
pub const VALID: Color32 = Color32::from_rgb(240, 140, 40);
pub const BATCH: Color32 = Color32::from_rgb(150, 150, 170);
pub const MARKER: Color32 = Color32::from_rgb(190, 90, 200);
/// Points between epoch labels at which they start to show and are shown in full.
const EPOCH_LABEL_SPACING: RangeInclusive<f32> = 24.0..=36.0;

/// One named line of a plot.
pub struct Curve<'a> {
    pub name: &'a str,
    pub points: &'a [[f64; 2]],
    pub color: Color32,
    /// Drawn thinner, under the others.
    pub faint: bool,
}

/// A line plot over epochs with a legend, hover values, optional log y axis, optional
/// smoothing (raw drawn faintly underneath) and vertical markers with labels.
pub struct CurvePlot<'a> {
    pub id: &'a str,
    pub y_label: &'a str,
    pub log_y: bool,
    pub smoothing: f64,
    /// (x, label) of each vertical marker.
    pub markers: &'a [(f64, String)],
    /// Bounds always shown, e.g. 0..1 for an accuracy.
    pub y_include: Option<RangeInclusive<f64>>,
    pub height: f32,
    /// Plots sharing this id pan and zoom together along x.
    pub link_x: Option<egui::Id>,
}

/// The id under which egui_plot keeps the memory (bounds) of the plot named `name`.
pub fn plot_id(name: &str) -> egui::Id {
    egui::Id::unique(("nnlab-curve-plot", name))
}

impl CurvePlot<'_> {
    /// Draws the plot; returns its rectangle on screen.
    pub fn show(self, ui: &mut Ui, curves: &[Curve]) -> Rect {
        let log_y = self.log_y;
        let y_label = self.y_label.to_owned();
        // The rate labels sit at the top of the data; the legend goes where loss curves
        // seldom are, so it cannot cover them.
        let legend_corner = if self.markers.is_empty() {
            Corner::RightTop
        } else {
            Corner::LeftBottom
        };
        let mut plot = Plot::new(self.id)
            .id(plot_id(self.id))
            .height(self.height)
            .legend(
                // In the order drawn (by rate, by layer), not sorted as text; a run's faint
                // train and bold valid line share a name: its entry shows the bold colour.
                Legend::default()
                    .position(legend_corner)
                    .follow_insertion_order(true)
                    .color_conflict_handling(ColorConflictHandling::PickLast),
            )
            // Epoch numbers are short: egui_plot's default spacing (60 points) would leave
            // a short run's axis with a single number.
            .custom_x_axes(vec![
                AxisHints::new_x()
                    .label("epoch")
                    .label_spacing(EPOCH_LABEL_SPACING),
            ])
            .y_axis_label(self.y_label)
            .include_x(0.0)
            .label_formatter(move |pos: &HoverPosition| Some(hover_text(pos, &y_label, log_y)));
        if let Some(link) = self.link_x {
            plot = plot.link_axis(link, [true, false]);
        }
        if let Some(range) = &self.y_include {
            let (lo, hi) = (to_axis(*range.start(), log_y), to_axis(*range.end(), log_y));
            plot = plot
                .include_y(lo.unwrap_or(-3.0))
                .include_y(hi.unwrap_or(0.0));
        }
        if log_y {
            plot = plot
                .y_grid_spacer(egui_plot::log_grid_spacer(10))
                .y_axis_formatter(|mark: GridMark, _: &RangeInclusive<f64>| {
                    format_value(10f64.powf(mark.value))
                });
        }
        let lines = plotted_lines(curves, self.smoothing, log_y);
        let data = data_bounds(lines.iter().map(|l| l.points.as_slice()));
        if !data.is_finite() {
            // Nothing to show yet: one epoch by 0..1 rather than egui_plot's -0.5..0.5.
            plot = plot.include_x(1.0).include_y(0.0).include_y(1.0);
        }
        let markers = self.markers;
        let response = plot.show(ui, |plot_ui| {
            for line in lines {
                let color = line.color.gamma_multiply(line.alpha);
                if let [point] = line.points.as_slice() {
                    // A single point (a one-epoch run) as a dot one can see.
                    plot_ui.points(
                        Points::new(line.name, vec![*point])
                            .color(color)
                            .radius(3.0),
                    );
                } else {
                    // No bands: egui_plot folds a dense line into filled min/max bands,
                    // which along the noisy batch loss look like grey triangles.
                    plot_ui.line(
                        Line::new(line.name, line.points)
                            .color(color)
                            .width(line.width)
                            .allow_band(false),
                    );
                }
            }
            // At the top of the data, not of the plot: a label at the plot's top would widen
            // the automatic bounds each frame, without end.
            let top = if data.is_finite() { data.max()[1] } else { 1.0 };
            for (x, label) in markers {
                plot_ui.vline(
                    VLine::new("lr change", *x)
                        .color(MARKER)
                        .style(LineStyle::dashed_loose()),
                );
                plot_ui.text(
                    Text::new("lr change", PlotPoint::new(*x, top), format!(" {label}"))
                        .color(MARKER)
                        .anchor(Align2::LEFT_TOP),
                );
            }
        });
        response.response.rect
    }
}

/// One line as drawn: its legend name (empty keeps it out of the legend), its points in
/// axis units, colour, width and opacity.
struct PlottedLine<'a> {
    name: &'a str,
    points: Vec<[f64; 2]>,
    color: Color32,
    width: f32,
    alpha: f32,
}

/// The lines of `curves` as drawn: smoothed over a faint raw line when asked, in axis
/// units, without the points an axis cannot show.
fn plotted_lines<'a>(curves: &[Curve<'a>], smoothing: f64, log_y: bool) -> Vec<PlottedLine<'a>> {
    let on_axis = |points: &[[f64; 2]]| -> Vec<[f64; 2]> {
        points
            .iter()
            .filter_map(|&[x, y]| to_axis(y, log_y).map(|y| [x, y]))
            .collect()
    };
    let mut lines = Vec::new();
    for c in curves.iter().filter(|c| !c.points.is_empty()) {
        let (width, alpha) = if c.faint { (1.0, 0.6) } else { (2.0, 1.0) };
        if smoothing > 0.0 && c.points.len() > 2 {
            // The raw line stays out of the legend, so the legend shows the curve's colour.
            lines.push(PlottedLine {
                name: "",
                points: on_axis(c.points),
                color: c.color,
                width: 1.0,
                alpha: alpha * 0.3,
            });
            lines.push(PlottedLine {
                name: c.name,
                points: on_axis(&smooth(c.points, smoothing)),
                color: c.color,
                width,
                alpha,
            });
        } else {
            lines.push(PlottedLine {
                name: c.name,
                points: on_axis(c.points),
                color: c.color,
                width,
                alpha,
            });
        }
    }
    lines
}

/// The smallest box around every point (not valid when there are none).
pub fn data_bounds<'p>(lines: impl IntoIterator<Item = &'p [[f64; 2]]>) -> PlotBounds {
    let mut bounds = PlotBounds::NOTHING;
    for point in lines.into_iter().flatten() {
        bounds.extend_with(&PlotPoint::new(point[0], point[1]));
    }
    bounds
}

/// A value as plotted: its log10 on a log axis (none for values that have no logarithm).
fn to_axis(y: f64, log_y: bool) -> Option<f64> {
    match (log_y, y.is_finite()) {
        (_, false) => None,
        (true, _) if y <= 0.0 => None,
        (true, _) => Some(y.log10()),
        (false, _) => Some(y),
    }
}

fn hover_text(pos: &HoverPosition, y_label: &str, log_y: bool) -> String {
    let value = |y: f64| if log_y { 10f64.powf(y) } else { y };
    match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => {
            let plot_name = if plot_name.is_empty() {
                "raw"
            } else {
                plot_name
            };
            format!(
                "{plot_name}\nepoch {:.2}\n{y_label} {}",
                position.x,
                format_value(value(position.y))
            )
        }
        HoverPosition::Elsewhere { position } => {
            format!(
                "epoch {:.2}\n{y_label} {}",
                position.x,
                format_value(value(position.y))
            )
        }
    }
}

/// Short, readable numbers for axes and hover labels.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-3..1e4).contains(&a) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{v:.2e}")
    }
}

/// The Curves tab: the current run's curves, or, once runs were opened, those of all
/// compared runs.
#[derive(Default)]
pub struct CurvesPanel {
    /// Where the plots were drawn last frame (for "Save plot PNG").
    pub plot_rect: Option<Rect>,
    pub runs: ComparedRuns,
}

impl TabPanel for CurvesPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        let task = cx
            .session
            .config
            .as_ref()
            .map_or(Task::Classify, |c| c.task);
        let options = &mut cx.settings.curves;
        options_ui(
            ui,
            cx.session.curves.train_loss.is_empty(),
            options,
            cx.actions,
        );
        let rect = if self.runs.is_comparing() {
            let session = &*cx.session;
            ui.scope(|ui| self.runs.ui(ui, session, options))
                .response
                .rect
        } else {
            curves_tab(ui, &mut cx.session.curves, options, task)
        };
        self.plot_rect = Some(rect);
    }
}

/// The tab's view options and buttons.
fn options_ui(
    ui: &mut Ui,
    no_epoch_yet: bool,
    options: &mut CurveOptions,
    actions: &mut Vec<Action>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut options.log_y, "log y");
        ui.checkbox(&mut options.show_batches, "batch loss");
        ui.add(egui::Slider::new(&mut options.smoothing, 0.0..=0.99).text("smoothing"));
        ui.separator();
        if ui
            .add_enabled(!no_epoch_yet, egui::Button::new("Export CSV..."))
            .clicked()
        {
            actions.push(Action::ExportCsv);
        }
        if ui.button("Save plot PNG...").clicked() {
            actions.push(Action::SavePlot);
        }
        if ui
            .button("Open run...")
            .on_hover_text("compare with an exported run folder (config.json, metrics.csv)")
            .clicked()
        {
            actions.push(Action::OpenRun);
        }
    });
}

/// The current run's loss, learning rate and accuracy plots; returns their screen
/// rectangle.
fn curves_tab(ui: &mut Ui, curves: &mut Curves, options: &CurveOptions, task: Task) -> Rect {
    if curves.train_loss.is_empty() && curves.batch_loss.is_empty() {
        ui.weak("Press Train: loss and accuracy appear here after each epoch.");
    }
    let markers = lr_markers(curves);
    let link = ui.make_persistent_id("curves-x");
    const RATE_HEIGHT: f32 = 90.0;
    let height = ((ui.available_height() - 12.0 - RATE_HEIGHT) / 2.0).max(120.0);
    let loss_rect = CurvePlot {
        id: "loss",
        y_label: "loss",
        log_y: options.log_y,
        smoothing: options.smoothing,
        markers: &markers,
        y_include: None,
        height,
        link_x: Some(link),
    }
    .show(ui, &loss_curves(curves, options));
    // The scheduled rate right under the loss it shapes.
    let rate_rect = CurvePlot {
        id: "rate",
        y_label: "learning rate",
        log_y: false,
        smoothing: 0.0,
        markers: &[],
        y_include: Some(0.0..=0.0),
        height: RATE_HEIGHT,
        link_x: Some(link),
    }
    .show(
        ui,
        &[Curve {
            name: "rate",
            points: curves.lr.points(),
            color: MARKER,
            faint: false,
        }],
    );
    let quality_rect = match task {
        Task::Classify => CurvePlot {
            id: "accuracy",
            y_label: "accuracy",
            log_y: false,
            smoothing: options.smoothing,
            markers: &[],
            y_include: Some(0.0..=1.0),
            height,
            link_x: Some(link),
        }
        .show(
            ui,
            &[
                Curve {
                    name: "train",
                    points: curves.train_acc.points(),
                    color: TRAIN,
                    faint: false,
                },
                Curve {
                    name: "valid",
                    points: curves.valid_acc.points(),
                    color: VALID,
                    faint: false,
                },
            ],
        ),
        // An autoencoder has no accuracy: its reconstructions' PSNR instead.
        Task::Autoencode => CurvePlot {
            id: "psnr",
            y_label: "PSNR (dB)",
            log_y: false,
            smoothing: 0.0,
            markers: &[],
            y_include: None,
            height,
            link_x: Some(link),
        }
        .show(ui, &[psnr_curve(curves)]),
    };
    loss_rect.union(rate_rect).union(quality_rect)
}

/// The autoencoder's mean validation PSNR per epoch.
pub fn psnr_curve(curves: &mut Curves) -> Curve<'_> {
    Curve {
        name: "valid mean",
        points: curves.valid_psnr.points(),
        color: VALID,
        faint: false,
    }
}

/// A marker with its label at each change of the learning rate.
pub fn lr_markers(curves: &Curves) -> Vec<(f64, String)> {
    curves
        .lr_changes
        .iter()
        .map(|&(x, lr)| (x, format!("lr {}", format_value(lr))))
        .collect()
}

/// The loss lines of both the classifier's and the autoencoder's curves: single batches
/// (faint, when shown), train and valid.
pub fn loss_curves<'a>(curves: &'a mut Curves, options: &CurveOptions) -> [Curve<'a>; 3] {
    let batch: &[[f64; 2]] = if options.show_batches {
        curves.batch_loss.points()
    } else {
        &[]
    };
    [
        Curve {
            name: "train batch",
            points: batch,
            color: BATCH,
            faint: true,
        },
        Curve {
            name: "train",
            points: curves.train_loss.points(),
            color: TRAIN,
            faint: false,
        },
        Curve {
            name: "valid",
            points: curves.valid_loss.points(),
            color: VALID,
            faint: false,
        },
    ]
}
