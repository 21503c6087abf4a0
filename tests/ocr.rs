//! OCR: the pipeline finds the letters, lines and spaces of a page drawn from known glyphs,
//! reads them with a model that knows those glyphs, and refuses bad images with a clear
//! message.

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use nnlab::data::touching::ink_columns;
use nnlab::data::{DataSource, Dataset, SIDE};
use nnlab::nn::SavedModel;
use nnlab::ocr::{OcrParams, load, read, segment};
use nnlab::train::{RunConfig, Trainer};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

mod common;

fn fixture() -> nnlab::data::Splits {
    DataSource::Nist36(common::nist36_fixture())
        .load()
        .expect("the NIST36 fixture loads")
}

/// Glyph pixels are this many page pixels.
const ZOOM: u32 = 3;
const LETTER_GAP: u32 = 12;
const WORD_GAP: u32 = 110;
const LINE_PITCH: u32 = 200;
const MARGIN: u32 = 80;

/// The first sample of the class `c` in `ds`, as a glyph image (ink 1.0).
fn glyph(ds: &Dataset, c: char) -> ndarray::ArrayView2<'_, f32> {
    nth_glyph(ds, c, 0)
}

/// The `nth` sample of the class `c` in `ds`, as a glyph image (ink 1.0).
fn nth_glyph(ds: &Dataset, c: char, nth: usize) -> ndarray::ArrayView2<'_, f32> {
    let class = ds
        .classes
        .iter()
        .position(|k| k == &c.to_string())
        .expect("a NIST36 class");
    let (sample, _) = ds
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == class)
        .nth(nth)
        .expect("a sample of the class");
    ds.image(sample)
}

/// Paper lit unevenly from the left.
fn paper(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, _| Luma([150 + (90 * x / width) as u8]))
}

/// Draws the glyph of `c` with its cell's top left corner at `(x, y)`, in dark ink over
/// what is there (so overlapping glyphs touch).
fn draw_glyph(page: &mut GrayImage, ds: &Dataset, c: char, x: u32, y: u32) {
    draw_glyph_image(page, glyph(ds, c), x, y);
}

/// Draws `g` with its top left corner at `(x, y)`, in dark ink over what is there.
fn draw_glyph_image(page: &mut GrayImage, g: ndarray::ArrayView2<f32>, x: u32, y: u32) {
    for ((gy, gx), &v) in g.indexed_iter() {
        if v > 0.5 {
            for dy in 0..ZOOM {
                for dx in 0..ZOOM {
                    page.put_pixel(
                        x + gx as u32 * ZOOM + dx,
                        y + gy as u32 * ZOOM + dy,
                        Luma([30]),
                    );
                }
            }
        }
    }
}

/// A page with `lines` (words separated by spaces) written in glyphs of `ds` (the first
/// sample of each class), dark ink on paper lit unevenly from the left; line `row` is
/// drawn `rise(row, x)` pixels higher at column `x`.
fn draw_rising_page(ds: &Dataset, lines: &[&str], rise: impl Fn(u32, u32) -> i32) -> GrayImage {
    let cell = SIDE as u32 * ZOOM;
    let width = 2 * MARGIN
        + lines
            .iter()
            .map(|l| l.len() as u32 * (cell + WORD_GAP))
            .max()
            .unwrap();
    let height = 2 * MARGIN + lines.len() as u32 * LINE_PITCH;
    let mut page = paper(width, height);
    for (row, line) in lines.iter().enumerate() {
        let mut x = MARGIN;
        for c in line.chars() {
            if c == ' ' {
                x += WORD_GAP;
                continue;
            }
            let y0 = MARGIN + row as u32 * LINE_PITCH;
            draw_glyph(
                &mut page,
                ds,
                c,
                x,
                (y0 as i32 - rise(row as u32, x)) as u32,
            );
            x += cell + LETTER_GAP;
        }
    }
    page
}

/// [`draw_rising_page`] with level lines.
fn draw_page(ds: &Dataset, lines: &[&str]) -> GrayImage {
    draw_rising_page(ds, lines, |_, _| 0)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
    bytes
}

const PAGE: [&str; 2] = ["HELLO WORLD", "AB 12 XYZ"];

