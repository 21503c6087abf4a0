//! File dialogs behind a trait, so tests answer them without opening a window, and
//! [`FileChooser`], the one way every file button asks for a path: the desktop's dialog
//! where it opens, a chooser inside the window where it does not (no file-chooser portal),
//! with a path field one can type or paste into.

use eframe::egui;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file type the dialog filters on: a name and its extensions (the first is the one a
/// saved file gets).
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// What a file button asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum FileRequest {
    Folder {
        title: String,
    },
    Open {
        title: String,
        kind: FileKind,
    },
    Save {
        title: String,
        kind: FileKind,
        suggested_name: String,
    },
}

impl FileRequest {
    fn title(&self) -> &str {
        match self {
            Self::Folder { title } | Self::Open { title, .. } | Self::Save { title, .. } => title,
        }
    }

    fn ask(&self, dialog: &mut dyn FileDialog) -> Option<PathBuf> {
        match self {
            Self::Folder { title } => dialog.pick_folder(title),
            Self::Open { title, kind } => dialog.open_file(title, *kind),
            Self::Save {
                title,
                kind,
                suggested_name,
            } => dialog.save_file(title, *kind, suggested_name),
        }
    }

    /// The path the typed `text` stands for, or why it cannot be used.
    pub fn resolve(&self, text: &str) -> Result<PathBuf, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("type or choose a path".into());
        }
        let path = expand_home(text);
        match self {
            Self::Folder { .. } if path.is_dir() => Ok(path),
            Self::Folder { .. } => Err(format!("{} is not a folder", path.display())),
            Self::Open { .. } if path.is_file() => Ok(path),
            Self::Open { .. } => Err(format!("{} is not a file", path.display())),
            Self::Save { kind, .. } => {
                if path.is_dir() {
                    return Err(format!("{} is a folder: add a file name", path.display()));
                }
                let path = if path.extension().is_none() {
                    path.with_extension(kind.extensions[0])
                } else {
                    path
                };
                match path.parent() {
                    Some(p) if p.as_os_str().is_empty() || p.is_dir() => Ok(path),
                    _ => Err(format!("{}: its folder does not exist", path.display())),
                }
            }
        }
    }

    /// Whether the chooser lists `path` (folders always, files only when opening a kind).
    fn lists(&self, path: &Path) -> bool {
        if path.is_dir() {
            return true;
        }
        match self {
            Self::Folder { .. } => false,
            Self::Open { kind, .. } | Self::Save { kind, .. } => path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| kind.extensions.iter().any(|k| k.eq_ignore_ascii_case(e))),
        }
    }

    fn confirm_label(&self) -> &'static str {
        match self {
            Self::Folder { .. } => "Choose this folder",
            Self::Open { .. } => "Open",
            Self::Save { .. } => "Save",
        }
    }
}

/// What to do with a chosen folder that already holds files.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FolderAnswer {
    Replace,
    ChooseAnother,
    Cancel,
}

/// Whether `dir` holds anything (a folder that cannot be read counts as empty: writing
/// into it then fails with the reason).
pub fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Asks, in a modal, what to do with the folder `dir` that is not empty; the answer in
/// the frame it is given (Escape cancels).
pub fn replace_folder_ui(ctx: &egui::Context, dir: &Path) -> Option<FolderAnswer> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("replace-folder")).show(ctx, |ui| {
        ui.set_max_width(480.0);
        ui.heading("The folder is not empty");
        ui.label(format!(
            "{} already holds files. Replacing it deletes everything in it and writes the \
             run there.",
            dir.display()
        ));
        ui.horizontal(|ui| {
            for (text, choice) in [
                ("Replace it", FolderAnswer::Replace),
                ("Choose another folder...", FolderAnswer::ChooseAnother),
                ("Cancel", FolderAnswer::Cancel),
            ] {
                if ui.button(text).clicked() {
                    answer = Some(choice);
                }
            }
        });
    });
    answer.or_else(|| {
        ctx.input(|i| i.key_pressed(egui::Key::Escape))
            .then_some(FolderAnswer::Cancel)
    })
}

fn expand_home(text: &str) -> PathBuf {
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}

