//! Runs side by side: how each ended and only the settings that differ between them, for
//! the Curves tab's table of runs and `nnlab compare`.

use super::{EpochStats, RunConfig};
use serde_json::Value;
use std::fmt::Write;

/// How a run ended, from its per-epoch history.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub final_valid_acc: Option<f64>,
    pub best_valid_acc: Option<f64>,
    pub epochs: usize,
    /// Training time, all epochs together.
    pub seconds: f64,
}

impl Outcome {
    pub fn of(history: &[EpochStats]) -> Self {
        let accuracies = history
            .iter()
            .map(|e| e.valid_acc)
            .filter(|a| a.is_finite());
        Self {
            final_valid_acc: history.last().map(|e| e.valid_acc),
            best_valid_acc: accuracies.reduce(f64::max),
            epochs: history.len(),
            seconds: history.iter().map(|e| e.seconds).sum(),
        }
    }

    /// The table's cells after the name: final and best valid accuracy, epochs, time.
    pub fn cells(&self) -> [String; 4] {
        [
            percent(self.final_valid_acc),
            percent(self.best_valid_acc),
            self.epochs.to_string(),
            duration(self.seconds),
        ]
    }
}

/// The titles of [`Outcome::cells`].
pub const OUTCOME_TITLES: [&str; 4] = ["final valid", "best valid", "epochs run", "time"];

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// "12.3 s", "4 min 05 s".
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// A setting (a key of config.json) whose value is not the same in every run, and its
/// value in each run, as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub setting: String,
    pub values: Vec<String>,
}

/// The settings that differ between `configs`, by name.
pub fn differing_settings(configs: &[&RunConfig]) -> Vec<Difference> {
    let objects: Vec<serde_json::Map<String, Value>> = configs
        .iter()
        .map(|c| match serde_json::to_value(c) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        })
        .collect();
    let Some(first) = objects.first() else {
        return Vec::new();
    };
    first
        .keys()
        .filter(|key| objects.iter().any(|o| o.get(*key) != first.get(*key)))
        .map(|key| Difference {
            setting: key.clone(),
            values: objects
                .iter()
                .map(|o| o.get(key).map_or("-".into(), value_text))
                .collect(),
        })
        .collect()
}

/// A setting's value as a table shows it: `0.01`, `relu`, `nist36 /data/nist36`.
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k} {}", value_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Most differing settings a default name lists (a legend has little room).
const NAMED_SETTINGS: usize = 2;

/// The default name of run `run`: its values of the first settings that differ, numbers
/// with their setting's name ("relu, lr 0.01"), or `fallback` when none differs.
pub fn default_name(differences: &[Difference], run: usize, fallback: &str) -> String {
    let parts: Vec<String> = differences
        .iter()
        .take(NAMED_SETTINGS)
        .filter_map(|d| {
            let value = d.values.get(run)?;
            Some(if value.parse::<f64>().is_ok() {
                format!("{} {value}", d.setting)
            } else {
                value.clone()
            })
        })
        .collect();
    if parts.is_empty() {
        fallback.to_string()
    } else {
        parts.join(", ")
    }
}

/// The table of `runs` (name, history, config) as aligned text: one line of titles, one
/// line per run; the settings that differ as the last columns.
pub fn table_text(runs: &[(String, &[EpochStats], &RunConfig)]) -> String {
    let configs: Vec<&RunConfig> = runs.iter().map(|r| r.2).collect();
    let differences = differing_settings(&configs);
    let mut rows: Vec<Vec<String>> = vec![
        ["run"]
            .into_iter()
            .chain(OUTCOME_TITLES)
            .map(String::from)
            .chain(differences.iter().map(|d| d.setting.clone()))
            .collect(),
    ];
    for (i, (name, history, _)) in runs.iter().enumerate() {
        let mut row = vec![name.clone()];
        row.extend(Outcome::of(history).cells());
        row.extend(differences.iter().map(|d| d.values[i].clone()));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    text
}
