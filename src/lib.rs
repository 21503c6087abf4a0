//! nnlab: a desktop lab for neural networks that read handwriting.
//!
//! `nn` is the engine (no GUI types), `data` the data sets, `ocr` text from photos,
//! `train` the training loop, its configuration and the worker thread the GUI talks to,
//! `gui` the eframe panels, `cli` the headless commands and `files` the careful reading
//! and writing of files from and for outside.

pub mod cli;
pub mod data;
pub mod files;
pub mod gui;
pub mod nn;
pub mod ocr;
pub mod train;
