//! The bundle file: one uncompressed tar (blobs are compressed already; a plain tar can be
//! streamed, verified as it is read, and read at random afterwards — every entry sits at a fixed
//! offset). The first entry is `manifest.json`, which lists every other entry with its size
//! and sha256, so a reader knows the whole content before it reads it.
//!
//! Writing goes to a temporary name beside the target (`.<name>.partial-<pid>`) that is renamed
//! only once the last byte is written and synced: an interrupted write leaves no bundle under
//! the final name, and the temporary file is removed when the writer is dropped.

use super::error::{BundleError, human_bytes};
use super::manifest::{BundleManifest, FORMAT, MANIFEST_PATH};
use crate::report::{Event, SharedReporter};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, ReadBuf};
use tokio_tar as tar;

/// Tar framing: a 512-byte header per entry, data padded to 512, two zero blocks at the end.
pub fn tar_size(entry_sizes: impl IntoIterator<Item = u64>) -> u64 {
    entry_sizes
        .into_iter()
        .map(|s| 512 + s.div_ceil(512) * 512)
        .sum::<u64>()
        + 1024
}

/// The manifest entry is at most this big (a bundle with 100 000 entries stays well under it).
const MANIFEST_LIMIT: u64 = 64 << 20;

/// Byte progress with a rate, reported at most five times a second (and once at the end).
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Mutex<ProgressState>>,
}

struct ProgressState {
    reporter: SharedReporter,
    step: String,
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(reporter: SharedReporter, step: &str, label: &str, total: u64) -> Progress {
        Progress {
            inner: Arc::new(Mutex::new(ProgressState {
                reporter,
                step: step.into(),
                label: label.into(),
                total,
                done: 0,
                started: Instant::now(),
                last: None,
            })),
        }
    }

    pub fn add(&self, n: u64) {
        let mut s = self.inner.lock().expect("progress lock");
        s.done += n;
        let due = s
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(200));
        if due || s.done >= s.total {
            s.last = Some(Instant::now());
            s.report();
        }
    }

    pub fn done(&self) -> u64 {
        self.inner.lock().expect("progress lock").done
    }

    /// Bytes per second so far.
    pub fn rate(&self) -> u64 {
        self.inner.lock().expect("progress lock").rate()
    }
}

impl ProgressState {
    fn rate(&self) -> u64 {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        (self.done as f64 / secs) as u64
    }

    fn report(&self) {
        self.reporter.report(Event::StepProgress {
            step: self.step.clone(),
            message: format!(
                "{}: {} of {} at {}/s",
                self.label,
                human_bytes(self.done),
                human_bytes(self.total),
                human_bytes(self.rate())
            ),
            current: Some(self.done),
            total: Some(self.total),
            rate: Some(self.rate()),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        });
    }
}

/// Wraps a reader: counts into `progress`, hashes, and fails at the end when the length or
/// sha256 is not what the manifest says (so a short or altered source never becomes a bundle
/// entry, and a damaged bundle entry never becomes a file).
pub struct Checked<R> {
    inner: R,
    entry: String,
    size: u64,
    sha256: Option<String>,
    read: u64,
    hasher: Sha256,
    progress: Option<Progress>,
}

