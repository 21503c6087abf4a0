//! Text from photos of handwriting.
//!
//! The stages, each in its own file: [`load`] (decode, EXIF orientation, working
//! resolution), [`binarize`] (even lighting, denoise, Otsu, join strokes), [`rules`]
//! (printed rules of ruled and squared paper taken out), [`components`]
//! (8-connected components, which are letters), [`skew`] (the page's angle, levelled),
//! [`lines`] (lines along the writing, spaces), [`classify`] (crops and the model's
//! guesses), [`recognise`] (touching letters cut where the pieces read best),
//! [`line_case`] (c or C, o or O by the letter's height in its line),
//! [`stages`] (pictures of each stage) and [`eval`] (the accuracy on photos with a known
//! text).
//!
//! [`segment`] needs no model; [`read`] classifies its boxes (and, with
//! [`OcrParams::by_recognition`], re-cuts the doubtful ones by what reads best).

/// Where the `train_piece_reader` binary writes the piece reader the OCR embeds.
pub const PIECE_READER_FILE: &str = "assets/piece_reader.safetensors";

pub mod binarize;
pub mod classify;
pub mod commands;
pub mod components;
pub mod dictionary;
pub mod eval;
pub mod line_case;
pub mod lines;
pub mod load;
pub mod recognise;
pub mod rules;
pub mod skew;
pub mod stages;
pub mod words;

use crate::data::case::{SAME_SHAPE, reads_lower_case};
use crate::nn::SavedModel;
use anyhow::{Context, Result, bail};
use classify::Guess;
use components::{BBox, Blob, Labels};
use image::{DynamicImage, GrayImage};
use lines::TextLine;
use recognise::CutBox;
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
    /// A word read as letters no English dictionary holds becomes the word its letters
    /// could as well be, when the classifier finds that not much less likely.
    pub dictionary: bool,
    /// The writing's angle in degrees (positive: lines run down to the right); `None`:
    /// estimated from the page.
    pub angle: Option<f32>,
    /// Try the four quarter turns and keep the one the classifier is surest of (pages
    /// upside down or on their side).
    pub orient_auto: bool,
    /// Cut touching letters (and merge broken ones) by what the classifier reads best;
    /// off: by width alone.
    pub by_recognition: bool,
    /// Take the printed rules of ruled or squared paper (and margin lines) out of the ink
    /// before looking for letters.
    pub remove_rules: bool,
    /// Which shipped model reads (a model the user gives reads instead, whatever this says).
    pub case: Case,
}

/// The letters a page is read as, by which of the shipped models reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// A-Z and 0-9 (the course's classes; the default model).
    #[default]
    Capitals,
    /// A-Z, a-z and 0-9 (the `builtin62` model; case from the line).
    Mixed,
    /// Both models read; the reading the classifier is surer of wins.
    Auto,
}

impl Case {
    pub const ALL: [Case; 3] = [Case::Capitals, Case::Mixed, Case::Auto];

    pub fn name(self) -> &'static str {
        match self {
            Self::Capitals => "capitals",
            Self::Mixed => "mixed case",
            Self::Auto => "auto",
        }
    }

    /// The shipped models this case reads with.
    pub fn models(self) -> Result<Vec<SavedModel>> {
        use crate::data::builtin::{default_model, mixed_case_model};
        Ok(match self {
            Self::Capitals => vec![default_model()?],
            Self::Mixed => vec![mixed_case_model()?],
            Self::Auto => vec![default_model()?, mixed_case_model()?],
        })
    }
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
            dictionary: true,
            angle: None,
            orient_auto: false,
            by_recognition: true,
            remove_rules: true,
            case: Case::Capitals,
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

/// Everything the segmentation produced, each stage kept for display. The images from
/// `grey` on are of the page as read: turned by `quarter_turns` and levelled by
/// `rotation`.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// Photo size (upright).
    pub photo_size: (u32, u32),
    /// Photo pixels per working pixel.
    pub scale: f32,
    /// Quarter turns clockwise applied to the working image before reading.
    pub quarter_turns: u8,
    /// The writing's angle in degrees (estimated or given) in the turned image.
    pub angle: f32,
    /// The rotation that levelled the writing (`None`: the tilt was under
    /// [`skew::MIN_ROTATION`] and the image was read as it is).
    pub rotation: Option<skew::Rotation>,
    pub grey: GrayImage,
    /// The grey image with the lighting evened out and denoised.
    pub flat: GrayImage,
    /// Ink after Otsu's threshold (ink 255).
    pub binary: GrayImage,
    /// The Otsu level plus the offset.
    pub level: u8,
    /// The pen width in working pixels.
    pub stroke_width: f32,
    /// The printed rules taken out of `binary` (of the levelled image when it was levelled).
    pub rules: rules::RulesRemoved,
    /// After closing and dilation.
    pub joined: GrayImage,
    pub labels: Labels,
    /// Typical letter height in working pixels.
    pub letter_height: f32,
    pub lines: Vec<TextLine>,
    pub timings: Vec<Timing>,
}