/// A native dialog that answers "cancelled" sooner than this never showed itself: no
/// person cancels a dialog that fast, but rfd returns at once when there is no portal.
const SHOWN_AT_LEAST: Duration = Duration::from_secs(1);

/// Whether the native dialog was there: it gave a path, or it took a person's time to
/// say no.
pub fn native_was_shown(answer: Option<&Path>, took: Duration) -> bool {
    answer.is_some() || took >= SHOWN_AT_LEAST
}

/// The one place file buttons ask for paths. A request the native dialog cannot show
/// opens the in-window chooser instead and answers `None` for now; once the user
/// chooses, [`FileChooser::ui`] says so, the caller repeats what asked, and the same
/// request then gets the chosen path.
pub struct FileChooser {
    native: Box<dyn FileDialog>,
    /// Set once the native dialog failed to show: later requests go straight to the window.
    native_missing: bool,
    open: Option<InWindow>,
    chosen: Option<(FileRequest, PathBuf)>,
    /// The folder the in-window chooser starts in.
    folder: PathBuf,
    /// Whether the last request opened the in-window chooser.
    opened_now: bool,
}

/// The in-window chooser's state while it is open.
struct InWindow {
    request: FileRequest,
    folder: PathBuf,
    typed: String,
    error: Option<String>,
}

impl FileChooser {
    pub fn new(native: Box<dyn FileDialog>) -> Self {
        Self {
            native,
            native_missing: false,
            open: None,
            chosen: None,
            folder: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            opened_now: false,
        }
    }

    pub fn ask(&mut self, request: FileRequest) -> Option<PathBuf> {
        self.opened_now = false;
        if let Some((asked, path)) = self.chosen.take()
            && asked == request
        {
            return Some(path);
        }
        if !self.native_missing {
            let started = Instant::now();
            let answer = request.ask(self.native.as_mut());
            if native_was_shown(answer.as_deref(), started.elapsed()) {
                return answer;
            }
            self.native_missing = true;
        }
        let typed = match &request {
            FileRequest::Save { suggested_name, .. } => {
                self.folder.join(suggested_name).display().to_string()
            }
            _ => String::new(),
        };
        self.open = Some(InWindow {
            request,
            folder: self.folder.clone(),
            typed,
            error: None,
        });
        self.opened_now = true;
        None
    }

    /// Whether the last request opened the in-window chooser (its caller is then repeated
    /// once the user chose).
    pub fn take_opened(&mut self) -> bool {
        std::mem::take(&mut self.opened_now)
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Shows the in-window chooser while one is open; true in the frame the user chose a
    /// path.
    pub fn ui(&mut self, ctx: &egui::Context) -> bool {
        let Some(window) = &mut self.open else {
            return false;
        };
        let mut outcome = None;
        egui::Modal::new(egui::Id::unique("file-chooser")).show(ctx, |ui| {
            outcome = window.ui(ui);
        });
        match outcome {
            Some(Some(path)) => {
                if let Some(w) = self.open.take() {
                    self.folder = w.folder;
                    self.chosen = Some((w.request, path));
                }
                true
            }
            Some(None) => {
                self.open = None;
                false
            }
            None if ctx.input(|i| i.key_pressed(egui::Key::Escape)) => {
                self.open = None;
                false
            }
            None => false,
        }
    }
}

impl FileDialog for FileChooser {
    fn pick_folder(&mut self, title: &str) -> Option<PathBuf> {
        self.ask(FileRequest::Folder {
            title: title.into(),
        })
    }

    fn open_file(&mut self, title: &str, kind: FileKind) -> Option<PathBuf> {
        self.ask(FileRequest::Open {
            title: title.into(),
            kind,
        })
    }

