//! Files from outside and files we write, treated with care: only regular files are read,
//! never more than a stated number of bytes (a FIFO would block, `/dev/zero` never ends);
//! writes go to a temporary file or folder beside the target and are renamed into place
//! (a crash never leaves half a file), write through symlinks to their target, refuse
//! devices and folders as targets, and clean up after themselves.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Marks our temporary files and folders: `.<name>.nnlab-tmp-<pid>`.
const TMP_MARK: &str = ".nnlab-tmp-";
/// Ends the name of an old folder moved aside while a new one replaces it.
const OLD_MARK: &str = ".old";

/// Megabytes, for limits and messages.
pub const MB: u64 = 1 << 20;

/// The whole regular file at `path`, refused if it is not a regular file or holds more
/// than `max_bytes`.
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("{shown}: cannot read"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file ({})", kind_of(&meta));
    }
    if meta.len() > max_bytes {
        bail!(
            "{shown}: {} bytes, more than the {} accepted for this kind of file",
            meta.len(),
            size_label(max_bytes)
        );
    }
    let file = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow between the check and the read: read one byte past the limit to see it.
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{shown}: cannot read"))?;
    if bytes.len() as u64 > max_bytes {
        bail!(
            "{shown}: grew past the {} accepted while being read",
            size_label(max_bytes)
        );
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, max_bytes: u64) -> Result<String> {
    String::from_utf8(read_regular(path, max_bytes)?)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", path.display()))
}

/// "4 MB", or bytes below a megabyte.
pub fn size_label(bytes: u64) -> String {
    if bytes >= MB {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a plain file"
    }
}

/// The path a write to `path` lands on: symlinks followed to their (possibly missing) target.
fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&at)
                    .with_context(|| format!("{}: cannot read the symlink", at.display()))?;
                at = match at.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(at),
        }
    }
    bail!("{}: too many levels of symlinks", path.display())
}

/// The folder `path` is written into, which must exist.
fn parent_folder(path: &Path) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        bail!(
            "{}: the folder {} does not exist",
            path.display(),
            parent.display()
        );
    }
    Ok(parent)
}

/// Checks, before any work, that a file can be written at `path`: an existing target must
/// be a regular file (symlinks are followed), its folder must exist and take new files.
/// Returns where the write will land.
pub fn check_output_file(path: &Path) -> Result<PathBuf> {
    let target = resolve_symlinks(path)?;
    if let Ok(meta) = std::fs::metadata(&target)
        && !meta.is_file()
    {
        bail!(
            "{}: will not write over {} ({})",
            path.display(),
            target.display(),
            kind_of(&meta)
        );
    }
    let parent = parent_folder(&target)?;
    let probe = temp_path(&parent, &target);
    std::fs::write(&probe, b"")
        .with_context(|| format!("{}: cannot write in {}", path.display(), parent.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(target)
}

/// `.<name>.nnlab-tmp-<pid>` beside `target`.
fn temp_path(parent: &Path, target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    parent.join(format!(".{name}{TMP_MARK}{}", std::process::id()))
}

/// Removes temporary files and folders of earlier, no longer running nnlab processes that
/// were writing `target` (a killed save must not fill the disk for the next one).
fn clear_stale_temps(parent: &Path, target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let (pid, moved_aside) = match pid.strip_suffix(OLD_MARK) {
            Some(pid) => (pid, true),
            None => (pid, false),
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        if alive {
            continue;
        }
        let path = entry.path();
        // A crash between moving the old folder aside and renaming the new one in: the old
        // folder is the last complete one, so it goes back.
        if moved_aside && !target.exists() && std::fs::rename(&path, target).is_ok() {
            continue;
        }
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
}

/// Writes `bytes` to `path` through a temporary file and one rename; symlinks are written
/// through, anything but a regular file is refused, the temporary file never stays behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = check_output_file(path)?;
    let parent = parent_folder(&target)?;
    clear_stale_temps(&parent, &target);
    let tmp = temp_path(&parent, &target);
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Checks, before any work, that a run folder can be written at `dir`: it may be missing
/// (its parent must exist) or an empty folder; a non-empty one only with `replace`. Clears
/// what killed earlier writes of `dir` left behind.
pub fn check_output_folder(dir: &Path, replace: bool) -> Result<PathBuf> {
    let target = resolve_symlinks(dir)?;
    if let Ok(parent) = parent_folder(&target) {
        clear_stale_temps(&parent, &target); // first: it may put back a folder a crash left aside
    }
    if let Ok(meta) = std::fs::metadata(&target) {
        if !meta.is_dir() {
            bail!("{}: exists and is not a folder", dir.display());
        }
        let mut entries =
            std::fs::read_dir(&target).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() && !replace {
            bail!(
                "{}: the folder is not empty (an earlier run?); pass --force to replace it",
                dir.display()
            );
        }
    }
    let parent = parent_folder(&target)?;
    let probe = temp_path(&parent, &target);
    std::fs::create_dir(&probe)
        .with_context(|| format!("{}: cannot write in {}", dir.display(), parent.display()))?;
    let _ = std::fs::remove_dir(&probe);
    Ok(target)
}

/// Writes a folder at once: `fill` writes into a temporary folder beside `dir`, which is
/// then renamed to `dir`, so a reader (or a crash) sees the old folder or the new one,
/// never a mix. A non-empty `dir` is replaced only with `replace`.
pub fn write_folder_atomic(
    dir: &Path,
    replace: bool,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let target = check_output_folder(dir, replace)?;
    let parent = parent_folder(&target)?;
    let tmp = temp_path(&parent, &target);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let result = fill(&tmp).and_then(|()| swap_in(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.with_context(|| format!("writing the folder {}", dir.display()))
}

/// Renames the finished folder `tmp` to `target`: over an empty folder directly, else the
/// two are exchanged in one step where the system can (Linux), so no crash ever finds
/// `target` missing; elsewhere the old folder is first moved aside to [`old_aside`] (which
/// [`clear_stale_temps`] puts back if a crash left `target` missing).
fn swap_in(tmp: &Path, target: &Path) -> Result<()> {
    if std::fs::rename(tmp, target).is_ok() {
        return Ok(());
    }
    if exchange(tmp, target) {
        let _ = std::fs::remove_dir_all(tmp); // now the old folder
        return Ok(());
    }
    let old = old_aside(tmp);
    std::fs::rename(target, &old)
        .with_context(|| format!("moving the old {} aside", target.display()))?;
    if let Err(e) = std::fs::rename(tmp, target) {
        let _ = std::fs::rename(&old, target);
        return Err(e).with_context(|| format!("renaming to {}", target.display()));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Where [`swap_in`] keeps the old folder while the new one is renamed into place.
fn old_aside(tmp: &Path) -> PathBuf {
    PathBuf::from(format!("{}{OLD_MARK}", tmp.display()))
}

/// Exchanges two paths atomically; false where the system or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}
