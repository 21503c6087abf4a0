//! `builtin`: the embedded default data set, 36 classes (A-Z, 0-9) of 32x32 characters in
//! NIST36's sizes (300 / 100 / 50 per class for train / valid / test), and `builtin62`, the
//! same with a-z as well (classes 36-61), made from files compiled into the binary:
//! - 53 handwriting fonts in `assets/fonts/` (letters and digits), each in one split only, so
//!   validation and test measure new hands, not memory;
//! - real MNIST digits in `assets/mnist/`, split by index, as a third of every digit class
//!   (the rest come from the fonts, so "looks hand-written" does not mean "digit").
//!
//! Every sample gets its own seeded distortion (`augment`) and goes through
//! `crop::normalize_glyph`, as OCR crops and the drawing canvas do. The tight crop loses
//! where a glyph sits on its line, which tells c from C; [`line_places`] gives it back for
//! every sample (see [`LinePlace`]). The same seed gives the
//! same bytes, whatever the number of threads. Generating takes longer than start-up may
//! (about 20 s of CPU), so the generated splits ship as `assets/builtin.bin.gz` and
//! `nnlab gen-builtin` regenerates them (a test checks they are up to date).

use super::augment::Variation;
use super::case::{LinePlace, TYPICAL_X_HEIGHT};
use super::crop::normalize_glyph;
use super::mnist::Digits;
use super::render::Hand;
use super::{Dataset, PIXELS, Splits, mixed_case_classes, nist36_classes};
use crate::nn::{SavedModel, Shape};
use anyhow::{Context, Result, anyhow, bail};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{Read, Write};
use std::ops::Range;
use std::sync::OnceLock;

/// The seed of the data set every run uses.
pub const SEED: u64 = 2026;
/// Letters before digits in the class order (A-Z, then 0-9).
const LETTERS: usize = 26;
/// Fraction of every digit class drawn from MNIST; the rest is font-rendered.
const MNIST_SHARE: f64 = 1.0 / 3.0;
/// Classes before the lower-case letters in `builtin62` (the 36 of `builtin`, same order).
const CAPITALS_AND_DIGITS: usize = 36;

/// Which classes a builtin set holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `builtin`: A-Z and 0-9, as NIST36.
    Capitals,
    /// `builtin62`: A-Z, 0-9 and a-z.
    MixedCase,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Self::Capitals => "builtin",
            Self::MixedCase => "builtin62",
        }
    }

    pub fn classes(self) -> Vec<String> {
        match self {
            Self::Capitals => nist36_classes(),
            Self::MixedCase => mixed_case_classes(),
        }
    }

    /// Where the generated splits are kept, and their bytes as compiled in.
    pub fn packed_file(self) -> &'static str {
        match self {
            Self::Capitals => "assets/builtin.bin.gz",
            Self::MixedCase => "assets/builtin62.bin.gz",
        }
    }

    fn packed(self) -> &'static [u8] {
        match self {
            Self::Capitals => include_bytes!("../../assets/builtin.bin.gz"),
            Self::MixedCase => include_bytes!("../../assets/builtin62.bin.gz"),
        }
    }

    /// The shipped splits, unpacked once per process and then copied from a cache.
    pub fn splits(self) -> Result<Splits> {
        static CAPITALS: OnceLock<Result<Splits, String>> = OnceLock::new();
        static MIXED: OnceLock<Result<Splits, String>> = OnceLock::new();
        let cache = match self {
            Self::Capitals => &CAPITALS,
            Self::MixedCase => &MIXED,
        };
        cache
            .get_or_init(|| {
                unpack(self.packed(), self.packed_file(), self).map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| anyhow!("loading the {} data set: {e}", self.name()))
    }
}

/// One of the three splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// Samples per class, as in NIST36.
    pub fn per_class(self) -> usize {
        match self {
            Split::Train => 300,
            Split::Valid => 100,
            Split::Test => 50,
        }
    }

    /// The MNIST images (per digit) this split may use, disjoint from the other splits'.
    fn mnist_range(self) -> Range<usize> {
        match self {
            Split::Train => 0..280,
            Split::Valid => 280..350,
            Split::Test => 350..400,
        }
    }
}

/// A handwriting font compiled into the binary and the split it belongs to.
pub struct HandFile {
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub split: Split,
    /// Whether its a-z are lower-case letters (some fonts draw small capitals there).
    pub lower_case: bool,
}

