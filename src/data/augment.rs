//! Seeded distortions of images.
//!
//! - [`Variation`]: a clean glyph made into a plausible hand-written sample (rotation, shear,
//!   aspect, elastic distortion, sub-pixel jitter, blur, pen width and noise) when `builtin`
//!   is generated; the result still goes through `crop::normalize_glyph`.
//! - [`Warp`] and [`BatchWarper`]: training-time augmentation, a fresh small affine warp of
//!   every finished training image in every batch, so no two epochs see the same pixels.

use crate::nn::{Shape, parallel};
use anyhow::{Result, bail};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Side of the canvas a glyph is distorted on.
const CANVAS: usize = 72;
/// The glyph's longer side on the canvas before distortion (room left for rotation and shear).
const GLYPH: f32 = 46.0;
/// Control points per side of the elastic displacement grid.
const GRID: usize = 5;

/// One random draw of every distortion.
#[derive(Clone, Debug)]
pub struct Variation {
    /// Radians.
    pub rotation: f32,
    /// Horizontal shear (x += shear * y), as a slanted hand.
    pub shear: f32,
    /// Width over height stretch.
    pub aspect: f32,
    /// Displacement (dy, dx) in canvas pixels at each elastic control point.
    pub elastic: [[(f32, f32); GRID]; GRID],
    /// Sub-pixel shift (dy, dx): changes how strokes fall on the pixel grid.
    pub jitter: (f32, f32),
    /// Gaussian blur sigma in canvas pixels.
    pub blur: f32,
    /// Ink level where the blurred stroke is cut: below 0.5 thickens the pen, above thins it.
    pub pen_cut: f32,
    /// Standard deviation of additive pixel noise.
    pub noise: f32,
}

impl Variation {
    pub fn random(rng: &mut impl Rng) -> Self {
        let elastic_size = rng.random_range(0.0..3.0f32);
        let normal = Normal::new(0.0, 1.0).expect("unit normal");
        let mut elastic = [[(0.0, 0.0); GRID]; GRID];
        for row in &mut elastic {
            for p in row.iter_mut() {
                *p = (
                    elastic_size * normal.sample(rng) as f32,
                    elastic_size * normal.sample(rng) as f32,
                );
            }
        }
        Self {
            rotation: rng.random_range(-12.0..12.0f32).to_radians(),
            shear: rng.random_range(-0.3..0.3),
            aspect: rng.random_range(0.8..1.25),
            elastic,
            jitter: (rng.random_range(-0.5..0.5), rng.random_range(-0.5..0.5)),
            blur: rng.random_range(0.3..1.0),
            pen_cut: rng.random_range(0.2..0.5),
            noise: rng.random_range(0.0..0.12),
        }
    }

    /// `glyph` (ink 0..1, any size) distorted onto a `CANVAS` square.
    pub fn apply(&self, glyph: &Array2<f32>, rng: &mut impl Rng) -> Array2<f32> {
        let warped = self.warp(glyph);
        let blurred = gaussian_blur(&warped, self.blur);
        let normal = Normal::new(0.0, f64::from(self.noise.max(1e-6))).expect("positive sigma");
        blurred.mapv(|v| {
            let pen = ((v - self.pen_cut) * 4.0 + 0.5).clamp(0.0, 1.0);
            // Noise only near strokes: it roughens their edges; specks on blank paper far
            // from the glyph would only move the crop box.
            if v > 0.02 {
                (pen + normal.sample(rng) as f32).clamp(0.0, 1.0)
            } else {
                pen
            }
        })
    }

    /// Inverse-maps every canvas pixel through elastic field, rotation, shear and aspect to
    /// the glyph, sampling it bilinearly.
    fn warp(&self, glyph: &Array2<f32>) -> Array2<f32> {
        let (h, w) = glyph.dim();
        let zoom = GLYPH / h.max(w) as f32;
        let (sin, cos) = self.rotation.sin_cos();
        let sx = self.aspect.sqrt();
        let sy = 1.0 / sx;
        let centre = CANVAS as f32 / 2.0;
        let pixels = glyph.as_standard_layout();
        let pixels = pixels.as_slice().expect("standard layout");
        Array2::from_shape_fn((CANVAS, CANVAS), |(oy, ox)| {
            let (ey, ex) = self.displacement(oy as f32, ox as f32);
            let y = oy as f32 + 0.5 - centre + ey + self.jitter.0;
            let x = ox as f32 + 0.5 - centre + ex + self.jitter.1;
            // Undo rotation, then shear, then aspect and zoom.
            let (ry, rx) = (cos * y - sin * x, sin * y + cos * x);
            let rx = rx - self.shear * ry;
            let gy = ry / (sy * zoom) + h as f32 / 2.0 - 0.5;
            let gx = rx / (sx * zoom) + w as f32 / 2.0 - 0.5;
            bilinear(pixels, (h, w), gy, gx)
        })
    }