#[test]
fn segmentation_finds_the_letters_lines_and_spaces_of_a_drawn_page() {
    let data = fixture();
    let page = draw_page(&data.train, &PAGE);
    // Through PNG bytes, as a dropped file would come.
    let photo =
        load::decode_image(&encode(&DynamicImage::ImageLuma8(page), ImageFormat::Png)).unwrap();
    let seg = segment(&photo, &OcrParams::default()).unwrap();
    check_layout(&seg, "page");
}

/// The page photographed on a dark, textured desk: the desk shows on every side and the
/// paper casts a soft shadow to the lower right.
fn on_a_dark_desk(page: &GrayImage) -> GrayImage {
    const BORDER: u32 = 220;
    let (w, h) = (page.width() + 2 * BORDER, page.height() + 2 * BORDER);
    let mut desk = GrayImage::from_fn(w, h, |x, y| {
        // Wood grain: stripes of a few grey levels.
        let grain = ((x / 7 + y / 23) % 5) as u8 * 6;
        Luma([35 + grain])
    });
    for (x, y, p) in page.enumerate_pixels() {
        desk.put_pixel(x + BORDER, y + BORDER, *p);
    }
    for y in BORDER + 10..BORDER + page.height() + 14 {
        for x in BORDER + page.width()..BORDER + page.width() + 14 {
            desk.put_pixel(x, y, Luma([15]));
        }
    }
    desk
}

#[test]
fn a_page_on_a_dark_desk_gives_only_its_letters() {
    let data = fixture();
    let photo = DynamicImage::ImageLuma8(on_a_dark_desk(&draw_page(&data.train, &PAGE)));
    let seg = segment(&photo, &OcrParams::default()).unwrap();
    check_layout(&seg, "page on a desk");
}

fn check_layout(seg: &nnlab::ocr::Segmentation, what: &str) {
    assert_eq!(seg.lines.len(), 2, "{what}: two lines");
    for (line, text) in seg.lines.iter().zip(PAGE) {
        let words: Vec<&str> = text.split(' ').collect();
        assert_eq!(
            line.blobs.len(),
            text.replace(' ', "").len(),
            "{what}: letters of '{text}'"
        );
        let spaces: Vec<usize> = line
            .space_before
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i)
            .collect();
        let expected: Vec<usize> = words
            .iter()
            .scan(0, |n, w| {
                *n += w.len();
                Some(*n)
            })
            .take(words.len() - 1)
            .collect();
        assert_eq!(spaces, expected, "{what}: spaces in '{text}'");
        // Left to right, not overlapping.
        for w in line.blobs.windows(2) {
            assert!(
                w[0].bbox.right <= w[1].bbox.left,
                "{what}: ordered, not overlapping: {w:?}"
            );
        }
    }
    // Working pixels per glyph cell (the photo may have been shrunk).
    let cell = (SIDE as u32 * ZOOM) as f32 / seg.scale;
    assert!(
        seg.letter_height > 0.4 * cell && seg.letter_height < cell,
        "{what}: letter height {} for glyphs in cells of {cell} px",
        seg.letter_height
    );
}

/// A small MLP trained on the fixture (the glyphs drawn on the page).
fn fixture_model(data: nnlab::data::Splits) -> SavedModel {
    let config = RunConfig {
        epochs: 40,
        hidden: 128,
        lr: 0.01,
        ..RunConfig::default()
    };
    let classes = data.train.classes.clone();
    // The fixture's glyphs as the OCR crops them: through the shared normalisation.
    let mut data = data;
    for mut row in data.train.images.rows_mut() {
        let glyph = row.to_owned().into_shape_with_order((SIDE, SIDE)).unwrap();
        row.assign(&nnlab::data::crop::normalize_glyph(glyph.view()));
    }
    let mut trainer = Trainer::new(config, Arc::new(data)).unwrap();
    for _ in 0..trainer.config.epochs {
        trainer.run_epoch(|_| {});
    }
    SavedModel {
        net: trainer.net.clone(),
        classes,
        config: None,
    }
}

