//! What `up` and `release` wait for on the demo environments: the Application synced at a
//! given artifact revision, the Rollout settled — Healthy (the status interpreter of
//! `rollout::status`) or paused for a person to promote it — or at least running a given
//! image, and the environment's URL answering over HTTPS.

use super::applications::ARGOCD_NAMESPACE;
use crate::config::Config;
use crate::environments::Environment;
use crate::error::{Error, Result};
use crate::k8s::{Condition, Target, Verdict};
use crate::rollout::{Phase, Rollout, status};
use kube::api::{ApiResource, DynamicObject};
use std::time::Duration;

/// `argoproj.io/v1alpha1` Application, without discovery (its CRD is Argo CD's).
pub fn application_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

/// `argoproj.io/v1alpha1` Rollout.
pub fn rollout_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Rollout".into(),
        plural: "rollouts".into(),
    }
}

pub fn application_target(env: &Environment) -> Target {
    Target::namespaced(
        application_resource(),
        ARGOCD_NAMESPACE,
        &super::gitops::application_name(env),
    )
}

pub fn rollout_target(env: &Environment) -> Target {
    Target::namespaced(
        rollout_resource(),
        env.namespace,
        crate::rollout::environment::ROLLOUT_NAME,
    )
}

/// Synced and settled, and what Argo CD synced is `revision` (status.sync.revision, the
/// artifact digest it resolved): a Synced status of the previous revision does not count.
/// Settled: Healthy, or Suspended — Argo CD v3.5.1 rates a paused Rollout Suspended
/// (resource_customizations/argoproj.io/Rollout/health.lua: phase Paused → Suspended), and
/// production pauses for a manual promotion after every release. Whether the pause waits for
/// a person or ends by itself is the Rollout's to say (`rollout_settled`).
pub fn application_synced_at(revision: &str) -> Condition {
    let revision = revision.to_string();
    let synced = crate::k8s::wait::application_synced_healthy();
    Condition::new(
        format!("Synced and Healthy (or Suspended) at {revision}"),
        move |o| {
            let Some(object) = o else {
                return Verdict::Pending("it does not exist".into());
            };
            let seen = object.data["status"]["sync"]["revision"]
                .as_str()
                .unwrap_or("");
            if seen != revision {
                return Verdict::Pending(format!(
                    "Argo CD has not synced {revision} yet (sync revision {seen:?})"
                ));
            }
            let status = &object.data["status"];
            match synced.check(o) {
                // Not failed (no failed sync, no error condition): Suspended is the pause.
                Verdict::Pending(_)
                    if status["sync"]["status"] == "Synced"
                        && status["health"]["status"] == "Suspended" =>
                {
                    Verdict::Done
                }
                verdict => verdict,
            }
        },
    )
    .explained_by(super::app_health::explain)
}

/// What to tell a person whose environment waits for them.
pub fn awaiting_promotion_note(environment: &str) -> String {
    format!("awaiting promotion — `kindling rollout promote {environment}`")
}

/// Why the Rollout waits for a person, if it does: the controller paused it until someone
/// promotes it (BlueGreenPause with autoPromotionEnabled false — production after every
/// release —, a canary pause step without a duration, an inconclusive analysis) or someone
/// paused it (spec.paused); `kindling rollout promote` resumes each. A timed canary pause ends
/// by itself and is not one of them. Only for a spec the controller has observed.
pub fn awaiting_promotion(ro: &Rollout) -> Option<String> {
    if !status::generation_observed(ro) || status::phase(ro).0 != Phase::Paused {
        return None;
    }
    if ro.spec.paused {
        return Some("paused by a user".into());
    }
    ro.status
        .pause_conditions
        .iter()
        .find_map(|c| match c.reason.as_str() {
            "BlueGreenPause" | "InconclusiveAnalysis" => Some(c.reason.clone()),
            "CanaryPauseStep" => {
                let steps = ro.spec.strategy.canary.as_ref().map(|c| &c.steps)?;
                let step = steps.get(ro.status.current_step_index? as usize)?;
                let pause = step.pause.as_ref()?;
                pause
                    .duration
                    .is_none()
                    .then(|| "CanaryPauseStep without a duration".to_string())
            }
            _ => None,
        })
}

