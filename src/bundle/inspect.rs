//! `bundle inspect`: what a bundle holds, read from its manifest alone (seconds, whatever its size).

use super::error::BundleError;
use super::manifest::{BundleManifest, ImageRole, blob_path};
use super::platform::Platform;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub path: String,
    pub format: String,
    pub kindling_version: String,
    pub created: String,
    /// The file's size.
    pub file_bytes: u64,
    /// The distinct blobs (each stored once, however many images share it).
    pub unique_blob_bytes: u64,
    pub pins: BTreeMap<String, String>,
    pub platforms: Vec<Platform>,
    pub hosts: Vec<Platform>,
    pub images: Vec<ImageSummary>,
    pub charts: Vec<ChartSummary>,
    pub files: Vec<FileSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    pub name: String,
    pub role: ImageRole,
    pub platforms: Vec<Platform>,
    pub digest: String,
    /// Set when the bundle serves a reduced index (not every upstream platform is inside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_digest: Option<String>,
    /// Its manifests and blobs (blobs shared with other images count for each).
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChartSummary {
    pub name: String,
    pub version: String,
    pub source: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub role: super::manifest::FileRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Platform>,
    pub bytes: u64,
}

pub fn summarize(path: &Path, file_bytes: u64, m: &BundleManifest) -> Summary {
    let size = |entry: &str| m.entry(entry).map_or(0, |e| e.size);
    let images = m
        .images
        .iter()
        .map(|i| ImageSummary {
            name: i.name.clone(),
            role: i.role,
            platforms: i
                .manifests
                .iter()
                .filter_map(|r| r.platform.clone())
                .filter(|p| p.os != "unknown")
                .collect(),
            digest: i.digest.clone(),
            upstream_digest: (i.digest != i.upstream_digest).then(|| i.upstream_digest.clone()),
            bytes: i
                .manifests
                .iter()
                .map(|r| r.digest.as_str())
                .chain(i.blobs.iter().map(String::as_str))
                .map(|d| size(&blob_path(d)))
                .sum(),
        })
        .collect();
    let mut seen = HashSet::new();
    let unique_blob_bytes = m
        .entries
        .iter()
        .filter(|e| e.path.starts_with("blobs/") && seen.insert(e.path.clone()))
        .map(|e| e.size)
        .sum();
    Summary {
        path: path.display().to_string(),
        format: m.format.clone(),
        kindling_version: m.kindling_version.clone(),
        created: m.created.clone(),
        file_bytes,
        unique_blob_bytes,
        pins: m.pins.clone(),
        platforms: m.platforms.clone(),
        hosts: m.hosts.clone(),
        images,
        charts: m
            .charts
            .iter()
            .map(|c| ChartSummary {
                name: c.name.clone(),
                version: c.version.clone(),
                source: c.source.clone(),
                bytes: c.size,
            })
            .collect(),
        files: m
            .files
            .iter()
            .map(|f| FileSummary {
                path: f.path.clone(),
                role: f.role,
                host: f.host.clone(),
                bytes: size(&f.path),
            })
            .collect(),
    }
}

/// Reads a bundle's manifest and summarises it.
pub async fn inspect(path: &Path) -> Result<Summary, BundleError> {
    let manifest = super::archive::read_manifest(path).await?;
    let bytes = tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(summarize(path, bytes, &manifest))
}