#[test]
fn a_model_reads_the_glyphs_it_learned_from_a_drawn_page() {
    let data = fixture();
    let page = DynamicImage::ImageLuma8(draw_page(&data.train, &PAGE));
    let mut model = fixture_model(data);
    let (_, reading) = read(&page, &mut model, &OcrParams::default()).unwrap();
    let truth = PAGE.join("\n");
    let accuracy = nnlab::ocr::eval::character_accuracy(&truth, &reading.text());
    // A transposed or inverted crop reads almost nothing right.
    assert!(
        accuracy >= 0.8,
        "read '{}' for '{truth}' ({accuracy:.2})",
        reading.text()
    );
    let c = reading.characters().next().unwrap();
    assert_eq!(c.top.len(), 5);
    assert!(
        c.top
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability)
    );
    assert!(
        c.bbox.left >= MARGIN - 5 && c.bbox.top >= MARGIN - 5,
        "box in photo pixels: {:?}",
        c.bbox
    );
}

fn segment_error(bytes: &[u8]) -> String {
    let err =
        load::decode_image(bytes).and_then(|img| segment(&img, &OcrParams::default()).map(|_| ()));
    format!("{:#}", err.expect_err("bad input must fail"))
}

#[test]
fn bad_images_give_clear_errors() {
    assert!(segment_error(b"hello, I am text").contains("unknown file format"));

    let data = fixture();
    let page = DynamicImage::ImageLuma8(draw_page(&data.train, &PAGE));
    let png = encode(&page, ImageFormat::Png);
    let msg = segment_error(&png[..png.len() / 2]);
    assert!(msg.contains("decode"), "truncated PNG: {msg}");

    let blank = DynamicImage::ImageLuma8(GrayImage::from_fn(640, 480, |x, y| {
        Luma([200 + ((x * 7 + y * 13) % 5) as u8])
    }));
    let msg = segment_error(&encode(&blank, ImageFormat::Png));
    assert!(msg.contains("no writing found"), "blank page: {msg}");

    let tiny = DynamicImage::ImageLuma8(GrayImage::new(1, 1));
    let msg = segment_error(&encode(&tiny, ImageFormat::Png));
    assert!(msg.contains("too small"), "1x1: {msg}");

    let msg = segment_error(&png_header(20_000, 20_000));
    assert!(
        msg.contains("20000x20000") && msg.contains("megapixels"),
        "huge: {msg}"
    );
}

/// The start of a PNG file claiming `w x h` grey pixels (its header, no pixel data).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit grey, no interlace
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(13u32.to_be_bytes());
    bytes.extend(&ihdr);
    bytes.extend(crc.sum().to_be_bytes());
    // An empty first data chunk: the decoder has read the whole header when it reaches it.
    let mut crc = flate2::Crc::new();
    crc.update(b"IDAT");
    bytes.extend(0u32.to_be_bytes());
    bytes.extend(b"IDAT");
    bytes.extend(crc.sum().to_be_bytes());
    bytes
}

/// The four evaluation photos read with the shipped model: every letter found and at least
/// 0.99 of the characters right in each (issue #13's floor; they read 1, 1, 1, 1).
#[test]
fn the_default_model_reads_the_evaluation_photos() {
    let data = common::shared_data();
    let truths = nnlab::ocr::eval::read_truth(&data.join("ocr_truth.txt")).unwrap();
    let mut model = nnlab::data::builtin::default_model().unwrap();
    let files = [
        "01_list.jpg",
        "02_letters.jpg",
        "03_haiku.jpg",
        "04_deep.jpg",
    ];
    assert_eq!(truths.len(), files.len());
    for (t, file) in truths.iter().zip(files) {
        assert_eq!(t.file, file);
        let (_, reading) = nnlab::ocr::read_file(
            &data.join(file),
            std::slice::from_mut(&mut model),
            &OcrParams::default(),
        )
        .unwrap();
        let score = t.score(&reading);
        eprintln!("{file}: {score:?}");
        assert_eq!(score.boxes, score.letters, "{file}: {score:?}");
        assert!(
            score.accuracy >= 0.99,
            "{file}: {score:?} read '{}'",
            reading.text()
        );
    }
}

/// A file dropped on the window in a test.
#[derive(Debug)]
struct Dropped {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.path
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(self.bytes.clone())
    }
}

