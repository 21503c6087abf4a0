//! Mixed case: `builtin62` and its line places, the shipped mixed-case model, and OCR of
//! pages written in lower and upper case by the test split's hands, where the case of
//! c/C, o/O, s/S ... comes from the letter's place on its line.

use image::{DynamicImage, GrayImage, Luma};
use nnlab::data::builtin::{self, HANDS, SEED, Source, Split, Variant};
use nnlab::data::case::{LinePlace, accuracy_with_places};
use nnlab::data::{Dataset, SIDE};
use nnlab::nn::Loss;
use nnlab::ocr::eval::levenshtein;
use nnlab::ocr::{Case, OcrParams, read_with_any};
use nnlab::train::Task;
use nnlab::train::trainer::evaluate;

/// Cap height on the drawn pages, in pixels.
const CAP: f32 = 84.0;
const LETTER_GAP: u32 = 10;
const WORD_GAP: u32 = 70;
const MARGIN: u32 = 80;
const LINE_PITCH: u32 = 190;

/// A split of `builtin62`, its samples' places and sources.
fn split_of(split: Split) -> (Dataset, Vec<LinePlace>, Vec<(usize, Source)>) {
    let splits = Variant::MixedCase.splits().unwrap();
    let places = builtin::line_places(Variant::MixedCase, SEED, split).unwrap();
    let samples = match split {
        Split::Train => splits.train,
        Split::Valid => splits.valid,
        Split::Test => splits.test,
    };
    (samples, places, builtin::plan(Variant::MixedCase, split))
}

/// The hands of `split` that write lower case.
fn lower_case_hands(split: Split) -> Vec<usize> {
    (0..HANDS.len())
        .filter(|&f| HANDS[f].split == split && HANDS[f].lower_case)
        .collect()
}

/// A page of `lines` in test hand `font`.
fn draw_page(lines: &[&str], font: usize) -> GrayImage {
    draw_page_in(lines, font, Split::Test, LETTER_GAP)
}

/// A page of `lines` in hand `font` of `split`, `gap` pixels between letters: each
/// character is the first sample of its class in that hand, scaled and placed on its line
/// as the hand's outline puts it.
fn draw_page_in(lines: &[&str], font: usize, split: Split, gap: u32) -> GrayImage {
    let (ds, places, plan) = split_of(split);
    let sample_of = |c: char| {
        let class = ds.classes.iter().position(|k| k.chars().eq([c])).unwrap();
        (0..plan.len())
            .find(|&i| plan[i] == (class, Source::Font(font)))
            .unwrap_or_else(|| plan.iter().position(|p| p.0 == class).unwrap())
    };
    // Room for the widest hand; the page is cut to the longest line after drawing.
    let room = 2 * MARGIN + lines.iter().map(|l| l.len() as u32).max().unwrap() * 3 * CAP as u32;
    let height = 2 * MARGIN + lines.len() as u32 * LINE_PITCH;
    let mut page = GrayImage::from_pixel(room, height, Luma([225]));
    let mut longest = 0.0f32;
    for (row, line) in lines.iter().enumerate() {
        let baseline = (MARGIN + 100 + row as u32 * LINE_PITCH) as f32;
        let mut x = MARGIN as f32;
        for c in line.chars() {
            if c == ' ' {
                x += WORD_GAP as f32;
                continue;
            }
            let k = sample_of(c);
            x += draw_glyph(&mut page, ds.image(k), places[k], x, baseline) + gap as f32;
        }
        longest = longest.max(x);
    }
    image::imageops::crop_imm(&page, 0, 0, longest as u32 + MARGIN, height).to_image()
}

