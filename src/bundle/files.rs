//! Files a bundle carries besides images and charts: the kind CLI for each host (downloaded and
//! checked against the `.sha256sum` kind publishes beside it, as `up` does) and the pinned
//! upstream manifests (Argo CD's install.yaml, checked against its pin). In the bundle they sit
//! under `files/` laid out `<project>/<version>/<file>`, the layout of a `--bundle DIR` folder,
//! which is what a load extracts them to.

use super::error::BundleError;
use super::manifest::{FileRecord, FileRole};
use super::platform::Platform;
use crate::config::Settings;
use crate::env::Env;
use crate::platform::fetch::{self, Sources};
use crate::platform::pinned;
use crate::report::Step;
use std::path::{Path, PathBuf};

/// A file to pack: where it is on this machine, and its record.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub record: FileRecord,
    pub local: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// Where a load puts the files: a folder laid out as `--bundle DIR` expects.
pub fn extracted_dir(settings: &Settings) -> PathBuf {
    settings.cache_dir.join("bundle").join("files")
}

fn kind_entry(version: &str, host: &Platform) -> String {
    format!("files/kind/{version}/{}", host.kind_release_file())
}

async fn describe(record: FileRecord, local: PathBuf) -> Result<LocalFile, BundleError> {
    let bytes = tokio::fs::read(&local)
        .await
        .map_err(BundleError::io("cannot read", &local))?;
    Ok(LocalFile {
        record,
        size: bytes.len() as u64,
        sha256: fetch::sha256_hex(&bytes),
        local,
    })
}

/// The kind CLI for `host`, from the cache or downloaded (sha256-verified).
pub async fn kind_cli(
    settings: &Settings,
    env: &Env,
    host: &Platform,
    step: &Step,
) -> Result<LocalFile, BundleError> {
    let version = &settings.config.cluster.kind_version;
    let local = settings
        .cache_dir
        .join("bundle/kind")
        .join(version)
        .join(host.kind_release_file());
    if !local.is_file() {
        let base = env
            .get("KINDLING_KIND_DOWNLOAD_URL")
            .unwrap_or(crate::cluster::kind_cli::DEFAULT_DOWNLOAD_URL)
            .trim_end_matches('/');
        crate::cluster::kind_cli::download_release(
            base,
            version,
            &host.kind_release_file(),
            &local,
            step,
        )
        .await
        .map_err(|e| BundleError::Upstream {
            what: format!("kind {version} for {host}"),
            reason: e.to_string(),
        })?;
    }
    let record = FileRecord {
        role: FileRole::KindCli,
        path: kind_entry(version, host),
        host: Some(host.clone()),
    };
    describe(record, local).await
}

/// The mode a `files/...` entry is written and extracted with: the kind CLI and kindling run.
pub fn mode(entry: &str) -> u32 {
    if entry.starts_with("files/kind/") || entry.starts_with("files/kindling/") {
        0o755
    } else {
        0o644
    }
}

/// The release asset name of kindling for `host` (.github/workflows/release.yml).
pub fn kindling_release_file(host: &Platform) -> String {
    format!("kindling-{}-{}", host.os, host.architecture)
}

/// kindling's release binary for `host` from `dir` (the release's assets), checked against the
/// `.sha256` beside it (`<sha256>  <file>`, as the release workflow writes it).
pub async fn kindling_release(dir: &Path, host: &Platform) -> Result<LocalFile, BundleError> {
    let name = kindling_release_file(host);
    let missing = |why: String| BundleError::NoRelease {
        dir: dir.to_path_buf(),
        host: host.to_string(),
        file: name.clone(),
        why,
    };
    let local = dir.join(&name);
    if !local.is_file() {
        return Err(missing(format!("{name} is not there")));
    }
    let sums = dir.join(format!("{name}.sha256"));
    let sums = tokio::fs::read_to_string(&sums)
        .await
        .map_err(|e| missing(format!("cannot read {}: {e}", sums.display())))?;
    let expected = sums
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let record = FileRecord {
        role: FileRole::Kindling,
        path: format!("files/kindling/{}/{name}", env!("CARGO_PKG_VERSION")),
        host: Some(host.clone()),
    };
    let file = describe(record, local).await?;
    if file.sha256 != expected {
        return Err(missing(format!(
            "{name} has sha256 {}, its .sha256 says {expected:?}",
            file.sha256
        )));
    }
    Ok(file)
}

