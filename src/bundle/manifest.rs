//! The bundle's table of contents (`manifest.json`, the first entry of the file): which
//! kindling and which pins it was made for, its platforms, every image, chart and file in it,
//! and the size and sha256 of every other entry, so a reader can verify the file as it streams.

use super::platform::Platform;
use crate::config::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format this kindling writes and reads.
pub const FORMAT: &str = "kindling-bundle/v1";
/// The first entry of every bundle.
pub const MANIFEST_PATH: &str = "manifest.json";
/// OCI image layout marker and index: the blobs are laid out as an OCI image layout, so tools
/// that read one (skopeo `oci-archive:`, `oras`) can read the images in a bundle too.
pub const OCI_LAYOUT_PATH: &str = "oci-layout";
pub const OCI_INDEX_PATH: &str = "index.json";
/// Where a blob lives in the bundle: once, by its digest.
pub fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}
/// The digest a `blobs/<alg>/<hex>` path names.
pub fn digest_of_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Some(format!("{alg}:{hex}"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    pub format: String,
    pub kindling_version: String,
    /// RFC 3339, when the bundle was written.
    pub created: String,
    /// What the bundle was made for (see `pins`): a configuration with other values is refused.
    pub pins: BTreeMap<String, String>,
    /// Image platforms, e.g. linux/amd64 and linux/arm64.
    pub platforms: Vec<Platform>,
    /// Hosts the kind CLI is included for, e.g. darwin/arm64.
    pub hosts: Vec<Platform>,
    pub images: Vec<ImageRecord>,
    pub charts: Vec<ChartRecord>,
    pub files: Vec<FileRecord>,
    /// Every entry after this manifest, in file order.
    pub entries: Vec<Entry>,
}

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    /// Hex, without the `sha256:` prefix.
    pub sha256: String,
}

/// What an image is for, which decides where a load puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageRole {
    /// Run by the platform: pushed into the local registry under `<upstream>/<repository>`.
    Platform,
    /// The kind node image (pinned by digest): also pulled into Docker for kind.
    Node,
    /// The registry image: loaded into Docker so the registry can start offline.
    Registry,
    /// From the local registry (the demo app, or what a user pushed there): pushed back under
    /// the same repository.
    Local,
}

/// A manifest or index of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRef {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// The platform of an image manifest inside an index (None: the index itself, or a
    /// single-platform image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The reference as the platform uses it, normalised: `docker.io/library/redis:8.2.3-alpine`.
    pub name: String,
    pub role: ImageRole,
    /// The upstream registry host (`docker.io`, `quay.io`), or `local` for the local registry's images.
    pub registry: String,
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The upstream's digest for this reference (an index for multi-platform images).
    pub upstream_digest: String,
    /// What the reference resolves to after a load: the upstream digest, unless the upstream
    /// index lists platforms the bundle does not hold (then a reduced index, see `images`).
    pub digest: String,
    /// Manifests in push order: image manifests first, then the index that lists them.
    pub manifests: Vec<ManifestRef>,
    /// Config and layer blobs, each once.
    pub blobs: Vec<String>,
}

impl ImageRecord {
    /// The repository in the local registry: `<upstream>/<repository>` (what containerd's
    /// hosts.toml with `override_path` asks for), or the repository itself for the demo app.
    pub fn local_repository(&self) -> String {
        match self.role {
            ImageRole::Local => self.repository.clone(),
            _ => format!("{}/{}", self.registry, self.repository),
        }
    }

    /// The image manifest for a platform (the only manifest of a single-platform image).
    pub fn manifest_for(&self, platform: &Platform) -> Option<&ManifestRef> {
        let images: Vec<&ManifestRef> = self
            .manifests
            .iter()
            .filter(|m| !super::oci::is_index(&m.media_type))
            .collect();
        images
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
            })
            .or_else(|| (images.len() == 1 && images[0].platform.is_none()).then_some(&images[0]))
            .copied()
    }
}

