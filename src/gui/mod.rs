//! The desktop window (being built).

use anyhow::{Result, anyhow};
use std::process::ExitCode;

pub fn run() -> Result<ExitCode> {
    let options = eframe::NativeOptions::default();
    eframe::run_ui_native("nnlab", options, |ui, _frame| {
        ui.heading("nnlab");
        ui.label("The lab is being built: use `nnlab train` meanwhile.");
    })
    .map_err(|e| anyhow!("could not open the window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