fn click_at<S>(h: &mut egui_kittest::Harness<'_, S>, pos: eframe::egui::Pos2) {
    use eframe::egui::{Event, Modifiers, PointerButton};
    h.event(Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run();
}

#[test]
fn dropping_a_photo_on_the_ocr_tab_shows_its_text() {
    use egui_kittest::kittest::Queryable;
    use nnlab::gui::Settings;
    use nnlab::gui::ocr::OcrPanel;
    use nnlab::gui::session::Session;
    use nnlab::gui::tab::{TabContext, TabPanel};
    let data = fixture();
    let page = DynamicImage::ImageLuma8(draw_page(&data.train, &PAGE));
    let panel = OcrPanel::with_model(fixture_model(data));
    let mut h = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1000.0, 700.0))
        .build_ui_state(
            |ui, panel: &mut OcrPanel| {
                let (mut session, mut settings) = (Session::default(), Settings::default());
                let mut cx = TabContext {
                    session: &mut session,
                    settings: &mut settings,
                    actions: &mut Vec::new(),
                };
                eframe::egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, &mut cx));
            },
            panel,
        );
    h.run();
    assert!(h.query_by_label_contains("No photo yet").is_some());
    let dropped = Dropped {
        path: "page.png".into(),
        bytes: encode(&page, ImageFormat::Png),
    };
    h.input_mut().dropped_files.push(Arc::new(dropped));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    h.step();
    while h.state().is_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the pipeline did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
    let text = h.state().text.clone();
    let truth = PAGE.join("\n");
    assert!(
        nnlab::ocr::eval::character_accuracy(&truth, &text) >= 0.8,
        "read '{text}'"
    );
    assert!(h.query_by_label_contains("Recognised text").is_some());
    the_picture_fits_zooms_at_the_pointer_and_pans(&mut h);

    // Correct the first character to 'Q' and add its crop to the training data.
    let folder = tempfile::tempdir().unwrap().keep().join("corrections");
    h.state_mut().corrections_folder = Some(folder.clone());
    let first = h.state().box_center(0).expect("a box on screen");
    click_at(&mut h, first);
    h.get_by_label("Character 1:").type_text("Q");
    h.run();
    h.get_by_label("Set").click();
    h.run();
    assert!(h.state().text.starts_with('Q'), "{}", h.state().text);
    assert!(h.state().is_corrected(0), "the box shows as corrected");
    h.get_by_label("Add 1 corrected crop to training data")
        .click();
    h.run();
    let saved: Vec<_> = std::fs::read_dir(folder.join("Q")).unwrap().collect();
    assert_eq!(saved.len(), 1, "one crop saved under its corrected class");
    let classes = nnlab::data::nist36_classes();
    let extra = nnlab::data::corrections::load(&folder, &classes).unwrap();
    let q = classes.iter().position(|c| c == "Q").unwrap();
    assert_eq!(extra.labels, vec![q]);
    let crop = h.state().characters()[0].crop.clone();
    let error = extra
        .images
        .row(0)
        .iter()
        .zip(&crop)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(error < 0.01, "the PNG keeps the crop (max error {error})");

    // A file that is not an image gives a message, not a crash.
    let junk = Dropped {
        path: "notes.txt".into(),
        bytes: b"not an image".to_vec(),
    };
    h.input_mut().dropped_files.push(Arc::new(junk));
    h.run();
    assert!(h.query_by_label_contains("unknown file format").is_some());

    // The page's geometry: the angle (a slider that overrides the estimate) and the
    // toggles reach the parameters.
    assert!(
        h.query_all_by_label("angle").next().is_some(),
        "the angle slider"
    );
    h.get_by_label("estimate angle").click();
    h.run();
    assert_eq!(
        h.state().params.angle,
        Some(0.0),
        "the angle is now the slider's"
    );
    h.get_by_label("orient auto").click();
    h.run();
    h.get_by_label("cut by recognition").click();
    h.run();
    assert!(
        h.state().params.remove_rules,
        "rules are removed by default"
    );
    h.get_by_label("remove ruled lines").click();
    h.run();
    assert!(h.state().params.dictionary, "words are spelled by default");
    h.get_by_label("dictionary").click();
    h.run();
    assert!(!h.state().params.dictionary);
    assert!(h.state().params.orient_auto);
    assert!(!h.state().params.by_recognition);
    assert!(!h.state().params.remove_rules);
}

