//! The demo environments: each one's Application (`demo-app-<env>`, manifests/argocd) and its
//! Rollout, read concurrently and summarized by the Rollout status interpreter.

use super::READ_TIMEOUT;
use super::applications::{self, Listed};
use super::model::{ApplicationStatus, EnvironmentStatus, RolloutPart};
use crate::config::Config;
use crate::environments::{ENVIRONMENTS, Environment};
use crate::platform::demo_checks::awaiting_promotion;
use crate::platform::gitops::{self, EnvRelease};
use crate::rollout::api::RolloutApi;
use crate::rollout::environment::ROLLOUT_NAME;
use crate::rollout::{Rollout, RolloutError, RolloutSummary};
use serde_json::Value;

/// The Application of an environment, as manifests/argocd names it.
pub fn application_name(env: &Environment) -> String {
    format!("demo-app-{}", env.name)
}

fn url(config: &Config, env: &Environment) -> String {
    super::model::urls(config)
        .into_iter()
        .find(|u| u.name == env.host_prefix)
        .map(|u| u.url)
        .unwrap_or_default()
}

/// Every environment's Rollout, read concurrently (in `ENVIRONMENTS` order).
pub async fn rollouts(client: &kube::Client) -> Vec<RolloutPart> {
    futures::future::join_all(
        ENVIRONMENTS
            .iter()
            .map(|env| rollout(client, env.namespace)),
    )
    .await
}

/// The environments from the Application listing and their Rollouts (from `rollouts`).
pub fn assemble(
    config: &Config,
    listed: &Listed,
    rollouts: Vec<RolloutPart>,
) -> Vec<EnvironmentStatus> {
    ENVIRONMENTS
        .iter()
        .zip(rollouts)
        .map(|(env, mut rollout)| {
            let name = application_name(env);
            let recorded = listed
                .as_ref()
                .ok()
                .and_then(|apps| apps.get(&name))
                .and_then(gitops::recorded_release);
            if let Some(version) = recorded.and_then(|r| release_version(&rollout, &r)) {
                rollout.version = Some(version);
            }
            EnvironmentStatus {
                name: env.name.into(),
                namespace: env.namespace.into(),
                url: url(config, env),
                application: applications::one(&name, listed),
                rollout,
            }
        })
        .collect()
}

/// The release version kindling published to the environment (recorded on its Application,
/// `gitops::record_release`), when the Rollout runs that release's image: the image itself
/// is pinned by digest, which says nothing to a person. While Argo CD has not synced the
/// release yet, the image's own tag or digest stands.
fn release_version(rollout: &RolloutPart, release: &EnvRelease) -> Option<String> {
    (rollout.image.as_deref() == Some(release.image.reference().as_str()))
        .then(|| release.version.clone())
}

pub fn unknown(config: &Config, why: &str) -> Vec<EnvironmentStatus> {
    ENVIRONMENTS
        .iter()
        .map(|env| EnvironmentStatus {
            name: env.name.into(),
            namespace: env.namespace.into(),
            url: url(config, env),
            application: ApplicationStatus::unknown(&application_name(env), why),
            rollout: RolloutPart::unknown(ROLLOUT_NAME, why),
        })
        .collect()
}

async fn rollout(client: &kube::Client, namespace: &str) -> RolloutPart {
    let api = RolloutApi::new(client.clone(), namespace, ROLLOUT_NAME);
    let value = match tokio::time::timeout(READ_TIMEOUT, api.fetch()).await {
        Ok(Ok(value)) => value,
        Ok(Err(RolloutError::NotFound { .. })) => {
            return RolloutPart::unknown(ROLLOUT_NAME, "not found");
        }
        Ok(Err(e)) => return RolloutPart::unknown(ROLLOUT_NAME, crate::error::one_line(&e)),
        Err(_) => {
            return RolloutPart::unknown(
                ROLLOUT_NAME,
                format!("no answer within {}s", READ_TIMEOUT.as_secs()),
            );
        }
    };
    from_value(&value)
}

