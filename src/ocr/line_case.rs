//! Case from the line, for a model that reads lower case: each line's baseline, cap height
//! and x-height are measured on the letters whose case the shape tells (a, e, n, r sit at
//! x-height; A, H, b, d reach cap height), and the letters written alike in both cases
//! (c C, o O, s S ...) are then decided by where they sit ([`crate::data::case`]).

use super::components::BBox;
use crate::data::case::{
    DESCENDERS, LinePlace, SAME_SHAPE, TYPICAL_X_HEIGHT, decide_case, reads_lower_case,
};

/// Letters whose top is the x-height (g and q descend, their top does not move).
const AT_X_HEIGHT: &str = "aemnrgq";
/// Lower-case letters that reach about cap height (i and j left out: their dot varies).
const ASCENDERS: &str = "bdfhlt";
/// The baseline under a letter is the median bottom of this many neighbours along the
/// line (itself included), so a line that rises or bends is followed.
const BASELINE_NEIGHBOURS: usize = 7;

/// Decides the case of the same-shape letters of one line in place: `boxes` are the
/// line's letter boxes left to right and `probs` their class probabilities. A line with
/// no letter that shows its x-height or cap height is left to the classifier.
pub fn decide_line(boxes: &[BBox], probs: &mut [Vec<f32>], classes: &[String]) {
    if !reads_lower_case(classes) {
        return;
    }
    let best: Vec<char> = probs
        .iter()
        .map(|p| {
            let i = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]));
            i.and_then(|i| classes[i].chars().next()).unwrap_or(' ')
        })
        .collect();
    let Some(places) = places(boxes, &best) else {
        return;
    };
    for (p, place) in probs.iter_mut().zip(places) {
        decide_case(p, classes, place);
    }
}

/// Where each box sits on its line, from the line's own letters (`best`: what each box
/// reads as before case is decided); `None` when no letter shows a height.
fn places(boxes: &[BBox], best: &[char]) -> Option<Vec<LinePlace>> {
    let on_baseline: Vec<(f32, f32)> = boxes
        .iter()
        .zip(best)
        // A p or y the classifier reads as P or Y still hangs below the line.
        .filter(|(_, c)| !DESCENDERS.contains(c.to_ascii_lowercase()))
        .map(|(b, _)| (centre_x(b), b.bottom as f32))
        .collect();
    if on_baseline.is_empty() {
        return None;
    }
    let baselines: Vec<f32> = boxes
        .iter()
        .map(|b| baseline_at(&on_baseline, centre_x(b)))
        .collect();
    let height_of = |want: &dyn Fn(char) -> bool| {
        let mut h: Vec<f32> = boxes
            .iter()
            .zip(best)
            .zip(&baselines)
            .filter(|((_, c), _)| want(**c))
            .map(|((b, _), base)| base - b.top as f32)
            .collect();
        median(&mut h)
    };
    let x_height = height_of(&|c| AT_X_HEIGHT.contains(c));
    // Digits tell nothing of the cap height: many hands write them at x-height (old-style
    // figures), and they are what o, s, z, l are misread as (0 5 2 1).
    let cap = height_of(&|c| {
        ASCENDERS.contains(c)
            || (c.is_ascii_uppercase() && !SAME_SHAPE.iter().any(|&(_, u)| u == c))
    });
    let (cap, x_height) = match (cap, x_height) {
        (Some(cap), Some(x)) => (cap, x / cap),
        (Some(cap), None) => (cap, TYPICAL_X_HEIGHT),
        (None, Some(x)) => (x / TYPICAL_X_HEIGHT, TYPICAL_X_HEIGHT),
        (None, None) => return None,
    };
    if cap <= 0.0 {
        return None;
    }
    Some(
        boxes
            .iter()
            .zip(baselines)
            .map(|(b, base)| LinePlace {
                top: (base - b.top as f32) / cap,
                bottom: (base - b.bottom as f32) / cap,
                x_height,
            })
            .collect(),
    )
}

fn centre_x(b: &BBox) -> f32 {
    (b.left + b.right) as f32 / 2.0
}

