//! Loaders beyond characters: CIFAR-10 binary batches and image folders, on small files
//! the tests write; `DataSource::parse` recognises each folder by its content.

use nnlab::data::{DataSource, cifar, image_folder};
use nnlab::nn::Shape;
use std::path::Path;

/// A CIFAR record: `label`, then the red, green and blue planes filled with `r`, `g`, `b`
/// (the red plane's first pixel is 255 to check the layout).
fn record(label: u8, r: u8, g: u8, b: u8) -> Vec<u8> {
    let mut rec = vec![label];
    for v in [r, g, b] {
        rec.extend(std::iter::repeat_n(v, 1024));
    }
    rec[1] = 255;
    rec
}

fn write_cifar(dir: &Path) {
    for (i, name) in [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ]
    .iter()
    .enumerate()
    {
        let bytes: Vec<u8> = (0..3u8)
            .flat_map(|k| record((i as u8 + k) % 10, 0, 51, 102))
            .collect();
        std::fs::write(dir.join(format!("{name}.bin")), bytes).unwrap();
    }
}

#[test]
fn cifar_batches_load_as_colour_images() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path());
    let source = DataSource::parse(dir.path().to_str().unwrap());
    assert_eq!(source, DataSource::Cifar10(dir.path().to_path_buf()));
    let splits = source.load().unwrap();
    assert_eq!(
        (splits.train.len(), splits.valid.len(), splits.test.len()),
        (12, 3, 3)
    );
    assert_eq!(splits.train.shape, Shape::image(3, 32, 32));
    assert_eq!(splits.train.classes[3], "cat");
    assert_eq!(&splits.train.labels[..4], &[0, 1, 2, 1]);
    assert_eq!(splits.valid.labels, vec![4, 5, 6]);
    let row = splits.train.images.row(0);
    assert_eq!(row[0], 1.0, "first red pixel");
    assert_eq!(
        (row[1], row[1024], row[2048]),
        (0.0, 0.2, 0.4),
        "plain RGB in 0..1, planes in order"
    );
    for ds in [&splits.train, &splits.valid, &splits.test] {
        ds.validate("cifar").unwrap();
    }
}

#[test]
fn cifar_errors_name_the_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path());
    let bad = dir.path().join("data_batch_3.bin");
    std::fs::write(&bad, vec![0u8; 3073 + 10]).unwrap();
    let err = format!("{:#}", cifar::load_folder(dir.path()).unwrap_err());
    assert!(
        err.contains("data_batch_3.bin") && err.contains("3083 bytes"),
        "{err}"
    );

    std::fs::write(&bad, record(12, 0, 0, 0)).unwrap();
    let err = format!("{:#}", cifar::load_folder(dir.path()).unwrap_err());
    assert!(
        err.contains("data_batch_3.bin") && err.contains("label 12"),
        "{err}"
    );

    std::fs::write(&bad, record(3, 0, 0, 0)).unwrap();
    std::fs::remove_file(dir.path().join("test_batch.bin")).unwrap();
    let err = format!("{:#}", cifar::load_folder(dir.path()).unwrap_err());
    assert!(err.contains("test_batch.bin"), "{err}");
}

#[test]
fn cifar_class_names_come_from_the_meta_file() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path());
    let names: String = (0..10).map(|i| format!("thing{i}\n")).collect();
    std::fs::write(dir.path().join("batches.meta.txt"), names).unwrap();
    assert_eq!(
        cifar::load_folder(dir.path()).unwrap().train.classes[9],
        "thing9"
    );
}

/// `counts[k]` images of class `k`, each a solid colour; sizes vary to exercise resizing.
fn write_image_folder(dir: &Path, classes: &[(&str, [u8; 3])], per_class: usize) {
    for (name, colour) in classes {
        let sub = dir.join(name);
        std::fs::create_dir(&sub).unwrap();
        for i in 0..per_class {
            let img =
                image::RgbImage::from_pixel(20 + i as u32, 12 + 2 * i as u32, image::Rgb(*colour));
            img.save(sub.join(format!("{i}.png"))).unwrap();
        }
        std::fs::write(sub.join("notes.txt"), "not an image").unwrap();
    }
}