    /// The elastic field at canvas point (y, x), interpolated between control points.
    fn displacement(&self, y: f32, x: f32) -> (f32, f32) {
        let step = (CANVAS - 1) as f32 / (GRID - 1) as f32;
        let (gy, gx) = (y / step, x / step);
        let (iy, ix) = ((gy as usize).min(GRID - 2), (gx as usize).min(GRID - 2));
        let (fy, fx) = (gy - iy as f32, gx - ix as f32);
        let e = &self.elastic;
        let lerp =
            |a: (f32, f32), b: (f32, f32), t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        let top = lerp(e[iy][ix], e[iy][ix + 1], fx);
        let bottom = lerp(e[iy + 1][ix], e[iy + 1][ix + 1], fx);
        lerp(top, bottom, fy)
    }
}

/// Largest rotation of a training-time warp, in degrees.
const WARP_ROTATION: f32 = 10.0;
/// Largest horizontal shear of a training-time warp.
const WARP_SHEAR: f32 = 0.15;
/// Largest relative change of size of a training-time warp.
const WARP_SCALE: f32 = 0.1;
/// Largest shift of a training-time warp, in pixels.
const WARP_SHIFT: f32 = 2.0;

/// One small affine distortion of a whole image. Unlike [`Variation`], which turns a clean
/// glyph into a new hand before the crop normalisation, it moves a finished image a little.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warp {
    /// Radians.
    pub rotation: f32,
    /// Horizontal shear (x += shear * y).
    pub shear: f32,
    /// Size factor (above 1 enlarges).
    pub scale: f32,
    /// Shift (dy, dx) in pixels.
    pub shift: (f32, f32),
}

impl Warp {
    /// The warp that leaves every image as it is.
    pub const IDENTITY: Self = Self {
        rotation: 0.0,
        shear: 0.0,
        scale: 1.0,
        shift: (0.0, 0.0),
    };

    /// A uniform draw within the training-time limits (`WARP_*`).
    pub fn random(rng: &mut impl Rng) -> Self {
        Self {
            rotation: rng
                .random_range(-WARP_ROTATION..=WARP_ROTATION)
                .to_radians(),
            shear: rng.random_range(-WARP_SHEAR..=WARP_SHEAR),
            scale: rng.random_range(1.0 - WARP_SCALE..=1.0 + WARP_SCALE),
            shift: (
                rng.random_range(-WARP_SHIFT..=WARP_SHIFT),
                rng.random_range(-WARP_SHIFT..=WARP_SHIFT),
            ),
        }
    }

    /// `src`, an image of `shape` (channel after channel, each row-major), warped into `dst`
    /// around the image centre. Every output pixel samples each channel bilinearly at the same
    /// inverse-mapped point; beyond the edges is paper (0).
    pub fn apply(&self, src: &[f32], shape: Shape, dst: &mut [f32]) {
        let (h, w) = (shape.h, shape.w);
        let plane = h * w;
        let (sin, cos) = self.rotation.sin_cos();
        let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
        let shrink = 1.0 / self.scale;
        // The source point of output point (y, x) relative to the centre: undo rotation,
        // then shear, then scale. Linear, so one output column further is a fixed step.
        let source = |y: f32, x: f32| {
            let (ry, rx) = (cos * y - sin * x, sin * y + cos * x);
            (ry * shrink, (rx - self.shear * ry) * shrink)
        };
        let (step_y, step_x) = source(0.0, 1.0);
        for (channel, out) in src.chunks_exact(plane).zip(dst.chunks_exact_mut(plane)) {
            for (oy, out_row) in out.chunks_exact_mut(w).enumerate() {
                let (sy, sx) = source(oy as f32 - cy - self.shift.0, -cx - self.shift.1);
                let (mut sy, mut sx) = (sy + cy, sx + cx);
                for pixel in out_row {
                    *pixel = bilinear(channel, (h, w), sy, sx);
                    sy += step_y;
                    sx += step_x;
                }
            }
        }
    }
}

