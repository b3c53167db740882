//! How Argo CD v3.5.1 rates one resource's health, exactly.
//!
//! Order of the checks (gitops-engine/pkg/health/health.go `GetResourceHealth`, argo-cd
//! v3.5.1): an object being deleted without the hook finalizer is Progressing "Pending
//! deletion"; then a Lua health check for its group/kind if Argo CD has one (upstream's
//! `resource_customizations/<group>/<kind>/health.lua`, run in place by [`lua`]); then the
//! built-in Go rule for core kinds (ported in [`workloads`] and [`core`]); else no health at
//! all (the resource does not count).

mod core;
mod lua;
mod ported;
mod workloads;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// The hook finalizer (gitops-engine pkg/sync/hook/hook.go `HookFinalizer`).
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// Argo CD's health rules: upstream's Lua checks from a `resource_customizations` folder, the
/// Go rules for core kinds.
pub struct Rules {
    dir: PathBuf,
    /// Script text by "group/kind" (None: no script), read once.
    scripts: Mutex<HashMap<String, Option<Arc<Script>>>>,
    /// Wildcard script folders (names with `_`), as Argo CD globs them.
    wildcards: Vec<(String, PathBuf)>,
}

pub(crate) struct Script {
    pub path: PathBuf,
    pub text: String,
}

/// The shared folder (`KINDLING_SHARED_DIR`, default `../shared` next to the workspace).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("KINDLING_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// Argo CD v3.5.1's health rules as stored under the shared folder.
pub fn upstream_dir(shared: &Path) -> PathBuf {
    shared.join("upstream/argo-cd/v3.5.1/health")
}

impl Rules {
    /// Rules with the Lua checks of `resource_customizations` (a folder laid out as Argo CD's
    /// `resource_customizations/<group>/<kind>/health.lua`).
    pub fn new(resource_customizations: impl Into<PathBuf>) -> Rules {
        let dir = resource_customizations.into();
        let wildcards = wildcard_dirs(&dir);
        Rules {
            dir,
            scripts: Mutex::default(),
            wildcards,
        }
    }

    /// The rules of Argo CD v3.5.1 under the shared folder, or None when it is not there.
    pub fn upstream() -> Option<Rules> {
        let dir = upstream_dir(&shared_dir()).join("resource_customizations");
        dir.is_dir().then(|| Rules::new(dir))
    }

    /// The resource's health, None when Argo CD has no rule for it (it then does not count).
    pub fn assess(&self, obj: &Value) -> Result<Option<Health>, HealthError> {
        let meta = &obj["metadata"];
        if !meta["deletionTimestamp"].is_null() && !has_hook_finalizer(obj) {
            return Ok(Some(Health::new(Status::Progressing, "Pending deletion")));
        }
        let (group, version) = group_version(obj);
        let kind = obj["kind"].as_str().unwrap_or("");
        if let Some(script) = self.script(group, kind) {
            return lua::run(&script, obj)
                .map(Some)
                .map_err(|message| HealthError { message });
        }
        if let Some(rule) = ported::rule(group, kind) {
            return rule(obj)
                .map(Some)
                .map_err(|message| HealthError { message });
        }
        match builtin(group, version, kind, obj) {
            Some(Ok(h)) => Ok(Some(h)),
            Some(Err(message)) => Err(HealthError { message }),
            None => Ok(None),
        }
    }

    /// Whether Argo CD rates this kind at all (a rule exists).
    pub fn has_rule(&self, group: &str, kind: &str) -> bool {
        self.script(group, kind).is_some()
            || ported::rule(group, kind).is_some()
            || core::rated(group, kind)
    }

    fn script(&self, group: &str, kind: &str) -> Option<Arc<Script>> {
        // lua.go GetConfigMapKey: "group/kind", or "kind" for the core group.
        let key = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{group}/{kind}")
        };
        let mut scripts = self.scripts.lock().unwrap();
        scripts
            .entry(key.clone())
            .or_insert_with(|| {
                let exact = self.dir.join(&key).join("health.lua");
                let path = if exact.is_file() {
                    Some(exact)
                } else {
                    // getWildcardBuiltInHealthOverrideLua: sorted folders, `_` as `*`.
                    self.wildcards
                        .iter()
                        .find(|(pattern, _)| glob_match(pattern, &key))
                        .map(|(_, p)| p.clone())
                };
                path.and_then(|path| {
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some(Arc::new(Script { path, text }))
                })
            })
            .clone()
    }
}

fn has_hook_finalizer(obj: &Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == HOOK_FINALIZER))
}

/// ("apps", "v1") from "apps/v1"; ("", "v1") from "v1".
pub fn group_version(obj: &Value) -> (&str, &str) {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// `GetHealthCheckFunc` of health.go: the built-in rule for a group and kind.
fn builtin(group: &str, version: &str, kind: &str, obj: &Value) -> Option<Result<Health, String>> {
    let unsupported = |what: &str| {
        Err(format!(
            "unsupported {what} GVK: {group}/{version}, Kind={kind}"
        ))
    };
    Some(match (group, kind) {
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
    })
}

/// Folders whose group or kind name contains `_` (Argo CD's wildcard scripts), sorted.
fn wildcard_dirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for group in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for kind in std::fs::read_dir(group.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let script = kind.path().join("health.lua");
            let key = format!(
                "{}/{}",
                group.file_name().to_string_lossy(),
                kind.file_name().to_string_lossy()
            );
            if key.contains('_') && script.is_file() {
                found.push((key.replace('_', "*"), script));
            }
        }
    }
    found.sort();
    found
}

/// doublestar's PathMatch for patterns whose only wildcard is `*` (any run of characters
/// but `/`).
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), text.split('/').collect());
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| segment_match(p.as_bytes(), t.as_bytes()))
}

fn segment_match(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => (0..=t.len()).any(|i| segment_match(rest, &t[i..])),
        Some((c, rest)) => t.first() == Some(c) && segment_match(rest, &t[1..]),
    }
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
    fn wildcard_folders_match_one_path_segment_per_star() {
        assert!(glob_match(
            "*.crossplane.io/*",
            "pkg.crossplane.io/Provider"
        ));
        assert!(!glob_match("*.crossplane.io/*", "crossplane.io/Provider"));
        assert!(!glob_match("*.upbound.io/*", "a.upbound.io/b/c"));
    }

    #[test]
    fn a_resource_being_deleted_is_progressing_unless_it_holds_the_hook_finalizer() {
        let rules = Rules::new("/nonexistent");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(
            rules.assess(&cm).unwrap(),
            Some(Health::new(Status::Progressing, "Pending deletion"))
        );
        let hook = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z",
                         "finalizers": [HOOK_FINALIZER]}});
        assert_eq!(rules.assess(&hook).unwrap(), None);
    }

    #[test]
    fn kinds_without_a_rule_have_no_health() {
        let rules = Rules::new("/nonexistent");
        for kind in ["ConfigMap", "Secret", "ServiceAccount"] {
            let o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(rules.assess(&o).unwrap(), None, "{kind}");
        }
    }

    #[test]
    fn an_unsupported_version_of_a_rated_kind_is_an_error() {
        let rules = Rules::new("/nonexistent");
        let hpa = json!({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "x"}});
        let err = rules.assess(&hpa).unwrap_err();
        assert!(err.message.contains("unsupported HPA GVK"), "{err}");
        assert_eq!(err.health().status, Some(Status::Unknown));
    }
}
