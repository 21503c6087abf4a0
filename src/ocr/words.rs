//! From boxes to words: a line's case decided from its letters' places, then the word
//! steps (a word all letters or all digits, an I inside a lower-case word an l, a word no
//! dictionary holds spelled as the word its letters and cuts could as well be).

use super::dictionary::Dictionary;
use super::recognise::{CutBox, ReadBox};
use super::{Character, OcrParams, classify, line_case, lines};
use crate::ocr::components::BBox;

/// Reads one line of boxes (left to right, spaces before those `space_before` marks):
/// decides the case of its same-shape letters from the line, then takes the word steps.
/// Boxes stay in the working image's pixels.
pub fn read_line(
    boxes: &[ReadBox],
    space_before: &[bool],
    classes: &[String],
    params: &OcrParams,
) -> Vec<Character> {
    let bboxes: Vec<BBox> = boxes.iter().map(|b| b.blob.bbox).collect();
    let mut line_probs: Vec<Vec<f32>> = boxes.iter().map(|b| b.probs.clone()).collect();
    line_case::decide_line(&bboxes, &mut line_probs, classes);
    let probs: Vec<ndarray::Array1<f32>> = line_probs.into_iter().map(Into::into).collect();
    let mut chars: Vec<Character> = boxes
        .iter()
        .zip(space_before)
        .zip(&probs)
        .map(|((b, &space_before), p)| Character {
            text: classes[classify::argmax(&p.view())].clone(),
            bbox: b.blob.bbox,
            space_before,
            top: classify::top_guesses(p.view(), classes),
            crop: b.crop.clone(),
        })
        .collect();
    word_steps(&mut chars, &probs, classes, params);
    chars
}

/// The characters of the word that holds character `at`.
fn word_around(chars: &[Character], at: usize) -> std::ops::Range<usize> {
    let start = (0..=at).rev().find(|&i| chars[i].space_before).unwrap_or(0);
    let end = (at + 1..chars.len())
        .find(|&i| chars[i].space_before)
        .unwrap_or(chars.len());
    start..end
}

/// A box's other reading (another number of pieces) may score this much less than its
/// best and still be taken, when it makes a word of one the dictionary lacks...
const CUT_BONUS: f32 = 1.5;
/// ...a word of at least this many letters: from a few likely letters per box nearly any
/// three spell some word (letter pairs drawn touching, read with three-letter words
/// allowed, lost 0.011 of 1,056 on validation: DT read LOT, PB FEB).
const MIN_CUT_WORD_LETTERS: usize = 4;

/// The line's boxes, each read the way that lets its word be a dictionary word: where a
/// word of [`MIN_CUT_WORD_LETTERS`] letters or more is no word, each box of it in turn
/// (left to right) may take another of its readings ([`CutBox::others`]: a w that was u
/// and i, an oog that was og) if that scores at most [`CUT_BONUS`] below its best and the
/// word it then reads is one.
pub fn cuts_that_spell(
    mut cut: Vec<CutBox>,
    letter_height: f32,
    classes: &[String],
    params: &OcrParams,
) -> Vec<CutBox> {
    let words = Dictionary::english();
    // The word (after the word steps) around the first piece of box `b`.
    let word_at = |cut: &[CutBox], b: usize| -> Option<bool> {
        let boxes: Vec<_> = cut.iter().flat_map(|c| c.pieces.clone()).collect();
        let blobs = boxes.iter().map(|r| r.blob.clone()).collect();
        let line = lines::with_spaces(blobs, letter_height);
        let chars = read_line(&boxes, &line.space_before, classes, params);
        let at: usize = cut[..b].iter().map(|c| c.pieces.len()).sum();
        let text: String = chars[word_around(&chars, at)]
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        words
            .judge(&text)
            .filter(|_| text.len() >= MIN_CUT_WORD_LETTERS)
    };
    for b in 0..cut.len() {
        if cut[b].others.is_empty() || word_at(&cut, b) != Some(false) {
            continue;
        }
        let least = cut[b].score - CUT_BONUS;
        let mut best: Option<(f32, usize)> = None;
        for (k, (score, pieces)) in cut[b].others.clone().into_iter().enumerate() {
            if score < least || best.is_some_and(|(s, _)| s >= score) {
                continue;
            }
            let mut tried = cut.clone();
            tried[b].pieces = pieces;
            if word_at(&tried, b) == Some(true) {
                best = Some((score, k));
            }
        }
        if let Some((score, k)) = best {
            let c = &mut cut[b];
            let (_, pieces) = c.others.remove(k);
            let old = std::mem::replace(&mut c.pieces, pieces);
            c.others.push((std::mem::replace(&mut c.score, score), old));
        }
    }
    cut
}

