//! Text from photos of handwriting (being built).