#[test]
fn image_folders_load_resized_and_split() {
    let dir = tempfile::tempdir().unwrap();
    write_image_folder(
        dir.path(),
        &[
            ("beach", [255, 0, 0]),
            ("forest", [0, 255, 0]),
            ("sky", [0, 0, 255]),
        ],
        10,
    );
    let source = DataSource::parse(dir.path().to_str().unwrap());
    assert!(
        matches!(&source, DataSource::ImageFolder { side: 32, .. }),
        "{source:?}"
    );
    let splits = image_folder::load_folder(dir.path(), 8).unwrap();
    assert_eq!(splits.train.classes, vec!["beach", "forest", "sky"]);
    assert_eq!(splits.train.shape, Shape::image(3, 8, 8));
    assert_eq!(
        (splits.train.len(), splits.valid.len()),
        (24, 6),
        "20% of each class held out"
    );
    assert_eq!(splits.valid.class_counts(), vec![2, 2, 2]);
    for (ds, name) in [(&splits.train, "train"), (&splits.valid, "valid")] {
        ds.validate(name).unwrap();
        for (row, &label) in ds.images.rows().into_iter().zip(&ds.labels) {
            // Solid colours survive resizing: the class's own plane is 1, the others 0.
            for c in 0..3 {
                let expected = if c == label { 1.0 } else { 0.0 };
                assert!(
                    row.iter().skip(c * 64).take(64).all(|&v| v == expected),
                    "{name} label {label} plane {c}"
                );
            }
        }
    }
    // The split is seeded: loading again gives the same one.
    let again = image_folder::load_folder(dir.path(), 8).unwrap();
    assert_eq!(again.valid.images, splits.valid.images);
}

#[test]
fn image_folder_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    write_image_folder(dir.path(), &[("only", [1, 2, 3])], 2);
    let err = format!(
        "{:#}",
        image_folder::load_folder(dir.path(), 8).unwrap_err()
    );
    assert!(err.contains("at least two class"), "{err}");
    write_image_folder(dir.path(), &[("other", [1, 2, 3])], 2);
    std::fs::write(dir.path().join("other/broken.png"), b"not a png").unwrap();
    let err = format!(
        "{:#}",
        image_folder::load_folder(dir.path(), 8).unwrap_err()
    );
    assert!(err.contains("broken.png"), "{err}");
}

#[test]
fn corrected_crops_join_the_training_split_of_a_run() {
    use nnlab::data::{PIXELS, corrections};
    use nnlab::train::RunConfig;
    use std::sync::Arc;
    let folder = tempfile::tempdir().unwrap().keep();
    let mut crop = ndarray::Array1::<f32>::zeros(PIXELS);
    crop.slice_mut(ndarray::s![100..140]).fill(1.0);
    for class in ["B", "B", "7"] {
        corrections::save(&folder, class, crop.view()).unwrap();
    }
    assert_eq!(std::fs::read_dir(folder.join("B")).unwrap().count(), 2);
    let data = Arc::new(DataSource::Builtin.load().unwrap());
    let config = RunConfig {
        extra_train: Some(folder.clone()),
        ..RunConfig::default()
    };
    let with = config.select(&data).unwrap();
    assert_eq!(with.train.len(), data.train.len() + 3);
    assert_eq!(with.valid.len(), data.valid.len(), "only training grows");
    let n = data.train.len();
    let names: Vec<&str> = with.train.labels[n..]
        .iter()
        .map(|&l| with.train.classes[l].as_str())
        .collect();
    assert_eq!(names, ["7", "B", "B"], "class folders in name order");
    let row = with.train.images.row(n);
    assert!(
        row.iter().zip(&crop).all(|(a, b)| (a - b).abs() < 0.01),
        "ink survives the PNG round trip"
    );
    // A class selection keeps the crops of its classes, and a per-class limit does not cut them.
    let digits = RunConfig {
        classes: "0-9".into(),
        per_class: 1,
        ..config.clone()
    }
    .select(&data)
    .unwrap();
    assert_eq!(
        digits.train.len(),
        10 + 1,
        "one sample per digit and the 7 crop"
    );
    let last = *digits.train.labels.last().unwrap();
    assert_eq!(digits.train.classes[last], "7");
    // A folder naming no class of the data is refused, not skipped.
    corrections::save(&folder, "Ж", crop.view()).unwrap();
    let error = config.select(&data).unwrap_err();
    assert!(
        format!("{error:#}").contains("'Ж' is not a class"),
        "{error:#}"
    );
}