/// The working grey image of a photo and its scale (photo pixels per working pixel).
fn working(photo: &DynamicImage, params: &OcrParams) -> Result<(GrayImage, f32)> {
    let (grey, scale) = load::working_grey(photo, params.max_side);
    if grey.width() < 8 || grey.height() < 8 {
        bail!(
            "the image is too small to hold writing ({}x{} pixels)",
            photo.width(),
            photo.height()
        );
    }
    Ok((grey, scale))
}

/// Finds the letters of a photo: boxes grouped into lines, with spaces.
pub fn segment(photo: &DynamicImage, params: &OcrParams) -> Result<Segmentation> {
    let mut clock = Clock::start();
    let (grey, scale) = working(photo, params)?;
    clock.lap("grey + resize");
    let size = (photo.width(), photo.height());
    segment_turned(grey, 0, (size, scale), params, clock)
}

/// The letter boxes of a binary image and what they are measured with.
struct Letters {
    joined: GrayImage,
    labels: Labels,
    blobs: Vec<Blob>,
    letter_height: f32,
}

/// Joins strokes, finds the components and keeps those that are letters.
fn find_letters(
    binary: &GrayImage,
    off_page: &GrayImage,
    stroke_width: f32,
    params: &OcrParams,
    clock: &mut Clock,
) -> Result<Letters> {
    let radius = |size: f32| (size * stroke_width).round().clamp(0.0, 255.0) as u8;
    let joined = binarize::join_strokes(
        binary,
        radius(params.close_size),
        radius(params.dilate_size),
    );
    clock.lap("morphology");
    let (labels, blobs) = components::find_blobs(&joined);
    clock.lap("components");
    let (blobs, letter) = components::drop_non_letters(blobs, off_page);
    let Some(letter_height) = letter else {
        bail!("no writing found: no ink inside the page");
    };
    let blobs = components::merge_stacked(blobs, letter_height);
    let blobs = components::drop_specks(blobs, letter_height, params.min_size, params.min_area);
    Ok(Letters {
        joined,
        labels,
        blobs,
        letter_height,
    })
}

/// The working image turned clockwise by `quarter_turns`.
fn turned(grey: GrayImage, quarter_turns: u8) -> GrayImage {
    match quarter_turns % 4 {
        0 => grey,
        1 => image::imageops::rotate90(&grey),
        2 => image::imageops::rotate180(&grey),
        _ => image::imageops::rotate270(&grey),
    }
}

/// Segments the working image `grey` (of a photo of `size` at `scale`) turned by
/// `quarter_turns`: evens the lighting, thresholds, finds the letters, levels the
/// writing's angle (finding the letters again on the levelled image), groups the lines.
fn segment_turned(
    grey: GrayImage,
    quarter_turns: u8,
    (photo_size, scale): ((u32, u32), f32),
    params: &OcrParams,
    mut clock: Clock,
) -> Result<Segmentation> {
    if let Some(a) = params.angle
        && !(a.is_finite() && a.abs() <= skew::MAX_OVERRIDE)
    {
        bail!(
            "the angle {a} degrees is out of range: at most {} either way",
            skew::MAX_OVERRIDE
        );
    }
    let mut grey = turned(grey, quarter_turns);
    let small = binarize::shrink(&grey);
    let mut flat = binarize::flatten_lighting(&grey, &small);
    let mut off_page = binarize::blank_desk(&mut flat, &small)
        .unwrap_or_else(|| GrayImage::new(grey.width(), grey.height()));
    let mut flat = binarize::denoise(&flat);
    clock.lap("lighting + denoise");
    let (mut binary, level) = binarize::threshold(&flat, params.threshold_offset)?;
    clock.lap("threshold");
    let (stroke_width, mut rules) = without_rules(&mut binary, params, &mut clock);
    let mut letters = find_letters(&binary, &off_page, stroke_width, params, &mut clock)?;
    let angle = params
        .angle
        .or_else(|| skew::estimate_angle(&letters.blobs, letters.letter_height))
        .unwrap_or(0.0);
    let mut rotation = None;
    if angle.abs() >= skew::MIN_ROTATION {
        let r = skew::Rotation::levelling(angle, grey.dimensions());
        // The desk is already paper in `flat`; outside the photo is paper too.
        flat = r.apply(&flat, 255);
        grey = r.apply(&grey, 0);
        off_page = r.apply(&off_page, 255);
        binary = binarize::ink_at(&flat, level);
        clock.lap("levelling");
        rules = without_rules(&mut binary, params, &mut clock).1;
        letters = find_letters(&binary, &off_page, stroke_width, params, &mut clock)?;
        rotation = Some(r);
    }
    let Letters {
        joined,
        labels,
        blobs,
        letter_height,
    } = letters;
    let lines: Vec<TextLine> = lines::group_lines(blobs, letter_height)
        .into_iter()
        .map(|line| lines::finish_line(line, &labels, !params.by_recognition))
        .collect();
    clock.lap("lines");
    Ok(Segmentation {
        photo_size,
        scale,
        quarter_turns,
        angle,
        rotation,
        grey,
        flat,
        binary,
        level,
        stroke_width,
        rules,
        joined,
        labels,
        letter_height,
        lines,
        timings: clock.timings,
    })
}