macro_rules! hand {
    ($file:literal, $split:ident) => {
        HandFile {
            name: $file,
            bytes: include_bytes!(concat!("../../assets/fonts/", $file)),
            split: Split::$split,
            lower_case: true,
        }
    };
    ($file:literal, $split:ident, capitals only) => {
        HandFile {
            lower_case: false,
            ..hand!($file, $split)
        }
    };
}

/// Every hand. Splits were assigned by position in this alphabetical list (every fifth
/// font from the second to validation, most fifths from the fourth to test), not by accuracy.
/// Fonts marked "capitals only" (small capitals, or no a-z) give no lower-case samples.
pub const HANDS: &[HandFile] = &[
    hand!("amatic-sc.ttf", Train, capitals only),
    hand!("annie-use-your-telescope.ttf", Valid),
    hand!("architects-daughter.ttf", Train),
    hand!("balsamiq-sans.ttf", Test),
    hand!("breip.ttf", Train),
    hand!("bwht-build.otf", Train, capitals only),
    hand!("bwht-connect.otf", Valid, capitals only),
    hand!("bwht-create.otf", Train, capitals only),
    hand!("bwht-learn.otf", Test, capitals only),
    hand!("bwht-mentor.otf", Train, capitals only),
    hand!("caveat-brush.ttf", Train),
    hand!("caveat.ttf", Valid),
    hand!("chilanka.ttf", Train),
    hand!("comic-neue.otf", Train),
    hand!("comic-relief.ttf", Train),
    hand!("covered-by-your-grace.ttf", Train),
    hand!("delicious-handrawn.ttf", Valid),
    hand!("delius.ttf", Train),
    hand!("finger-paint.ttf", Test),
    hand!("gaegu.ttf", Train),
    hand!("gloria-hallelujah.ttf", Train),
    hand!("gochi-hand.ttf", Valid),
    hand!("handlee.ttf", Train),
    hand!("happy-monkey.ttf", Test),
    hand!("humor-sans.ttf", Train, capitals only),
    hand!("indie-flower.ttf", Train),
    hand!("itim.ttf", Valid),
    hand!("kalam.ttf", Train),
    hand!("kiloji.ttf", Train),
    hand!("klee-one.ttf", Train),
    hand!("mansalva.ttf", Train),
    hand!("mouse-memoirs.ttf", Valid),
    hand!("nanum-brush-script.ttf", Train),
    hand!("nanum-pen-script.ttf", Test),
    hand!("neucha.ttf", Train),
    hand!("patrick-hand.ttf", Train),
    hand!("permanent-marker.ttf", Valid, capitals only),
    hand!("playpen-sans.ttf", Train),
    hand!("poor-story.ttf", Test),
    hand!("reenie-beanie.ttf", Train),
    hand!("rock-salt.ttf", Train),
    hand!("schoolbell.ttf", Valid),
    hand!("seto.ttf", Train),
    hand!("shadows-into-light.ttf", Train),
    hand!("shantell-sans.ttf", Train, capitals only),
    hand!("short-stack.ttf", Train),
    hand!("sriracha.ttf", Valid),
    hand!("sue-ellen-francisco.ttf", Train),
    hand!("swanky-and-moo-moo.ttf", Test),
    hand!("the-girl-next-door.ttf", Train),
    hand!("yomogi.ttf", Train),
    hand!("yusei-magic.ttf", Valid),
    hand!("zen-kurenaido.ttf", Train),
];

const DIGITS_FILE: &str = "assets/mnist/digits.bin.gz";
const DIGITS: &[u8] = include_bytes!("../../assets/mnist/digits.bin.gz");
const PACKED_MAGIC: &[u8; 8] = b"NNBUILTN";
const DEFAULT_MODEL: &[u8] = include_bytes!("../../assets/default_model.safetensors");
const MIXED_CASE_MODEL: &[u8] = include_bytes!("../../assets/mixed_case_model.safetensors");

/// Where one sample is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Index into `HANDS`.
    Font(usize),
    /// Index of the image among MNIST's images of the sample's digit.
    Mnist(usize),
}

