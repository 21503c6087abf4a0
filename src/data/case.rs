//! Case from the line: c and C, o and O, s and S ... have one shape in two sizes, so a
//! tight crop cannot tell them apart; where the letter sits on its line can. Used on the
//! `builtin62` samples (whose places the generator knows) and in OCR (which estimates each
//! line's baseline, x-height and cap height from the letters it reads there).

use ndarray::ArrayView2;

/// Where a glyph sits on its line, in cap heights above the baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinePlace {
    /// Height of the glyph's top (about 1 for a capital, `x_height` for an x).
    pub top: f32,
    /// Height of its bottom (about 0, below 0 for a descender as in p and y).
    pub bottom: f32,
    /// The line's x-height.
    pub x_height: f32,
}

/// A line's x-height in cap heights when it cannot be measured (the median of the
/// builtin fonts' is 0.66; hands range from about 0.5 to 0.8).
pub const TYPICAL_X_HEIGHT: f32 = 0.66;
/// A p or y whose bottom is this many cap heights below the baseline is lower case.
const DESCENT: f32 = 0.15;
/// A J whose bottom is this many cap heights below the baseline is a j (a few hands' capital
/// J hangs a little below the line: a j's hook, at least this far in nine of ten).
const J_DESCENT: f32 = 0.25;

/// The letters written alike in both cases, as (lower, upper). Not k and K: a k reaches
/// cap height too, so its place cannot tell (its arms, lower in a k, may).
pub const SAME_SHAPE: [(char, char); 10] = [
    ('c', 'C'),
    ('o', 'O'),
    ('p', 'P'),
    ('s', 'S'),
    ('u', 'U'),
    ('v', 'V'),
    ('w', 'W'),
    ('x', 'X'),
    ('y', 'Y'),
    ('z', 'Z'),
];

/// A capital or digit whose top is at x-height (above it by at most this share of the way to
/// the cap height) is [`UNLIKELY`] times as likely as its crop says.
const NEAR_X_HEIGHT: f32 = 0.25;
/// A class its place all but rules out counts this many times what its crop says.
const UNLIKELY: f32 = 0.1;
/// A glyph whose bottom is this many cap heights below the baseline hangs: it is a letter
/// that descends ([`DESCENDERS`], or one of [`MAY_HANG`] in hands that let it)...
const HANGS: f32 = 0.2;
/// ...and one whose bottom is above this many is on the line: no descender.
const SITS: f32 = 0.1;
/// The letters that descend below the baseline.
pub const DESCENDERS: &str = "gjpqy";
/// Letters that descend in some hands only.
const MAY_HANG: &str = "fJPQY";

/// What an i or a j without its dot reads as.
const DOTLESS: [char; 3] = ['l', 'I', 'J'];

/// Whether a model with these classes reads lower case (the case rule applies to it).
pub fn reads_lower_case(classes: &[String]) -> bool {
    classes.iter().any(|c| c == "a")
}

/// Whether a glyph at `place` is a lower-case letter of a same-shape pair: its top nearer
/// the x-height than the cap height (on a log scale, as sizes vary by ratios), or, for p
/// and y, a bottom below the baseline.
pub fn is_small(place: LinePlace, lower: char) -> bool {
    let midway = place.x_height.clamp(0.3, 0.95).sqrt();
    place.top < midway || (matches!(lower, 'p' | 'y') && place.bottom < -DESCENT)
}