/// Takes the printed rules out of `binary` when asked; the pen width of what is left.
fn without_rules(
    binary: &mut GrayImage,
    params: &OcrParams,
    clock: &mut Clock,
) -> (f32, rules::RulesRemoved) {
    let stroke_width = binarize::stroke_width(binary);
    if !params.remove_rules {
        return (stroke_width, rules::RulesRemoved::default());
    }
    let removed = rules::remove_rules(binary, stroke_width);
    clock.lap("rules");
    if removed.pixels == 0 {
        return (stroke_width, removed);
    }
    // Thin rules made the pen look thinner than it is.
    (binarize::stroke_width(binary), removed)
}

/// One recognised character.
#[derive(Clone, Debug, Serialize)]
pub struct Character {
    /// The chosen class (after the word steps).
    pub text: String,
    /// Box in photo pixels of the page as read (turned and levelled as the segmentation
    /// says; the photo's own pixels for an upright, level page).
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
    /// The writing's angle in degrees (positive: lines ran down to the right).
    pub angle: f32,
    /// Quarter turns clockwise that made the page upright.
    pub quarter_turns: u8,
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

    /// How sure the classifier is of the whole reading: the mean log-probability of the
    /// characters' best guesses.
    pub fn confidence(&self) -> f32 {
        let logs: Vec<f32> = self
            .characters()
            .filter_map(|c| c.top.first())
            .map(|g| g.probability.max(1e-6).ln())
            .collect();
        if logs.is_empty() {
            f32::NEG_INFINITY
        } else {
            logs.iter().sum::<f32>() / logs.len() as f32
        }
    }
}

/// A mixed-case reading beside a capitals one must hold at least this share of letters
/// that only lower case writes (a, b, d, e ...: not c/C, o/O): a page of capitals read as
/// mixed case has a few stray ones (an R read as r), a page of notes has many.
const MIN_LOWER_CASE_SHARE: f32 = 0.2;

/// How a reading ranks among the readings of one page: its confidence, unless it is a
/// mixed-case reading (`mixed_beside_capitals`) with too few lower-case letters.
fn surety(reading: &Reading, mixed_beside_capitals: bool) -> f32 {
    let chars: Vec<char> = reading
        .characters()
        .filter_map(|c| c.text.chars().next())
        .collect();
    let lower = chars
        .iter()
        .filter(|c| c.is_ascii_lowercase() && !SAME_SHAPE.iter().any(|p| p.0 == **c))
        .count();
    let share = lower as f32 / chars.len().max(1) as f32;
    match mixed_beside_capitals && share < MIN_LOWER_CASE_SHARE {
        true => f32::NEG_INFINITY,
        false => reading.confidence(),
    }
}

/// Classifies the letters of a segmentation; with [`OcrParams::by_recognition`] the
/// doubtful boxes are re-cut by what reads best, and the segmentation's lines become the
/// boxes read.
pub fn classify(
    seg: &mut Segmentation,
    model: &mut SavedModel,
    params: &OcrParams,
) -> Result<Reading> {
    let mut clock = Clock::start();
    let counts: Vec<usize> = seg.lines.iter().map(|l| l.blobs.len()).collect();
    let blobs: Vec<Blob> = seg.lines.iter().flat_map(|l| l.blobs.clone()).collect();
    let mut read = recognise::read_boxes(blobs, &seg.labels, &seg.binary, model)?.into_iter();
    let lines: Vec<Vec<recognise::ReadBox>> = counts
        .iter()
        .map(|&n| read.by_ref().take(n).collect())
        .collect();
    clock.lap("classify");
    let cut_lines = if params.by_recognition {
        let page = recognise::Page {
            labels: &seg.labels,
            binary: &seg.binary,
            stroke_width: seg.stroke_width,
            classes: model.classes.clone(),
            piece_reader: recognise::piece_reader_for(model),
        };
        let with_heights = lines
            .into_iter()
            .zip(&seg.lines)
            .map(|(boxes, l)| (boxes, l.letter_height))
            .collect();
        let cut = recognise::refine_lines(with_heights, &page, model)?;
        clock.lap("recognition cuts");
        cut
    } else {
        let whole = |line: Vec<recognise::ReadBox>| line.into_iter().map(CutBox::whole).collect();
        lines.into_iter().map(whole).collect()
    };
    let mut out = Vec::new();
    for (line, mut cut) in seg.lines.iter_mut().zip(cut_lines) {
        if params.by_recognition {
            if params.dictionary {
                cut = words::cuts_that_spell(cut, line.letter_height, &model.classes, params);
            }
            let blobs = cut.iter().flat_map(|c| &c.pieces).map(|b| b.blob.clone());
            *line = lines::with_spaces(blobs.collect(), line.letter_height);
        }
        let boxes: Vec<_> = cut.into_iter().flat_map(|c| c.pieces).collect();
        let chars = words::read_line(&boxes, &line.space_before, &model.classes, params);
        out.push(scaled(chars, seg.scale));
    }
    clock.lap("words");
    let mut timings = seg.timings.clone();
    timings.extend(clock.timings);
    Ok(Reading {
        angle: seg.angle,
        quarter_turns: seg.quarter_turns,
        lines: out,
        timings,
    })
}

