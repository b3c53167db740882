//! Changing the hosts file safely: under a lock so concurrent runs cannot interleave; by
//! temp file + fsync + rename so readers see the old or the new file, never half of one; in
//! place (full content, then truncate) only where rename cannot work: a bind-mounted file in
//! a container (EBUSY) or a file on another filesystem than its directory (EXDEV).
//!
//! A symlinked hosts file (some systems link /etc/hosts elsewhere) is edited at its target,
//! so the link stays a link. The lock is flock(2) on the folder that holds the file: it
//! creates nothing, so nothing is left behind (older versions left `<file>.kindling.lock`).

use super::HostsError;
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How the new content reached the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Unchanged,
    Renamed,
    InPlace,
}

/// The rename step, injectable so tests can make it fail like a bind mount
/// (EBUSY) or like a crash between write and rename.
pub type RenameFn = dyn Fn(&Path, &Path) -> std::io::Result<()>;

/// The real rename(2).
pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)
}

/// The lock file older versions made beside the file (removed when seen).
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".kindling.lock");
    path.with_file_name(name)
}

fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.kindling-tmp-",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// The file to edit: `path`, or the target of a symlink (followed to the end). A target that
/// exists but is not a regular file (a folder, a device) is refused before anything is made.
pub fn resolve(path: &Path) -> Result<PathBuf, HostsError> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path)
            .map_err(|e| HostsError::io("following the link", path, e))?,
        Ok(_) => path.to_path_buf(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(HostsError::io("reading", path, e)),
    };
    match std::fs::metadata(&target) {
        Ok(meta) if !meta.is_file() => Err(HostsError::NotAFile {
            path: path.to_path_buf(),
            target: (target != path).then_some(target),
        }),
        _ => Ok(target),
    }
}

/// Reads `path` (missing = empty), computes the new text with `change` and
/// writes it, all under the lock. Returns what happened and the old text.
pub fn update(
    path: &Path,
    change: &dyn Fn(&str) -> String,
    rename: &RenameFn,
) -> Result<(Written, String), HostsError> {
    let path = &resolve(path)?;
    let _lock = lock(path)?;
    let _ = std::fs::remove_file(lock_path(path));
    remove_stale_temps(path);
    let old = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| HostsError::NotText {
            path: path.to_path_buf(),
        })?,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(HostsError::io("reading", path, e)),
    };
    let new = change(&old);
    if new == old {
        return Ok((Written::Unchanged, old));
    }
    let written = write(path, new.as_bytes(), rename)?;
    Ok((written, old))
}

/// An exclusive flock on the file's folder, released when the handle is dropped. The
/// folder (not the file) because the file is replaced by rename: a lock on the old file
/// would not exclude a run that opened the new one.
fn lock(path: &Path) -> Result<std::fs::File, HostsError> {
    let dir = folder_of(path);
    let handle = std::fs::File::open(dir).map_err(|e| HostsError::io("opening", dir, e))?;
    rustix::fs::flock(&handle, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| HostsError::io("locking", dir, e.into()))?;
    Ok(handle)
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Temp files left by a run that was killed between write and rename (we hold the lock).
fn remove_stale_temps(path: &Path) {
    let dir = folder_of(path);
    let prefix = temp_prefix(path);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn write(path: &Path, bytes: &[u8], rename: &RenameFn) -> Result<Written, HostsError> {
    let dir = folder_of(path);
    let meta = std::fs::metadata(path).ok();
    let mode = meta
        .as_ref()
        .map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let tmp = dir.join(format!("{}{}", temp_prefix(path), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        // Same owner and mode as the file it replaces (root:root 0644 for /etc/hosts).
        if let Some(m) = &meta {
            std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid())).or_else(|e| {
                // A user may not give files away; their own file keeps their ownership anyway.
                if e.kind() == ErrorKind::PermissionDenied {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(HostsError::io("writing a temporary file beside", path, e));
    }
    match rename(&tmp, path) {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(Written::Renamed)
        }
        Err(e) if is_mount_point_error(&e) => {
            let _ = std::fs::remove_file(&tmp);
            write_in_place(path, bytes)?;
            Ok(Written::InPlace)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(HostsError::io("replacing", path, e))
        }
    }
}

/// rename(2) onto a bind-mount target fails with EBUSY; across filesystems with EXDEV.
fn is_mount_point_error(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == rustix::io::Errno::BUSY.raw_os_error()
            || code == rustix::io::Errno::XDEV.raw_os_error()
    )
}

/// Overwrites from the start, then cuts what is left of the old content: the
/// file is complete again as soon as `set_len` returns.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), HostsError> {
    (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(bytes)?;
        file.set_len(bytes.len() as u64)?;
        file.sync_all()
    })()
    .map_err(|e| HostsError::io("writing in place", path, e))
}
