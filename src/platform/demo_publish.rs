//! What each demo environment runs, read back from the cluster, and the manifests artifact
//! published with it. `up` and `release` both go through here, so a release of one environment
//! keeps the others as they are, and `up` after a release does not undo it.
//!
//! The record is three annotations on each environment's Application (`gitops::record_release`):
//! the cluster is the state, so a fresh cluster starts from `demo.version` and nothing on the
//! host can go stale.

use super::demo_checks::application_resource;
use super::gitops::{self, EnvRelease};
use crate::config::Config;
use crate::docker::oci::{self, Published};
use crate::docker::registry_auth::PushTarget;
use crate::environments::ENVIRONMENTS;
use crate::error::{Error, Result};
use crate::report::{ReporterExt, SharedReporter};
use kube::api::{Api, DynamicObject};
use std::collections::BTreeMap;

/// The artifact's tag (Applications pin the digest; the tag only says which is newest).
pub const ARTIFACT_TAG: &str = "latest";

/// Each environment's recorded release when its image is still in the registry, else `fallback`.
/// A cluster without Argo CD yet (first `up`) has no records.
pub async fn current_releases(
    client: &kube::Client,
    registry: &PushTarget,
    fallback: &EnvRelease,
    reporter: &SharedReporter,
) -> Result<BTreeMap<String, EnvRelease>> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        super::applications::ARGOCD_NAMESPACE,
        &application_resource(),
    );
    let mut releases = BTreeMap::new();
    for env in &ENVIRONMENTS {
        let name = gitops::application_name(env);
        let recorded = match api.get_opt(&name).await {
            Ok(found) => found.and_then(|o| {
                let value = serde_json::to_value(&o).ok()?;
                gitops::recorded_release(&value)
            }),
            // No Application CRD yet: nothing recorded.
            Err(kube::Error::Api(e)) if e.code == 404 => None,
            Err(e) => return Err(Error::context(format!("cannot read Application {name}"), e)),
        };
        let release = match recorded {
            Some(r) if image_present(registry, &r).await => r,
            Some(r) => {
                reporter.warn(
                    format!(
                        "{}: {} ({}:{}) is no longer in the registry; deploying {} again",
                        env.name, r.version, r.image.repository, r.image.tag, fallback.version
                    ),
                    Some(format!(
                        "`kindling release {} {}` to deploy it again",
                        env.name, r.version
                    )),
                );
                fallback.clone()
            }
            None => fallback.clone(),
        };
        releases.insert(env.name.to_string(), release);
    }
    Ok(releases)
}

async fn image_present(registry: &PushTarget, release: &EnvRelease) -> bool {
    let name = release
        .image
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(super::demo_image::IMAGE_NAME);
    matches!(
        registry
            .api
            .manifest_digest(&registry.repository(name), &release.image.tag)
            .await,
        Ok(Some(_))
    )
}

/// Stages the manifests with one generated layer per environment and publishes them as the
/// artifact (one step `oci:...`); the digest is the revision Applications pin.
pub async fn publish(
    config: &Config,
    registry: &PushTarget,
    releases: &BTreeMap<String, EnvRelease>,
    reporter: &SharedReporter,
) -> Result<Published> {
    let dir = tempfile::Builder::new()
        .prefix("kindling-manifests-")
        .tempdir()
        .map_err(|e| Error::context("cannot stage the manifests", e))?;
    gitops::stage(dir.path(), config, releases)
        .map_err(|e| Error::context("cannot stage the manifests", e))?;
    let published = oci::publish(
        &registry.api,
        dir.path(),
        &registry.repository(gitops::ARTIFACT_REPO),
        ARTIFACT_TAG,
        reporter,
    )
    .await?;
    Ok(published)
}

/// Reports each environment's release as an info line ("staging: v1.1.0 (fast)").
pub fn describe(releases: &BTreeMap<String, EnvRelease>) -> String {
    releases
        .iter()
        .map(|(env, r)| format!("{env} {} ({})", r.version, r.profile))
        .collect::<Vec<_>>()
        .join(", ")
}