/// Draws `glyph` (a 32x32 crop) so its ink spans `place` on the line at `baseline`, from
/// column `x`; returns the width drawn.
fn draw_glyph(
    page: &mut GrayImage,
    glyph: ndarray::ArrayView2<f32>,
    place: LinePlace,
    x: f32,
    baseline: f32,
) -> f32 {
    let ink: Vec<(usize, usize)> = glyph
        .indexed_iter()
        .filter(|(_, v)| **v > 0.5)
        .map(|(p, _)| p)
        .collect();
    let top = ink.iter().map(|p| p.0).min().unwrap() as f32;
    let bottom = ink.iter().map(|p| p.0).max().unwrap() as f32 + 1.0;
    let left = ink.iter().map(|p| p.1).min().unwrap() as f32;
    let right = ink.iter().map(|p| p.1).max().unwrap() as f32 + 1.0;
    let scale = (place.top - place.bottom) * CAP / (bottom - top);
    let y0 = baseline - place.top * CAP;
    let (w, h) = ((right - left) * scale, (bottom - top) * scale);
    for py in 0..h.ceil() as u32 {
        for px in 0..w.ceil() as u32 {
            let gy = (top + py as f32 / scale) as usize;
            let gx = (left + px as f32 / scale) as usize;
            let (x, y) = (x as u32 + px, y0 as u32 + py);
            if gy < SIDE
                && gx < SIDE
                && glyph[(gy, gx)] > 0.5
                && x < page.width()
                && y < page.height()
            {
                page.put_pixel(x, y, Luma([30]));
            }
        }
    }
    w
}

/// The page's text as read with the shipped models of `case`.
fn read_page(page: &GrayImage, case: Case) -> String {
    read_page_with(page, true, case)
}

/// The page's text as read with the shipped models of `case`, with or without the
/// dictionary.
fn read_page_with(page: &GrayImage, dictionary: bool, case: Case) -> String {
    let params = OcrParams {
        case,
        dictionary,
        ..OcrParams::default()
    };
    let mut models = case.models().unwrap();
    let (_, reading) = read_with_any(
        &DynamicImage::ImageLuma8(page.clone()),
        &mut models,
        &params,
    )
    .unwrap();
    reading.text()
}

/// 1 - edit distance / length over letters and digits, case kept.
fn accuracy_with_case(truth: &[&str], read: &str) -> f64 {
    let keep = |s: &str| -> Vec<u8> { s.bytes().filter(u8::is_ascii_alphanumeric).collect() };
    let t = keep(&truth.join(" "));
    1.0 - levenshtein(&t, &keep(read)) as f64 / t.len() as f64
}

#[test]
fn builtin62_holds_lower_case_from_hands_that_write_it_and_keeps_builtin_as_it_was() {
    let mixed = Variant::MixedCase.splits().unwrap();
    let capitals = Variant::Capitals.splits().unwrap();
    assert_eq!(mixed.train.classes.len(), 62);
    assert_eq!(mixed.train.classes[..36], capitals.train.classes[..]);
    assert_eq!(
        (mixed.train.len(), mixed.valid.len(), mixed.test.len()),
        (62 * 300, 62 * 100, 62 * 50)
    );
    for split in Split::ALL {
        for (class, source) in builtin::plan(Variant::MixedCase, split) {
            if let (36.., Source::Font(f)) = (class, source) {
                assert!(HANDS[f].lower_case, "{} gives lower case", HANDS[f].name);
            }
        }
    }
    // Places: an x sits at its hand's x-height, a p reaches below the baseline, an H at
    // cap height.
    let (ds, places, _) = split_of(Split::Test);
    let mean = |c: &str, f: fn(&LinePlace) -> f32| {
        let class = ds.classes.iter().position(|k| k == c).unwrap();
        let of: Vec<f32> = (0..ds.len())
            .filter(|&i| ds.labels[i] == class)
            .map(|i| f(&places[i]))
            .collect();
        of.iter().sum::<f32>() / of.len() as f32
    };
    assert!((mean("H", |p| p.top) - 1.0).abs() < 0.05);
    assert!((mean("x", |p| p.top) - mean("x", |p| p.x_height)).abs() < 0.05);
    assert!(mean("p", |p| p.bottom) < -0.15);
    eprintln!("P bottom {}", mean("P", |p| p.bottom));
    assert!(mean("P", |p| p.bottom).abs() < 0.1);
    assert!(mean("p", |p| p.bottom) < mean("P", |p| p.bottom) - 0.1);
}