impl<R> Checked<R> {
    pub fn new(
        inner: R,
        entry: &str,
        size: u64,
        sha256: Option<&str>,
        progress: Option<Progress>,
    ) -> Checked<R> {
        Checked {
            inner,
            entry: entry.into(),
            size,
            sha256: sha256.map(str::to_string),
            read: 0,
            hasher: Sha256::new(),
            progress,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Checked<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let chunk = &buf.filled()[before..];
                if chunk.is_empty() {
                    if this.read != this.size {
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("{}: {} of {} bytes", this.entry, this.read, this.size),
                        )));
                    }
                    if let Some(want) = &this.sha256 {
                        let got = hex::encode(std::mem::take(&mut this.hasher).finalize());
                        if &got != want {
                            return Poll::Ready(Err(std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!("{}: sha256 {got}, expected {want}", this.entry),
                            )));
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
                this.read += chunk.len() as u64;
                if this.read > this.size {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: more than the {} bytes expected", this.entry, this.size),
                    )));
                }
                this.hasher.update(chunk);
                if let Some(p) = &this.progress {
                    p.add(chunk.len() as u64);
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// A bundle being written; dropped unfinished, it removes its temporary file.
pub struct BundleWriter {
    target: PathBuf,
    temp: PathBuf,
    builder: Option<tar::Builder<tokio::io::BufWriter<tokio::fs::File>>>,
    progress: Progress,
}

impl BundleWriter {
    pub async fn create(target: &Path, progress: Progress) -> Result<BundleWriter, BundleError> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.partial-{}", std::process::id()));
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(BundleError::io("cannot create", &temp))?;
        let mut builder = tar::Builder::new(tokio::io::BufWriter::with_capacity(1 << 20, file));
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(BundleWriter {
            target: target.to_path_buf(),
            temp,
            builder: Some(builder),
            progress,
        })
    }

    /// Appends one entry of `size` bytes read from `data`; with `sha256` (hex), the data must
    /// match it. Returns the sha256 of what was written.
    pub async fn append(
        &mut self,
        path: &str,
        size: u64,
        sha256: Option<&str>,
        mode: u32,
        data: impl AsyncRead + Unpin,
    ) -> Result<(), BundleError> {
        let builder = self.builder.as_mut().expect("writer not finished");
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        let checked = Checked::new(data, path, size, sha256, Some(self.progress.clone()));
        builder
            .append_data(&mut header, path, checked)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData => {
                    BundleError::Upstream {
                        what: path.to_string(),
                        reason: e.to_string(),
                    }
                }
                _ => BundleError::Io {
                    what: "cannot write",
                    path: self.temp.clone(),
                    source: e,
                },
            })
    }

    /// Ends the archive, syncs it and gives it its final name.
    pub async fn finish(mut self) -> Result<PathBuf, BundleError> {
        let mut builder = self.builder.take().expect("writer not finished");
        let io = |source| BundleError::Io {
            what: "cannot write",
            path: self.temp.clone(),
            source,
        };
        builder.finish().await.map_err(io)?;
        let mut out = builder.into_inner().await.map_err(io)?;
        out.flush().await.map_err(io)?;
        let file = out.into_inner();
        file.sync_all().await.map_err(io)?;
        drop(file);
        tokio::fs::rename(&self.temp, &self.target)
            .await
            .map_err(BundleError::io("cannot move into place", &self.target))?;
        Ok(self.target.clone())
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        if self.builder.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A bundle whose every entry was read and matched the manifest.
#[derive(Debug, Clone)]
pub struct Verified {
    pub path: PathBuf,
    pub manifest: BundleManifest,
    /// Entry path → (data offset in the file, size).
    offsets: HashMap<String, (u64, u64)>,
}

impl Verified {
    /// Reads one entry (again checked against the manifest: the file may change after the
    /// verification), with optional byte progress.
    pub async fn open(
        &self,
        entry: &str,
        progress: Option<Progress>,
    ) -> Result<impl AsyncRead + Unpin + Send + 'static, BundleError> {
        let sha = self.manifest.entry(entry).map(|e| e.sha256.clone());
        let (data, size) = self.data(entry).await?;
        let reader = tokio::io::BufReader::with_capacity(1 << 20, data);
        Ok(Checked::new(reader, entry, size, sha.as_deref(), progress))
    }

    /// Where an entry's data is in the file: (offset, size).
    pub fn offset(&self, entry: &str) -> Option<(u64, u64)> {
        self.offsets.get(entry).copied()
    }

    /// An entry's bytes with only their length checked, for a reader that checks the digest
    /// itself (a registry refuses a blob whose content does not match it).
    pub async fn open_unchecked(
        &self,
        entry: &str,
        progress: Option<Progress>,
    ) -> Result<impl AsyncRead + Unpin + Send + 'static, BundleError> {
        let (data, size) = self.data(entry).await?;
        Ok(Checked::new(data, entry, size, None, progress))
    }

    /// An entry's bytes in the file, unchecked, and their length.
    async fn data(
        &self,
        entry: &str,
    ) -> Result<(tokio::io::Take<tokio::fs::File>, u64), BundleError> {
        let (offset, size) = *self
            .offsets
            .get(entry)
            .ok_or_else(|| BundleError::Incomplete {
                path: self.path.clone(),
                missing: vec![entry.to_string()],
            })?;
        let mut file = tokio::fs::File::open(&self.path)
            .await
            .map_err(BundleError::io("cannot open", &self.path))?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(BundleError::io("cannot read", &self.path))?;
        Ok((tokio::io::AsyncReadExt::take(file, size), size))
    }

    /// A small entry's bytes (manifests, configs).
    pub async fn read(&self, entry: &str) -> Result<Vec<u8>, BundleError> {
        let mut reader = self.open(entry, None).await?;
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
            .await
            .map_err(|e| self.damaged(entry, e))?;
        Ok(bytes)
    }

    /// An error reading an entry after verification: the file changed underneath.
    pub fn damaged(&self, entry: &str, e: std::io::Error) -> BundleError {
        BundleError::Unexpected {
            path: self.path.clone(),
            entry: entry.into(),
            expected: format!("it changed after it was verified: {e}"),
        }
    }
}

