//! Data sets. Inside nnlab every image is a row of `side x side` pixels in row-major
//! order (x fastest), **ink 1.0 and paper 0.0** (loaders convert on the way in).
//! Colour images (CIFAR-10, image folders) are rows of `3 x H x W` plain RGB values in 0..1.

pub mod augment;
pub mod builtin;
pub mod case;
pub mod cifar;
pub mod corrections;
pub mod crop;
pub mod grid;
pub mod image_file;
pub mod image_folder;
pub mod in_context;
pub mod mnist;
pub mod nist36;
pub mod render;
pub mod touching;
pub mod toy;

use crate::nn::Shape;
use anyhow::{Context, Result, bail};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Side of the character images (NIST36 and `builtin`).
pub const SIDE: usize = 32;
/// Pixels per character image.
pub const PIXELS: usize = SIDE * SIDE;

/// The 36 classes in NIST36 column order: A-Z, then 0-9.
pub fn nist36_classes() -> Vec<String> {
    ('A'..='Z').chain('0'..='9').map(String::from).collect()
}

/// The 62 classes of `builtin62`: NIST36's, then a-z.
pub fn mixed_case_classes() -> Vec<String> {
    let mut classes = nist36_classes();
    classes.extend(('a'..='z').map(String::from));
    classes
}

/// Labelled images.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// One image per row, `shape.len()` values each.
    pub images: Array2<f32>,
    /// Class index per row.
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
    /// The shape of one image (1 x 32 x 32 for characters).
    pub shape: Shape,
}

impl Default for Shape {
    fn default() -> Self {
        Shape::image(1, SIDE, SIDE)
    }
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Labels as one-hot rows (the classifier's targets).
    pub fn one_hot(&self) -> Array2<f32> {
        let mut t = Array2::zeros((self.len(), self.classes.len()));
        for (i, &l) in self.labels.iter().enumerate() {
            t[[i, l]] = 1.0;
        }
        t
    }

    /// Image `i` as an `h x w` matrix (first channel).
    pub fn image(&self, i: usize) -> ArrayView2<'_, f32> {
        let row: ArrayView1<f32> = self.images.row(i);
        let (h, w) = (self.shape.h, self.shape.w);
        row.slice_move(ndarray::s![..h * w])
            .into_shape_with_order((h, w))
            .expect("row holds an image")
    }

    /// The rows `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        Self {
            images: self.images.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
            shape: self.shape,
        }
    }

    /// Only the samples of the classes `keep` (indices into `classes`), relabelled
    /// 0.. in the order of `keep`.
    pub fn only_classes(&self, keep: &[usize]) -> Self {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&i| keep.contains(&self.labels[i]))
            .collect();
        let mut ds = self.subset(&rows);
        for l in &mut ds.labels {
            *l = keep.iter().position(|k| k == l).expect("kept class");
        }
        ds.classes = keep.iter().map(|&k| self.classes[k].clone()).collect();
        ds
    }

    /// The first `n` samples of every class, in their original order.
    pub fn first_per_class(&self, n: usize) -> Self {
        let mut taken = vec![0; self.classes.len()];
        let rows: Vec<usize> = (0..self.len())
            .filter(|&i| {
                taken[self.labels[i]] += 1;
                taken[self.labels[i]] <= n
            })
            .collect();
        self.subset(&rows)
    }

    /// This set followed by the rows of `more`, which must have the same classes and shape.
    pub fn concat(&self, more: &Dataset) -> Result<Self> {
        if more.classes != self.classes || more.shape != self.shape {
            bail!(
                "cannot add {} images of shape {:?} to a set of shape {:?} with other classes",
                more.len(),
                more.shape,
                self.shape
            );
        }
        let images = ndarray::concatenate(Axis(0), &[self.images.view(), more.images.view()])
            .expect("rows of the same length");
        Ok(Self {
            images,
            labels: self.labels.iter().chain(&more.labels).copied().collect(),
            ..self.clone()
        })
    }

    /// How many samples each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// Checks the invariants every loader promises; `what` names the source in errors.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.images.nrows() != self.labels.len() {
            bail!(
                "{what}: {} images but {} labels",
                self.images.nrows(),
                self.labels.len()
            );
        }
        if self.images.ncols() != self.shape.len() {
            bail!(
                "{what}: rows have {} values, expected {}",
                self.images.ncols(),
                self.shape.len()
            );
        }
        if let Some(&l) = self.labels.iter().find(|&&l| l >= self.classes.len()) {
            bail!("{what}: label {l} but only {} classes", self.classes.len());
        }
        if let Some(i) = self.images.iter().position(|v| !v.is_finite()) {
            bail!(
                "{what}: value {} of image {} is not a number",
                i % self.shape.len(),
                i / self.shape.len()
            );
        }
        Ok(())
    }
}

