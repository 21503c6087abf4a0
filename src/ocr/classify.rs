//! Letter crops and what the model reads in them.

use super::binarize::INK;
use super::components::{BBox, Blob, Labels};
use crate::data::PIXELS;
use crate::data::crop::{normalize_glyph, normalize_in_context};
use crate::nn::{SavedModel, softmax_rows};
use anyhow::{Result, bail};
use image::GrayImage;
use ndarray::{Array2, ArrayView1};
use serde::Serialize;

/// How many guesses are kept per character.
pub const TOP_K: usize = 5;

/// The thresholded ink (before strokes were joined) of `blob`'s own components in its box,
/// row by row (`true` = ink): a neighbour reaching into the box is left out.
pub fn own_ink(blob: &Blob, labels: &Labels, binary: &GrayImage) -> Vec<bool> {
    let b = blob.bbox;
    let w = b.width() as usize;
    let mut ink = vec![false; w * b.height() as usize];
    let width = binary.width() as usize;
    blob.for_each_pixel(labels, |x, y| {
        if binary.as_raw()[y as usize * width + x as usize] == INK {
            ink[(y - b.top) as usize * w + (x - b.left) as usize] = true;
        }
    });
    ink
}

/// The 32x32 model input for one blob: its [`own_ink`], normalised like every training
/// sample.
pub fn crop(blob: &Blob, labels: &Labels, binary: &GrayImage) -> Vec<f32> {
    let (h, w) = (blob.bbox.height() as usize, blob.bbox.width() as usize);
    let ink = own_ink(blob, labels, binary);
    let ink = Array2::from_shape_fn((h, w), |(y, x)| f32::from(u8::from(ink[y * w + x])));
    normalize_glyph(ink.view()).to_vec()
}

/// The piece reader's input for a piece cut out of touching letters: its [`own_ink`] and,
/// in the same square, all the ink of the box it was cut from (see
/// [`normalize_in_context`]).
pub fn crop_in_context(blob: &Blob, labels: &Labels, binary: &GrayImage) -> Vec<f32> {
    let b = blob.bbox;
    // The square around the piece reaches at most its longer side beyond it.
    let reach = b.width().max(b.height());
    let region = BBox {
        left: b.left.saturating_sub(reach),
        top: b.top.saturating_sub(reach),
        right: (b.right + reach).min(binary.width()),
        bottom: (b.bottom + reach).min(binary.height()),
    };
    let (h, w) = (region.height() as usize, region.width() as usize);
    let mut own = Array2::zeros((h, w));
    let mut context = Array2::zeros((h, w));
    let mark = |plane: &mut Array2<f32>, blob: &Blob| {
        blob.for_each_pixel(labels, |x, y| {
            if binary.get_pixel(x, y).0[0] == INK {
                plane[[(y - region.top) as usize, (x - region.left) as usize]] = 1.0;
            }
        })
    };
    mark(&mut own, blob);
    let whole = Blob {
        bbox: region,
        bounds: None,
        ..blob.clone()
    };
    mark(&mut context, &whole);
    normalize_in_context(own.view(), context.view()).to_vec()
}

/// One guess of the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guess {
    pub class: String,
    pub probability: f32,
}

/// Class probabilities for each crop (one row per crop).
pub fn probabilities(model: &mut SavedModel, crops: &[Vec<f32>]) -> Result<Array2<f32>> {
    let input = model.net.spec().input.len();
    let len = crops.first().map_or(PIXELS, Vec::len);
    if input != len {
        bail!(
            "the model takes {input} inputs, not 32x32 = {PIXELS} pixels: it cannot read letters"
        );
    }
    if model.classes.is_empty() {
        bail!("the model has no classes (an autoencoder?): it cannot read letters");
    }
    let x = Array2::from_shape_fn((crops.len(), len), |(i, j)| crops[i][j]);
    let logits = model.net.predict(x.view(), 256);
    Ok(softmax_rows(logits.view()))
}

