//! Seeded variation of a clean glyph, so one font or one MNIST digit gives many plausible
//! hand-written samples: rotation, shear, aspect, elastic distortion, sub-pixel jitter, blur,
//! pen width and noise. The result still goes through `crop::normalize_glyph`.

use ndarray::Array2;
use rand::Rng;
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
        Array2::from_shape_fn((CANVAS, CANVAS), |(oy, ox)| {
            let (ey, ex) = self.displacement(oy as f32, ox as f32);
            let y = oy as f32 + 0.5 - centre + ey + self.jitter.0;
            let x = ox as f32 + 0.5 - centre + ex + self.jitter.1;
            // Undo rotation, then shear, then aspect and zoom.
            let (ry, rx) = (cos * y - sin * x, sin * y + cos * x);
            let rx = rx - self.shear * ry;
            let gy = ry / (sy * zoom) + h as f32 / 2.0 - 0.5;
            let gx = rx / (sx * zoom) + w as f32 / 2.0 - 0.5;
            bilinear(glyph, gy, gx)
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

/// `img` at fractional pixel (y, x), pixel centres at integers, paper outside.
fn bilinear(img: &Array2<f32>, y: f32, x: f32) -> f32 {
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let at = |yy: f32, xx: f32| {
        if yy < 0.0 || xx < 0.0 {
            return 0.0;
        }
        img.get((yy as usize, xx as usize)).copied().unwrap_or(0.0)
    };
    let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
    let bottom = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
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
