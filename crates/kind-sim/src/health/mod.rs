//! How Argo CD v3.5.1 rates one resource's health, exactly.
//!
//! Order of the checks (gitops-engine/pkg/health/health.go `GetResourceHealth`, argo-cd
//! v3.5.1): an object being deleted without the hook finalizer is Progressing "Pending
//! deletion"; then a Lua health check for its group/kind if Argo CD has one (upstream's
//! `resource_customizations/<group>/<kind>/health.lua`, run in place by [`lua`]); then the
//! Lua checks Argo CD ships for built-in kinds and the built-in Go rules for core kinds (both
//! in crates/argocd-health, which kindling uses too); else no health at all (the resource
//! does not count).

mod lua;

pub use argocd_health::{HOOK_FINALIZER, Health, HealthError, Status, group_version};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
        if let Some(pending) = argocd_health::deletion_pending(obj) {
            return Ok(Some(pending));
        }
        let (group, _) = group_version(obj);
        let kind = obj["kind"].as_str().unwrap_or("");
        if let Some(script) = self.script(group, kind) {
            return lua::run(&script, obj)
                .map(Some)
                .map_err(|message| HealthError { message });
        }
        argocd_health::assess(obj)
    }

    /// Whether Argo CD rates this kind at all (a rule exists).
    pub fn has_rule(&self, group: &str, kind: &str) -> bool {
        self.script(group, kind).is_some() || argocd_health::rated(group, kind)
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
    fn a_lua_check_is_not_consulted_for_a_resource_being_deleted() {
        let rules = Rules::new("/nonexistent");
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(
            rules.assess(&cm).unwrap(),
            Some(Health::new(Status::Progressing, "Pending deletion"))
        );
        assert!(!rules.has_rule("", "ConfigMap"));
    }
}
