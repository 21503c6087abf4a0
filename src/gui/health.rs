//! The Health tab: per layer and epoch, the activations' mean and spread, the fraction of
//! dead ReLUs or saturated sigmoid/tanh outputs, and the weight gradient's norm, one chart
//! per statistic and one line per layer, from the epoch records
//! ([`crate::train::health`]).

use super::curves::{Curve, CurvePlot, format_value};
use super::palette::series_colour;
use super::session::Session;
use super::tab::{TabContext, TabPanel};
use crate::train::health::{LayerHealth, SAMPLES, SATURATION_MARGIN};
use eframe::egui;
use egui::Ui;

/// One statistic of [`LayerHealth`], as a chart shows it.
struct Statistic {
    id: &'static str,
    y_label: &'static str,
    log_y: bool,
    value: fn(&LayerHealth) -> Option<f64>,
}

const STATISTICS: [Statistic; 4] = [
    Statistic {
        id: "health mean",
        y_label: "activation mean",
        log_y: false,
        value: |h| h.mean,
    },
    Statistic {
        id: "health spread",
        y_label: "activation spread (std)",
        log_y: false,
        value: |h| h.spread,
    },
    Statistic {
        id: "health inactive",
        y_label: "dead ReLU / saturated fraction",
        log_y: false,
        value: |h| h.inactive,
    },
    Statistic {
        id: "health gradient",
        y_label: "weight gradient norm",
        log_y: true,
        value: |h| h.grad_norm,
    },
];

/// One epoch's health records: its number and the layers' statistics.
pub type HealthRecord<'a> = (usize, &'a [LayerHealth]);

/// The kept epochs' health records of the session's run.
fn session_records(session: &Session) -> Vec<HealthRecord<'_>> {
    session
        .epochs
        .records()
        .map(|r| (r.weights.epoch, r.health.as_slice()))
        .collect()
}

/// Per layer (name, points `[epoch, value]`) of one statistic over the kept epochs.
pub fn lines(
    session: &Session,
    value: fn(&LayerHealth) -> Option<f64>,
) -> Vec<(String, Vec<[f64; 2]>)> {
    lines_of(&session_records(session), value)
}

/// Per layer (name, points `[epoch, value]`) of one statistic over `records`.
fn lines_of(
    records: &[HealthRecord],
    value: fn(&LayerHealth) -> Option<f64>,
) -> Vec<(String, Vec<[f64; 2]>)> {
    let mut lines: Vec<(usize, String, Vec<[f64; 2]>)> = Vec::new();
    for &(epoch, health) in records {
        let epoch = epoch as f64;
        for h in health {
            let Some(v) = value(h) else { continue };
            match lines.iter_mut().find(|(layer, _, _)| *layer == h.layer) {
                Some((_, _, points)) => points.push([epoch, v]),
                None => lines.push((
                    h.layer,
                    format!("{}. {}", h.layer + 1, h.label),
                    vec![[epoch, v]],
                )),
            }
        }
    }
    lines
        .into_iter()
        .map(|(_, name, points)| (name, points))
        .collect()
}

/// The first weighted layer's gradient norm over the last one's at the newest record.
pub fn first_to_last_gradient(session: &Session) -> Option<(usize, f64)> {
    first_to_last_of(&session_records(session))
}

fn first_to_last_of(records: &[HealthRecord]) -> Option<(usize, f64)> {
    let &(epoch, health) = records.last()?;
    let norms: Vec<f64> = health.iter().filter_map(|h| h.grad_norm).collect();
    match norms.as_slice() {
        [first, .., last] if *last > 0.0 => Some((epoch, first / last)),
        _ => None,
    }
}

/// The gradient ratio and one chart per statistic, two by two, of `records`. Charts with
/// another `id_prefix` keep their own bounds (the Health tab's have none).
pub fn charts_ui(ui: &mut Ui, id_prefix: &str, records: &[HealthRecord]) {
    if let Some((epoch, ratio)) = first_to_last_of(records) {
        ui.label(format!(
            "Gradient norm of the first weighted layer / the last, epoch {epoch}: {}",
            format_value(ratio)
        ));
    }
    let height = (ui.available_height() / 2.0 - 12.0).max(120.0);
    let link = egui::Id::unique((id_prefix, "health x"));
    ui.columns(2, |columns| {
        for (k, statistic) in STATISTICS.iter().enumerate() {
            let ui = &mut columns[k % 2];
            let lines = lines_of(records, statistic.value);
            let curves: Vec<Curve> = lines
                .iter()
                .enumerate()
                .map(|(i, (name, points))| Curve {
                    name,
                    points,
                    color: series_colour(i),
                    faint: false,
                })
                .collect();
            CurvePlot {
                id: &format!("{id_prefix}{}", statistic.id),
                y_label: statistic.y_label,
                log_y: statistic.log_y,
                smoothing: 0.0,
                markers: &[],
                y_include: None,
                height,
                link_x: Some(link),
            }
            .show(ui, &curves);
        }
    });
}

#[derive(Default)]
pub struct HealthView;

impl TabPanel for HealthView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        let session = &*cx.session;
        if session.epochs.kept() == 0 {
            ui.label("No epoch finished yet: train a network to see its layers' health.");
            return;
        }
        ui.label(format!(
            "Activations on the first {SAMPLES} validation images at each epoch's end; \
             saturated: within {SATURATION_MARGIN} of a bound; gradients of the last batch."
        ));
        charts_ui(ui, "", &session_records(session));
    }
}
