//! Accuracy on photos whose text is known.
//!
//! The metric of the issue: keep only A-Z and 0-9 of the truth and of the prediction, join
//! the lines, accuracy = 1 - Levenshtein distance / truth length.

use super::Reading;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// One photo's known text: `FILENAME<TAB>line1|line2|...` in the truth file.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    pub file: String,
    pub lines: Vec<String>,
}

impl Truth {
    /// The characters that are scored.
    pub fn scored(&self) -> String {
        scored_chars(&self.lines.join(""))
    }

    /// How well `reading` matches this text.
    pub fn score(&self, reading: &Reading) -> PhotoScore {
        PhotoScore {
            accuracy: character_accuracy(&self.lines.join(""), &reading.text()),
            boxes: reading.characters().count(),
            letters: self.scored().len(),
        }
    }
}

/// One photo's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhotoScore {
    /// 1 - Levenshtein / truth length on A-Z and 0-9.
    pub accuracy: f64,
    /// Characters found.
    pub boxes: usize,
    /// Characters written (A-Z and 0-9 of the truth).
    pub letters: usize,
}

/// The largest truth file read.
pub const MAX_TRUTH_BYTES: u64 = crate::files::MB;

/// Reads a truth file (blank lines are skipped). Every line must be scoreable: one tab
/// between a file name and a text of ASCII characters with at least one letter or digit
/// (anything else could only be scored as nonsense).
pub fn read_truth(path: &Path) -> Result<Vec<Truth>> {
    let text = crate::files::read_regular_text(path, MAX_TRUTH_BYTES)?;
    let mut out: Vec<Truth> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let truth =
            parse_truth_line(line).with_context(|| format!("{} line {}", path.display(), n + 1))?;
        if out.iter().any(|t| t.file == truth.file) {
            bail!(
                "{} line {}: {} is listed twice",
                path.display(),
                n + 1,
                truth.file
            );
        }
        out.push(truth);
    }
    if out.is_empty() {
        bail!("{} holds no photos", path.display());
    }
    Ok(out)
}

/// One `FILENAME<TAB>line1|line2|...` line.
fn parse_truth_line(line: &str) -> Result<Truth> {
    let Some((file, text)) = line.split_once('\t') else {
        bail!("expected FILENAME<TAB>line1|line2|...");
    };
    let file = file.trim();
    if file.is_empty() {
        bail!("the file name before the tab is empty");
    }
    if text.contains('\t') {
        bail!("more than one tab (lines of text are separated by |)");
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
        bail!(
            "the text holds {c:?}: only ASCII letters, digits, spaces and punctuation can be scored"
        );
    }
    let truth = Truth {
        file: file.to_string(),
        lines: text.split('|').map(String::from).collect(),
    };
    if truth.scored().is_empty() {
        bail!("the text of {file} has no letter or digit to score");
    }
    Ok(truth)
}

/// Upper-cased A-Z and 0-9 of `s`, nothing else.
pub fn scored_chars(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// 1 - Levenshtein(truth, predicted) / len(truth), on the scored characters.
pub fn character_accuracy(truth: &str, predicted: &str) -> f64 {
    let (t, p) = (scored_chars(truth), scored_chars(predicted));
    if t.is_empty() {
        return if p.is_empty() { 1.0 } else { 0.0 };
    }
    1.0 - levenshtein(t.as_bytes(), p.as_bytes()) as f64 / t.len() as f64
}

/// Edit distance (insertions, deletions, substitutions).
pub fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein(b"KITTEN", b"SITTING"), 3);
        assert_eq!(levenshtein(b"", b"ABC"), 3);
        assert_eq!(levenshtein(b"ABC", b"ABC"), 0);
    }

    #[test]
    fn accuracy_ignores_spaces_punctuation_and_lines() {
        assert_eq!(character_accuracy("1. TO DO", "1TO\nDO"), 1.0);
        assert!((character_accuracy("ABCD", "ABXD") - 0.75).abs() < 1e-12);
    }

    #[test]
    fn truth_lines_that_cannot_be_scored_are_refused() {
        assert!(parse_truth_line("a.jpg\tTO DO|1. MILK").is_ok());
        for bad in [
            "a.jpg",
            "\tABC",
            "a.jpg\tAB\tCD",
            "a.jpg\tÄRGER",
            "a.jpg\t...",
            "a.jpg\t",
        ] {
            assert!(parse_truth_line(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
