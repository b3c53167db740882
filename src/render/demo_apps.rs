//! `artifact/` and `demo-apps/`: the manifests artifact's tree as the `publish` step stages it
//! (the kustomize input Argo CD reads), and the repository Secret, AppProject and Applications
//! the `demo-apps` step applies.
//!
//! What `up` deploys first is the demo image it builds, pinned by its digest, and the
//! Applications pin the digest of the artifact it publishes. Neither exists without Docker, so
//! the render shows the image by its tag (`demo.version`) and pins the digest of the tree it
//! rendered (`oci::pack` is deterministic: publishing `artifact/` gives exactly that digest).

use super::{File, object_file, text_file};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::platform::demo_image::Faults;
use crate::platform::gitops::{self, DemoImage, EnvRelease};
use std::path::Path;

/// The demo render: its files, and the staged tree (kept for kustomize).
pub(super) struct Demo {
    pub files: Vec<File>,
    pub notes: Vec<String>,
    pub staged: tempfile::TempDir,
}

pub(super) fn render(config: &Config) -> Result<Demo> {
    let version = &config.demo.version;
    let release = EnvRelease {
        version: version.clone(),
        image: DemoImage::for_release(config, &Faults::default().tag(version)),
        profile: config.demo.profile,
    };
    let releases = gitops::same_everywhere(&release);
    let failed = |e: std::io::Error| Error::context("cannot stage the manifests artifact", e);
    let staged = tempfile::Builder::new()
        .prefix("kindling-render-")
        .tempdir()
        .map_err(failed)?;
    gitops::stage(staged.path(), config, &releases).map_err(failed)?;
    let revision = crate::docker::oci::pack(staged.path())
        .map_err(|e| Error::context("cannot pack the manifests artifact", e))?
        .digest;

    let mut files = Vec::new();
    for relative in tree(staged.path()).map_err(failed)? {
        let content = std::fs::read_to_string(staged.path().join(&relative)).map_err(failed)?;
        files.push(text_file("artifact", &relative, content));
    }
    files.extend(
        super::as_applied(
            config,
            gitops::argocd_objects_for(config, &revision, &releases),
        )
        .iter()
        .map(|o| object_file("demo-apps", o)),
    );
    let notes = vec![format!(
        "demo: every environment runs {image}:{tag} (up pins the digest of the image it builds) \
         and the Applications pin {revision}, the digest of artifact/ as packed (up pins the \
         digest of the artifact it publishes)",
        image = release.image.repository,
        tag = release.image.tag,
    )];
    Ok(Demo {
        files,
        notes,
        staged,
    })
}

/// Every file below `root`, relative and `/`-separated, in name order.
fn tree(root: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push(parts.join("/"));
            }
        }
    }
    files.sort();
    Ok(files)
}