/// Train, validation and test splits of one data set.
#[derive(Clone, Debug, Default)]
pub struct Splits {
    /// Where it came from, for the UI ("builtin", a folder path).
    pub name: String,
    pub train: Dataset,
    pub valid: Dataset,
    pub test: Dataset,
}

impl Splits {
    /// Only the classes `keep` in every split (see [`Dataset::only_classes`]).
    pub fn only_classes(&self, keep: &[usize]) -> Self {
        Self {
            name: self.name.clone(),
            train: self.train.only_classes(keep),
            valid: self.valid.only_classes(keep),
            test: self.test.only_classes(keep),
        }
    }

    /// The classes named by `list` (all when empty, see [`class_indices`]) with at most
    /// `per_class` training samples each (0: all). Validation and test keep every sample
    /// of the chosen classes, so accuracies stay comparable.
    pub fn select(&self, list: &str, per_class: usize) -> Result<Self> {
        let mut splits = if list.trim().is_empty() {
            self.clone()
        } else {
            self.only_classes(&class_indices(list, &self.train.classes)?)
        };
        if per_class > 0 {
            splits.train = splits.train.first_per_class(per_class);
        }
        Ok(splits)
    }
}

/// File extensions (lower case) of the image formats this build reads.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"];

/// Where a run's data comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The embedded default set (no download).
    #[default]
    Builtin,
    /// The embedded set with lower-case letters as well (62 classes).
    #[serde(rename = "builtin62")]
    BuiltinMixedCase,
    /// A folder holding `nist36_{train,valid,test}.mat`.
    Nist36(PathBuf),
    /// A folder holding CIFAR-10's binary batches (`data_batch_1.bin` ... `test_batch.bin`).
    Cifar10(PathBuf),
    /// A folder with one sub-folder of images per class, resized to `side x side`.
    ImageFolder { path: PathBuf, side: usize },
    /// A generated 2-D problem of the toy playground.
    Toy(toy::ToyKind),
}

/// The side images from an image folder are resized to unless the user chooses one.
pub const DEFAULT_IMAGE_SIDE: usize = 32;

impl DataSource {
    /// Whether the samples are 32x32 characters (NIST36's layout).
    pub fn is_characters(&self) -> bool {
        matches!(
            self,
            Self::Builtin | Self::BuiltinMixedCase | Self::Nist36(_)
        )
    }

    /// `builtin`, or a folder recognised by its content: CIFAR-10 batches, class
    /// sub-folders of images, else NIST36 (whose loader names any missing file).
    pub fn parse(s: &str) -> Self {
        match s {
            "builtin" => return Self::Builtin,
            "builtin62" => return Self::BuiltinMixedCase,
            _ => {}
        }
        let path = PathBuf::from(s);
        if path.join("nist36_train.mat").is_file() {
            Self::Nist36(path)
        } else if cifar::is_cifar_folder(&path) {
            Self::Cifar10(path)
        } else if image_folder::is_image_folder(&path) {
            Self::ImageFolder {
                path,
                side: DEFAULT_IMAGE_SIDE,
            }
        } else {
            Self::Nist36(path)
        }
    }

    pub fn load(&self) -> Result<Splits> {
        match self {
            Self::Builtin => builtin::Variant::Capitals.splits(),
            Self::BuiltinMixedCase => builtin::Variant::MixedCase.splits(),
            Self::Nist36(dir) => nist36::load_folder(dir),
            Self::Cifar10(dir) => cifar::load_folder(dir),
            Self::ImageFolder { path, side } => image_folder::load_folder(path, *side),
            Self::Toy(kind) => Ok(kind.splits()),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Builtin => "builtin".into(),
            Self::BuiltinMixedCase => "builtin62".into(),
            Self::Nist36(p) | Self::Cifar10(p) => p.display().to_string(),
            Self::ImageFolder { path, side } => format!("{} ({side}x{side})", path.display()),
            Self::Toy(kind) => format!("toy: {}", kind.name()),
        }
    }
}

/// Class indices for a list like `0-9`, `A,B,C` or `A-E,7`; ranges follow `classes`' order.
pub fn class_indices(list: &str, classes: &[String]) -> Result<Vec<usize>> {
    let find = |name: &str| {
        classes
            .iter()
            .position(|c| c == name)
            .with_context(|| format!("no class '{name}' (classes: {})", classes.join(" ")))
    };
    let mut keep = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let range = item
            .split_once('-')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty());
        let (first, last) = match range {
            Some((a, b)) => (find(a)?, find(b)?),
            None => (find(item)?, find(item)?),
        };
        if first > last {
            bail!("class range '{item}' runs backwards");
        }
        keep.extend(
            (first..=last)
                .filter(|i| !keep.contains(i))
                .collect::<Vec<_>>(),
        );
    }
    if keep.len() < 2 {
        bail!(
            "'{list}' names {} class(es); a classifier needs at least two",
            keep.len()
        );
    }
    Ok(keep)
}