/// The photo opens fitted to its view; zooming (Ctrl+wheel or pinch) keeps the point under
/// the pointer in place; a drag pans; "Fit" brings the whole picture back.
fn the_picture_fits_zooms_at_the_pointer_and_pans(
    h: &mut egui_kittest::Harness<'_, nnlab::gui::ocr::OcrPanel>,
) {
    use eframe::egui::{Event, Modifiers, PointerButton, Pos2, Rect, vec2};
    use egui_kittest::kittest::Queryable;
    let placed = |h: &egui_kittest::Harness<'_, nnlab::gui::ocr::OcrPanel>| -> (Rect, Rect) {
        h.state().picture_and_view().expect("the picture was drawn")
    };
    let (fitted, view) = placed(h);
    let eps = 0.5;
    assert!(
        view.expand(eps).contains_rect(fitted),
        "{fitted:?} lies inside the view {view:?}"
    );
    assert!(
        (fitted.width() - view.width()).abs() < eps
            || (fitted.height() - view.height()).abs() < eps,
        "{fitted:?} fills the view {view:?} on one side"
    );
    let pointer = fitted.lerp_inside(vec2(0.7, 0.6));
    let under = |r: Rect| (pointer - r.min) / r.size();
    h.event(Event::PointerMoved(pointer));
    h.event(Event::Zoom(2.0));
    h.run();
    let (zoomed, _) = placed(h);
    assert!(
        (zoomed.width() / fitted.width() - 2.0).abs() < 0.01,
        "{zoomed:?} twice {fitted:?}"
    );
    assert!(
        (under(zoomed) - under(fitted)).length() < 1e-3,
        "the point under the pointer stayed: {:?} against {:?}",
        under(zoomed),
        under(fitted)
    );
    let to = pointer + vec2(-60.0, -40.0);
    let press = |pos: Pos2, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    };
    h.event(press(pointer, true));
    h.run();
    for step in 1..=6 {
        h.event(Event::PointerMoved(
            pointer + (to - pointer) * (step as f32 / 6.0),
        ));
        h.run();
    }
    h.event(press(to, false));
    h.run();
    let (panned, _) = placed(h);
    assert!(
        (panned.min - (zoomed.min + (to - pointer))).length() < 1.0,
        "the drag moved the picture with the pointer: {panned:?} from {zoomed:?}"
    );
    h.get_by_label("Fit").click();
    h.run();
    assert_eq!(placed(h).0, fitted, "Fit shows the whole picture again");
}

/// [`fixture_model`], trained once for all the tests of this file that need it.
fn trained_fixture_model() -> SavedModel {
    static MODEL: std::sync::OnceLock<SavedModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| fixture_model(fixture())).clone()
}

/// `page` turned by `degrees` (positive: clockwise, so its lines run down to the right)
/// on a dark desk large enough that no corner is cut off.
fn rotated(page: &GrayImage, degrees: f32) -> GrayImage {
    use imageproc::geometric_transformations::{Interpolation, rotate_about_center};
    const DESK: Luma<u8> = Luma([40]);
    let pad = page.width().max(page.height()) / 2;
    let mut desk = GrayImage::from_pixel(page.width() + 2 * pad, page.height() + 2 * pad, DESK);
    image::imageops::replace(&mut desk, page, pad as i64, pad as i64);
    rotate_about_center(&desk, degrees.to_radians(), Interpolation::Bilinear, DESK)
}

fn read_text(page: &GrayImage, model: &mut SavedModel, params: &OcrParams) -> (String, f32) {
    let (_, reading) = read(&DynamicImage::ImageLuma8(page.clone()), model, params).unwrap();
    (reading.text(), reading.angle)
}