/// Phase, step and weight from the status interpreter; image and version from the pod
/// template (the version replaced by the release's in `assemble`); whether it waits for a
/// person to promote it.
pub fn from_value(value: &Value) -> RolloutPart {
    let ro = match Rollout::from_value(value) {
        Ok(ro) => ro,
        Err(why) => return RolloutPart::unknown(ROLLOUT_NAME, format!("unreadable: {why}")),
    };
    let summary = RolloutSummary::new(&ro, &[]);
    let image = image(value);
    RolloutPart {
        name: summary.name,
        phase: Some(summary.status),
        message: Some(summary.message).filter(|m| !m.is_empty()),
        strategy: summary.strategy,
        step: summary.step,
        set_weight: summary.set_weight,
        version: image.as_deref().and_then(version),
        image,
        awaiting_promotion: awaiting_promotion(&ro).is_some(),
        problem: None,
    }
}

/// The demo-app container's image (the first container's when none is named so).
fn image(rollout: &Value) -> Option<String> {
    let containers = rollout["spec"]["template"]["spec"]["containers"].as_array()?;
    containers
        .iter()
        .find(|c| c["name"] == ROLLOUT_NAME)
        .or_else(|| containers.first())
        .and_then(|c| c["image"].as_str())
        .map(str::to_string)
}

/// The tag (or digest) of an image reference; a registry port is not a tag.
pub fn version(image: &str) -> Option<String> {
    if let Some((_, digest)) = image.split_once('@') {
        return Some(digest.to_string());
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_version_is_the_tag_not_the_registry_port() {
        assert_eq!(
            version("localhost:5001/demo-app:v1.2.0").as_deref(),
            Some("v1.2.0")
        );
        assert_eq!(version("localhost:5001/demo-app"), None);
        assert_eq!(
            version("kind-registry:5000/demo-app@sha256:abc").as_deref(),
            Some("sha256:abc")
        );
    }

    #[test]
    fn the_version_is_the_release_while_the_rollout_runs_its_image() {
        let release = EnvRelease {
            version: "v1.2.0".into(),
            image: crate::platform::gitops::DemoImage {
                repository: "localhost:5001/demo-app".into(),
                tag: "sha256:abc".into(),
            },
            profile: crate::config::Profile::Fast,
        };
        let mut part = RolloutPart::unknown(ROLLOUT_NAME, "x");
        part.image = Some("localhost:5001/demo-app@sha256:abc".into());
        assert_eq!(release_version(&part, &release).as_deref(), Some("v1.2.0"));
        // Argo CD has not synced the release yet: the record says nothing about this image.
        part.image = Some("localhost:5001/demo-app@sha256:old".into());
        assert_eq!(release_version(&part, &release), None);
    }

    #[test]
    fn a_paused_canary_shows_its_step_and_image() {
        let ro = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": { "name": "demo-app", "namespace": "staging", "generation": 2 },
            "spec": {
                "template": { "spec": { "containers": [
                    { "name": "sidecar", "image": "busybox:1" },
                    { "name": "demo-app", "image": "localhost:5001/demo-app:v2.0.0" }
                ] } },
                "strategy": { "canary": { "steps": [
                    { "setWeight": 20 }, { "pause": {} }, { "setWeight": 60 }
                ] } }
            },
            "status": {
                "observedGeneration": "2", "phase": "Paused", "message": "CanaryPauseStep",
                "currentStepIndex": 1,
                "pauseConditions": [{ "reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z" }]
            }
        });
        let part = from_value(&ro);
        assert_eq!(part.phase, Some(crate::rollout::Phase::Paused));
        assert_eq!(part.step.as_deref(), Some("1/3"));
        assert_eq!(part.set_weight, Some(20));
        assert_eq!(
            part.image.as_deref(),
            Some("localhost:5001/demo-app:v2.0.0")
        );
        assert_eq!(part.version.as_deref(), Some("v2.0.0"));
    }
}