/// The `(class, source)` of every sample of `split`, class by class.
pub fn plan(variant: Variant, split: Split) -> Vec<(usize, Source)> {
    let fonts_of = |lower: bool| -> Vec<usize> {
        (0..HANDS.len())
            .filter(|&f| HANDS[f].split == split && (HANDS[f].lower_case || !lower))
            .collect()
    };
    let (all_fonts, lower_fonts) = (fonts_of(false), fonts_of(true));
    let n = split.per_class();
    let mnist = split.mnist_range();
    let n_mnist = (n as f64 * MNIST_SHARE).round() as usize;
    let classes = variant.classes().len();
    let mut out = Vec::with_capacity(n * classes);
    for class in 0..classes {
        let is_digit = (LETTERS..CAPITALS_AND_DIGITS).contains(&class);
        let from_mnist = if is_digit { n_mnist } else { 0 };
        let fonts = if class < CAPITALS_AND_DIGITS {
            &all_fonts
        } else {
            &lower_fonts
        };
        for i in 0..n {
            let source = if i < from_mnist {
                // Spread over the split's range, each image at most once.
                Source::Mnist(mnist.start + i * mnist.len() / from_mnist)
            } else {
                // Rotate the start by class so every font gets its share across classes.
                Source::Font(fonts[(i - from_mnist + class) % fonts.len()])
            };
            out.push((class, source));
        }
    }
    out
}

/// Generates the three splits from `seed`.
pub fn generate(variant: Variant, seed: u64) -> Result<Splits> {
    Ok(Splits {
        name: variant.name().into(),
        train: generate_split(variant, seed, Split::Train)?,
        valid: generate_split(variant, seed, Split::Valid)?,
        test: generate_split(variant, seed, Split::Test)?,
    })
}

/// The first character of each class name.
fn class_chars(variant: Variant) -> Vec<char> {
    variant
        .classes()
        .iter()
        .map(|c| c.chars().next().expect("one char"))
        .collect()
}

/// Generates one split from `seed`, on all cores.
pub fn generate_split(variant: Variant, seed: u64, split: Split) -> Result<Dataset> {
    let digits = Digits::parse(DIGITS, DIGITS_FILE)?;
    let classes = variant.classes();
    let chars = class_chars(variant);
    let glyphs = HANDS
        .iter()
        .map(|h| {
            let hand = Hand::parse(h.name, h.bytes)?;
            chars
                .iter()
                .enumerate()
                // A hand's small capitals are never drawn: draw its capitals instead.
                .map(
                    |(class, &c)| match class < CAPITALS_AND_DIGITS || h.lower_case {
                        true => hand.rasterise(c),
                        false => Ok(Array2::zeros((1, 1))),
                    },
                )
                .collect()
        })
        .collect::<Result<Vec<Vec<Array2<f32>>>>>()?;
    let plan = plan(variant, split);
    let mut images = Array2::zeros((plan.len(), PIXELS));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = plan.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (c, (mut rows, jobs)) in images
            .axis_chunks_iter_mut(Axis(0), chunk)
            .zip(plan.chunks(chunk))
            .enumerate()
        {
            let (glyphs, digits) = (&glyphs, &digits);
            scope.spawn(move || {
                for (k, (mut row, &(class, source))) in rows.outer_iter_mut().zip(jobs).enumerate()
                {
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(sample_seed(seed, split, c * chunk + k));
                    let clean = match source {
                        Source::Font(f) => glyphs[f][class].clone(),
                        Source::Mnist(i) => digits.image(class - LETTERS, i),
                    };
                    let varied = Variation::random(&mut rng).apply(&clean, &mut rng);
                    row.assign(&normalize_glyph(varied.view()));
                }
            });
        }
    });
    let ds = Dataset {
        images,
        labels: plan.iter().map(|&(class, _)| class).collect(),
        classes,
        shape: Shape::image(1, super::SIDE, super::SIDE),
    };
    ds.validate(&format!("{} {split:?}", variant.name()))?;
    Ok(ds)
}

/// How much a hand's letters wander from the font's line: the top of a glyph by up to
/// this fraction of its height, the bottom by this many cap heights.
const PLACE_JITTER: f32 = 0.08;
/// Sets the place jitter's random numbers apart from the glyph distortions'.
const PLACE_SEED: u64 = 0x11AE;

/// Where every sample of `split` sits on its line, in the order of the samples: its
/// font's outline (cap height from H, x-height from x) with a seeded wobble of a hand, or
/// a capital's place for MNIST digits.
pub fn line_places(variant: Variant, seed: u64, split: Split) -> Result<Vec<LinePlace>> {
    let chars = class_chars(variant);
    let metrics = HANDS
        .iter()
        .map(|h| {
            let hand = Hand::parse(h.name, h.bytes)?;
            let cap = hand.extent('H')?.0;
            let x_height = match h.lower_case {
                true => hand.extent('x')?.0 / cap,
                false => TYPICAL_X_HEIGHT,
            };
            Ok((hand, cap, x_height))
        })
        .collect::<Result<Vec<_>>>()?;
    plan(variant, split)
        .into_iter()
        .enumerate()
        .map(|(i, (class, source))| {
            let mut rng = ChaCha8Rng::seed_from_u64(sample_seed(seed ^ PLACE_SEED, split, i));
            let (top, bottom, x_height) = match source {
                Source::Font(f) => {
                    let (hand, cap, x_height) = &metrics[f];
                    let (top, bottom) = hand.extent(chars[class])?;
                    (top / cap, bottom / cap, *x_height)
                }
                Source::Mnist(_) => (1.0, 0.0, TYPICAL_X_HEIGHT),
            };
            let height = top - bottom;
            let top = top + height * rng.random_range(-PLACE_JITTER..PLACE_JITTER);
            Ok(LinePlace {
                top,
                bottom: bottom + rng.random_range(-PLACE_JITTER..PLACE_JITTER),
                x_height,
            })
        })
        .collect()
}