#[test]
fn a_tilted_page_reads_as_the_level_one() {
    let data = fixture();
    let page = draw_page(&data.train, &PAGE);
    let mut model = trained_fixture_model();
    let params = OcrParams::default();
    let (upright, _) = read_text(&page, &mut model, &params);
    let truth = PAGE.join("\n");
    assert!(
        nnlab::ocr::eval::character_accuracy(&truth, &upright) >= 0.8,
        "upright: '{upright}'"
    );
    for degrees in [-25.0f32, -15.0, -8.0, 8.0, 15.0, 25.0] {
        let (text, angle) = read_text(&rotated(&page, degrees), &mut model, &params);
        // The same lines of the same lengths in the same order; a letter or two may read
        // differently (the small fixture model learned these glyphs pixel-exact, and the
        // photo was resampled twice: turned, then levelled).
        let lengths = |t: &str| t.lines().map(str::len).collect::<Vec<_>>();
        assert_eq!(
            lengths(&text),
            lengths(&upright),
            "turned {degrees}: '{text}'"
        );
        let same = nnlab::ocr::eval::character_accuracy(&upright, &text);
        assert!(
            same >= 0.8,
            "turned {degrees} degrees (angle found {angle}): '{text}'"
        );
        assert!(
            (angle - degrees).abs() < 1.0,
            "{degrees} degrees: found {angle}"
        );
    }
}

#[test]
fn a_line_rising_by_one_and_a_half_letter_heights_stays_one_line() {
    let data = fixture();
    let lines = ["HELLO WORLD", "AB 12 XYZ", "HELLO WORLD"];
    // Glyph ink is about 2/3 of its cell high; the middle line rises by 1.5 of that
    // across its width, the others stay level (one line pitch is 2 cells).
    let letter = (SIDE as u32 * ZOOM) as f32 * 2.0 / 3.0;
    let width = 9.0 * (SIDE as u32 * ZOOM + LETTER_GAP) as f32 + WORD_GAP as f32 * 2.0;
    let page = draw_rising_page(&data.train, &lines, |row, x| {
        if row == 1 {
            (1.5 * letter * (x - MARGIN) as f32 / width) as i32
        } else {
            0
        }
    });
    let seg = segment(
        &DynamicImage::ImageLuma8(page),
        &OcrParams {
            angle: Some(0.0),
            ..OcrParams::default()
        },
    )
    .unwrap();
    let counts: Vec<usize> = seg.lines.iter().map(|l| l.blobs.len()).collect();
    assert_eq!(counts, vec![10, 7, 10], "letters per line");
}

#[test]
fn an_upside_down_page_reads_right_with_orient_auto() {
    let data = fixture();
    let page = draw_page(&data.train, &PAGE);
    let mut model = trained_fixture_model();
    let (upright, _) = read_text(&page, &mut model, &OcrParams::default());
    let upside_down = image::imageops::rotate180(&page);
    let params = OcrParams {
        orient_auto: true,
        ..OcrParams::default()
    };
    let (_, reading) = read(&DynamicImage::ImageLuma8(upside_down), &mut model, &params).unwrap();
    assert_eq!(reading.quarter_turns, 2);
    assert_eq!(reading.text(), upright);
    let on_its_side = image::imageops::rotate90(&page);
    let (_, reading) = read(&DynamicImage::ImageLuma8(on_its_side), &mut model, &params).unwrap();
    assert_eq!(reading.quarter_turns, 3);
    assert_eq!(reading.text(), upright);
}

const PAIRS_PER_LINE: usize = 6;

/// A page of letter pairs (each a word) drawn with the `nth` sample of each letter, the
/// second letter of each pair drawn over the first by `overlap` of the first's ink width,
/// so their strokes touch or cross.
fn draw_pairs(
    ds: &Dataset,
    pairs: &[[char; 2]],
    nth: usize,
    overlap: impl Fn(usize) -> f32,
) -> GrayImage {
    const PER_LINE: usize = PAIRS_PER_LINE;
    let cell = SIDE as u32 * ZOOM;
    let width = 2 * MARGIN + PER_LINE as u32 * (2 * cell + WORD_GAP);
    let height = 2 * MARGIN + pairs.len().div_ceil(PER_LINE) as u32 * LINE_PITCH;
    let mut page = paper(width, height);
    for (i, [a, b]) in pairs.iter().enumerate() {
        let x = MARGIN + (i % PER_LINE) as u32 * (2 * cell + WORD_GAP);
        let y = MARGIN + (i / PER_LINE) as u32 * LINE_PITCH;
        let (a, b) = (nth_glyph(ds, *a, nth), nth_glyph(ds, *b, nth));
        let inked = |g| {
            ink_columns(g)
                .map(|(l, r)| (l as u32, r as u32))
                .expect("ink")
        };
        let ((a_left, a_right), (b_left, _)) = (inked(a), inked(b));
        let a_width = (a_right - a_left) as f32;
        // b's ink starts `overlap` of a's ink width before a's ink ends.
        let b_ink = (a_right as f32 - overlap(i) * a_width) * ZOOM as f32;
        draw_glyph_image(&mut page, a, x, y);
        draw_glyph_image(&mut page, b, x + b_ink as u32 - b_left * ZOOM, y);
    }
    page
}