/// Argo CD's install.yaml at the pinned version (cache or network, checked against its pin).
pub async fn argocd_install(
    settings: &Settings,
    allow_unpinned: bool,
) -> Result<LocalFile, BundleError> {
    let artifact = pinned::argocd_install(&settings.config.components.argocd);
    let sources = Sources {
        bundle: None,
        cache_dir: settings.cache_dir.clone(),
        allow_unpinned,
    };
    fetch::fetch(&artifact, &sources)
        .await
        .map_err(|e| BundleError::Upstream {
            what: artifact.url.clone(),
            reason: e.to_string(),
        })?;
    let relative = artifact
        .relative_path()
        .ok_or_else(|| BundleError::Upstream {
            what: artifact.url.clone(),
            reason: "its version is not a plain name (it would leave the cache folder)".into(),
        })?;
    let record = FileRecord {
        role: FileRole::Manifest,
        path: format!("files/{}", relative.display()),
        host: None,
    };
    describe(record, settings.cache_dir.join(relative)).await
}

/// The path under `dir` a `files/...` entry extracts to.
pub fn extract_path(dir: &Path, entry: &str) -> Option<PathBuf> {
    let rest = entry.strip_prefix("files/")?;
    // Entries are written by kindling, but a damaged manifest must not write outside `dir`.
    let safe = rest
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != "..");
    safe.then(|| dir.join(rest))
}

/// The kind CLI for this machine in a bundle.
pub fn kind_for_host<'a>(records: &'a [FileRecord], host: &Platform) -> Option<&'a FileRecord> {
    records
        .iter()
        .find(|f| f.role == FileRole::KindCli && f.host.as_ref() == Some(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_release_asset_must_match_its_published_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let host = Platform::parse("darwin/arm64").unwrap();
        let asset = dir.path().join("kindling-darwin-arm64");
        let refused = |e: BundleError| match e {
            BundleError::NoRelease { why, .. } => why,
            other => panic!("{other}"),
        };
        let why = refused(kindling_release(dir.path(), &host).await.unwrap_err());
        assert!(why.contains("kindling-darwin-arm64 is not there"), "{why}");
        std::fs::write(&asset, b"kindling").unwrap();
        let why = refused(kindling_release(dir.path(), &host).await.unwrap_err());
        assert!(why.contains("kindling-darwin-arm64.sha256"), "{why}");
        let sum = fetch::sha256_hex(b"kindling");
        std::fs::write(asset.with_extension("sha256"), format!("{sum}  x\n")).unwrap();
        let file = kindling_release(dir.path(), &host).await.unwrap();
        assert_eq!(file.record.role, FileRole::Kindling);
        assert_eq!(
            file.record.path,
            format!(
                "files/kindling/{}/kindling-darwin-arm64",
                env!("CARGO_PKG_VERSION")
            )
        );
        std::fs::write(&asset, b"kindlinG").unwrap();
        let why = refused(kindling_release(dir.path(), &host).await.unwrap_err());
        assert!(why.contains("its .sha256 says"), "{why}");
    }

    #[test]
    fn files_extract_only_inside_the_folder() {
        let dir = Path::new("/x");
        assert_eq!(
            extract_path(dir, "files/argo-cd/v3.5.1/install.yaml"),
            Some(PathBuf::from("/x/argo-cd/v3.5.1/install.yaml"))
        );
        assert_eq!(extract_path(dir, "files/../etc/passwd"), None);
        assert_eq!(extract_path(dir, "blobs/sha256/aa"), None);
    }
}
