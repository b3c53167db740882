//! Kind → resource resolution. One request per group-version, cached; the groups of newly
//! established CRDs are forgotten so their kinds resolve on the next lookup.

use super::error::K8sError;
use super::manifest::{ObjectSource, gvk_of};
use kube::api::ApiResource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A resolved kind: the resource to call and whether it lives in a namespace.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
    /// Whether `<plural>/status` exists (status changes go there).
    pub has_status: bool,
}

/// The kinds one group-version serves; None when the server does not serve it at all.
type GroupVersionKinds = Option<Arc<HashMap<String, Resolved>>>;

#[derive(Clone)]
pub struct Discovery {
    client: kube::Client,
    cache: Arc<Mutex<HashMap<String, Arc<OnceCell<GroupVersionKinds>>>>>,
}

impl Discovery {
    pub fn new(client: kube::Client) -> Discovery {
        Discovery {
            client,
            cache: Arc::default(),
        }
    }

    /// Resolves apiVersion + kind; an unknown kind is an error suggesting the missing CRD.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
        source: Option<&ObjectSource>,
    ) -> Result<Resolved, K8sError> {
        self.try_resolve(api_version, kind)
            .await?
            .ok_or_else(|| unknown_kind(api_version, kind, source))
    }

    /// Like `resolve`, but None for an unknown kind. A miss in the cache is asked again once:
    /// the CRD may have been installed since (by Argo CD, a chart, another apply).
    pub async fn try_resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, K8sError> {
        let lookup = |kinds: GroupVersionKinds| kinds.and_then(|k| k.get(kind).cloned());
        if let Some(found) = lookup(self.kinds(api_version).await?) {
            return Ok(Some(found));
        }
        self.cache.lock().unwrap().remove(api_version);
        Ok(lookup(self.kinds(api_version).await?))
    }

    /// Forgets what is known about `group` (all versions), e.g. after its CRD was established.
    pub fn refresh_group(&self, group: &str) {
        let prefix = format!("{group}/");
        self.cache
            .lock()
            .unwrap()
            .retain(|api_version, _| !api_version.starts_with(&prefix));
    }

    async fn kinds(&self, api_version: &str) -> Result<GroupVersionKinds, K8sError> {
        let cell = self
            .cache
            .lock()
            .unwrap()
            .entry(api_version.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.fetch(api_version))
            .await
            .cloned()
    }

    async fn fetch(&self, api_version: &str) -> Result<GroupVersionKinds, K8sError> {
        let gvk = gvk_of(api_version, "");
        let list = if gvk.group.is_empty() {
            self.client.list_core_api_resources(&gvk.version).await
        } else {
            self.client.list_api_group_resources(api_version).await
        };
        let list = match list {
            Ok(list) => list,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
            Err(e) => return Err(K8sError::from_kube(format!("discover {api_version}"), e)),
        };
        let subresources: Vec<&str> = list
            .resources
            .iter()
            .filter_map(|r| r.name.split_once('/'))
            .filter(|(_, sub)| *sub == "status")
            .map(|(plural, _)| plural)
            .collect();
        let kinds = list
            .resources
            .iter()
            .filter(|r| !r.name.contains('/'))
            .map(|r| {
                let resolved = Resolved {
                    resource: ApiResource {
                        group: gvk.group.clone(),
                        version: gvk.version.clone(),
                        api_version: api_version.to_string(),
                        kind: r.kind.clone(),
                        plural: r.name.clone(),
                    },
                    namespaced: r.namespaced,
                    has_status: subresources.contains(&r.name.as_str()),
                };
                (r.kind.clone(), resolved)
            })
            .collect();
        Ok(Some(Arc::new(kinds)))
    }
}

/// "no kind Rollout in argoproj.io/v1alpha1: is the CRD rollouts.argoproj.io installed?"
fn unknown_kind(api_version: &str, kind: &str, source: Option<&ObjectSource>) -> K8sError {
    let group = gvk_of(api_version, kind).group;
    // Built-in groups have no dot (apps, batch) or end in k8s.io; others come from CRDs.
    let builtin = !group.contains('.') || group.ends_with(".k8s.io");
    K8sError::UnknownKind {
        kind: kind.to_string(),
        api_version: api_version.to_string(),
        crd: (!builtin).then(|| format!("{}.{group}", guess_plural(kind))),
        at: source.cloned(),
    }
}

/// The plural Kubernetes would most likely use (CRDs choose their own; this is a hint).
fn guess_plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s')
        || lower.ends_with('x')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        format!("{lower}es")
    } else if lower.ends_with('y') && !lower.ends_with("ay") && !lower.ends_with("ey") {
        format!("{}ies", &lower[..lower.len() - 1])
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_crd_for_custom_groups_only() {
        let e = unknown_kind("argoproj.io/v1alpha1", "Rollout", None).to_string();
        assert_eq!(
            e,
            "no kind Rollout in argoproj.io/v1alpha1: is the CRD rollouts.argoproj.io installed?"
        );
        let e = unknown_kind("apps/v1", "Deploymnt", None).to_string();
        assert_eq!(e, "no kind Deploymnt in apps/v1");
        assert_eq!(guess_plural("ClusterIssuer"), "clusterissuers");
        assert_eq!(guess_plural("NetworkPolicy"), "networkpolicies");
    }
}