/// Which of `pairs` on `page` are read exactly (each character belongs to the pair whose
/// place on the page holds its box's centre; the page is read level, so no rotation moves
/// the boxes).
fn pairs_read_right(
    page: &GrayImage,
    pairs: &[[char; 2]],
    model: &mut SavedModel,
    params: &OcrParams,
) -> Vec<bool> {
    let params = OcrParams {
        angle: Some(0.0),
        ..params.clone()
    };
    let (_, reading) = read(&DynamicImage::ImageLuma8(page.clone()), model, &params).unwrap();
    let mut read_pairs = vec![String::new(); pairs.len()];
    let slot_width = 2 * SIDE as u32 * ZOOM + WORD_GAP;
    for c in reading.characters() {
        let (cx, cy) = (
            (c.bbox.left + c.bbox.right) / 2,
            (c.bbox.top + c.bbox.bottom) / 2,
        );
        let slot = (cy.saturating_sub(MARGIN) / LINE_PITCH) as usize * PAIRS_PER_LINE
            + (cx.saturating_sub(MARGIN) / slot_width) as usize;
        if let Some(p) = read_pairs.get_mut(slot) {
            p.push_str(&c.text);
        }
    }
    let truth: Vec<String> = pairs.iter().map(|p| p.iter().collect()).collect();
    let wrong: Vec<String> = read_pairs
        .iter()
        .zip(&truth)
        .filter(|(r, t)| r != t)
        .map(|(r, t)| format!("{t}->{r}"))
        .collect();
    eprintln!(
        "by recognition {}: {} of {} pairs wrong: {wrong:?}",
        params.by_recognition,
        wrong.len(),
        truth.len()
    );
    read_pairs.iter().zip(&truth).map(|(r, t)| r == t).collect()
}

/// The letter pairs of the touching-letters pages: every letter first and second once,
/// with varied partners (I and 1 are left out: an I over a neighbour's stroke is a stroke
/// of it).
fn touching_pairs() -> Vec<[char; 2]> {
    let letters: Vec<char> = "ABCDEFGHJKLMNOPQRSTUVWXYZ".chars().collect();
    (0..letters.len())
        .flat_map(|i| {
            [
                [letters[i], letters[(i * 7 + 3) % letters.len()]],
                [letters[(i * 11 + 5) % letters.len()], letters[i]],
            ]
        })
        .filter(|[a, b]| a != b)
        .collect()
}

/// How well the shipped model reads letter pairs drawn by the first `hands` samples of
/// each letter in `split`.
struct PairRates {
    /// Overlapping by 10-25% of the first letter's ink width, cut by recognition...
    touching: f32,
    /// ...and cut by width alone.
    by_width: f32,
    /// Drawn apart (the classifier's own errors).
    apart: f32,
    /// Touching, of the pairs read right apart.
    touching_of_right_apart: f32,
}

fn pair_rates(split: &Dataset, hands: usize) -> PairRates {
    let pairs = touching_pairs();
    let overlap = |i: usize| 0.10 + 0.15 * (i % 4) as f32 / 3.0;
    let mut model = nnlab::data::builtin::default_model().unwrap();
    let mut read_right = |params: &OcrParams, overlap: &dyn Fn(usize) -> f32| {
        (0..hands)
            .flat_map(|nth| {
                let page = draw_pairs(split, &pairs, nth, overlap);
                pairs_read_right(&page, &pairs, &mut model, params)
            })
            .collect::<Vec<bool>>()
    };
    let apart = read_right(&OcrParams::default(), &|_| -0.4);
    let touching = read_right(&OcrParams::default(), &overlap);
    let by_width = read_right(
        &OcrParams {
            by_recognition: false,
            ..OcrParams::default()
        },
        &overlap,
    );
    let share = |v: &[bool]| v.iter().filter(|&&b| b).count() as f32 / v.len().max(1) as f32;
    let given_apart: Vec<bool> = touching
        .iter()
        .zip(&apart)
        .filter(|&(_, &a)| a)
        .map(|(&t, _)| t)
        .collect();
    let rates = PairRates {
        touching: share(&touching),
        by_width: share(&by_width),
        apart: share(&apart),
        touching_of_right_apart: share(&given_apart),
    };
    eprintln!(
        "pairs right: touching {:.3} by recognition, {:.3} by width; apart {:.3}; touching of those \
         right apart {:.3}",
        rates.touching, rates.by_width, rates.apart, rates.touching_of_right_apart
    );
    rates
}

