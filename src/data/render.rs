//! Rasterises characters of a handwriting font into ink images (ink 1.0, paper 0.0).

use super::crop::ink_box;
use ab_glyph::{Font, FontRef};
use anyhow::{Result, anyhow, bail};
use ndarray::{Array2, s};

/// Pixel size the glyphs are drawn at: large enough that thin pens keep a solid stroke.
const RENDER_PX: f32 = 64.0;

/// A loaded font that can draw `characters`.
pub struct Hand<'a> {
    pub name: &'a str,
    font: FontRef<'a>,
}

impl<'a> Hand<'a> {
    /// Parses a TrueType/OpenType font; `name` is used in errors.
    pub fn parse(name: &'a str, bytes: &'a [u8]) -> Result<Self> {
        let font = FontRef::try_from_slice(bytes).map_err(|e| anyhow!("font {name}: {e}"))?;
        Ok(Self { name, font })
    }

    /// How far the glyph for `ch` reaches above the baseline, at its top and its bottom
    /// (negative below it), in pixels at the size glyphs are drawn at.
    pub fn extent(&self, ch: char) -> Result<(f32, f32)> {
        let bounds = self.outline(ch)?.px_bounds();
        Ok((-bounds.min.y, -bounds.max.y))
    }

    fn outline(&self, ch: char) -> Result<ab_glyph::OutlinedGlyph> {
        let id = self.font.glyph_id(ch);
        if id.0 == 0 {
            bail!("font {}: no glyph for '{ch}'", self.name);
        }
        self.font
            .outline_glyph(id.with_scale(RENDER_PX))
            .ok_or_else(|| anyhow!("font {}: glyph '{ch}' has no outline", self.name))
    }

    /// The glyph for `ch`, cut to its ink box. Errors if the font lacks it or it is blank.
    pub fn rasterise(&self, ch: char) -> Result<Array2<f32>> {
        let outline = self.outline(ch)?;
        let bounds = outline.px_bounds();
        let (w, h) = (
            bounds.width().ceil() as usize,
            bounds.height().ceil() as usize,
        );
        let mut img = Array2::zeros((h, w));
        outline.draw(|x, y, c| {
            if let Some(p) = img.get_mut((y as usize, x as usize)) {
                *p = c.min(1.0);
            }
        });
        let (top, left, bottom, right) = ink_box(img.view(), 0.0)
            .ok_or_else(|| anyhow!("font {}: glyph '{ch}' is blank", self.name))?;
        Ok(img.slice(s![top..bottom, left..right]).to_owned())
    }
}
