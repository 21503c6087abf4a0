//! The embedded `builtin` data set: sizes, ranges, determinism, hands kept apart, the digit
//! file loader, the shared crop normalisation, the sample grid, and that a model learns it.

use nnlab::data::builtin::{self, HANDS, Source, Split};
use nnlab::data::crop::normalize_glyph;
use nnlab::data::grid::sample_grid;
use nnlab::data::mnist::Digits;
use nnlab::data::render::Hand;
use nnlab::data::{DataSource, PIXELS, SIDE};
use nnlab::train::{RunConfig, Trainer};
use std::collections::HashSet;
use std::sync::Arc;

#[test]
fn every_class_has_the_nist36_counts_in_every_split() {
    let s = DataSource::Builtin.load().unwrap();
    for (ds, split) in [
        (&s.train, Split::Train),
        (&s.valid, Split::Valid),
        (&s.test, Split::Test),
    ] {
        assert_eq!(ds.classes.len(), 36);
        assert_eq!(ds.classes[0], "A");
        assert_eq!(ds.classes[35], "9");
        assert_eq!(ds.class_counts(), vec![split.per_class(); 36], "{split:?}");
        assert_eq!(ds.images.dim(), (36 * split.per_class(), PIXELS));
    }
    assert_eq!(
        (s.train.len(), s.valid.len(), s.test.len()),
        (10_800, 3_600, 1_800)
    );
}

#[test]
fn pixels_are_ink_on_paper_in_range() {
    let s = builtin::Variant::Capitals.splits().unwrap();
    for ds in [&s.train, &s.valid, &s.test] {
        assert!(ds.images.iter().all(|v| (0.0..=1.0).contains(v)));
        for row in ds.images.rows() {
            let ink = row.sum();
            // Some ink, mostly paper: a glyph, not a blank or a filled square.
            assert!(ink > 10.0 && ink < 0.5 * PIXELS as f32, "ink {ink}");
            // The border ring is paper (the crop keeps a margin).
            assert!(row[0] == 0.0 && row[PIXELS - 1] == 0.0);
        }
    }
}

#[test]
fn the_shipped_splits_are_what_the_seed_generates_and_another_seed_differs() {
    let shipped = builtin::Variant::Capitals.splits().unwrap();
    let generated = builtin::generate(builtin::Variant::Capitals, builtin::SEED).unwrap();
    // The file stores bytes: compare after the same rounding.
    let stored = builtin::unpack(
        &builtin::pack(&generated).unwrap(),
        "generated",
        builtin::Variant::Capitals,
    )
    .unwrap();
    assert!(
        stored.train.images == shipped.train.images && stored.test.images == shipped.test.images,
        "assets/builtin.bin.gz is stale: run `cargo run --release -- gen-builtin`"
    );
    assert_eq!(stored.valid.labels, shipped.valid.labels);
    let other = builtin::generate_split(builtin::Variant::Capitals, builtin::SEED + 1, Split::Test)
        .unwrap();
    assert_ne!(generated.test.images, other.images);
    assert_eq!(generated.test.labels, other.labels);
}

#[test]
fn the_shipped_mixed_case_splits_are_what_the_seed_generates() {
    let variant = builtin::Variant::MixedCase;
    let shipped = variant.splits().unwrap();
    let generated = builtin::generate(variant, builtin::SEED).unwrap();
    let stored =
        builtin::unpack(&builtin::pack(&generated).unwrap(), "generated", variant).unwrap();
    assert!(
        stored.train.images == shipped.train.images && stored.test.images == shipped.test.images,
        "assets/builtin62.bin.gz is stale: run `cargo run --release -- gen-builtin --set builtin62`"
    );
    assert_eq!(stored.valid.labels, shipped.valid.labels);
    // Its first 36 classes are builtin's, drawn from the same hands.
    let capitals = builtin::Variant::Capitals.splits().unwrap();
    assert_eq!(shipped.test.classes[..36], capitals.test.classes[..]);
}

#[test]
fn the_packed_file_loader_rejects_damaged_files_with_a_message() {
    let packed = builtin::pack(&builtin::Variant::Capitals.splits().unwrap()).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut raw).unwrap();
    raw.truncate(raw.len() - 1);
    let err = builtin::unpack(&gzip(&raw), "cut.bin.gz", builtin::Variant::Capitals).unwrap_err();
    assert!(
        format!("{err:#}").contains("cut.bin.gz: Test split: the file is cut short"),
        "{err:#}"
    );
    let err = builtin::unpack(b"nope", "junk.bin.gz", builtin::Variant::Capitals).unwrap_err();
    assert!(
        format!("{err:#}").contains("junk.bin.gz: not a gzip stream"),
        "{err:#}"
    );
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

#[test]
fn no_hand_and_no_mnist_image_is_in_two_splits() {
    let sources: Vec<HashSet<(usize, Source)>> = Split::ALL
        .iter()
        .map(|&split| {
            builtin::plan(builtin::Variant::Capitals, split)
                .into_iter()
                // An MNIST index names an image only together with its digit.
                .map(|(class, src)| (if let Source::Mnist(_) = src { class } else { 0 }, src))
                .collect()
        })
        .collect();
    for a in 0..3 {
        for b in a + 1..3 {
            let shared: Vec<_> = sources[a].intersection(&sources[b]).collect();
            assert!(
                shared.is_empty(),
                "{:?} and {:?} share {shared:?}",
                Split::ALL[a],
                Split::ALL[b]
            );
        }
    }
    // Many hands, each split has several, and digits come from fonts as well as from MNIST.
    assert!(HANDS.len() >= 30);
    for (split, set) in Split::ALL.iter().zip(&sources) {
        let fonts: HashSet<_> = set
            .iter()
            .filter(|(_, s)| matches!(s, Source::Font(_)))
            .map(|(_, s)| s)
            .collect();
        assert!(fonts.len() >= 5, "{split:?} has {} hands", fonts.len());
        let plan = builtin::plan(builtin::Variant::Capitals, *split);
        let digit_fonts = plan
            .iter()
            .filter(|(c, s)| *c >= 26 && matches!(s, Source::Font(_)))
            .count();
        let digit_mnist = plan
            .iter()
            .filter(|(_, s)| matches!(s, Source::Mnist(_)))
            .count();
        assert!(
            digit_fonts > digit_mnist && digit_mnist > 0,
            "{split:?}: {digit_fonts} font / {digit_mnist} MNIST digits"
        );
    }
}