/// A Helm chart, stored as its .tgz (byte for byte what the chart repository serves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartRecord {
    pub name: String,
    pub version: String,
    /// Where it came from: the Application's repoURL (`https://...` or `oci://...`).
    pub source: String,
    /// sha256 digest of the .tgz (its blob).
    pub digest: String,
    pub size: u64,
    /// The OCI artifact Helm pulls: its manifest and config blobs.
    pub manifest: String,
    pub config: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// The kind CLI for one host (`host`).
    KindCli,
    /// An upstream manifest kindling applies (Argo CD's install.yaml).
    Manifest,
    /// kindling's own release binary for one host (`host`), so a laptop needs nothing but the
    /// bundle: the bundle is a plain tar, `tar -xf` takes it out.
    Kindling,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub role: FileRole,
    /// The entry: `files/<project>/<version>/<file>` (a `--bundle DIR` folder's layout under files/).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Platform>,
}

/// The values a bundle is bound to: a configuration that differs in any of them needs other
/// images, charts or files than the bundle holds.
pub fn pins(config: &Config) -> BTreeMap<String, String> {
    let mut pins = BTreeMap::from([
        (
            "cluster.kind_version".to_string(),
            config.cluster.kind_version.clone(),
        ),
        (
            "cluster.node_image".to_string(),
            config.cluster.node_image.clone(),
        ),
        ("registry.image".to_string(), config.registry.image.clone()),
    ]);
    // Every component version, whatever components the configuration has.
    if let Ok(toml::Value::Table(components)) = toml::Value::try_from(&config.components) {
        for (key, value) in components {
            if let toml::Value::String(v) = value {
                pins.insert(format!("components.{key}"), v);
            }
        }
    }
    pins
}

/// Each pin that differs: (key, the bundle's value, the configuration's value); a key only
/// one side has shows as "(none)" on the other.
pub fn pin_differences(
    bundle: &BTreeMap<String, String>,
    config: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    let none = || "(none)".to_string();
    let mut keys: Vec<&String> = bundle.keys().chain(config.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| bundle.get(*k) != config.get(*k))
        .map(|k| {
            (
                k.clone(),
                bundle.get(k).cloned().unwrap_or_else(none),
                config.get(k).cloned().unwrap_or_else(none),
            )
        })
        .collect()
}

impl BundleManifest {
    /// Total bytes of the entries after the manifest.
    pub fn content_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// Every digest an image or chart needs that has no entry (a bundle that is missing
    /// something is refused before anything is loaded).
    pub fn missing_blobs(&self) -> Vec<String> {
        let have: std::collections::HashSet<&str> =
            self.entries.iter().map(|e| e.path.as_str()).collect();
        let mut missing: Vec<String> = self
            .images
            .iter()
            .flat_map(|i| {
                i.manifests
                    .iter()
                    .map(|m| m.digest.clone())
                    .chain(i.blobs.clone())
            })
            .chain(
                self.charts
                    .iter()
                    .flat_map(|c| [c.digest.clone(), c.manifest.clone(), c.config.clone()]),
            )
            .filter(|d| !have.contains(blob_path(d).as_str()))
            .collect();
        missing.extend(
            self.files
                .iter()
                .filter(|f| !have.contains(f.path.as_str()))
                .map(|f| f.path.clone()),
        );
        missing.sort();
        missing.dedup();
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_name_every_component_and_the_node_image() {
        let config = Config::builtin();
        let pins = pins(&config);
        assert_eq!(pins["components.argocd"], "v3.5.1");
        assert_eq!(pins["cluster.node_image"], config.cluster.node_image);
        assert!(pins.contains_key("components.kube_prometheus_stack"));
        assert!(pins.contains_key("registry.image"));
    }

    #[test]
    fn pin_differences_name_the_key_and_both_values() {
        let a = pins(&Config::builtin());
        let mut config = Config::builtin();
        config.components.argocd = "v3.5.0".into();
        let b = pins(&config);
        assert_eq!(
            pin_differences(&a, &b),
            [(
                "components.argocd".to_string(),
                "v3.5.1".to_string(),
                "v3.5.0".to_string()
            )]
        );
        let mut c = b.clone();
        c.remove("components.traefik");
        assert!(
            pin_differences(&a, &c)
                .iter()
                .any(|(k, _, v)| k == "components.traefik" && v == "(none)")
        );
    }

    #[test]
    fn blobs_live_once_under_their_digest() {
        let d = "sha256:aabb";
        assert_eq!(blob_path(d), "blobs/sha256/aabb");
        assert_eq!(digest_of_path(&blob_path(d)).as_deref(), Some(d));
        assert_eq!(digest_of_path("files/kind/x"), None);
    }
}