async fn open_archive(
    path: &Path,
) -> Result<tar::Archive<tokio::io::BufReader<tokio::fs::File>>, BundleError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BundleError::NotABundle {
                path: path.into(),
                why: "no such file".into(),
            },
            _ => BundleError::Io {
                what: "cannot open",
                path: path.into(),
                source: e,
            },
        })?;
    if file.metadata().await.is_ok_and(|m| m.is_dir()) {
        return Err(BundleError::NotABundle {
            path: path.into(),
            why: "a folder, not a file".into(),
        });
    }
    Ok(tar::Archive::new(tokio::io::BufReader::with_capacity(
        1 << 20,
        file,
    )))
}

fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<BundleManifest, BundleError> {
    let probe: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| BundleError::NotABundle {
            path: path.into(),
            why: format!("{MANIFEST_PATH} is not JSON: {e}"),
        })?;
    match probe["format"].as_str() {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(BundleError::Format {
                path: path.into(),
                found: other.into(),
            });
        }
        None => {
            return Err(BundleError::NotABundle {
                path: path.into(),
                why: format!("{MANIFEST_PATH} names no format"),
            });
        }
    }
    serde_json::from_value(probe).map_err(|e| BundleError::NotABundle {
        path: path.into(),
        why: format!("{MANIFEST_PATH}: {e}"),
    })
}

/// The archive's first entry (the manifest, in a bundle).
async fn first_entry<R: AsyncRead + Unpin>(
    path: &Path,
    entries: &mut tar::Entries<R>,
) -> Result<tar::Entry<tar::Archive<R>>, BundleError> {
    match entries.next().await {
        Some(Ok(e)) => Ok(e),
        Some(Err(e)) => Err(not_a_bundle(path, e)),
        None => Err(BundleError::NotABundle {
            path: path.into(),
            why: "empty, or not a tar file".into(),
        }),
    }
}

/// Reads only the manifest (the first entry): what `inspect` shows, without reading the rest.
pub async fn read_manifest(path: &Path) -> Result<BundleManifest, BundleError> {
    let mut archive = open_archive(path).await?;
    let mut entries = archive
        .entries()
        .map_err(BundleError::io("cannot read", path))?;
    let first = first_entry(path, &mut entries).await?;
    read_manifest_entry(path, first).await
}

fn not_a_bundle(path: &Path, e: std::io::Error) -> BundleError {
    BundleError::NotABundle {
        path: path.into(),
        why: format!("not a tar file ({e})"),
    }
}