#[test]
fn the_digit_loader_rejects_corrupt_files_with_a_message() {
    let good = include_bytes!("../assets/mnist/digits.bin.gz");
    let digits = Digits::parse(good, "digits.bin.gz").unwrap();
    assert!(digits.per_class >= 400);
    let img = digits.image(1, 0);
    assert!(img.iter().any(|&v| v > 0.9) && img.iter().all(|&v| (0.0..=1.0).contains(&v)));

    let not_gzip = Digits::parse(b"hello, world", "junk.gz").unwrap_err();
    assert!(
        format!("{not_gzip:#}").contains("junk.gz: not a gzip stream"),
        "{not_gzip:#}"
    );

    // A valid gzip stream cut short: the header promises more images than it holds.
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&good[..]), &mut raw).unwrap();
    raw.truncate(raw.len() - 100);
    let cut = gzip(&raw);
    let err = Digits::parse(&cut, "cut.gz").unwrap_err();
    assert!(
        format!("{err:#}").contains("cut.gz: header says 400 images per digit"),
        "{err:#}"
    );
}

#[test]
fn a_rendered_glyph_is_cropped_centred_and_redrawn_with_one_pen() {
    let hand = &HANDS[0];
    let font = Hand::parse(hand.name, hand.bytes).unwrap();
    let glyph = font.rasterise('I').unwrap();
    // Put the glyph off-centre on a big page: the crop must find and centre it.
    let (h, w) = glyph.dim();
    let mut page = ndarray::Array2::zeros((h + 100, w + 60));
    page.slice_mut(ndarray::s![80..80 + h, 50..50 + w])
        .assign(&glyph);
    let row = normalize_glyph(page.view());
    let img = row.into_shape_with_order((SIDE, SIDE)).unwrap();
    let (top, left, bottom, right) = nnlab::data::crop::ink_box(img.view(), 0.1).unwrap();
    // A tall thin letter fills the height inside the margin and sits in the middle.
    assert!(
        top >= 2 && bottom <= SIDE - 2 && bottom - top >= 24,
        "rows {top}..{bottom}"
    );
    assert!(
        (left + right) as i32 - SIDE as i32 <= 2 && (left + right) as i32 - SIDE as i32 >= -2,
        "cols {left}..{right}"
    );
    // One pen: the stroke of an I is about as wide as the redrawn pen, whatever the font.
    let middle = img.row(SIDE / 2);
    let width: f32 = middle.sum();
    assert!((1.5..=4.0).contains(&width), "stroke width {width}");
    // Blank in, blank out.
    assert!(
        normalize_glyph(ndarray::Array2::zeros((10, 10)).view())
            .iter()
            .all(|&v| v == 0.0)
    );
}

#[test]
fn the_sample_grid_shows_every_class() {
    let s = builtin::Variant::Capitals.splits().unwrap();
    let img = sample_grid(&s.train, 10);
    assert_eq!((img.width(), img.height()), (36 * 34 + 2, 10 * 34 + 2));
    for class in 0..36u32 {
        let x = 2 + class * 34;
        let dark = (x..x + 32)
            .flat_map(|xx| (2..34).map(move |y| (xx, y)))
            .filter(|&(xx, y)| img.get_pixel(xx, y)[0] < 128);
        assert!(dark.count() > 10, "class {class} tile is blank");
    }
    // `NNLAB_SCREENSHOTS=1 cargo test --test builtin` refreshes the picture in the repo.
    if std::env::var_os("NNLAB_SCREENSHOTS").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/screenshots/builtin-samples.png"
        );
        img.save(path).unwrap();
    }
}

#[test]
fn an_mlp_trained_briefly_beats_chance_by_far() {
    let data = Arc::new(builtin::Variant::Capitals.splits().unwrap());
    let config = RunConfig {
        epochs: 3,
        ..RunConfig::default()
    };
    let mut trainer = Trainer::new(config, data.clone()).unwrap();
    for _ in 0..3 {
        trainer.run_epoch(|_| {});
    }
    let acc = trainer.evaluate(&data.valid).accuracy;
    // Chance is 1/36 = 0.028; new hands in validation.
    assert!(acc > 0.5, "valid accuracy {acc}");
}

#[test]
fn the_default_model_reads_builtin_well() {
    let mut model = builtin::default_model().unwrap();
    assert_eq!(model.classes, nnlab::data::nist36_classes());
    let s = builtin::Variant::Capitals.splits().unwrap();
    let ev = nnlab::train::trainer::evaluate(
        &mut model.net,
        nnlab::nn::Loss::CrossEntropy,
        nnlab::train::Task::Classify,
        &s.test,
    );
    assert!(ev.accuracy > 0.85, "test accuracy {}", ev.accuracy);
}
