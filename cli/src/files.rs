//! Files written atomically: a temporary file in the same folder, synced, then
//! renamed into place, so a reader never sees a partial file.

use crate::error::{CliError, Result, io_err};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The folder a path lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The name prefix of temporary files (hidden, never mistaken for a fax).
pub const TEMP_PREFIX: &str = ".fxe-tmp-";

/// A temporary file next to `path`, for [`publish`].
pub fn temp_next_to(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = parent_dir(path);
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)
        .map_err(io_err(format!("cannot create a file in {}", dir.display())))
}

/// Syncs `tmp` and renames it to `path`. With `overwrite = false` an existing
/// `path` is an error and is left untouched.
pub fn publish(tmp: tempfile::NamedTempFile, path: &Path, overwrite: bool) -> Result<()> {
    tmp.as_file().sync_all().map_err(io_err(format!("cannot write {}", path.display())))?;
    if overwrite {
        tmp.persist(path).map_err(|e| CliError::msg(format!("cannot write {}: {}", path.display(), e.error)))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                refuse_overwrite(path)
            } else {
                CliError::msg(format!("cannot write {}: {}", path.display(), e.error))
            }
        })?;
    }
    sync_dir(&parent_dir(path));
    Ok(())
}

pub fn refuse_overwrite(path: &Path) -> CliError {
    CliError::msg(format!("{} already exists; refusing to overwrite it", path.display()))
        .with_hint("choose another --out path or move the existing file away")
}

/// Makes a rename durable (best effort: not every platform syncs folders).
pub fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        return Err(refuse_overwrite(path));
    }
    let mut tmp = temp_next_to(path)?;
    tmp.write_all(bytes).map_err(io_err(format!("cannot write {}", path.display())))?;
    publish(tmp, path, overwrite)
}

/// Whether the file starts like a PDF (`%PDF-` within its first 1024 bytes, as
/// PDF readers accept).
pub fn looks_like_pdf(path: &Path) -> Result<bool> {
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(path)
        .map_err(io_err(format!("cannot read {}", path.display())))?
        .take(1024)
        .read_to_end(&mut head)
        .map_err(io_err(format!("cannot read {}", path.display())))?;
    Ok(head.windows(5).any(|w| w == b"%PDF-"))
}
