//! Text from photos of handwriting.
//!
//! The stages, each in its own file: [`load`] (decode, EXIF orientation, working
//! resolution), [`binarize`] (even lighting, denoise, Otsu, join strokes), [`components`]
//! (8-connected components, which are letters), [`lines`] (lines, splits, spaces),
//! [`classify`] (crops and the model's guesses), [`stages`] (pictures of each stage) and
//! [`eval`] (the accuracy on photos with a known text).
//!
//! [`segment`] needs no model (the GUI's sliders re-run it); [`read`] classifies its boxes.

pub mod binarize;
pub mod classify;
pub mod commands;
pub mod components;
pub mod eval;
pub mod lines;
pub mod load;
pub mod stages;

use crate::nn::SavedModel;
use anyhow::{Context, Result, bail};
use classify::Guess;
use components::{BBox, Labels};
use image::{DynamicImage, GrayImage};
use lines::TextLine;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The settings a user may change (the GUI's sliders, the CLI's flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OcrParams {
    /// Longest side of the working image, in pixels.
    pub max_side: u32,
    /// Added to Otsu's grey level (positive: more ink).
    pub threshold_offset: i32,
    /// Radius of the closing that joins broken strokes, in pen widths.
    pub close_size: f32,
    /// Radius of the dilation after it, in pen widths.
    pub dilate_size: f32,
    /// A blob with less ink than this fraction of the median blob's is a speck.
    pub min_area: f32,
    /// A blob smaller than this fraction of the letter height (on both sides) is a speck.
    pub min_size: f32,
    /// The post-step: a word is all letters or all digits.
    pub one_kind_per_word: bool,
}

impl Default for OcrParams {
    fn default() -> Self {
        Self {
            max_side: 1600,
            threshold_offset: 0,
            close_size: 0.4,
            dilate_size: 0.0,
            min_area: 0.15,
            min_size: 0.35,
            one_kind_per_word: true,
        }
    }
}

/// How long a stage took.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub stage: &'static str,
    pub ms: f64,
}

/// Collects stage timings.
struct Clock {
    last: Instant,
    timings: Vec<Timing>,
}

impl Clock {
    fn start() -> Self {
        Self {
            last: Instant::now(),
            timings: Vec::new(),
        }
    }

    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        self.timings.push(Timing {
            stage,
            ms: (now - self.last).as_secs_f64() * 1e3,
        });
        self.last = now;
    }
}

/// Everything the segmentation produced, each stage kept for display.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// Photo size (upright).
    pub photo_size: (u32, u32),
    /// Photo pixels per working pixel.
    pub scale: f32,
    pub grey: GrayImage,
    /// The grey image with the lighting evened out and denoised.
    pub flat: GrayImage,
    /// Ink after Otsu's threshold (ink 255).
    pub binary: GrayImage,
    /// The Otsu level plus the offset.
    pub level: u8,
    /// The pen width in working pixels.
    pub stroke_width: f32,
    /// After closing and dilation.
    pub joined: GrayImage,
    pub labels: Labels,
    /// Typical letter height in working pixels.
    pub letter_height: f32,
    pub lines: Vec<TextLine>,
    pub timings: Vec<Timing>,
}

/// Finds the letters of a photo: boxes grouped into lines, with spaces.
pub fn segment(photo: &DynamicImage, params: &OcrParams) -> Result<Segmentation> {
    let mut clock = Clock::start();
    let (grey, scale) = load::working_grey(photo, params.max_side);
    clock.lap("grey + resize");
    if grey.width() < 8 || grey.height() < 8 {
        bail!(
            "the image is too small to hold writing ({}x{} pixels)",
            photo.width(),
            photo.height()
        );
    }
    let small = binarize::shrink(&grey);
    let mut flat = binarize::flatten_lighting(&grey, &small);
    binarize::blank_desk(&mut flat, &small);
    let flat = binarize::denoise(&flat);
    clock.lap("lighting + denoise");
    let (binary, level) = binarize::threshold(&flat, params.threshold_offset)?;
    clock.lap("threshold");
    let stroke_width = binarize::stroke_width(&binary);
    let radius = |size: f32| (size * stroke_width).round().clamp(0.0, 255.0) as u8;
    let joined = binarize::join_strokes(
        &binary,
        radius(params.close_size),
        radius(params.dilate_size),
    );
    clock.lap("morphology");
    let (labels, blobs) = components::find_blobs(&joined);
    clock.lap("components");
    let (blobs, letter) = components::drop_non_letters(blobs, grey.width(), grey.height());
    let Some(letter_height) = letter else {
        bail!("no writing found: no ink inside the page");
    };
    let blobs = components::merge_stacked(blobs, letter_height);
    let blobs = components::drop_specks(blobs, letter_height, params.min_size, params.min_area);
    let lines: Vec<TextLine> = lines::group_lines(blobs)
        .into_iter()
        .map(|line| lines::finish_line(line, &labels))
        .collect();
    clock.lap("letters + lines");
    Ok(Segmentation {
        photo_size: (photo.width(), photo.height()),
        scale,
        grey,
        flat,
        binary,
        level,
        stroke_width,
        joined,
        labels,
        letter_height,
        lines,
        timings: clock.timings,
    })
}

