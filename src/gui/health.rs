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

/// Per layer (name, points `[epoch, value]`) of one statistic over the kept epochs.
pub fn lines(
    session: &Session,
    value: fn(&LayerHealth) -> Option<f64>,
) -> Vec<(String, Vec<[f64; 2]>)> {
    let mut lines: Vec<(usize, String, Vec<[f64; 2]>)> = Vec::new();
    for record in session.epochs.records() {
        let epoch = record.weights.epoch as f64;
        for h in &record.health {
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
    let record = session.epochs.records().next_back()?;
    let norms: Vec<f64> = record.health.iter().filter_map(|h| h.grad_norm).collect();
    match norms.as_slice() {
        [first, .., last] if *last > 0.0 => Some((record.weights.epoch, first / last)),
        _ => None,
    }
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
        if let Some((epoch, ratio)) = first_to_last_gradient(session) {
            ui.label(format!(
                "Gradient norm of the first weighted layer / the last, epoch {epoch}: {}",
                format_value(ratio)
            ));
        }
        let height = (ui.available_height() / 2.0 - 12.0).max(120.0);
        ui.columns(2, |columns| {
            for (k, statistic) in STATISTICS.iter().enumerate() {
                let ui = &mut columns[k % 2];
                let lines = lines(session, statistic.value);
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
                    id: statistic.id,
                    y_label: statistic.y_label,
                    log_y: statistic.log_y,
                    smoothing: 0.0,
                    markers: &[],
                    y_include: None,
                    height,
                    link_x: Some(egui::Id::unique("health x")),
                }
                .show(ui, &curves);
            }
        });
    }
}
