//! The Confusion tab: the validation split's confusion matrix as a heatmap, per-class
//! accuracy, the most confused pairs, and a gallery of the images in a clicked cell.

use super::palette::{ink_image, sequential, texture};
use super::tab::{TabContext, TabPanel};
use super::weights::epoch_slider;
use crate::data::Dataset;
use crate::train::metrics::most_confused;
use crate::train::protocol::ValidationSnapshot;
use eframe::egui;
use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, TextureHandle, Ui, Vec2};
use ndarray::Array2;
use std::sync::Arc;

/// Room for the class labels left of and above the grid.
const LABEL_MARGIN: f32 = 18.0;
/// Most images shown for one cell.
const GALLERY_LIMIT: usize = 64;
/// Side of a gallery image, in points.
const THUMBNAIL: f32 = 48.0;
/// Rows of the gallery shown at once (more scroll).
const GALLERY_ROWS: usize = 3;

#[derive(Default)]
pub struct ConfusionView {
    /// The clicked cell: (true class, predicted class).
    pub selected: Option<(usize, usize)>,
    /// Where the grid was drawn last frame and how many classes it had.
    grid: Option<(Rect, usize)>,
    gallery: Option<Gallery>,
}

/// The images of the selected cell, most confident first.
pub struct Gallery {
    validation: Arc<ValidationSnapshot>,
    cell: (usize, usize),
    /// (validation index, confidence, texture)
    pub images: Vec<(usize, f32, TextureHandle)>,
}

impl ConfusionView {
    /// The screen position of cell (true, predicted) in the last frame.
    pub fn cell_center(&self, truth: usize, predicted: usize) -> Option<Pos2> {
        let (rect, n) = self.grid?;
        let cell = rect.width() / n as f32;
        Some(rect.min + Vec2::new((predicted as f32 + 0.5) * cell, (truth as f32 + 0.5) * cell))
    }

    pub fn gallery(&self) -> Option<&Gallery> {
        self.gallery.as_ref()
    }

    fn show(
        &mut self,
        ui: &mut Ui,
        validation: Option<&Arc<ValidationSnapshot>>,
        valid: Option<&Dataset>,
    ) {
        let (Some(v), Some(data)) = (validation, valid) else {
            ui.weak("Press Train: the confusion matrix of the validation split appears here.");
            return;
        };
        let Some(m) = &v.confusion else {
            ui.label("This run does not classify, so it has no confusion matrix.");
            return;
        };
        ui.label(format!(
            "Validation split after epoch {}: accuracy {:.1}% on {} images. Rows: true class, columns: \
             predicted. Click a cell to see its images.",
            v.epoch,
            100.0 * v.accuracy,
            data.len()
        ));
        let side = (ui.available_height() - 10.0)
            .min(ui.available_width() * 0.55)
            .max(200.0);
        ui.horizontal_top(|ui| {
            if let Some(cell) = self.heatmap(ui, m, &data.classes, side) {
                self.selected = Some(cell);
            }
            let rest = ui.available_width().max(200.0);
            ui.vertical(|ui| {
                ui.set_width(rest);
                // Scrolls when the window is too low for the pairs, gallery and accuracies.
                egui::ScrollArea::vertical()
                    .id_salt("confusion-side")
                    .auto_shrink([false, true])
                    .show(ui, |ui| {
                        if let Some(cell) = pairs_ui(ui, m, &data.classes) {
                            self.selected = Some(cell);
                        }
                        ui.add_space(8.0);
                        self.gallery_ui(ui, v, data);
                        ui.add_space(8.0);
                        class_accuracy_ui(ui, m, &data.classes);
                    });
            });
        });
    }