#[test]
fn the_mixed_case_model_reads_builtin62_and_the_line_decides_case_better_than_the_crop() {
    let mut model = builtin::mixed_case_model().unwrap();
    assert_eq!(model.classes.len(), 62);
    let (ds, places, _) = split_of(Split::Test);
    let ev = evaluate(&mut model.net, Loss::CrossEntropy, Task::Classify, &ds);
    let with_places = accuracy_with_places(ev.outputs.view(), &ds.labels, &ds.classes, &places);
    eprintln!(
        "builtin62 test: {:.3} from the crop, {with_places:.3} with the line",
        ev.accuracy
    );
    assert!(ev.accuracy > 0.75, "crop alone {:.3}", ev.accuracy);
    assert!(
        with_places as f64 > ev.accuracy + 0.03,
        "line {with_places:.3}"
    );
}

const MIXED_PAGE: [&str; 3] = [
    "The quick brown fox",
    "jumps over 42 lazy dogs",
    "Pack my Box",
];

/// The goal, which this build reaches: measured 0.913 over the six test hands
/// (0.947 over the nine validation hands that write lower case), 0.898 without the
/// dictionary (0.934); 0.89 and 0.93 before where a glyph ends told a descender from a
/// letter on the line; 0.88 and 0.92 before a digit at x-height gave way, a dot over
/// letters joined to its i marked them as holding an i, and merges into unsure letters or
/// of an i with its dot stopped; 0.85 before a box's confidence summed the classes drawn
/// alike and a stroke at x-height read as l, I or J became a dotless i or j, and a capital
/// there gave way; 0.80 before a line begun by a j was joined to the letters after it,
/// 0.66 before the model was trained on touching letters, descenders joined their lines
/// and dots their stems. One hand (swanky-and-moo-moo, 0.66) joins most of its letters.
const PAGE_ACCURACY_FLOOR: f64 = 0.9;

/// The mean accuracy (with case) of pages of `lines` drawn with `gap` pixels between
/// letters by the lower-case hands of `split`, read with the shipped mixed-case model.
fn mean_page_accuracy(lines: &[&str], split: Split, gap: u32, dictionary: bool) -> f64 {
    let hands = lower_case_hands(split);
    let mut total = 0.0;
    for &font in &hands {
        let page = draw_page_in(lines, font, split, gap);
        let read = read_page_with(&page, dictionary, Case::Mixed);
        let accuracy = accuracy_with_case(lines, &read);
        eprintln!("{}: {accuracy:.3} {read:?}", HANDS[font].name);
        total += accuracy;
    }
    let mean = total / hands.len() as f64;
    eprintln!("mean {mean:.3} over {} hands", hands.len());
    mean
}

#[test]
fn pages_in_mixed_case_by_new_hands_read_with_case() {
    let mean = mean_page_accuracy(&MIXED_PAGE, Split::Test, LETTER_GAP, true);
    assert!(
        mean >= PAGE_ACCURACY_FLOOR,
        "mixed-case pages read at {mean:.3}"
    );
}

/// The validation hands' pages, the measure every choice about mixed case is made on (the
/// test hands above only report it): the page and one full of i, j, l, u and f,
/// each with the letters 10, 4 and 0 pixels apart (0: joined the way some hands write). A
/// measurement, not a check: `cargo test --release --test mixed_case -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn measure_mixed_case_pages_on_validation_hands() {
    let second = [
        "Julia quit her fruit juice",
        "we will build it for you",
        "a quiet fox in the city",
    ];
    let mut table = Vec::new();
    for (name, lines) in [("issue's page", &MIXED_PAGE), ("second page", &second)] {
        for gap in [LETTER_GAP, 4, 0] {
            let mean = mean_page_accuracy(lines, Split::Valid, gap, true);
            table.push(format!("{name}, letters {gap} px apart: {mean:.3}"));
        }
    }
    for dictionary in [false, true] {
        let mean = mean_page_accuracy(&MADE_UP_PAGE, Split::Valid, LETTER_GAP, dictionary);
        table.push(format!("made-up words, dictionary {dictionary}: {mean:.3}"));
    }
    eprintln!("{}", table.join("\n"));
}

