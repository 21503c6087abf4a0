//! English words as a prior on what a word's letters are: a classifier that reads one
//! letter of a word wrong (f as t, i as l, n as m) mostly still gives the right letter a
//! fair probability, and of the readings its top guesses allow, usually only the right one
//! is a word. A word read as letters that no dictionary holds becomes the dictionary word
//! its letters could also be, when the classifier finds that word at most [`WORD_BONUS`]
//! (in log-probability) less likely. Names and codes the dictionary lacks stay as read:
//! they only change when a word is close by. The words are SCOWL's size-50 American
//! English list (`assets/words/`, the Debian package `wamerican`), lower case.

use flate2::read::GzDecoder;
use ndarray::ArrayView1;
use std::collections::BTreeSet;
use std::io::Read;
use std::ops::Bound;
use std::sync::OnceLock;

/// A dictionary word may be this much less log-probable, by the classifier, than the
/// letters read (e^2.5: about 12 times less likely).
const WORD_BONUS: f32 = 2.5;
/// Shorter words are left as read: nearly every pair of letters is some abbreviation in
/// the list, so a pair says nothing.
const MIN_WORD_LETTERS: usize = 3;
/// Letters the classifier gives less than this are not tried in a word.
const MIN_LETTER_PROBABILITY: f32 = 0.01;
/// At most this many of a box's letters are tried.
const LETTERS_PER_BOX: usize = 5;
/// Readings kept while a word is spelled out, the likeliest first.
const BEAM: usize = 64;

const ENGLISH: &[u8] = include_bytes!("../../assets/words/english.txt.gz");

/// A set of lower-case words.
pub struct Dictionary {
    words: BTreeSet<String>,
}

impl Dictionary {
    /// The words of `list`, one per line.
    fn from_list(list: &str) -> Self {
        let words = list
            .lines()
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        Self { words }
    }

    /// The shipped English words (unpacked once).
    pub fn english() -> &'static Self {
        static ENGLISH_WORDS: OnceLock<Dictionary> = OnceLock::new();
        ENGLISH_WORDS.get_or_init(|| {
            let mut list = String::new();
            GzDecoder::new(ENGLISH)
                .read_to_string(&mut list)
                .expect("the shipped word list unpacks");
            Self::from_list(&list)
        })
    }

    fn holds(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// Whether `text`, a word as read, is a dictionary word; `None` when the dictionary has
    /// no say (fewer than [`MIN_WORD_LETTERS`] letters, or not all letters).
    pub fn judge(&self, text: &str) -> Option<bool> {
        let letters =
            text.len() >= MIN_WORD_LETTERS && text.bytes().all(|c| c.is_ascii_alphabetic());
        letters.then(|| self.holds(&text.to_ascii_lowercase()))
    }

    /// Whether some word begins with `prefix`.
    fn begins(&self, prefix: &str) -> bool {
        self.words
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|w| w.starts_with(prefix))
    }

    /// The word `chosen` (class indices, one per box, with the boxes' class probabilities
    /// `probs`) is read as, with the dictionary's say: `chosen` itself when it holds a digit
    /// or the dictionary has it, otherwise the likeliest dictionary word spelled from the
    /// boxes' top letters if it is within [`WORD_BONUS`] of `chosen`. A letter keeps the
    /// case the classifier (and the line) gave it.
    pub fn spell(
        &self,
        probs: &[ArrayView1<f32>],
        classes: &[String],
        chosen: &[usize],
    ) -> Vec<usize> {
        let letter = |k: usize| {
            let mut c = classes[k].chars();
            match (c.next(), c.next()) {
                (Some(c), None) if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
                _ => None,
            }
        };
        let read: String = chosen.iter().map(|&k| classes[k].as_str()).collect();
        if self.judge(&read) != Some(false) {
            return chosen.to_vec();
        }
        let log = |p: f32| p.max(1e-6).ln();
        let read_score: f32 = chosen.iter().zip(probs).map(|(&k, p)| log(p[k])).sum();
        // (spelled so far, classes, log-probability)
        let mut beam: Vec<(String, Vec<usize>, f32)> = vec![(String::new(), Vec::new(), 0.0)];
        for p in probs {
            let mut tries: Vec<usize> = (0..p.len())
                .filter(|&k| letter(k).is_some() && p[k] >= MIN_LETTER_PROBABILITY)
                .collect();
            tries.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            tries.truncate(LETTERS_PER_BOX);
            let mut next: Vec<(String, Vec<usize>, f32)> = Vec::new();
            for (spelled, ks, score) in &beam {
                for &k in &tries {
                    let mut s = spelled.clone();
                    s.push(letter(k).expect("a letter"));
                    let score = score + log(p[k]);
                    // c and C spell alike: the likelier (the line's choice) stays.
                    match next.iter_mut().find(|(t, _, _)| *t == s) {
                        Some(old) if old.2 >= score => {}
                        Some(old) => *old = (s, with(ks, k), score),
                        None if self.begins(&s) => next.push((s, with(ks, k), score)),
                        None => {}
                    }
                }
            }
            next.sort_by(|a, b| b.2.total_cmp(&a.2));
            next.truncate(BEAM);
            beam = next;
        }
        beam.into_iter()
            .filter(|(s, _, score)| self.holds(s) && score + WORD_BONUS > read_score)
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map_or_else(
                || chosen.to_vec(),
                |(_, ks, _)| lower_inner_capitals(ks, classes),
            )
    }
}