/// The word steps, each word of a line at a time: with [`OcrParams::one_kind_per_word`] a
/// word becomes all letters or all digits ([`classify::one_kind_per_word`]) and an I inside
/// a lower-case word an l ([`classify::l_in_lower_case_words`]); with
/// [`OcrParams::dictionary`] a word no dictionary holds becomes the English word its
/// letters could as well be ([`Dictionary::spell`]).
fn word_steps(
    chars: &mut [Character],
    probs: &[ndarray::Array1<f32>],
    classes: &[String],
    params: &OcrParams,
) {
    let mut start = 0;
    while start < chars.len() {
        let end = word_around(chars, start).end;
        let views: Vec<_> = probs[start..end].iter().map(|p| p.view()).collect();
        let mut chosen: Vec<usize> = match params.one_kind_per_word {
            true => classify::one_kind_per_word(&views, classes),
            false => views.iter().map(classify::argmax).collect(),
        };
        if params.one_kind_per_word {
            classify::l_in_lower_case_words(&mut chosen, classes);
        }
        if params.dictionary {
            chosen = Dictionary::english().spell(&views, classes, &chosen);
        }
        for (c, k) in chars[start..end].iter_mut().zip(chosen) {
            c.text = classes[k].clone();
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box from column `left` to `right`, read as `class` (the rest spread thin).
    fn read_as(left: u32, right: u32, class: &str, classes: &[String]) -> ReadBox {
        let mut probs = vec![0.01; classes.len()];
        probs[classes.iter().position(|c| c == class).unwrap()] = 0.9;
        ReadBox::for_test(left, right, &probs)
    }

    #[test]
    fn a_box_takes_the_cut_that_makes_its_word_a_word() {
        let classes: Vec<String> = ["q", "u", "i", "t", "e", "w"].map(String::from).into();
        let line = |other_score: f32| {
            let box_of = |l, r, c| CutBox::whole(read_as(l, r, c, &classes));
            let joined = CutBox {
                // u and i joined, read whole as a w (the best reading)...
                pieces: vec![read_as(40, 100, "w", &classes)],
                score: -1.2,
                // ...or cut in two.
                others: vec![(
                    other_score,
                    vec![
                        read_as(40, 70, "u", &classes),
                        read_as(72, 100, "i", &classes),
                    ],
                )],
            };
            let cut = vec![
                box_of(0, 30, "q"),
                joined,
                box_of(110, 140, "t"),
                box_of(150, 180, "e"),
            ];
            let cut = cuts_that_spell(cut, 40.0, &classes, &OcrParams::default());
            let boxes: Vec<_> = cut.into_iter().flat_map(|c| c.pieces).collect();
            let chars = read_line(&boxes, &[false; 5], &classes, &OcrParams::default());
            chars.iter().map(|c| c.text.as_str()).collect::<String>()
        };
        assert_eq!(
            line(-2.0),
            "quite",
            "the cut reads a little worse, and spells a word"
        );
        assert_eq!(line(-3.0), "qwte", "the cut reads too much worse");
    }
}