/// `chars` with their boxes in photo pixels.
fn scaled(mut chars: Vec<Character>, scale: f32) -> Vec<Character> {
    for c in &mut chars {
        c.bbox = c.bbox.scaled(scale);
    }
    chars
}

/// Reads the image file at `path` and then its text; the decoding is timed too.
pub fn read_file(
    path: &std::path::Path,
    models: &mut [SavedModel],
    params: &OcrParams,
) -> Result<(Segmentation, Reading)> {
    let start = Instant::now();
    let photo = load::read_image(path)?;
    let decode = Timing {
        stage: "decode",
        ms: start.elapsed().as_secs_f64() * 1e3,
    };
    let (seg, mut reading) = read_with_any(&photo, models, params)
        .with_context(|| format!("reading {}", path.display()))?;
    reading.timings.insert(0, decode);
    Ok((seg, reading))
}

/// Segments and classifies a photo; with [`OcrParams::orient_auto`], in each of the four
/// quarter turns, keeping the reading the classifier is surest of.
pub fn read(
    photo: &DynamicImage,
    model: &mut SavedModel,
    params: &OcrParams,
) -> Result<(Segmentation, Reading)> {
    read_with_any(photo, std::slice::from_mut(model), params)
}

/// [`read`] with each of `models` (and each quarter turn, when asked), keeping the
/// reading the classifier is surest of: how [`Case::Auto`] picks capitals or mixed case.
pub fn read_with_any(
    photo: &DynamicImage,
    models: &mut [SavedModel],
    params: &OcrParams,
) -> Result<(Segmentation, Reading)> {
    let mut clock = Clock::start();
    let (grey, scale) = working(photo, params)?;
    clock.lap("grey + resize");
    let size = (photo.width(), photo.height());
    let turns: &[u8] = if params.orient_auto {
        &[0, 1, 2, 3]
    } else {
        &[0]
    };
    let mut best: Option<(Segmentation, Reading, f32)> = None;
    let mut first_error = None;
    let mut others_ms = 0.0;
    for &t in turns {
        let segmented = segment_turned(grey.clone(), t, (size, scale), params, Clock::start());
        let several = models.len() > 1;
        let outcomes: Vec<Result<(Segmentation, Reading, f32)>> = match segmented {
            Ok(seg) => models
                .iter_mut()
                .map(|model| {
                    let mut seg = seg.clone();
                    let reading = classify(&mut seg, model, params)?;
                    let surety = surety(&reading, several && reads_lower_case(&model.classes));
                    Ok((seg, reading, surety))
                })
                .collect(),
            Err(e) => vec![Err(e)],
        };
        for outcome in outcomes {
            match outcome {
                Ok((seg, reading, surety)) => {
                    let ms: f64 = reading.timings.iter().map(|t| t.ms).sum();
                    let better = best.as_ref().is_none_or(|(_, _, b)| surety > *b);
                    if better {
                        let replaced = best.replace((seg, reading, surety));
                        others_ms +=
                            replaced.map_or(0.0, |(_, r, _)| r.timings.iter().map(|t| t.ms).sum());
                    } else {
                        others_ms += ms;
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    let Some((seg, mut reading, _)) = best else {
        return Err(first_error.expect("a turn was tried"));
    };
    let mut timings = clock.timings;
    timings.append(&mut reading.timings);
    reading.timings = timings;
    if params.orient_auto || models.len() > 1 {
        reading.timings.push(Timing {
            stage: "other readings",
            ms: others_ms,
        });
    }
    Ok((seg, reading))
}