/// A capital after the first letter of a word otherwise lower case becomes its small
/// letter: spelled "quit", a stroke read as I is an i.
fn lower_inner_capitals(mut ks: Vec<usize>, classes: &[String]) -> Vec<usize> {
    let is = |k: usize, f: fn(&char) -> bool| classes[k].chars().all(|c| f(&c));
    let inner = ks.iter().skip(1);
    let capitals = inner
        .clone()
        .filter(|&&k| is(k, char::is_ascii_uppercase))
        .count();
    let small = inner.filter(|&&k| is(k, char::is_ascii_lowercase)).count();
    if small == 0 || capitals + small + 1 != ks.len() {
        return ks;
    }
    for k in ks.iter_mut().skip(1) {
        let lower = classes[*k].to_ascii_lowercase();
        if let Some(l) = classes.iter().position(|c| *c == lower) {
            *k = l;
        }
    }
    ks
}

/// `ks` with `k` after it.
fn with(ks: &[usize], k: usize) -> Vec<usize> {
    let mut v = ks.to_vec();
    v.push(k);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::classify;
    use ndarray::Array1;

    fn classes() -> Vec<String> {
        ["f", "t", "o", "x", "i", "l", "k", "c", "C", "I", "4", "2"]
            .map(String::from)
            .into()
    }

    /// Boxes whose probabilities are given as (class, p) pairs, the rest spread thin.
    fn boxes(spec: &[&[(&str, f32)]]) -> Vec<Array1<f32>> {
        let classes = classes();
        spec.iter()
            .map(|b| {
                let mut p = Array1::from_elem(classes.len(), 0.001);
                for (c, v) in *b {
                    p[classes.iter().position(|k| k == c).unwrap()] = *v;
                }
                p
            })
            .collect()
    }

    fn read(dict: &Dictionary, probs: &[Array1<f32>]) -> String {
        let classes = classes();
        let views: Vec<_> = probs.iter().map(|p| p.view()).collect();
        let chosen: Vec<usize> = views.iter().map(classify::argmax).collect();
        dict.spell(&views, &classes, &chosen)
            .iter()
            .map(|&k| classes[k].as_str())
            .collect()
    }

    #[test]
    fn a_letter_read_wrong_becomes_the_word_when_the_classifier_allows_it() {
        let dict = Dictionary::from_list("fox\nkit\nlit\n");
        let tox = boxes(&[&[("t", 0.6), ("f", 0.3)], &[("o", 0.9)], &[("x", 0.9)]]);
        assert_eq!(read(&dict, &tox), "fox");
        // An f the classifier all but rules out is not forced into a word.
        let sure = boxes(&[&[("t", 0.9), ("f", 0.03)], &[("o", 0.9)], &[("x", 0.9)]]);
        assert_eq!(read(&dict, &sure), "tox");
    }

    #[test]
    fn words_the_dictionary_has_names_and_numbers_stay_as_read() {
        let dict = Dictionary::from_list("fox\nlit\nkit\n");
        let lit = boxes(&[&[("l", 0.5), ("k", 0.4)], &[("i", 0.9)], &[("t", 0.9)]]);
        assert_eq!(
            read(&dict, &lit),
            "lit",
            "a word already, though kit is likelier"
        );
        let name = boxes(&[&[("k", 0.9)], &[("o", 0.9)], &[("x", 0.9)]]);
        assert_eq!(read(&dict, &name), "kox", "nothing close in the dictionary");
        let number = boxes(&[&[("4", 0.6), ("f", 0.3)], &[("2", 0.9), ("o", 0.05)]]);
        assert_eq!(read(&dict, &number), "42");
    }

    #[test]
    fn a_letter_keeps_the_case_it_was_read_in() {
        let dict = Dictionary::from_list("coil\n");
        let word = boxes(&[
            &[("C", 0.6), ("c", 0.3)],
            &[("o", 0.9)],
            &[("l", 0.6), ("i", 0.3)],
            &[("l", 0.9)],
        ]);
        assert_eq!(read(&dict, &word), "Coil");
        // ...except a capital inside a word otherwise small.
        let dict = Dictionary::from_list("toil\n");
        let word = boxes(&[
            &[("t", 0.9)],
            &[("o", 0.9)],
            &[("l", 0.6), ("I", 0.3)],
            &[("l", 0.9)],
        ]);
        assert_eq!(read(&dict, &word), "toil");
    }

    #[test]
    fn the_shipped_words_unpack_and_hold_everyday_words() {
        let english = Dictionary::english();
        for w in ["the", "quick", "juice", "refrigerator", "a"] {
            assert!(english.holds(w), "{w}");
        }
        assert!(!english.holds("qulck"));
    }
}