    /// Draws the matrix; returns the cell clicked this frame.
    fn heatmap(
        &mut self,
        ui: &mut Ui,
        m: &Array2<usize>,
        classes: &[String],
        side: f32,
    ) -> Option<(usize, usize)> {
        let n = m.nrows();
        let (outer, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::click());
        // Labels of cells thinner than the text alternate between staggered places (62
        // classes at 1024x700 give 6-point cells), so neighbours do not overlap.
        let unstaggered = (side - LABEL_MARGIN) / n as f32;
        let (size, levels) = (label_size(unstaggered), label_levels(unstaggered));
        let step = size + 2.0;
        let margin = LABEL_MARGIN + (levels - 1) as f32 * step;
        let grid = Rect::from_min_max(outer.min + Vec2::splat(margin), outer.max);
        self.grid = Some((grid, n));
        let cell = grid.width() / n as f32;
        let painter = ui.painter_at(outer);
        let row_totals: Vec<usize> = m.rows().into_iter().map(|r| r.sum()).collect();
        for t in 0..n {
            for p in 0..n {
                let share = m[[t, p]] as f32 / row_totals[t].max(1) as f32;
                let r = Rect::from_min_size(
                    grid.min + Vec2::new(p as f32 * cell, t as f32 * cell),
                    Vec2::splat(cell),
                );
                // The square root keeps single mistakes visible next to a full diagonal.
                painter.rect_filled(r.shrink(0.5), 0.0, sequential(share.sqrt()));
            }
        }
        let font = FontId::proportional(size);
        let text = ui.visuals().text_color();
        for (i, name) in classes.iter().enumerate().take(n) {
            let c = (i as f32 + 0.5) * cell;
            let level = (i % levels) as f32 * step;
            painter.text(
                Pos2::new(grid.left() - 3.0 - level, grid.top() + c),
                Align2::RIGHT_CENTER,
                name,
                font.clone(),
                text,
            );
            painter.text(
                Pos2::new(grid.left() + c, grid.top() - 2.0 - level),
                Align2::CENTER_BOTTOM,
                name,
                font.clone(),
                text,
            );
        }
        let cell_at = |pos: Pos2| {
            let (p, t) = (
                ((pos.x - grid.left()) / cell).floor(),
                ((pos.y - grid.top()) / cell).floor(),
            );
            (grid.contains(pos) && p >= 0.0 && t >= 0.0)
                .then(|| ((t as usize).min(n - 1), (p as usize).min(n - 1)))
        };
        if let Some((t, p)) = self.selected.filter(|&(t, p)| t < n && p < n) {
            let r = Rect::from_min_size(
                grid.min + Vec2::new(p as f32 * cell, t as f32 * cell),
                Vec2::splat(cell),
            );
            painter.rect_stroke(
                r,
                0.0,
                Stroke::new(2.0, Color32::from_rgb(230, 60, 60)),
                egui::StrokeKind::Outside,
            );
        }
        let hovered = response.hover_pos().and_then(cell_at);
        let clicked = if response.clicked() {
            response.interact_pointer_pos().and_then(cell_at)
        } else {
            None
        };
        if let Some((t, p)) = hovered {
            let count = m[[t, p]];
            let share = 100.0 * count as f32 / row_totals[t].max(1) as f32;
            response.on_hover_text(format!(
                "true {}, predicted {}: {count} image{} ({share:.0}% of {})",
                classes[t],
                classes[p],
                if count == 1 { "" } else { "s" },
                classes[t]
            ));
        }
        clicked
    }

    fn gallery_ui(&mut self, ui: &mut Ui, v: &Arc<ValidationSnapshot>, data: &Dataset) {
        let Some(cell) = self.selected else { return };
        let stale = self
            .gallery
            .as_ref()
            .is_none_or(|g| g.cell != cell || !Arc::ptr_eq(&g.validation, v));
        if stale {
            self.gallery = Some(Gallery::new(ui.ctx(), v, data, cell));
        }
        let Some(g) = &self.gallery else { return };
        let (t, p) = cell;
        let title = if t == p {
            format!(
                "{} recognised correctly ({})",
                data.classes[t],
                g.images.len()
            )
        } else {
            format!(
                "true {} predicted as {} ({}), most confident first",
                data.classes[t],
                data.classes[p],
                g.images.len()
            )
        };
        ui.label(RichText::new(title).strong());
        if g.images.is_empty() {
            ui.weak("no validation images in this cell");
            return;
        }
        // Rows of as many thumbnails as fit (wrapping inside a scroll area does not), and
        // as many whole rows as fit the gallery's height: no row shows half.
        let per_row = ((ui.available_width() / 56.0) as usize).max(1);
        let spacing = ui.spacing().item_spacing.y;
        let row_height = THUMBNAIL + ui.text_style_height(&egui::TextStyle::Small) + 2.0 * spacing;
        let rows = g.images.len().div_ceil(per_row).min(GALLERY_ROWS);
        egui::ScrollArea::vertical()
            .id_salt("gallery")
            .max_height(rows as f32 * row_height - spacing)
            .show(ui, |ui| {
                for row in g.images.chunks(per_row) {
                    ui.horizontal(|ui| {
                        for (index, confidence, tex) in row {
                            ui.vertical(|ui| {
                                ui.image((tex.id(), Vec2::splat(THUMBNAIL))).on_hover_text(
                                    format!(
                                        "validation image {index}: {:.1}% {}",
                                        100.0 * confidence,
                                        data.classes[p]
                                    ),
                                );
                                ui.small(format!("{:.0}%", 100.0 * confidence));
                            });
                        }
                    });
                }
            });
    }
}

