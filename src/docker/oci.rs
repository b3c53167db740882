//! OCI artifacts: a folder published to the local registry as one gzip'd tar layer
//! (paths relative to the folder), an empty config, and an OCI image manifest. This is
//! the GitOps source Argo CD reads (`repoURL: oci://<registry>/<repo>`, DESIGN.md).
//!
//! Media types: manifest `application/vnd.oci.image.manifest.v1+json`, config
//! `application/vnd.oci.empty.v1+json` (content `{}`), layer
//! `application/vnd.oci.image.layer.v1.tar+gzip` (Argo CD's default accepted layer type;
//! it wants exactly one layer). No `artifactType` and no annotations: distribution 2.8
//! stores the manifest as is, and a timestamp annotation would change the digest on every
//! publish.

use super::archive;
use super::error::{RegistryError, Result};
use super::registry_api::RegistryApi;
use crate::report::{Outcome, ReporterExt, SharedReporter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The empty config blob.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// An OCI image manifest; field order is fixed so the same content gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An artifact ready to push: the layer bytes and the manifest that points at it.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
    pub digest: String,
}

/// Packs a folder (deterministically) into an artifact.
pub fn pack(folder: &Path) -> Result<Artifact> {
    if !folder.is_dir() {
        return Err(RegistryError::Input(format!(
            "{} is not a folder",
            folder.display()
        )));
    }
    let entries = archive::collect(folder, &|_, _| true)?;
    let layer = archive::tar_gz(folder, &entries)?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE.into(),
        config: Descriptor {
            media_type: EMPTY_CONFIG_MEDIA_TYPE.into(),
            digest: sha256_digest(EMPTY_CONFIG),
            size: EMPTY_CONFIG.len() as u64,
        },
        layers: vec![Descriptor {
            media_type: LAYER_MEDIA_TYPE.into(),
            digest: sha256_digest(&layer),
            size: layer.len() as u64,
        }],
    };
    let manifest = serde_json::to_vec(&manifest).expect("manifest serializes");
    let digest = sha256_digest(&manifest);
    Ok(Artifact {
        layer,
        manifest,
        digest,
    })
}

/// The result of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `<repo>:<tag>` as the registry knows it.
    pub reference: String,
    /// The manifest digest (`sha256:...`): what Argo CD can pin as targetRevision.
    pub digest: String,
    /// Created (new tag), Changed (tag moved), Unchanged (same content was already there).
    pub outcome: Outcome,
}

/// Publishes `folder` as `<repo>:<tag>`; when the tag already points at the same content,
/// nothing is pushed and the step reports Unchanged.
pub async fn publish(
    api: &RegistryApi,
    folder: &Path,
    repo: &str,
    tag: &str,
    reporter: &SharedReporter,
) -> Result<Published> {
    let step = reporter.step(
        &format!("oci:{repo}:{tag}"),
        &format!("Publish {repo}:{tag}"),
    );
    match publish_inner(api, folder, repo, tag, &step).await {
        Ok(published) => {
            let detail = match published.outcome {
                Outcome::Unchanged => format!("{} (already published)", published.digest),
                _ => published.digest.clone(),
            };
            step.finish(published.outcome, Some(detail));
            Ok(published)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

async fn publish_inner(
    api: &RegistryApi,
    folder: &Path,
    repo: &str,
    tag: &str,
    step: &crate::report::Step,
) -> Result<Published> {
    let artifact = pack(folder)?;
    let reference = format!("{repo}:{tag}");
    let current = api.manifest_digest(repo, tag).await?;
    if current.as_deref() == Some(artifact.digest.as_str()) {
        return Ok(Published {
            reference,
            digest: artifact.digest,
            outcome: Outcome::Unchanged,
        });
    }
    let layer_digest = sha256_digest(&artifact.layer);
    let total = artifact.layer.len() as u64;
    step.progress_count("uploading layer", 0, Some(total));
    api.push_blob(repo, &sha256_digest(EMPTY_CONFIG), EMPTY_CONFIG.to_vec())
        .await?;
    api.push_blob(repo, &layer_digest, artifact.layer).await?;
    step.progress_count("uploading layer", total, Some(total));
    let digest = api
        .put_manifest(repo, tag, MANIFEST_MEDIA_TYPE, artifact.manifest)
        .await?;
    if digest != artifact.digest {
        return Err(RegistryError::api(
            format!("PUT manifest {reference}"),
            format!("registry computed {digest}, expected {}", artifact.digest),
        ));
    }
    Ok(Published {
        reference,
        digest,
        outcome: if current.is_some() {
            Outcome::Changed
        } else {
            Outcome::Created
        },
    })
}

/// Fetches `<repo>:<reference>` through the registry API and unpacks its layer into `dest`;
/// returns the manifest digest. Checks the media types Argo CD relies on.
pub async fn pull_and_unpack(
    api: &RegistryApi,
    repo: &str,
    reference: &str,
    dest: &Path,
) -> Result<String> {
    let manifest = api.get_manifest(repo, reference).await?;
    let call = format!("artifact {repo}:{reference}");
    let parsed: ImageManifest = serde_json::from_slice(&manifest.body)
        .map_err(|e| RegistryError::api(&call, format!("not an OCI image manifest: {e}")))?;
    if parsed.layers.len() != 1 || parsed.layers[0].media_type != LAYER_MEDIA_TYPE {
        return Err(RegistryError::api(
            call,
            format!("expected exactly one {LAYER_MEDIA_TYPE} layer"),
        ));
    }
    let layer = api.get_blob(repo, &parsed.layers[0].digest).await?;
    std::fs::create_dir_all(dest)
        .map_err(RegistryError::io(format!("creating {}", dest.display())))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer.as_slice()));
    archive.set_preserve_mtime(false);
    // `unpack` refuses paths that escape `dest` (.. or absolute).
    archive.unpack(dest).map_err(RegistryError::io(format!(
        "unpacking into {}",
        dest.display()
    )))?;
    Ok(manifest.digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_deterministic_and_content_sensitive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("base")).unwrap();
        std::fs::write(
            dir.path().join("base/kustomization.yaml"),
            "resources: []\n",
        )
        .unwrap();
        let a = pack(dir.path()).unwrap();
        let b = pack(dir.path()).unwrap();
        assert_eq!(a.digest, b.digest);
        std::fs::write(
            dir.path().join("base/kustomization.yaml"),
            "resources: [] \n",
        )
        .unwrap();
        assert_ne!(a.digest, pack(dir.path()).unwrap().digest);

        let manifest: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest["config"]["mediaType"], EMPTY_CONFIG_MEDIA_TYPE);
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
    }

    #[test]
    fn layer_paths_are_relative_to_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.yaml"), "x").unwrap();
        let a = pack(dir.path()).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(a.layer.as_slice()));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app.yaml"]);
    }
}