async fn read_manifest_entry<R: AsyncRead + Unpin>(
    path: &Path,
    mut entry: tar::Entry<R>,
) -> Result<BundleManifest, BundleError> {
    let name = entry
        .path()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name != MANIFEST_PATH {
        return Err(BundleError::NotABundle {
            path: path.into(),
            why: format!("its first entry is {name:?}, not {MANIFEST_PATH}"),
        });
    }
    let size = entry.effective_size();
    if size > MANIFEST_LIMIT {
        return Err(BundleError::NotABundle {
            path: path.into(),
            why: format!("{MANIFEST_PATH} is {size} bytes"),
        });
    }
    let file_len = tokio::fs::metadata(path)
        .await
        .map_err(BundleError::io("cannot read", path))?
        .len();
    let available = file_len.saturating_sub(entry.raw_file_position());
    if available < size {
        return Err(BundleError::Truncated {
            path: path.into(),
            detail: format!("{MANIFEST_PATH} has {available} of {size} bytes"),
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    tokio::io::AsyncReadExt::read_to_end(&mut entry, &mut bytes)
        .await
        .map_err(BundleError::io("cannot read", path))?;
    parse_manifest(path, &bytes)
}

/// Reads the whole bundle once: every entry in the manifest's order, with the size and sha256
/// the manifest lists, nothing missing and nothing more. The error names the first entry that
/// is not as listed.
pub async fn verify(
    path: &Path,
    reporter: &SharedReporter,
    step: &str,
) -> Result<Verified, BundleError> {
    let mut archive = open_archive(path).await?;
    let mut entries = archive
        .entries()
        .map_err(BundleError::io("cannot read", path))?;
    let first = first_entry(path, &mut entries).await?;
    let manifest = read_manifest_entry(path, first).await?;
    let missing = manifest.missing_blobs();
    if !missing.is_empty() {
        return Err(BundleError::Incomplete {
            path: path.into(),
            missing,
        });
    }
    let file_len = tokio::fs::metadata(path)
        .await
        .map_err(BundleError::io("cannot read", path))?
        .len();
    let progress = Progress::new(
        reporter.clone(),
        step,
        "verifying",
        manifest.content_bytes(),
    );
    let mut offsets = HashMap::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut last = MANIFEST_PATH.to_string();
    for (i, expected) in manifest.entries.iter().enumerate() {
        let mut entry = match entries.next().await {
            Some(Ok(e)) => e,
            None => {
                return Err(BundleError::Truncated {
                    path: path.into(),
                    detail: format!(
                        "it ends after {last}: {} of {} entries are missing, the first is {}",
                        manifest.entries.len() - i,
                        manifest.entries.len(),
                        expected.path
                    ),
                });
            }
            Some(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(BundleError::Truncated {
                    path: path.into(),
                    detail: format!("it ends inside the header of {}", expected.path),
                });
            }
            Some(Err(e)) => {
                return Err(BundleError::Unexpected {
                    path: path.into(),
                    entry: expected.path.clone(),
                    expected: format!("an unreadable header where it should be: {e}"),
                });
            }
        };
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name != expected.path {
            return Err(BundleError::Unexpected {
                path: path.into(),
                entry: name,
                expected: format!("the manifest lists {} here", expected.path),
            });
        }
        // Loads read entries in place: only plain, contiguous files will do.
        if !entry.header().entry_type().is_file() {
            return Err(BundleError::Unexpected {
                path: path.into(),
                entry: name,
                expected: "a regular file".into(),
            });
        }
        let size = entry.effective_size();
        if size != expected.size {
            return Err(BundleError::Tampered {
                path: path.into(),
                entry: name,
                expected: format!("{} ({} bytes)", expected.sha256, expected.size),
                actual: format!("unknown ({size} bytes)"),
            });
        }
        let position = entry.raw_file_position();
        if position + size > file_len {
            return Err(BundleError::Truncated {
                path: path.into(),
                detail: format!(
                    "entry {name} has {} of {size} bytes",
                    file_len.saturating_sub(position)
                ),
            });
        }
        offsets.insert(name.clone(), (position, size));
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut entry, &mut buf)
                .await
                .map_err(BundleError::io("cannot read", path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            read += n as u64;
            progress.add(n as u64);
        }
        if read < size {
            return Err(BundleError::Truncated {
                path: path.into(),
                detail: format!("entry {name} has {read} of {size} bytes"),
            });
        }
        let actual = hex::encode(hasher.finalize());
        if actual != expected.sha256 {
            return Err(BundleError::Tampered {
                path: path.into(),
                entry: name,
                expected: expected.sha256.clone(),
                actual,
            });
        }
        last = name;
    }
    if let Some(Ok(extra)) = entries.next().await {
        let name = extra
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(BundleError::Unexpected {
            path: path.into(),
            entry: name,
            expected: "after the last entry the manifest lists".into(),
        });
    }
    Ok(Verified {
        path: path.into(),
        manifest,
        offsets,
    })
}

/// Free bytes on the file system holding `path` (or its nearest existing ancestor).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail * stat.f_frsize)
}

/// Refuses to start writing `needed` bytes at `path` when the disk has less free.
pub fn check_space(path: &Path, needed: u64) -> Result<(), BundleError> {
    match free_bytes(path) {
        Some(free) if free < needed => Err(BundleError::DiskSpace {
            path: path.into(),
            needed: human_bytes(needed),
            free: human_bytes(free),
        }),
        _ => Ok(()),
    }
}