/// Argo CD has synced `revision`: status.sync.revision is it, Synced, and the last sync
/// operation (for that revision) succeeded. Health is not required: during a canary the
/// Application is Progressing or Suspended by design. A failed sync fails at once.
pub fn application_synced_revision(revision: &str) -> Condition {
    let revision = revision.to_string();
    Condition::new(format!("synced at {revision}"), move |o| {
        let Some(o) = o else {
            return Verdict::Pending("it does not exist".into());
        };
        let s = &o.data["status"];
        let op = &s["operationState"];
        let op_revision = op["syncResult"]["revision"].as_str().unwrap_or("");
        if let Some(phase @ ("Failed" | "Error")) = op["phase"].as_str()
            && op_revision == revision
        {
            return Verdict::Failed(format!(
                "sync {phase}: {}",
                op["message"].as_str().unwrap_or("(no message)")
            ));
        }
        let seen = s["sync"]["revision"].as_str().unwrap_or("");
        let sync = s["sync"]["status"].as_str().unwrap_or("Unknown");
        let phase = op["phase"].as_str().unwrap_or("");
        if seen == revision && sync == "Synced" && (phase.is_empty() || phase == "Succeeded") {
            Verdict::Done
        } else {
            Verdict::Pending(format!(
                "sync {sync} at {seen:?}, operation {phase:?} at {op_revision:?}"
            ))
        }
    })
}

fn rollout_of(o: &DynamicObject) -> std::result::Result<Rollout, String> {
    let value = serde_json::to_value(o).map_err(|e| e.to_string())?;
    Rollout::from_value(&value)
}

/// The Rollout is settled: done the way the rollout status interpreter says (Healthy, the
/// current spec observed, fully promoted), or paused until a person promotes it
/// (`awaiting_promotion`); Degraded fails at once with the controller's message.
pub fn rollout_settled() -> Condition {
    Condition::new("Healthy (or awaiting promotion)", |o| {
        let Some(o) = o else {
            return Verdict::Pending("it does not exist yet (Argo CD has not created it)".into());
        };
        let ro = match rollout_of(o) {
            Ok(ro) => ro,
            Err(e) => return Verdict::Failed(format!("not a Rollout: {e}")),
        };
        let (phase, message) = status::phase(&ro);
        match phase {
            Phase::Degraded => Verdict::Failed(format!("Degraded: {message}")),
            _ if status::is_done(&ro) || awaiting_promotion(&ro).is_some() => Verdict::Done,
            _ => Verdict::Pending(format!("{phase} {message}").trim().to_string()),
        }
    })
}

/// The environment's Rollout (as `rollout_settled` returned it) waits for a person: what to
/// tell them.
pub fn settled_note(environment: &str, rollout: Option<&DynamicObject>) -> Option<String> {
    let ro = rollout_of(rollout?).ok()?;
    awaiting_promotion(&ro).map(|_| awaiting_promotion_note(environment))
}

/// The Rollout's template runs `image` and the controller has observed that spec: the
/// rollout of a new release has started.
pub fn rollout_started(image: &str) -> Condition {
    let image = image.to_string();
    Condition::new(format!("rolling out {image}"), move |o| {
        let Some(o) = o else {
            return Verdict::Pending("it does not exist".into());
        };
        let current = o.data["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("");
        if current != image {
            return Verdict::Pending(format!("its template still runs {current}"));
        }
        match rollout_of(o) {
            Ok(ro) if status::generation_observed(&ro) => Verdict::Done,
            Ok(_) => Verdict::Pending("the controller has not observed the new template".into()),
            Err(e) => Verdict::Failed(format!("not a Rollout: {e}")),
        }
    })
}

/// `https://<prefix>.<domain>` (with the port when it is not 443).
pub fn url(config: &Config, prefix: &str) -> String {
    let host = format!("{prefix}.{}", config.network.domain);
    match config.network.https_port {
        443 => format!("https://{host}"),
        port => format!("https://{host}:{port}"),
    }
}

/// An HTTPS client that reaches every platform host on 127.0.0.1:`https_port` and trusts only
/// kindling's CA: no hosts file entry and no system trust needed (CI, a fresh machine).
pub fn https_client(config: &Config, ca_der: &[u8]) -> Result<reqwest::Client> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], config.network.https_port));
    https_client_at(config, addr, Some(ca_der))
}

