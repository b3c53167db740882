//! Getting a pinned artifact: from an offline bundle (`--bundle DIR`), the cache, or the
//! network, in that order; verified against its pinned sha256 before anyone reads it.

use super::pinned::Artifact;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{name} {version} has no pinned checksum")]
    Unpinned { name: String, version: String },
    #[error("{name} version {version:?} is not a release version")]
    BadVersion { name: String, version: String },
    #[error("{path} does not match the pinned sha256 (expected {expected}, got {actual})")]
    Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path} is not in the bundle {bundle}")]
    NotInBundle { path: PathBuf, bundle: PathBuf },
    #[error("cannot download {url}")]
    Download {
        url: String,
        #[source]
        source: crate::net::NetError,
    },
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            FetchError::Unpinned { .. } => {
                "use the pinned version from the built-in bootstrap.toml, or pass --allow-unpinned to trust it unverified".into()
            }
            FetchError::BadVersion { .. } => {
                "use a release version such as v3.5.1 (components.* in bootstrap.toml)".into()
            }
            FetchError::Mismatch { .. } => {
                "the file was changed or corrupted: delete it and fetch it again from the pinned URL".into()
            }
            FetchError::NotInBundle { .. } => "the bundle is laid out as <project>/<version>/<file>; add the file".into(),
            FetchError::Download { source, .. } if source.is_network() => {
                crate::net::OFFLINE_HINT.into()
            }
            FetchError::Download { .. } => {
                "the pinned URL did not give the file: check the version (components.* in bootstrap.toml); offline, `kindling up --bundle FILE` (docs/workshop.md)".into()
            }
            FetchError::Io { .. } => return None,
        })
    }
}

impl crate::error::Diagnose for FetchError {
    fn area(&self) -> &str {
        "upstream manifests"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }
}

/// Where to look for artifacts.
#[derive(Debug, Clone)]
pub struct Sources {
    /// An offline bundle; when set, the network is never used.
    pub bundle: Option<PathBuf>,
    /// Downloads are kept here, under `<project>/<version>/<file>`.
    pub cache_dir: PathBuf,
    pub allow_unpinned: bool,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks `bytes` against the artifact's pin.
fn verify(
    artifact: &Artifact,
    path: &Path,
    bytes: &[u8],
    allow_unpinned: bool,
) -> Result<(), FetchError> {
    match artifact.sha256 {
        Some(expected) => {
            let actual = sha256_hex(bytes);
            if actual == expected {
                Ok(())
            } else {
                Err(FetchError::Mismatch {
                    path: path.to_path_buf(),
                    expected: expected.into(),
                    actual,
                })
            }
        }
        None if allow_unpinned => Ok(()),
        None => Err(FetchError::Unpinned {
            name: artifact.project.into(),
            version: artifact.version.clone(),
        }),
    }
}

/// The artifact's verified content.
pub async fn fetch(artifact: &Artifact, sources: &Sources) -> Result<Vec<u8>, FetchError> {
    let relative = artifact
        .relative_path()
        .ok_or_else(|| FetchError::BadVersion {
            name: artifact.project.into(),
            version: artifact.version.clone(),
        })?;
    if artifact.sha256.is_none() && !sources.allow_unpinned {
        return Err(FetchError::Unpinned {
            name: artifact.project.into(),
            version: artifact.version.clone(),
        });
    }
    if let Some(bundle) = &sources.bundle {
        let path = bundle.join(&relative);
        let bytes = std::fs::read(&path).map_err(|_| FetchError::NotInBundle {
            path: path.clone(),
            bundle: bundle.clone(),
        })?;
        verify(artifact, &path, &bytes, sources.allow_unpinned)?;
        return Ok(bytes);
    }
    let cached = sources.cache_dir.join(&relative);
    if let Ok(bytes) = std::fs::read(&cached) {
        if verify(artifact, &cached, &bytes, sources.allow_unpinned).is_ok() {
            return Ok(bytes);
        }
        // A damaged cache entry is replaced by a fresh download.
        let _ = std::fs::remove_file(&cached);
    }
    let bytes = download(&artifact.url).await?;
    verify(
        artifact,
        Path::new(&artifact.url),
        &bytes,
        sources.allow_unpinned,
    )?;
    let io = |source| FetchError::Io {
        path: cached.clone(),
        source,
    };
    std::fs::create_dir_all(cached.parent().expect("has a parent")).map_err(io)?;
    let partial = cached.with_extension("partial");
    std::fs::write(&partial, &bytes).map_err(io)?;
    std::fs::rename(&partial, &cached).map_err(io)?;
    Ok(bytes)
}

async fn download(url: &str) -> Result<Vec<u8>, FetchError> {
    let limits = crate::net::Limits {
        connect: std::time::Duration::from_secs(10),
        total: Some(std::time::Duration::from_secs(120)),
    };
    let failed = |source| FetchError::Download {
        url: url.into(),
        source,
    };
    let client = limits.client().map_err(failed)?;
    let response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| failed(limits.classify(e)))?;
    Ok(response
        .bytes()
        .await
        .map_err(|e| failed(limits.classify(e)))?
        .to_vec())
}