/// Moves the probability of each same-shape pair in `probs` (over `classes`) to the case
/// `place` says; a model without lower-case classes is left as it is.
pub fn decide_case(probs: &mut [f32], classes: &[String], place: LinePlace) {
    let index = |c: char| classes.iter().position(|k| k.chars().eq([c]));
    for (lower, upper) in SAME_SHAPE {
        let (Some(l), Some(u)) = (index(lower), index(upper)) else {
            continue;
        };
        let (to, from) = if is_small(place, lower) {
            (l, u)
        } else {
            (u, l)
        };
        probs[to] += probs[from];
        probs[from] = 0.0;
    }
    // A stroke at x-height read as l, I or J (which reach cap height) is an i or a j that
    // lost its dot (too faint, or too far to join it): a j if it hangs below the baseline
    // or hooks like a J.
    if is_small(place, 'i') {
        for stroke in DOTLESS {
            let dotted = match stroke == 'J' || place.bottom < -DESCENT {
                true => 'j',
                false => 'i',
            };
            if let (Some(from), Some(to)) = (index(stroke), index(dotted)) {
                probs[to] += probs[from];
                probs[from] = 0.0;
            }
        }
    }
    // A J hanging below the baseline is a j with its dot (a capital J sits on the line in
    // most hands).
    if place.bottom < -J_DESCENT
        && let (Some(from), Some(to)) = (index('J'), index('j'))
    {
        probs[to] += probs[from];
        probs[from] = 0.0;
    }
    if !reads_lower_case(classes) {
        return;
    }
    // Any other capital there is unlikely too (a in a hand whose a looks like Q), and so is
    // a digit (digits stand as tall as capitals: an a is no 2, a z no 3).
    if place.top < place.x_height + NEAR_X_HEIGHT * (1.0 - place.x_height) {
        make_unlikely(probs, classes, |c| {
            c.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
    }
    // Where the glyph ends decides between a letter that descends and one on the line (g
    // and s, q and 9, y and 4).
    if place.bottom > -SITS {
        make_unlikely(probs, classes, |c| DESCENDERS.contains(c));
    }
    if place.bottom < -HANGS {
        let may_hang = |c: &str| DESCENDERS.contains(c) || MAY_HANG.contains(c);
        make_unlikely(probs, classes, |c| !may_hang(c));
    }
}

/// Scales the probabilities of the classes `unlikely` picks by [`UNLIKELY`] and
/// renormalises.
/// Classes are one character (`reads_lower_case` holds).
fn make_unlikely(probs: &mut [f32], classes: &[String], unlikely: impl Fn(&str) -> bool) {
    let picked = |c: &String| c.chars().count() == 1 && unlikely(c);
    for (p, _) in probs.iter_mut().zip(classes).filter(|(_, c)| picked(c)) {
        *p *= UNLIKELY;
    }
    let total: f32 = probs.iter().sum();
    if total > 0.0 {
        probs.iter_mut().for_each(|p| *p /= total);
    }
}

/// The accuracy of `outputs` (class probabilities, one row per sample) on `labels` once
/// each sample's case is decided by its place.
pub fn accuracy_with_places(
    outputs: ArrayView2<f32>,
    labels: &[usize],
    classes: &[String],
    places: &[LinePlace],
) -> f32 {
    let right = outputs
        .rows()
        .into_iter()
        .zip(labels)
        .zip(places)
        .filter(|((row, label), place)| {
            let mut p = row.to_vec();
            decide_case(&mut p, classes, **place);
            let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]));
            best == Some(**label)
        })
        .count();
    right as f32 / labels.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A place on a line whose x-height is 0.6 cap heights.
    fn on_line(top: f32, bottom: f32) -> LinePlace {
        LinePlace {
            top,
            bottom,
            x_height: 0.6,
        }
    }

    fn assert_close(probs: &[f32], expected: &[f32]) {
        let close = probs
            .iter()
            .zip(expected)
            .all(|(p, e)| (p - e).abs() < 1e-6);
        assert!(close, "{probs:?}, expected {expected:?}");
    }

    fn classes() -> Vec<String> {
        ["o", "O", "0", "p", "P", "a"].map(String::from).to_vec()
    }

    #[test]
    fn an_o_at_x_height_is_lower_case_and_at_cap_height_upper_case() {
        let at = |top| on_line(top, 0.0);
        let mut probs = [0.5, 0.2, 0.2, 0.0, 0.0, 0.1];
        decide_case(&mut probs, &classes(), at(1.0));
        assert_eq!(probs, [0.0, 0.7, 0.2, 0.0, 0.0, 0.1]);
        // At x-height the O's share goes to the o, and the 0 (a digit there) counts a tenth.
        decide_case(&mut probs, &classes(), at(0.62));
        let total = 0.7 + 0.02 + 0.1;
        assert_close(
            &probs,
            &[0.7 / total, 0.0, 0.02 / total, 0.0, 0.0, 0.1 / total],
        );
    }

    #[test]
    fn a_stroke_read_as_l_i_or_j_at_x_height_is_a_dotless_i_or_j() {
        let classes = ["I", "1", "i", "l"].map(String::from).to_vec();
        let at = |top| on_line(top, 0.0);
        let mut probs = [0.3, 0.2, 0.1, 0.4];
        decide_case(&mut probs, &classes, at(1.0));
        assert_eq!(probs, [0.3, 0.2, 0.1, 0.4], "at cap height: l, I or 1");
        decide_case(&mut probs, &classes, at(0.6));
        // The digit stays: whether the word is digits is the word step's choice.
        assert!(
            (probs[2] - 0.8).abs() < 1e-6 && probs[1] == 0.2,
            "{probs:?}"
        );
        let classes = ["J", "j", "y"].map(String::from).to_vec();
        let mut probs = [0.5, 0.1, 0.4];
        decide_case(&mut probs, &classes, at(0.6));
        assert!(
            (probs[1] - 0.6).abs() < 1e-6,
            "a J at x-height is a j: {probs:?}"
        );
        // With its dot a j reaches cap height; hanging below the line it is still a j.
        let hanging = |bottom| on_line(1.0, bottom);
        let mut probs = [0.5, 0.1, 0.4];
        decide_case(&mut probs, &classes, hanging(0.0));
        assert_eq!(probs, [0.5, 0.1, 0.4], "a J on the line");
        decide_case(&mut probs, &classes, hanging(-0.1));
        assert_eq!(probs, [0.5, 0.1, 0.4], "a J just below the line");
        decide_case(&mut probs, &classes, hanging(-0.35));
        assert!((probs[1] - 0.6).abs() < 1e-6, "a j: {probs:?}");
    }

    #[test]
    fn a_capital_or_digit_at_x_height_gives_way_to_a_fair_lower_case_reading() {
        let classes = ["Q", "a", "2", "z"].map(String::from).to_vec();
        let at = |top| on_line(top, 0.0);
        let mut probs = [0.4, 0.2, 0.3, 0.1];
        decide_case(&mut probs, &classes, at(0.95));
        assert_eq!(
            probs,
            [0.4, 0.2, 0.3, 0.1],
            "at cap height it may be a Q or a 2"
        );
        decide_case(&mut probs, &classes, at(0.62));
        assert!(
            probs[1] > probs[0] && probs[1] > probs[2],
            "an a: {probs:?}"
        );
        assert!(probs[3] > probs[0] && probs[3] > probs[2], "{probs:?}");
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // A model without lower case is left as it is.
        let capitals = ["Q", "A", "2"].map(String::from).to_vec();
        let mut probs = [0.6, 0.3, 0.1];
        decide_case(&mut probs, &capitals, at(0.62));
        assert_eq!(probs, [0.6, 0.3, 0.1]);
    }

    #[test]
    fn a_p_below_the_baseline_is_lower_case_whatever_its_height() {
        let mut probs = [0.0, 0.0, 0.0, 0.3, 0.6, 0.1];
        let tall_descender = on_line(0.9, -0.3);
        decide_case(&mut probs, &classes(), tall_descender);
        // The P's share goes to the p; the a, which never hangs, counts a tenth.
        assert_close(&probs, &[0.0, 0.0, 0.0, 0.9 / 0.91, 0.0, 0.01 / 0.91]);
    }

    #[test]
    fn where_a_glyph_ends_tells_a_g_from_an_s() {
        // (An a among the classes: a model that reads lower case.)
        let classes = ["g", "s", "f", "a"].map(String::from).to_vec();
        let ending = |bottom| on_line(0.6, bottom);
        let best = |probs: &[f32]| (0..probs.len()).max_by(|&a, &b| probs[a].total_cmp(&probs[b]));
        // Read as g more than s: on the line it is an s...
        let mut probs = [0.6, 0.4, 0.0, 0.0];
        decide_case(&mut probs, &classes, ending(0.0));
        assert_eq!(best(&probs), Some(1), "{probs:?}");
        // ...and read as s, hanging well below the line it is a g.
        let mut probs = [0.4, 0.6, 0.0, 0.0];
        decide_case(&mut probs, &classes, ending(-0.35));
        assert_eq!(best(&probs), Some(0), "{probs:?}");
        // Just below the line either may be (a g of a hand with short tails, an s a little
        // low).
        let mut probs = [0.4, 0.6, 0.0, 0.0];
        decide_case(&mut probs, &classes, ending(-0.15));
        assert_eq!(probs, [0.4, 0.6, 0.0, 0.0]);
        // An f may hang in some hands: it keeps its share.
        let mut probs = [0.2, 0.3, 0.5, 0.0];
        decide_case(&mut probs, &classes, ending(-0.35));
        assert_eq!(best(&probs), Some(2), "{probs:?}");
    }
}