/// The median bottom of the `BASELINE_NEIGHBOURS` boxes nearest `x` along the line.
fn baseline_at(on_baseline: &[(f32, f32)], x: f32) -> f32 {
    let mut near = on_baseline.to_vec();
    near.sort_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()));
    near.truncate(BASELINE_NEIGHBOURS);
    let mut bottoms: Vec<f32> = near.iter().map(|p| p.1).collect();
    median(&mut bottoms).expect("at least one box")
}

fn median(v: &mut [f32]) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bbox(left: u32, top: u32, bottom: u32) -> BBox {
        BBox {
            left,
            top,
            right: left + 20,
            bottom,
        }
    }

    /// "Hos" then "HOS": an o and an s at x-height are lower case, at cap height upper.
    #[test]
    fn same_shape_letters_take_the_case_of_their_height_in_the_line() {
        let classes: Vec<String> = ["H", "O", "S", "o", "s", "a"].map(String::from).to_vec();
        // The classifier leans the wrong way each time: an o (O: 0.5, o: 0.3), an s.
        let leans = |upper: bool| -> [Vec<f32>; 2] {
            let (wrong, right) = if upper { (0.5, 0.3) } else { (0.3, 0.5) };
            [
                vec![0.0, wrong, 0.1, right, 0.1, 0.0],
                vec![0.0, 0.1, wrong, 0.1, right, 0.0],
            ]
        };
        let h = vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let small = [bbox(0, 100, 160), bbox(30, 122, 160), bbox(60, 121, 160)];
        let [o, s] = leans(true);
        let mut probs = vec![h.clone(), o, s];
        decide_line(&small, &mut probs, &classes);
        let argmax = |p: &Vec<f32>| (0..6).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        let read: Vec<&str> = probs.iter().map(|p| classes[argmax(p)].as_str()).collect();
        assert_eq!(read, ["H", "o", "s"]);
        let tall = [bbox(0, 100, 160), bbox(30, 101, 160), bbox(60, 99, 161)];
        let [o, s] = leans(false);
        let mut probs = vec![h, o, s];
        decide_line(&tall, &mut probs, &classes);
        let read: Vec<&str> = probs.iter().map(|p| classes[argmax(p)].as_str()).collect();
        assert_eq!(read, ["H", "O", "S"]);
    }

    /// "Hos 42d" with digits written at x-height, and an o read as 0: the digits do not
    /// bring the cap height down to the o's.
    #[test]
    fn digits_do_not_measure_the_cap_height() {
        let classes: Vec<String> = ["H", "O", "o", "0", "4", "2", "d", "a"]
            .map(String::from)
            .to_vec();
        let one = |i: usize| {
            (0..8)
                .map(|j| f32::from(u8::from(i == j)))
                .collect::<Vec<f32>>()
        };
        let mut o = vec![0.0; 8];
        (o[1], o[2], o[3]) = (0.4, 0.3, 0.3);
        let boxes = [
            bbox(0, 100, 160),
            bbox(30, 121, 160),
            bbox(60, 120, 160),
            bbox(90, 122, 160),
            bbox(120, 121, 160),
            bbox(150, 99, 160),
        ];
        let mut probs = vec![one(0), o, one(3), one(4), one(5), one(6)];
        decide_line(&boxes, &mut probs, &classes);
        assert!(probs[1][2] > probs[1][1], "the o is small: {:?}", probs[1]);
    }

    #[test]
    fn a_capitals_model_and_a_line_of_same_shape_letters_are_left_alone() {
        let capitals: Vec<String> = ["O", "S"].map(String::from).to_vec();
        let mut probs = vec![vec![0.6, 0.4]];
        decide_line(&[bbox(0, 0, 50)], &mut probs, &capitals);
        assert_eq!(probs[0], [0.6, 0.4]);
        let mixed: Vec<String> = ["O", "o", "a"].map(String::from).to_vec();
        let mut probs = vec![vec![0.4, 0.6, 0.0], vec![0.7, 0.3, 0.0]];
        decide_line(&[bbox(0, 0, 50), bbox(30, 20, 50)], &mut probs, &mixed);
        assert_eq!(probs, [vec![0.4, 0.6, 0.0], vec![0.7, 0.3, 0.0]]);
    }
}
