//! The side panel's network editor: the run's layer list as rows that are added, removed
//! and moved, each with the shape it outputs and its parameter count, the total, and the
//! first row that cannot work (checked as you type, before any training).

use super::session::Session;
use crate::nn::activation::ActivationSpec;
use crate::nn::batchnorm::BatchNorm2dSpec;
use crate::nn::conv::Conv2dSpec;
use crate::nn::dense::DenseSpec;
use crate::nn::dropout::DropoutSpec;
use crate::nn::flatten::FlattenSpec;
use crate::nn::layer_list::{self, Preset};
use crate::nn::pool::MaxPool2dSpec;
use crate::nn::{Activation, LayerSpec, Shape};
use crate::train::RunConfig;
use eframe::egui;
use egui::{Color32, DragValue, RichText, Ui};

/// The rows "Add layer" offers, each with its usual settings (a dense row starts as the
/// output layer of `classes` classes).
fn new_rows(classes: usize) -> Vec<(&'static str, LayerSpec)> {
    let act = |f| LayerSpec::Activation(ActivationSpec { f });
    vec![
        ("Dense", LayerSpec::Dense(DenseSpec { out: classes })),
        (
            "Conv2d",
            LayerSpec::Conv2d(Conv2dSpec {
                out: 8,
                kernel: 3,
                stride: 1,
                padding: 0,
            }),
        ),
        (
            "MaxPool2d",
            LayerSpec::MaxPool2d(MaxPool2dSpec { size: 2, stride: 2 }),
        ),
        ("BatchNorm", LayerSpec::BatchNorm2d(BatchNorm2dSpec)),
        ("Dropout", LayerSpec::Dropout(DropoutSpec { p: 0.25 })),
        ("Flatten", LayerSpec::Flatten(FlattenSpec)),
        ("ReLU", act(Activation::Relu)),
        ("Sigmoid", act(Activation::Sigmoid)),
        ("Tanh", act(Activation::Tanh)),
    ]
}

/// What a row's buttons asked for.
enum Edit {
    Up(usize),
    Down(usize),
    Remove(usize),
}

/// The editor of `config.layers`, checked on the session's data (or 32x32 letters).
pub fn ui(ui: &mut Ui, config: &mut RunConfig, session: &Session) {
    let (input, classes) = super::gradcheck::input_of(config, session);
    ui.horizontal(|ui| {
        let label = ui.label("Preset");
        egui::ComboBox::from_id_salt("preset")
            .selected_text("choose...")
            .show_ui(ui, |ui| {
                for preset in Preset::ALL {
                    if ui.selectable_label(false, preset.name()).clicked() {
                        let keep = config.clone();
                        *config = RunConfig {
                            seed: keep.seed,
                            ..RunConfig::preset(preset, classes).on_data_of(&keep)
                        };
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.menu_button("Add layer", |ui| {
            for (name, layer) in new_rows(classes) {
                if ui.button(name).clicked() {
                    config.layers.push(layer);
                    ui.close();
                }
            }
        });
    });
    let checked = layer_list::check(input, &config.layers, classes);
    let mut edit = None;
    // A conv row with its four fields, its shape, count and buttons is wider than the side
    // panel: the list scrolls sideways rather than hide its shapes.
    egui::ScrollArea::horizontal()
        .id_salt("layer-list-scroll")
        .show(ui, |ui| layer_grid(ui, config, input, &checked, &mut edit));
    match edit {
        Some(Edit::Up(i)) => config.layers.swap(i - 1, i),
        Some(Edit::Down(i)) => config.layers.swap(i, i + 1),
        Some(Edit::Remove(i)) => {
            config.layers.remove(i);
        }
        None => {}
    }
    ui.label(format!("Total: {} parameters", count_text(checked.total)));
    match &checked.error {
        Some(e) => ui.label(RichText::new(format!("Cannot train: {e}")).color(Color32::RED)),
        None => ui.weak(layer_list::text(&config.layers)),
    };
}

/// The rows of the list: number, name and fields, output shape, parameter count, buttons.
fn layer_grid(
    ui: &mut Ui,
    config: &mut RunConfig,
    input: Shape,
    checked: &layer_list::ListCheck,
    edit: &mut Option<Edit>,
) {
    let rows = config.layers.len();
    egui::Grid::new("layer-list")
        .num_columns(5)
        .spacing([6.0, 3.0])
        .striped(true)
        .show(ui, |ui| {
            ui.weak("#");
            ui.weak("layer");
            ui.weak("output");
            ui.weak("params");
            ui.end_row();
            ui.weak("in");
            ui.weak("input");
            ui.label(shape_text(Some(input)));
            ui.end_row();
            for (i, (layer, row)) in config.layers.iter_mut().zip(&checked.rows).enumerate() {
                ui.label(format!("{}", i + 1));
                ui.horizontal(|ui| row_ui(ui, layer));
                ui.label(shape_text(row.output));
                ui.label(count_text(row.parameters));
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(i > 0, egui::Button::new("Up").small())
                        .on_hover_text("move up")
                        .clicked()
                    {
                        *edit = Some(Edit::Up(i));
                    }
                    if ui
                        .add_enabled(i + 1 < rows, egui::Button::new("Down").small())
                        .on_hover_text("move down")
                        .clicked()
                    {
                        *edit = Some(Edit::Down(i));
                    }
                    if ui
                        .add(egui::Button::new("Remove").small())
                        .on_hover_text("remove")
                        .clicked()
                    {
                        *edit = Some(Edit::Remove(i));
                    }
                });
                ui.end_row();
            }
        });
}

/// A row's name and the fields of its settings.
fn row_ui(ui: &mut Ui, layer: &mut LayerSpec) {
    // Fields as wide as their numbers (up to 4096), not the default button width.
    ui.spacing_mut().interact_size.x = 16.0;
    ui.spacing_mut().item_spacing.x = 3.0;
    let field = |ui: &mut Ui, v: &mut usize, name: &str, min: usize| {
        ui.add(DragValue::new(v).range(min..=4096))
            .on_hover_text(name);
    };
    match layer {
        LayerSpec::Dense(DenseSpec { out }) => {
            ui.label("dense");
            field(ui, out, "outputs", 1);
        }
        LayerSpec::Conv2d(Conv2dSpec {
            out,
            kernel,
            stride,
            padding,
        }) => {
            ui.label("conv");
            field(ui, out, "output channels", 1);
            field(ui, kernel, "kernel side", 1);
            field(ui, stride, "stride", 1);
            field(ui, padding, "padding", 0);
        }
        LayerSpec::MaxPool2d(MaxPool2dSpec { size, stride }) => {
            ui.label("pool");
            field(ui, size, "window side", 1);
            field(ui, stride, "stride", 1);
        }
        LayerSpec::Dropout(DropoutSpec { p }) => {
            ui.label("dropout");
            ui.add(DragValue::new(p).range(0.0..=0.95).speed(0.01))
                .on_hover_text("probability of zeroing a value in training");
        }
        other => {
            ui.label(other.row_text());
        }
    }
}

fn shape_text(shape: Option<Shape>) -> String {
    match shape {
        Some(s) if s.h * s.w > 1 => format!("{}x{}x{}", s.c, s.h, s.w),
        Some(s) => s.len().to_string(),
        None => "-".into(),
    }
}

/// e.g. 12,345.
fn count_text(n: usize) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(d);
    }
    s
}