/// One recognised character.
#[derive(Clone, Debug, Serialize)]
pub struct Character {
    /// The chosen class (after the one-kind-per-word step when on).
    pub text: String,
    /// Box in photo pixels.
    pub bbox: BBox,
    /// A space comes before it.
    pub space_before: bool,
    /// The model's best guesses, most probable first.
    pub top: Vec<Guess>,
    /// The 32x32 input the model saw (ink 1.0).
    #[serde(skip)]
    pub crop: Vec<f32>,
}

/// The text of a photo.
#[derive(Clone, Debug, Serialize)]
pub struct Reading {
    pub lines: Vec<Vec<Character>>,
    pub timings: Vec<Timing>,
}

impl Reading {
    /// The text, lines separated by newlines.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|line| {
                line.iter()
                    .map(|c| {
                        if c.space_before {
                            format!(" {}", c.text)
                        } else {
                            c.text.clone()
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn characters(&self) -> impl Iterator<Item = &Character> {
        self.lines.iter().flatten()
    }
}

/// Classifies the letters of a segmentation.
pub fn classify(seg: &Segmentation, model: &mut SavedModel, params: &OcrParams) -> Result<Reading> {
    let mut clock = Clock::start();
    let blobs: Vec<_> = seg.lines.iter().flat_map(|l| &l.blobs).collect();
    let crops: Vec<Vec<f32>> = blobs
        .iter()
        .map(|b| classify::crop(b, &seg.labels, &seg.binary))
        .collect();
    clock.lap("crops");
    let probs = classify::probabilities(model, &crops)?;
    clock.lap("classify");
    let mut rows = probs.rows().into_iter().zip(crops);
    let mut lines = Vec::new();
    for line in &seg.lines {
        let mut chars: Vec<Character> = Vec::new();
        let mut line_probs = Vec::new();
        for (blob, &space_before) in line.blobs.iter().zip(&line.space_before) {
            let (p, crop) = rows.next().expect("one row per blob");
            chars.push(Character {
                text: model.classes[classify::argmax(&p)].clone(),
                bbox: blob.bbox.scaled(seg.scale),
                space_before,
                top: classify::top_guesses(p, &model.classes),
                crop,
            });
            line_probs.push(p);
        }
        if params.one_kind_per_word {
            let mut start = 0;
            while start < chars.len() {
                let end = (start + 1..chars.len())
                    .find(|&i| chars[i].space_before)
                    .unwrap_or(chars.len());
                for (c, k) in chars[start..end]
                    .iter_mut()
                    .zip(classify::one_kind_per_word(
                        &line_probs[start..end],
                        &model.classes,
                    ))
                {
                    c.text = model.classes[k].clone();
                }
                start = end;
            }
        }
        lines.push(chars);
    }
    clock.lap("words");
    let mut timings = seg.timings.clone();
    timings.extend(clock.timings);
    Ok(Reading { lines, timings })
}

/// Reads the image file at `path` and then its text; the decoding is timed too.
pub fn read_file(
    path: &std::path::Path,
    model: &mut SavedModel,
    params: &OcrParams,
) -> Result<(Segmentation, Reading)> {
    let start = Instant::now();
    let photo = load::read_image(path)?;
    let decode = Timing {
        stage: "decode",
        ms: start.elapsed().as_secs_f64() * 1e3,
    };
    let (seg, mut reading) =
        read(&photo, model, params).with_context(|| format!("reading {}", path.display()))?;
    reading.timings.insert(0, decode);
    Ok((seg, reading))
}

/// Segments and classifies a photo.
pub fn read(
    photo: &DynamicImage,
    model: &mut SavedModel,
    params: &OcrParams,
) -> Result<(Segmentation, Reading)> {
    let seg = segment(photo, params)?;
    let reading = classify(&seg, model, params)?;
    Ok((seg, reading))
}
