//! Reading what a user names (a config file, manifests, a saved Rollout) in bounded time and
//! memory: at most `limit` bytes, and never blocking on something that is not a file when a
//! file is what the command reads.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

#[derive(Debug)]
pub enum ReadError {
    /// More than `limit` bytes.
    TooLarge {
        limit: u64,
    },
    /// A FIFO, device, socket or folder where a regular file was wanted.
    NotAFile {
        kind: &'static str,
    },
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TooLarge { limit } => write!(f, "too large (more than {})", size(*limit)),
            ReadError::NotAFile { kind } => write!(f, "it is a {kind}, not a regular file"),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A byte count as people read it: "1 MiB", "64 KiB", "300 bytes".
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// What kind of thing a file type is, in words.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "folder"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Reads a regular file (symlinks followed) of at most `limit` bytes as UTF-8. Anything else
/// is refused before a byte is read: opening a FIFO for reading would wait for a writer, and
/// /dev/zero never ends. The file is opened non-blocking and checked again once open, so a
/// FIFO swapped in after the first check cannot block either.
pub fn regular_file(path: &Path, limit: u64) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            kind: kind_of(meta.file_type()),
        });
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    stream(file, limit)
}

/// Reads any stream (stdin, a pipe, a file) up to `limit` bytes as UTF-8; one byte more is
/// TooLarge, so an endless source costs `limit` bytes of memory, no more.
pub fn stream(reader: impl Read, limit: u64) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// Reads a path the user named as input: a regular file, or a pipe or device (`<(kubectl …)`
/// is a pipe), at most `limit` bytes either way. Folders are refused.
pub fn any_file(path: &Path, limit: u64) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if meta.is_file() {
        return regular_file(path, limit);
    }
    if meta.is_dir() {
        return Err(ReadError::NotAFile { kind: "folder" });
    }
    stream(std::fs::File::open(path).map_err(ReadError::Io)?, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_and_special_sources_are_bounded_or_refused() {
        let zero = Path::new("/dev/zero");
        assert!(matches!(
            regular_file(zero, 10),
            Err(ReadError::NotAFile {
                kind: "character device"
            })
        ));
        assert!(matches!(
            any_file(zero, 1000),
            Err(ReadError::TooLarge { limit: 1000 })
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            regular_file(dir.path(), 10),
            Err(ReadError::NotAFile { kind: "folder" })
        ));
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        // No writer: opening it for reading would block forever.
        assert!(matches!(
            regular_file(&fifo, 10),
            Err(ReadError::NotAFile {
                kind: "FIFO (named pipe)"
            })
        ));
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(regular_file(&file, 5).unwrap(), "12345");
        assert!(matches!(
            regular_file(&file, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
        assert_eq!(stream(&b"abc"[..], 3).unwrap(), "abc");
        assert!(stream(&b"abcd"[..], 3).is_err());
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(32 << 20), "32 MiB");
    }
}