/// Training-time augmentation of whole batches: a fresh [`Warp`] per image from its own
/// seeded generator, so a run stays reproducible. The images of a batch are warped in
/// parallel from a reused copy of the batch.
pub struct BatchWarper {
    shape: Shape,
    rng: ChaCha8Rng,
    warps: Vec<Warp>,
    source: Vec<f32>,
}

impl BatchWarper {
    /// A warper for images of `shape`; refuses samples that are not images (the toy sets'
    /// 2-D points), since moving pixels of a point means nothing.
    pub fn new(shape: Shape, seed: u64) -> Result<Self> {
        if shape.h < 2 || shape.w < 2 {
            bail!(
                "augmentation warps images, but these samples are {} values without a height and \
                 width, not images (such as a toy set's points); turn augmentation off",
                shape.len()
            );
        }
        Ok(Self {
            shape,
            rng: ChaCha8Rng::seed_from_u64(seed),
            warps: Vec::new(),
            source: Vec::new(),
        })
    }

    /// Warps every row of `batch` (one image each) in place with its own random warp.
    pub fn warp_rows(&mut self, batch: &mut Array2<f32>) {
        // Drawn in row order before the parallel part, so the result never depends on threads.
        self.warps.clear();
        self.warps
            .extend((0..batch.nrows()).map(|_| Warp::random(&mut self.rng)));
        let len = self.shape.len();
        let rows = batch
            .as_slice_mut()
            .expect("a batch is a standard-layout matrix");
        self.source.clear();
        self.source.extend_from_slice(rows);
        let shape = self.shape;
        // A run of whole images for each core.
        let images = parallel::planes_per_core(self.warps.len(), len);
        let parts = rows
            .chunks_mut(images * len)
            .zip(self.source.chunks(images * len))
            .zip(self.warps.chunks(images));
        parallel::for_each(parts, |((dst, src), warps)| {
            for ((dst, src), warp) in dst
                .chunks_exact_mut(len)
                .zip(src.chunks_exact(len))
                .zip(warps)
            {
                warp.apply(src, shape, dst);
            }
        });
    }
}

/// `img` (`h` x `w`, row-major) at fractional pixel (y, x), pixel centres at integers, paper
/// outside.
#[inline(always)] // the inner loop of every training-time warp
fn bilinear(img: &[f32], (h, w): (usize, usize), y: f32, x: f32) -> f32 {
    let (iy, ix) = (floor(y), floor(x));
    let (fy, fx) = (y - iy as f32, x - ix as f32);
    let [a, b, c, d] = if iy >= 0 && ix >= 0 && (iy as usize) + 1 < h && (ix as usize) + 1 < w {
        // All four neighbours in the image (most samples): read them straight.
        let i = iy as usize * w + ix as usize;
        [img[i], img[i + 1], img[i + w], img[i + w + 1]]
    } else {
        let at = |yy: isize, xx: isize| {
            if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                img[yy as usize * w + xx as usize]
            } else {
                0.0
            }
        };
        [
            at(iy, ix),
            at(iy, ix + 1),
            at(iy + 1, ix),
            at(iy + 1, ix + 1),
        ]
    };
    let top = a * (1.0 - fx) + b * fx;
    let bottom = c * (1.0 - fx) + d * fx;
    top * (1.0 - fy) + bottom * fy
}

/// `v.floor()` as an integer, exactly, without the library call `f32::floor` makes on a
/// plain x86-64 target (sampling is the inner loop of every training-time warp).
fn floor(v: f32) -> isize {
    let t = v as isize;
    if (t as f32) > v { t - 1 } else { t }
}

/// Separable Gaussian blur with paper beyond the edges.
fn gaussian_blur(img: &Array2<f32>, sigma: f32) -> Array2<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let (h, w) = img.dim();
    let pass = |src: &Array2<f32>, along_x: bool| {
        Array2::from_shape_fn((h, w), |(y, x)| {
            let mut sum = 0.0;
            for (k, weight) in kernel.iter().enumerate() {
                let offset = k as isize - radius;
                let (yy, xx) = if along_x {
                    (y as isize, x as isize + offset)
                } else {
                    (y as isize + offset, x as isize)
                };
                if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                    sum += weight * src[[yy as usize, xx as usize]];
                }
            }
            sum
        })
    };
    pass(&pass(img, true), false)
}
