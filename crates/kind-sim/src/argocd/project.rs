//! What an AppProject permits, as Argo CD v3.5.1 checks it before a sync
//! (controller/sync.go `validateSyncPermissions`; app_project_types.go
//! `IsGroupKindNamePermitted`, `isDestinationMatched`, `IsSourcePermitted`): namespaced
//! kinds against the namespace resource white/blacklists, cluster-scoped kinds against the
//! cluster resource whitelist (empty: none permitted), the destination namespace against the
//! project's destinations, the source repository against `sourceRepos`. Globs: `*` and `?`,
//! `!` for deny patterns.

use serde_json::{Value, json};

/// The in-cluster destination (Argo CD's built-in cluster).
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
pub const IN_CLUSTER_NAME: &str = "in-cluster";

#[derive(Debug, Clone)]
pub struct Project {
    name: String,
    spec: Value,
}

impl Project {
    /// The `default` project Argo CD creates: everything permitted.
    pub fn default_project() -> Project {
        Project {
            name: "default".into(),
            spec: json!({
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            }),
        }
    }

    pub fn from_object(project: &Value) -> Project {
        Project {
            name: project["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            spec: project["spec"].clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn list(&self, field: &str) -> &[Value] {
        self.spec[field].as_array().map_or(&[], Vec::as_slice)
    }

    /// `validateSyncPermissions` for one object (its namespace already set).
    pub fn permits(&self, obj: &Value, namespaced: bool) -> Result<(), String> {
        let (group, _) = crate::health::group_version(obj);
        let kind = obj["kind"].as_str().unwrap_or("");
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        let in_list = |field: &str, named: bool| {
            self.list(field).iter().any(|item| {
                glob(item["group"].as_str().unwrap_or(""), group)
                    && glob(item["kind"].as_str().unwrap_or(""), kind)
                    && (!named
                        || item["name"]
                            .as_str()
                            .is_none_or(|n| n.is_empty() || glob(n, name)))
            })
        };
        let permitted = if namespaced {
            let whitelisted = self.spec["namespaceResourceWhitelist"].is_null()
                || in_list("namespaceResourceWhitelist", false);
            whitelisted && !in_list("namespaceResourceBlacklist", false)
        } else {
            in_list("clusterResourceWhitelist", true) && !in_list("clusterResourceBlacklist", true)
        };
        if !permitted {
            return Err(format!(
                "resource {group}:{kind} is not permitted in project {}",
                self.name
            ));
        }
        if namespaced {
            let namespace = obj["metadata"]["namespace"].as_str().unwrap_or("");
            if !self.destination_permitted(namespace) {
                return Err(format!(
                    "namespace {namespace} is not permitted in project '{}'",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// `isDestinationMatched` for the in-cluster destination.
    pub fn destination_permitted(&self, namespace: &str) -> bool {
        let mut any = false;
        for item in self.list("destinations") {
            let (name, server, ns) = (
                item["name"].as_str().unwrap_or(""),
                item["server"].as_str().unwrap_or(""),
                item["namespace"].as_str().unwrap_or(""),
            );
            let name_matched = glob_negatable(name, IN_CLUSTER_NAME);
            let server_matched = glob_negatable(server, IN_CLUSTER_SERVER);
            let ns_matched = glob_negatable(ns, namespace);
            if (server_matched || name_matched) && ns_matched {
                any = true;
            } else if (!name_matched && name.starts_with('!'))
                || (!server_matched && server.starts_with('!')) && ns_matched
                || !ns_matched && ns.starts_with('!') && server_matched
            {
                return false;
            }
        }
        any
    }

    /// `IsSourcePermitted`.
    pub fn source_permitted(&self, repo_url: &str) -> bool {
        let normalize = |u: &str| {
            u.trim_end_matches('/')
                .trim_end_matches(".git")
                .to_lowercase()
        };
        let source = normalize(repo_url);
        let mut any = false;
        for pattern in self.list("sourceRepos").iter().filter_map(Value::as_str) {
            let deny = pattern.starts_with('!');
            let p = normalize(pattern.trim_start_matches('!'));
            let matched = glob(&p, &source) != deny;
            if matched {
                any = true;
            } else if deny {
                return false;
            }
        }
        any
    }
}

fn glob_negatable(pattern: &str, text: &str) -> bool {
    match pattern.strip_prefix('!') {
        Some(p) => !glob(p, text),
        None => glob(pattern, text),
    }
}

/// `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| m(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && m(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && m(rest, &t[1..]),
        }
    }
    m(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Project {
        Project::from_object(&json!({
            "metadata": {"name": "demo"},
            "spec": {
                "sourceRepos": ["oci://kind-registry:5000/*"],
                "destinations": [{"server": IN_CLUSTER_SERVER, "namespace": "staging"},
                                  {"server": IN_CLUSTER_SERVER, "namespace": "production"}],
            }
        }))
    }

    #[test]
    fn a_project_permits_only_its_destinations_and_no_cluster_resources_by_default() {
        let p = demo();
        let dep = |ns: &str| json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": ns}});
        assert!(p.permits(&dep("staging"), true).is_ok());
        assert_eq!(
            p.permits(&dep("monitoring"), true).unwrap_err(),
            "namespace monitoring is not permitted in project 'demo'"
        );
        let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}});
        assert_eq!(
            p.permits(&crb, false).unwrap_err(),
            "resource rbac.authorization.k8s.io:ClusterRole is not permitted in project demo"
        );
        assert!(Project::default_project().permits(&crb, false).is_ok());
    }

    #[test]
    fn source_repositories_are_globbed() {
        assert!(demo().source_permitted("oci://kind-registry:5000/manifests"));
        assert!(!demo().source_permitted("https://github.com/x/y"));
    }
}