impl Gallery {
    fn new(
        ctx: &egui::Context,
        v: &Arc<ValidationSnapshot>,
        data: &Dataset,
        cell: (usize, usize),
    ) -> Self {
        let (t, p) = cell;
        let mut members: Vec<(usize, f32)> = (0..data.len().min(v.predicted.len()))
            .filter(|&i| data.labels[i] == t && v.predicted[i] == p)
            .map(|i| (i, v.confidence[i]))
            .collect();
        members.sort_by(|a, b| b.1.total_cmp(&a.1));
        members.truncate(GALLERY_LIMIT);
        let images = members
            .into_iter()
            .map(|(i, c)| {
                (
                    i,
                    c,
                    texture(ctx, &format!("valid-{i}"), ink_image(data.image(i))),
                )
            })
            .collect();
        Self {
            validation: v.clone(),
            cell,
            images,
        }
    }
}

/// The class labels' font size for cells of side `cell`: readable however small the cells
/// get (36 classes at 1024x700 give 11-point cells; a label may be wider than its cell).
fn label_size(cell: f32) -> f32 {
    (cell * 0.8).clamp(10.0, 12.0)
}

/// In how many staggered places the labels of cells of side `cell` alternate: one where a
/// label fits its cell, more where it would overlap its neighbours.
fn label_levels(cell: f32) -> usize {
    ((label_size(cell) + 1.0) / cell).ceil().max(1.0) as usize
}

/// The ten most confused pairs as buttons; returns the cell of the one clicked.
fn pairs_ui(ui: &mut Ui, m: &Array2<usize>, classes: &[String]) -> Option<(usize, usize)> {
    ui.label(RichText::new("Most confused pairs").strong());
    let pairs = most_confused(m, 10);
    if pairs.is_empty() {
        ui.weak("no mistakes on the validation split");
    }
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        for (t, p, n) in pairs {
            let label = format!("{} / {}: {n}", classes[t], classes[p]);
            let hover = format!(
                "{} true {} read as {}, {} the other way",
                m[[t, p]],
                classes[t],
                classes[p],
                m[[p, t]]
            );
            if ui.button(label).on_hover_text(hover).clicked() {
                clicked = Some((t, p));
            }
        }
    });
    clicked
}

fn class_accuracy_ui(ui: &mut Ui, m: &Array2<usize>, classes: &[String]) {
    ui.label(RichText::new("Per-class accuracy").strong());
    egui::Grid::new("class-accuracy")
        .spacing([6.0, 2.0])
        .show(ui, |ui| {
            for (i, row) in m.rows().into_iter().enumerate() {
                let total = row.sum();
                let acc = if total == 0 {
                    f32::NAN
                } else {
                    m[[i, i]] as f32 / total as f32
                };
                ui.label(&classes[i]);
                let bar = egui::ProgressBar::new(if acc.is_nan() { 0.0 } else { acc })
                    .desired_width(60.0)
                    .text(if acc.is_nan() {
                        "-".into()
                    } else {
                        format!("{:.0}%", 100.0 * acc)
                    });
                ui.add(bar);
                if i % 3 == 2 {
                    ui.end_row();
                }
            }
        });
}

/// The epoch slider and the matrix of the chosen epoch.
impl TabPanel for ConfusionView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>) {
        let session = &mut *cx.session;
        let replayed = epoch_slider(ui, &mut session.epochs).cloned();
        let validation = replayed
            .as_ref()
            .and_then(|r| r.validation.as_ref())
            .or(session.validation.as_ref());
        self.show(ui, validation, session.data.as_ref().map(|d| &d.valid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_readable_on_small_cells_and_grow_with_large_ones() {
        assert_eq!(label_size(8.0), 10.0);
        assert_eq!(label_size(11.3), 10.0);
        assert_eq!(label_size(30.0), 12.0);
    }

    #[test]
    fn labels_of_thin_cells_alternate_between_staggered_places() {
        assert_eq!(label_levels(11.3), 1, "36 classes at 1024x700");
        assert_eq!(label_levels(6.5), 2, "62 classes at 1024x700");
        assert_eq!(label_levels(3.0), 4);
    }
}