    fn save_file(&mut self, title: &str, kind: FileKind, suggested_name: &str) -> Option<PathBuf> {
        self.ask(FileRequest::Save {
            title: title.into(),
            kind,
            suggested_name: suggested_name.into(),
        })
    }
}

impl InWindow {
    /// The chooser's contents; `Some(Some(path))` once chosen, `Some(None)` when cancelled.
    fn ui(&mut self, ui: &mut egui::Ui) -> Option<Option<PathBuf>> {
        let width = (ui.ctx().content_rect().width() - 80.0).clamp(300.0, 640.0);
        let list_height = (ui.ctx().content_rect().height() - 260.0).clamp(80.0, 360.0);
        ui.set_width(width);
        ui.heading(self.request.title());
        ui.weak("The desktop's file dialog did not open here; choose below or type a path.");
        ui.horizontal(|ui| {
            if ui.button("Up").clicked()
                && let Some(parent) = self.folder.parent()
            {
                self.folder = parent.to_path_buf();
            }
            ui.label(self.folder.display().to_string());
        });
        egui::ScrollArea::vertical()
            .max_height(list_height)
            .auto_shrink([false, true])
            .show(ui, |ui| self.entries_ui(ui));
        let field = ui
            .horizontal(|ui| {
                let label = ui.label("Path:");
                ui.add(
                    egui::TextEdit::singleline(&mut self.typed)
                        .hint_text("type or paste a path")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id)
            })
            .inner;
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let mut outcome = None;
        ui.horizontal(|ui| {
            if ui.button(self.request.confirm_label()).clicked() || entered {
                let text = match (&self.request, self.typed.trim().is_empty()) {
                    (FileRequest::Folder { .. }, true) => self.folder.display().to_string(),
                    _ => self.typed.clone(),
                };
                match self.request.resolve(&text) {
                    Ok(path) => outcome = Some(Some(path)),
                    Err(e) => self.error = Some(e),
                }
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(None);
            }
        });
        outcome
    }

    /// The listed folders and files of the current folder: a click on a folder enters it,
    /// on a file puts it in the path field.
    fn entries_ui(&mut self, ui: &mut egui::Ui) {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(&self.folder) {
            Ok(dir) => dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| self.request.lists(p))
                .collect(),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("cannot list it: {e}"));
                return;
            }
        };
        entries.sort_by_key(|p| (!p.is_dir(), p.file_name().map(|n| n.to_ascii_lowercase())));
        for path in entries {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if path.is_dir() {
                if ui.selectable_label(false, format!("{name}/")).clicked() {
                    self.typed = match self.request {
                        FileRequest::Folder { .. } => path.display().to_string(),
                        _ => self.keep_name_in(&path),
                    };
                    self.folder = path;
                }
            } else if ui.selectable_label(false, name).clicked() {
                self.typed = path.display().to_string();
            }
        }
    }

    /// The typed file name moved into `folder` (so a save keeps its name while browsing).
    fn keep_name_in(&self, folder: &Path) -> String {
        match (&self.request, Path::new(&self.typed).file_name()) {
            (FileRequest::Save { .. }, Some(name)) => folder.join(name).display().to_string(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_no_means_the_native_dialog_never_showed() {
        assert!(!native_was_shown(None, Duration::from_millis(3)));
        assert!(native_was_shown(None, Duration::from_secs(2)), "a cancel");
        assert!(native_was_shown(Some(Path::new("/x")), Duration::ZERO));
    }

    #[test]
    fn typed_paths_are_checked_against_what_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.safetensors");
        std::fs::write(&file, b"x").unwrap();
        let folder = FileRequest::Folder { title: "f".into() };
        let open = FileRequest::Open {
            title: "o".into(),
            kind: MODEL,
        };
        let save = FileRequest::Save {
            title: "s".into(),
            kind: CSV,
            suggested_name: "h.csv".into(),
        };
        let dir_text = dir.path().display().to_string();
        assert_eq!(folder.resolve(&dir_text), Ok(dir.path().to_path_buf()));
        assert!(folder.resolve(&file.display().to_string()).is_err());
        assert_eq!(
            open.resolve(&format!(" {} ", file.display())),
            Ok(file.clone())
        );
        assert!(open.resolve(&dir_text).is_err());
        assert!(open.resolve("").is_err());
        assert_eq!(
            save.resolve(&format!("{dir_text}/history")),
            Ok(dir.path().join("history.csv")),
            "a missing extension is added"
        );
        assert!(save.resolve(&dir_text).is_err(), "a folder is no file name");
        assert!(save.resolve(&format!("{dir_text}/no/such/h.csv")).is_err());
    }
}
