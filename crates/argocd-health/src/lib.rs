//! How Argo CD v3.5.1 rates one resource's health, for the kinds it rates without a custom
//! Lua check: the Go rules of gitops-engine/pkg/health for core kinds ([`workloads`],
//! [`core`]) and the Lua checks Argo CD ships for built-in kinds, ported by hand ([`ported`]).
//! Custom resources (Rollout, Certificate, Prometheus...) are rated by upstream's
//! `health.lua` files, which this crate does not run: kind-sim runs them in place, kindling
//! rates Rollouts with its own status interpreter.
//!
//! Order of the checks (gitops-engine/pkg/health/health.go `GetResourceHealth`, argo-cd
//! v3.5.1): an object being deleted without the hook finalizer is Progressing "Pending
//! deletion"; then a Lua health check for its group/kind if Argo CD has one; then the
//! built-in Go rule; else no health at all (the resource does not count). [`assess`] is that
//! order without the custom Lua checks.

mod core;
mod ported;
mod workloads;

use serde_json::Value;

/// Argo CD's health codes (gitops-engine health.go `HealthStatusCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}

/// `healthOrder` in health.go: most healthy to least healthy.
const ORDER: [Status; 6] = [
    Status::Healthy,
    Status::Suspended,
    Status::Progressing,
    Status::Missing,
    Status::Degraded,
    Status::Unknown,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "Healthy",
            Status::Suspended => "Suspended",
            Status::Progressing => "Progressing",
            Status::Missing => "Missing",
            Status::Degraded => "Degraded",
            Status::Unknown => "Unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        ORDER.into_iter().find(|s| s.as_str() == text)
    }

    /// `IsWorse(current, new)` of health.go. A code outside the order (the empty status a Lua
    /// check may return) ranks like Healthy, as there.
    pub fn is_worse(current: Option<Status>, new: Option<Status>) -> bool {
        let rank = |s: Option<Status>| s.and_then(|s| ORDER.iter().position(|o| *o == s));
        rank(new).unwrap_or(0) > rank(current).unwrap_or(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource's health as Argo CD reports it. `status` is None only when a Lua check
/// returned an empty table (Argo CD then carries an empty code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: Option<Status>,
    pub message: String,
}

impl Health {
    pub fn new(status: Status, message: impl Into<String>) -> Health {
        Health {
            status: Some(status),
            message: message.into(),
        }
    }

    pub fn status_str(&self) -> &'static str {
        self.status.map_or("", Status::as_str)
    }
}

/// A health check that failed (a Lua error, an object the Go rule cannot read): Argo CD rates
/// the resource Unknown with this message and also reports the error (a ComparisonError
/// condition "error setting app health").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthError {
    pub message: String,
}

impl HealthError {
    pub fn health(&self) -> Health {
        Health::new(Status::Unknown, self.message.clone())
    }
}

impl std::fmt::Display for HealthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HealthError {}