/// Touching letters, split and read by the shipped model and its piece reader in hands
/// they never trained on (the builtin test split's), every letter first and second,
/// overlapping by 10-25% of the first's ink width: they read 0.80 of the pairs (issue #13
/// asks for 0.9; 0.64 before the piece reader, which reads each piece with the ink around
/// it), 0.24 cut by width. Drawn apart, the same pairs read at 0.92 (the classifier's own
/// errors); of those, 0.84 read right touching. The floor fails without the piece reader.
#[test]
fn touching_letters_are_split_where_they_read_best() {
    let data = DataSource::Builtin.load().expect("builtin loads");
    let rates = pair_rates(&data.test, 3);
    assert!(rates.touching >= 0.75, "pairs right: {:.3}", rates.touching);
    assert!(
        rates.touching > rates.by_width + 0.25,
        "by width: {:.3}",
        rates.by_width
    );
}

/// The same pages drawn by 24 samples of the validation hands (1,056 pairs): the measure
/// every choice about cuts is made on, the test hands above only reporting it. A
/// measurement, not a check: `cargo test --release --test ocr -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_touching_pairs_on_validation_hands() {
    let data = DataSource::Builtin.load().expect("builtin loads");
    pair_rates(&data.valid, 24);
}

/// `page` with printed rules in a grey that thresholds as ink, 3 px thick (half the pen;
/// thinner ones the denoising takes): lines across every `pitch` pixels from `first`, and a
/// margin line down the left.
fn ruled(page: &GrayImage, first: u32, pitch: u32) -> GrayImage {
    const RULE: Luma<u8> = Luma([95]);
    let mut out = page.clone();
    let (w, h) = out.dimensions();
    for y in (first..h).step_by(pitch as usize) {
        for t in 0..3 {
            for x in 0..w {
                out.put_pixel(x, (y + t).min(h - 1), RULE);
            }
        }
    }
    for t in 0..3 {
        for y in 0..h {
            out.put_pixel(MARGIN / 2 + t, y, RULE);
        }
    }
    out
}

#[test]
fn a_page_on_ruled_paper_reads_as_the_plain_page() {
    let data = fixture();
    let page = draw_page(&data.train, &PAGE);
    let mut model = trained_fixture_model();
    let params = OcrParams::default();
    let (plain, _) = read_text(&page, &mut model, &params);
    // Rules through the letters' lower part and between the lines (the glyphs' ink ends
    // about 81 px below their cell's top).
    let paper = ruled(&page, MARGIN + 70, LINE_PITCH / 2);
    let (seg, reading) = read(
        &DynamicImage::ImageLuma8(paper.clone()),
        &mut model,
        &params,
    )
    .unwrap();
    assert!(seg.rules.pixels > 0, "rules found");
    assert_eq!(seg.rules.across, Some(0.0), "ruled lines found");
    assert_eq!(seg.rules.down, Some(0.0), "the margin line found");
    check_layout(&seg, "ruled");
    assert_eq!(reading.text(), plain);
    // Left in, the rules join the letters they touch into lines of ink.
    let kept = OcrParams {
        remove_rules: false,
        ..params
    };
    let (with_rules, _) = read_text(&paper, &mut model, &kept);
    assert_ne!(with_rules, plain, "the rules matter");

    // The command line says what it took out, unless told to keep the rules.
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("ruled.png");
    paper.save(&photo).unwrap();
    let stderr = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nnlab"))
            .arg("ocr")
            .arg(&photo)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = stderr(&[]);
    assert!(
        said.contains("ruled lines removed (at 0.0 deg), margin lines removed"),
        "{said}"
    );
    assert!(!stderr(&["--keep-rules"]).contains("removed"));
}
