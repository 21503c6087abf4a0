//! File dialogs behind a trait, so tests answer them without opening a window.

use std::path::PathBuf;

/// A file type the dialog filters on: a name and its extensions (the first is the one a
/// saved file gets).
#[derive(Clone, Copy, Debug)]
pub struct FileKind {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
}

pub const MODEL: FileKind = FileKind {
    name: "nnlab model (safetensors or ONNX)",
    extensions: &["safetensors", "onnx"],
};
pub const ONNX: FileKind = FileKind {
    name: "ONNX model",
    extensions: &["onnx"],
};
pub const CSV: FileKind = FileKind {
    name: "CSV table",
    extensions: &["csv"],
};
pub const PNG: FileKind = FileKind {
    name: "PNG image",
    extensions: &["png"],
};

/// The questions the lab asks the user about files. `None` means cancelled.
pub trait FileDialog {
    fn pick_folder(&mut self, title: &str) -> Option<PathBuf>;
    fn open_file(&mut self, title: &str, kind: FileKind) -> Option<PathBuf>;
    fn save_file(&mut self, title: &str, kind: FileKind, suggested_name: &str) -> Option<PathBuf>;
}

/// The desktop's dialogs (through the XDG portal).
pub struct NativeDialog;

impl FileDialog for NativeDialog {
    fn pick_folder(&mut self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }

    fn open_file(&mut self, title: &str, kind: FileKind) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(kind.name, kind.extensions)
            .pick_file()
    }

    fn save_file(&mut self, title: &str, kind: FileKind, suggested_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(kind.name, kind.extensions)
            .set_file_name(suggested_name)
            .save_file()
    }
}