/// The hook finalizer (gitops-engine pkg/sync/hook/hook.go `HookFinalizer`).
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// ("apps", "v1") from "apps/v1"; ("", "v1") from "v1".
pub fn group_version(obj: &Value) -> (&str, &str) {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The resource's health by every rule but custom Lua checks, None when none applies (the
/// resource then does not count).
pub fn assess(obj: &Value) -> Result<Option<Health>, HealthError> {
    if let Some(pending) = deletion_pending(obj) {
        return Ok(Some(pending));
    }
    match ported(obj).or_else(|| builtin(obj)) {
        Some(Ok(h)) => Ok(Some(h)),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// An object being deleted without the hook finalizer: Progressing "Pending deletion"
/// (checked before any rule).
pub fn deletion_pending(obj: &Value) -> Option<Health> {
    let being_deleted = !obj["metadata"]["deletionTimestamp"].is_null();
    let hook = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == HOOK_FINALIZER));
    (being_deleted && !hook).then(|| Health::new(Status::Progressing, "Pending deletion"))
}

/// The ported Lua check Argo CD ships for this kind, if it has one.
pub fn ported(obj: &Value) -> Option<Result<Health, HealthError>> {
    let (group, _) = group_version(obj);
    let rule = ported::rule(group, obj["kind"].as_str().unwrap_or(""))?;
    Some(rule(obj).map_err(|message| HealthError { message }))
}

/// Whether a rule of this crate rates the kind (any version).
pub fn rated(group: &str, kind: &str) -> bool {
    ported::rule(group, kind).is_some() || core::rated(group, kind)
}

/// `GetHealthCheckFunc` of health.go: the built-in Go rule for the object's group and kind
/// (an unsupported version of a rated kind is an error, as there).
pub fn builtin(obj: &Value) -> Option<Result<Health, HealthError>> {
    let (group, version) = group_version(obj);
    let kind = obj["kind"].as_str().unwrap_or("");
    let unsupported = |what: &str| {
        Err(format!(
            "unsupported {what} GVK: {group}/{version}, Kind={kind}"
        ))
    };
    let result = match (group, kind) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet") if version != "v1" => {
            unsupported(kind)
        }
        ("apps", "Deployment") => Ok(workloads::deployment(obj)),
        ("apps", "StatefulSet") => Ok(workloads::stateful_set(obj)),
        ("apps", "ReplicaSet") => Ok(workloads::replica_set(obj)),
        ("apps", "DaemonSet") => Ok(workloads::daemon_set(obj)),
        ("extensions" | "networking.k8s.io", "Ingress") => Ok(core::ingress(obj)),
        ("argoproj.io", "Workflow") => Ok(core::argo_workflow(obj)),
        ("apiregistration.k8s.io", "APIService") => match version {
            "v1" | "v1beta1" => Ok(core::api_service(obj)),
            _ => unsupported("APIService"),
        },
        ("", "Service" | "PersistentVolumeClaim" | "Pod") if version != "v1" => unsupported(kind),
        ("", "Service") => Ok(core::service(obj)),
        ("", "PersistentVolumeClaim") => Ok(core::pvc(obj)),
        ("", "Pod") => Ok(core::pod(obj)),
        ("batch", "Job") if version != "v1" => unsupported("Job"),
        ("batch", "Job") => Ok(core::job(obj)),
        ("autoscaling", "HorizontalPodAutoscaler") => match version {
            "v1" | "v2" => core::hpa(version, obj),
            _ => unsupported("HPA"),
        },
        _ => return None,
    };
    Some(result.map_err(|message| HealthError { message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn worse_follows_the_health_order_and_an_empty_code_ranks_as_healthy() {
        assert!(Status::is_worse(
            Some(Status::Healthy),
            Some(Status::Suspended)
        ));
        assert!(Status::is_worse(
            Some(Status::Missing),
            Some(Status::Degraded)
        ));
        assert!(!Status::is_worse(
            Some(Status::Degraded),
            Some(Status::Progressing)
        ));
        assert!(!Status::is_worse(Some(Status::Healthy), None));
        assert!(Status::is_worse(None, Some(Status::Progressing)));
    }

    #[test]
    fn a_resource_being_deleted_is_progressing_unless_it_holds_the_hook_finalizer() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(
            assess(&cm).unwrap(),
            Some(Health::new(Status::Progressing, "Pending deletion"))
        );
        let hook = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z",
                         "finalizers": [HOOK_FINALIZER]}});
        assert_eq!(assess(&hook).unwrap(), None);
    }

    #[test]
    fn kinds_without_a_rule_have_no_health() {
        for kind in ["ConfigMap", "Secret", "ServiceAccount"] {
            let o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(assess(&o).unwrap(), None, "{kind}");
            assert!(!rated("", kind));
        }
        assert!(rated("apps", "Deployment") && rated("policy", "PodDisruptionBudget"));
    }

    #[test]
    fn an_unsupported_version_of_a_rated_kind_is_an_error() {
        let hpa = json!({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "x"}});
        let err = assess(&hpa).unwrap_err();
        assert!(err.message.contains("unsupported HPA GVK"), "{err}");
        assert_eq!(err.health().status, Some(Status::Unknown));
    }
}
