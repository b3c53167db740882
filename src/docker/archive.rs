//! Deterministic tar archives of a folder: sorted entries, mtime 0, uid/gid 0,
//! normalized modes, no extended attributes. The same content always gives the
//! same bytes, so digests (OCI artifacts) and build caches stay stable.

use super::error::{RegistryError, Result};
use std::path::{Path, PathBuf};

/// One thing in the archive, by its path relative to the root ("a/b.yaml").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub rel: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    Dir,
    File { executable: bool },
    Symlink { target: PathBuf },
}

/// Every entry under `root` that `keep(rel, is_dir)` accepts, sorted by path.
/// A directory that is not kept is still walked (a later rule may keep a file in it).
pub fn collect(root: &Path, keep: &dyn Fn(&str, bool) -> bool) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    walk(root, root, keep, &mut entries)?;
    entries.sort();
    Ok(entries)
}

fn walk(
    root: &Path,
    dir: &Path,
    keep: &dyn Fn(&str, bool) -> bool,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let read =
        std::fs::read_dir(dir).map_err(RegistryError::io(format!("reading {}", dir.display())))?;
    for item in read {
        let item = item.map_err(RegistryError::io(format!("reading {}", dir.display())))?;
        let path = item.path();
        let rel = path
            .strip_prefix(root)
            .expect("walked below root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let meta = std::fs::symlink_metadata(&path)
            .map_err(RegistryError::io(format!("reading {}", path.display())))?;
        if meta.file_type().is_symlink() {
            if keep(&rel, false) {
                let target = std::fs::read_link(&path)
                    .map_err(RegistryError::io(format!("reading {}", path.display())))?;
                out.push(Entry {
                    rel,
                    kind: EntryKind::Symlink { target },
                });
            }
        } else if meta.is_dir() {
            if keep(&rel, true) {
                out.push(Entry {
                    rel: rel.clone(),
                    kind: EntryKind::Dir,
                });
            }
            walk(root, &path, keep, out)?;
        } else if meta.is_file() && keep(&rel, false) {
            use std::os::unix::fs::PermissionsExt;
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push(Entry {
                rel,
                kind: EntryKind::File { executable },
            });
        }
        // Sockets, fifos and devices have no place in an archive: skipped.
    }
    Ok(())
}

/// Writes the entries as a tar with normalized headers.
pub fn write_tar<W: std::io::Write>(root: &Path, entries: &[Entry], out: W) -> Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    let err = |rel: &str| RegistryError::io(format!("archiving {rel}"));
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{}/", entry.rel), std::io::empty())
                    .map_err(err(&entry.rel))?;
            }
            EntryKind::File { executable } => {
                let data = std::fs::read(root.join(&entry.rel)).map_err(err(&entry.rel))?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, &entry.rel, data.as_slice())
                    .map_err(err(&entry.rel))?;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.rel, target)
                    .map_err(err(&entry.rel))?;
            }
        }
    }
    builder
        .into_inner()
        .map_err(RegistryError::io("finishing the archive"))
}

/// A deterministic tar.gz: fixed gzip header (no name, mtime 0), fixed level.
pub fn tar_gz(root: &Path, entries: &[Entry]) -> Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::new(6));
    let gz = write_tar(root, entries, gz)?;
    gz.finish()
        .map_err(RegistryError::io("compressing the archive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/z.yaml"), "z").unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a").unwrap();
        dir
    }

    #[test]
    fn entries_are_sorted_and_relative() {
        let dir = sample();
        let entries = collect(dir.path(), &|_, _| true).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(names, ["a.yaml", "b", "b/c", "b/c/z.yaml"]);
    }

    #[test]
    fn same_content_same_bytes_despite_mtime() {
        let dir = sample();
        let entries = collect(dir.path(), &|_, _| true).unwrap();
        let first = tar_gz(dir.path(), &entries).unwrap();
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join("a.yaml"))
            .unwrap();
        file.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(12345),
        )
        .unwrap();
        assert_eq!(first, tar_gz(dir.path(), &entries).unwrap());
        std::fs::write(dir.path().join("a.yaml"), "b").unwrap();
        assert_ne!(first, tar_gz(dir.path(), &entries).unwrap());
    }
}