/// A seed per sample (SplitMix64 of its position), so samples are independent of the
/// order and the thread they are made in.
fn sample_seed(seed: u64, split: Split, index: usize) -> u64 {
    let mut z = seed ^ ((split as u64) << 40) ^ index as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The packed file: gzip of `b"NNBUILTN"`, then for train, valid and test a little-endian
/// u32 count, one byte label per sample and 1024 bytes per image (ink = byte / 255).
pub fn pack(splits: &Splits) -> Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(PACKED_MAGIC)?;
    for ds in [&splits.train, &splits.valid, &splits.test] {
        gz.write_all(&(ds.len() as u32).to_le_bytes())?;
        gz.write_all(&ds.labels.iter().map(|&l| l as u8).collect::<Vec<_>>())?;
        gz.write_all(
            &ds.images
                .iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect::<Vec<_>>(),
        )?;
    }
    Ok(gz.finish()?)
}

/// Reads what `pack` wrote for `variant`; `what` names the file in errors.
pub fn unpack(gz: &[u8], what: &str, variant: Variant) -> Result<Splits> {
    let mut raw = Vec::new();
    GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .with_context(|| format!("{what}: not a gzip stream (run `nnlab gen-builtin`)"))?;
    let Some(mut rest) = raw.strip_prefix(PACKED_MAGIC.as_slice()) else {
        bail!("{what}: not a packed builtin data set (no NNBUILTN header)");
    };
    let classes = variant.classes();
    let mut read = |split: Split| -> Result<Dataset> {
        let part = format!("{what}: {split:?} split");
        let count =
            u32::from_le_bytes(take(&mut rest, 4, &part)?.try_into().expect("4 bytes")) as usize;
        let labels: Vec<usize> = take(&mut rest, count, &part)?
            .iter()
            .map(|&l| usize::from(l))
            .collect();
        let pixels = take(&mut rest, count * PIXELS, &part)?;
        let images = Array2::from_shape_vec(
            (count, PIXELS),
            pixels.iter().map(|&b| f32::from(b) / 255.0).collect(),
        )?;
        let ds = Dataset {
            images,
            labels,
            classes: classes.clone(),
            shape: Shape::image(1, super::SIDE, super::SIDE),
        };
        ds.validate(&part)?;
        Ok(ds)
    };
    let (train, valid, test) = (read(Split::Train)?, read(Split::Valid)?, read(Split::Test)?);
    if !rest.is_empty() {
        bail!("{what}: {} bytes after the test split", rest.len());
    }
    Ok(Splits {
        name: variant.name().into(),
        train,
        valid,
        test,
    })
}

/// The first `n` bytes of `rest`, which moves past them.
fn take<'a>(rest: &mut &'a [u8], n: usize, part: &str) -> Result<&'a [u8]> {
    if rest.len() < n {
        bail!("{part}: the file is cut short");
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// What the shipped default classifier is, in the words the GUI shows.
pub const DEFAULT_MODEL_IS: &str = "the vgg-cnn preset trained on builtin";

/// The classifier shipped in `assets/default_model.safetensors` (trained on `builtin`).
pub fn default_model() -> Result<SavedModel> {
    SavedModel::from_bytes(DEFAULT_MODEL).context("reading the embedded default model")
}

/// Whether `model` is the shipped default classifier (the same file, byte for byte).
pub fn is_default_model(model: &SavedModel) -> bool {
    model.to_bytes().is_ok_and(|b| b == DEFAULT_MODEL)
}

/// The classifier shipped in `assets/mixed_case_model.safetensors` (trained on `builtin62`).
pub fn mixed_case_model() -> Result<SavedModel> {
    SavedModel::from_bytes(MIXED_CASE_MODEL).context("reading the embedded mixed-case model")
}