/// An HTTPS client that reaches every platform host at `addr` (an existing cluster's ingress
/// address), trusting only `ca_der` (kindling's CA), or the system's roots when None (an
/// existing ClusterIssuer, e.g. ACME, signed the certificates).
pub fn https_client_at(
    config: &Config,
    addr: std::net::SocketAddr,
    ca_der: Option<&[u8]>,
) -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy();
    if let Some(ca_der) = ca_der {
        let certificate = reqwest::Certificate::from_der(ca_der)
            .map_err(|e| Error::failed("reading the local CA certificate", e))?;
        builder = builder.tls_certs_only([certificate]);
    }
    for host in config.ingress_hosts() {
        builder = builder.resolve(&host, addr);
    }
    builder
        .build()
        .map_err(|e| Error::context("cannot make an HTTPS client", e))
}

/// Waits until `url` answers 2xx over HTTPS, trusting only the CA; the error says what was
/// last seen (connection refused, certificate not trusted, 404 from the ingress, ...).
pub async fn wait_https(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<()> {
    let answered = crate::retry::retry(
        timeout,
        Duration::from_millis(500),
        || async {
            match client.get(url).send().await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => Err(format!("HTTP {}", response.status())),
                Err(e) => Err(crate::error::full_line(&e)),
            }
        },
        |_| true,
    )
    .await;
    answered.map_err(|seen| {
        Error::failed(
            format!("{url} does not answer over HTTPS"),
            format!("after {}: {seen}", crate::report::format_duration(timeout)),
        )
        .with_hint(
            "check the ingress and its certificate: `kubectl get ingress,certificate -A`, \
             and that Traefik runs (`kindling status`)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paused(steps: serde_json::Value, reason: &str, step: i64) -> Rollout {
        Rollout::from_value(&json!({
            "metadata": { "name": "demo-app", "generation": 2 },
            "spec": { "strategy": steps },
            "status": {
                "observedGeneration": "2", "phase": "Paused", "message": reason,
                "currentStepIndex": step, "controllerPause": true,
                "pauseConditions": [{ "reason": reason, "startTime": "2026-11-26T07:00:00Z" }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn only_a_pause_that_waits_for_a_person_is_awaiting_promotion() {
        let blue_green = json!({ "blueGreen": { "activeService": "a", "previewService": "p" } });
        assert!(awaiting_promotion(&paused(blue_green, "BlueGreenPause", 0)).is_some());
        let canary = json!({ "canary": { "steps": [
            { "setWeight": 20 }, { "pause": { "duration": "1m" } }, { "pause": {} }
        ] } });
        assert!(
            awaiting_promotion(&paused(canary.clone(), "CanaryPauseStep", 1)).is_none(),
            "a timed pause ends by itself"
        );
        assert!(awaiting_promotion(&paused(canary.clone(), "CanaryPauseStep", 2)).is_some());
        assert!(awaiting_promotion(&paused(canary, "InconclusiveAnalysis", 0)).is_some());
        let mut unobserved = paused(json!({ "blueGreen": {} }), "BlueGreenPause", 0);
        unobserved.metadata.generation = 3;
        assert!(
            awaiting_promotion(&unobserved).is_none(),
            "a new spec the controller has not seen yet is not settled"
        );
        assert_eq!(
            awaiting_promotion_note("production"),
            "awaiting promotion — `kindling rollout promote production`"
        );
    }
}
