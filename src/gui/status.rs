//! The status line, the notice banner and the frame-time record.

use super::session::{Notice, Phase, Session};
use crate::train::protocol::Ending;
use eframe::egui;
use egui::{Color32, RichText, Ui};
use std::time::Duration;

/// Frame times of the window, for the status line's tooltip and the screenshot mode's report.
#[derive(Default)]
pub struct FrameTimes {
    /// Time spent building the UI (our code and egui layout), per frame.
    pub ui: Vec<Duration>,
    /// eframe's whole-frame CPU time (layout, tessellation, painting), per frame.
    pub frame: Vec<Duration>,
}

/// Frames kept; older ones are dropped in halves.
const KEPT: usize = 100_000;

impl FrameTimes {
    pub fn record_ui(&mut self, time: Duration) {
        push_bounded(&mut self.ui, time);
    }

    pub fn record_frame(&mut self, seconds: f32) {
        push_bounded(&mut self.frame, Duration::from_secs_f32(seconds.max(0.0)));
    }

    pub fn summary(&self) -> String {
        format!(
            "UI build {}; whole frame (CPU) {}",
            percentiles(&self.ui),
            percentiles(&self.frame)
        )
    }
}

fn push_bounded(v: &mut Vec<Duration>, d: Duration) {
    if v.len() >= KEPT {
        v.drain(..KEPT / 2);
    }
    v.push(d);
}

/// "p50 x ms, p99 y ms over n frames".
pub fn percentiles(times: &[Duration]) -> String {
    if times.is_empty() {
        return "no frames".into();
    }
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} frames",
        at(0.5),
        at(0.99),
        at(1.0),
        sorted.len()
    )
}

pub fn phase_text(phase: &Phase) -> (String, Color32) {
    match phase {
        Phase::Idle => ("ready".into(), Color32::GRAY),
        Phase::Loading(name) => (
            format!("loading {name}..."),
            Color32::from_rgb(200, 160, 40),
        ),
        Phase::Training => ("training".into(), Color32::from_rgb(60, 170, 80)),
        Phase::Paused => ("paused".into(), Color32::from_rgb(200, 160, 40)),
        Phase::Diverged => ("diverged".into(), Color32::from_rgb(220, 60, 60)),
        Phase::Finished(Ending::Completed) => ("finished".into(), Color32::from_rgb(70, 140, 230)),
        Phase::Finished(Ending::Stopped) => ("stopped".into(), Color32::from_rgb(70, 140, 230)),
    }
}

pub fn ui(ui: &mut Ui, session: &Session, frames: &FrameTimes) {
    ui.horizontal(|ui| {
        let (text, colour) = phase_text(&session.phase);
        ui.label(RichText::new(text).color(colour).strong())
            .on_hover_text(format!("frame times: {}", frames.summary()));
        if let Some(p) = &session.progress {
            let epochs = session.config.as_ref().map_or(0, |c| c.epochs);
            ui.separator();
            ui.label(format!("epoch {}/{epochs}", p.epoch));
            ui.separator();
            ui.label(format!("batch {}/{}", p.batch, p.batches_per_epoch));
            ui.separator();
            ui.label(format!("{:.0} samples/s", p.samples_per_s));
            ui.separator();
            ui.label(format!("elapsed {}", clock(p.elapsed)));
            ui.separator();
            ui.label(format!("lr {}", super::curves::format_value(p.lr)));
        }
        if let Some(d) = &session.data {
            ui.separator();
            let sizes = format!(
                "{} train / {} valid / {} test",
                d.train.len(),
                d.valid.len(),
                d.test.len()
            );
            ui.add(
                egui::Label::new(RichText::new(format!("{}: {sizes}", d.name)).weak()).truncate(),
            )
            .on_hover_text(&session.network);
        }
    });
}

/// "1:05" or "1:02:03".
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The current notice as a coloured banner with a close button; returns true when closed.
pub fn notice_ui(ui: &mut Ui, notice: &Notice) -> bool {
    let (text, fill) = match notice {
        Notice::Error(t) => (t, Color32::from_rgb(120, 30, 30)),
        Notice::Warning(t) => (t, Color32::from_rgb(120, 80, 10)),
        Notice::Info(t) => (t, Color32::from_rgb(30, 70, 110)),
    };
    egui::Frame::new()
        .fill(fill)
        .inner_margin(8.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                let close = ui.button("x").on_hover_text("dismiss").clicked();
                ui.add(egui::Label::new(RichText::new(text).color(Color32::WHITE)).wrap());
                close
            })
            .inner
        })
        .inner
}