/// The `TOP_K` most probable classes, most probable first.
pub fn top_guesses(p: ArrayView1<f32>, classes: &[String]) -> Vec<Guess> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    order
        .iter()
        .take(TOP_K)
        .map(|&i| Guess {
            class: classes[i].clone(),
            probability: p[i],
        })
        .collect()
}

/// The shape a class is drawn with: letters of either case and the digits drawn like a
/// letter share one (`o`, `O` and `0` are all `O`; `l`, `I` and `1` are all `I`).
pub fn shape_of(class: &str) -> char {
    let c = class.chars().next().unwrap_or(' ');
    match c {
        '0' => 'O',
        '1' | 'l' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '6' => 'G',
        '8' => 'B',
        _ => c.to_ascii_uppercase(),
    }
}

/// Whether a class is a digit (else a letter).
pub fn is_digit(class: &str) -> bool {
    class.chars().all(|c| c.is_ascii_digit())
}

/// The post-step "a word is all letters or all digits": sums, over the word's characters,
/// the probability of being some letter and of being some digit; the larger kind wins and
/// each character becomes its most probable class of that kind. Returns the chosen class
/// index per character (the plain argmax when `probs` is empty of one kind).
pub fn one_kind_per_word(probs: &[ArrayView1<f32>], classes: &[String]) -> Vec<usize> {
    let digit_mass: f32 = probs
        .iter()
        .map(|p| {
            p.iter()
                .zip(classes)
                .filter(|(_, c)| is_digit(c))
                .map(|(v, _)| v)
                .sum::<f32>()
        })
        .sum();
    let letter_mass = probs.len() as f32 - digit_mass;
    let want_digit = digit_mass > letter_mass;
    probs
        .iter()
        .map(|p| {
            let best_of_kind = (0..p.len())
                .filter(|&i| is_digit(&classes[i]) == want_digit)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]));
            best_of_kind.unwrap_or_else(|| argmax(p))
        })
        .collect()
}

/// In a word whose letters after the first are lower case, an I after the first letter is
/// an l (drawn alike, the l a shade taller): "wiII" is "will", "JuIia" "Julia". `chosen`
/// holds the word's class indices.
pub fn l_in_lower_case_words(chosen: &mut [usize], classes: &[String]) {
    let index = |name: &str| classes.iter().position(|c| c == name);
    let (Some(capital_i), Some(l)) = (index("I"), index("l")) else {
        return;
    };
    let lower = |k: usize| classes[k].chars().all(|c| c.is_ascii_lowercase());
    let rest = chosen.iter().skip(1).filter(|&&k| k != capital_i);
    if rest.clone().count() > 0 && rest.clone().all(|&k| lower(k)) {
        for k in chosen.iter_mut().skip(1).filter(|k| **k == capital_i) {
            *k = l;
        }
    }
}

pub fn argmax(p: &ArrayView1<f32>) -> usize {
    (0..p.len())
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_i_inside_a_lower_case_word_is_an_l() {
        let classes: Vec<String> = ["I", "J", "T", "l", "i", "t", "w", "u", "a"]
            .map(String::from)
            .into();
        let word = |text: &str| -> Vec<usize> {
            text.chars()
                .map(|c| classes.iter().position(|k| k.starts_with(c)).unwrap())
                .collect()
        };
        let fixed = |text: &str| {
            let mut chosen = word(text);
            l_in_lower_case_words(&mut chosen, &classes);
            chosen
                .iter()
                .map(|&k| classes[k].as_str())
                .collect::<String>()
        };
        assert_eq!(fixed("wiII"), "will");
        assert_eq!(fixed("JuIia"), "Julia", "a capital first letter stays");
        assert_eq!(fixed("It"), "It", "an I begins a word");
        assert_eq!(fixed("wIT"), "wIT", "beside a capital it may be one");
        assert_eq!(fixed("II"), "II", "no lower case to go by");
        // A model without lower case has no l to turn to.
        let capitals: Vec<String> = ["I", "W"].map(String::from).into();
        let mut chosen = vec![1, 0];
        l_in_lower_case_words(&mut chosen, &capitals);
        assert_eq!(chosen, [1, 0]);
    }
}
