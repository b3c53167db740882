//! Writing the CA's files: created with their final mode from the first byte
//! (a key is never world-readable, not even briefly), fsynced, renamed into place.

use super::TlsError;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub(super) fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let io = |what: &str, e| TlsError::Io {
        what: what.to_string(),
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io("writing", e))
}

/// An exclusive lock on `<dir>/.lock`, released when the returned file is dropped.
pub(super) fn lock_dir(dir: &Path) -> Result<std::fs::File, TlsError> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| TlsError::Io {
            what: "opening the lock file".into(),
            path: path.clone(),
            source: e,
        })?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
        TlsError::Io {
            what: "locking".into(),
            path,
            source: e.into(),
        }
    })?;
    Ok(file)
}