/// Words no dictionary holds (names, made-up words), with letters the classifier often
/// reads wrong (f t, i l, n m, u v).
const MADE_UP_PAGE: [&str; 3] = [
    "Vorplak zindu quesh",
    "grum tavik jolp wex",
    "Fizzbo yant kromp",
];

/// The dictionary spells out words the classifier read a letter of wrong or a box of
/// joined letters as one (measured on the test hands: 0.898 without, 0.913 with), leaves
/// words it lacks as they were read (made-up words 0.899 without, 0.896 with), and
/// `nnlab ocr --no-dictionary` turns it off.
#[test]
fn the_dictionary_mends_words_and_leaves_made_up_ones_alone() {
    let with = mean_page_accuracy(&MIXED_PAGE, Split::Test, LETTER_GAP, true);
    let without = mean_page_accuracy(&MIXED_PAGE, Split::Test, LETTER_GAP, false);
    assert!(with > without, "with {with:.3}, without {without:.3}");
    let made_up_with = mean_page_accuracy(&MADE_UP_PAGE, Split::Test, LETTER_GAP, true);
    let made_up_without = mean_page_accuracy(&MADE_UP_PAGE, Split::Test, LETTER_GAP, false);
    assert!(
        made_up_with >= made_up_without - 0.01,
        "made-up words with {made_up_with:.3}, without {made_up_without:.3}"
    );

    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("notes.png");
    let page = draw_page(&MIXED_PAGE, lower_case_hands(Split::Test)[0]);
    page.save(&photo).unwrap();
    for dictionary in [true, false] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nnlab"))
            .args(["ocr", "--case", "mixed"])
            .arg(&photo)
            .args(if dictionary {
                &[][..]
            } else {
                &["--no-dictionary"]
            })
            .output()
            .unwrap();
        assert!(out.status.success());
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            printed.trim_end(),
            read_page_with(&page, dictionary, Case::Mixed),
            "the command line reads as the library does (dictionary {dictionary})"
        );
    }
}

#[test]
fn o_and_s_take_their_case_from_their_height_in_the_line() {
    // The same o and s shapes at x-height and at cap height, beside letters that show
    // the line's heights.
    let lines = ["Hoss rams HOSS", "Sox are SOX"];
    let mut right = 0;
    let mut total = 0;
    for font in lower_case_hands(Split::Test) {
        let read = read_page(&draw_page(&lines, font), Case::Mixed);
        let read_chars: Vec<char> = read.chars().filter(char::is_ascii_alphanumeric).collect();
        let truth: Vec<char> = lines.concat().chars().filter(|c| *c != ' ').collect();
        eprintln!("{}: {read:?}", HANDS[font].name);
        for (t, r) in truth.iter().zip(&read_chars) {
            if "osxOSX".contains(*t) && t.eq_ignore_ascii_case(r) {
                total += 1;
                right += usize::from(t == r);
            }
        }
    }
    eprintln!("case right: {right} of {total}");
    assert!(
        total >= 30,
        "only {total} same-shape letters read as the letter"
    );
    // Measured: 57 of 65 (finger-paint's capital S and X come out small).
    assert!(
        right as f64 >= 0.85 * total as f64,
        "case right {right} of {total}"
    );
}

#[test]
fn auto_picks_capitals_for_capitals_and_mixed_case_for_mixed_case() {
    let font = lower_case_hands(Split::Test)[0];
    let capitals = draw_page(&["HELLO WORLD", "AB 12 XYZ"], font);
    assert_eq!(
        read_page(&capitals, Case::Auto),
        read_page(&capitals, Case::Capitals)
    );
    let mixed = draw_page(&MIXED_PAGE, font);
    let auto = read_page(&mixed, Case::Auto);
    assert_eq!(auto, read_page(&mixed, Case::Mixed));
    let as_capitals = accuracy_with_case(&MIXED_PAGE, &read_page(&mixed, Case::Capitals));
    let as_auto = accuracy_with_case(&MIXED_PAGE, &auto);
    eprintln!("mixed page: auto {as_auto:.3}, capitals model {as_capitals:.3}");
    assert!(as_auto > as_capitals + 0.3);
}
