//! Hooks, sync phases and waves as Argo CD v3.5.1 reads them from annotations
//! (gitops-engine/pkg/sync: hook/hook.go, hook/delete_policy.go, hook/helm/*.go,
//! ignore/ignore.go, sync_phase.go, syncwaves/waves.go, resource/annotations.go).
//!
//! Helm hooks map to Argo CD phases: pre-install / pre-upgrade → PreSync, post-install /
//! post-upgrade → PostSync. Any other Helm hook (test, pre-delete, pre-rollback...) is a hook
//! with no Argo CD type: ignored, never applied. `crd-install` is not a hook. An Argo CD hook
//! annotation wins over Helm's.

use serde_json::Value;

pub const HOOK: &str = "argocd.argoproj.io/hook";
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
const HELM_HOOK: &str = "helm.sh/hook";
const HELM_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
const HELM_WEIGHT: &str = "helm.sh/hook-weight";

/// Argo CD's sync phases, in order (sync_tasks.go `syncPhaseOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    PreSync,
    Sync,
    PostSync,
    SyncFail,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
        }
    }
}

/// common.HookType: the phases plus Skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookType {
    Phase(Phase),
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletePolicy {
    HookSucceeded,
    HookFailed,
    BeforeHookCreation,
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

/// resource/annotations.go `GetAnnotationCSVs`: comma-separated, trimmed, deduplicated.
pub fn annotation_csv(obj: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in annotation(obj, key).unwrap_or("").split(',') {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

/// `HasAnnotationOption(obj, argocd.argoproj.io/sync-options, option)`.
pub fn has_sync_option(obj: &Value, option: &str) -> bool {
    annotation_csv(obj, SYNC_OPTIONS)
        .iter()
        .any(|o| o == option)
}

/// hook.go `Types`: Argo CD hook types, else the Helm hook types mapped to phases.
pub fn types(obj: &Value) -> Vec<HookType> {
    let argo: Vec<HookType> = annotation_csv(obj, HOOK)
        .iter()
        .filter_map(|t| match t.as_str() {
            "PreSync" => Some(HookType::Phase(Phase::PreSync)),
            "Sync" => Some(HookType::Phase(Phase::Sync)),
            "PostSync" => Some(HookType::Phase(Phase::PostSync)),
            "SyncFail" => Some(HookType::Phase(Phase::SyncFail)),
            "Skip" => Some(HookType::Skip),
            _ => None,
        })
        .collect();
    if !argo.is_empty() {
        return argo;
    }
    annotation_csv(obj, HELM_HOOK)
        .iter()
        .filter_map(|t| match t.as_str() {
            "pre-install" | "pre-upgrade" => Some(HookType::Phase(Phase::PreSync)),
            "post-install" | "post-upgrade" => Some(HookType::Phase(Phase::PostSync)),
            _ => None,
        })
        .collect()
}

/// hook.go `Skip`: the only hook type is Skip.
pub fn skip(obj: &Value) -> bool {
    let t = types(obj);
    t.contains(&HookType::Skip) && t.len() == 1
}

/// hook.go `IsHook`: an Argo CD hook annotation (not a lone Skip), or a Helm hook other than
/// crd-install.
pub fn is_hook(obj: &Value) -> bool {
    if annotation(obj, HOOK).is_some() {
        return !skip(obj);
    }
    annotation(obj, HELM_HOOK).is_some_and(|v| v != "crd-install")
}

/// ignore.go `Ignore`: a hook with no type Argo CD runs (a Helm test hook): never applied.
pub fn ignored(obj: &Value) -> bool {
    is_hook(obj) && types(obj).is_empty()
}

/// sync_phase.go `syncPhases`: the phases the object is applied in.
pub fn phases(obj: &Value) -> Vec<Phase> {
    if skip(obj) {
        return Vec::new();
    }
    if !is_hook(obj) {
        return vec![Phase::Sync];
    }
    let mut out: Vec<Phase> = types(obj)
        .into_iter()
        .filter_map(|t| match t {
            HookType::Phase(p) => Some(p),
            HookType::Skip => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// delete_policy.go `DeletePolicies`: Argo CD's and Helm's, BeforeHookCreation by default.
pub fn delete_policies(obj: &Value) -> Vec<DeletePolicy> {
    let argo = annotation_csv(obj, HOOK_DELETE_POLICY)
        .into_iter()
        .filter_map(|p| match p.as_str() {
            "HookSucceeded" => Some(DeletePolicy::HookSucceeded),
            "HookFailed" => Some(DeletePolicy::HookFailed),
            "BeforeHookCreation" => Some(DeletePolicy::BeforeHookCreation),
            _ => None,
        });
    let helm = annotation_csv(obj, HELM_DELETE_POLICY)
        .into_iter()
        .filter_map(|p| match p.as_str() {
            "hook-succeeded" => Some(DeletePolicy::HookSucceeded),
            "hook-failed" => Some(DeletePolicy::HookFailed),
            "before-hook-creation" => Some(DeletePolicy::BeforeHookCreation),
            _ => None,
        });
    let mut out: Vec<DeletePolicy> = argo.chain(helm).collect();
    if out.is_empty() {
        out.push(DeletePolicy::BeforeHookCreation);
    }
    out
}

/// waves.go `Wave`: the sync-wave annotation, else the Helm hook weight, else 0.
pub fn wave(obj: &Value) -> i64 {
    let parse = |key| annotation(obj, key).and_then(|v| v.parse::<i64>().ok());
    annotation(obj, SYNC_WAVE)
        .and_then(|v| v.parse().ok())
        .or_else(|| parse(HELM_WEIGHT))
        .unwrap_or(0)
}

/// sync_tasks.go `kindOrder` (Helm's kind sorter): negative for listed kinds, 0 (last) for
/// anything else, custom resources included.
pub fn kind_order(kind: &str) -> i64 {
    const KINDS: [&str; 35] = [
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "PodSecurityPolicy",
        "PodDisruptionBudget",
        "ServiceAccount",
        "Secret",
        "SecretList",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleList",
        "ClusterRoleBinding",
        "ClusterRoleBindingList",
        "Role",
        "RoleList",
        "RoleBinding",
        "RoleBindingList",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicationController",
        "ReplicaSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "Job",
        "CronJob",
        "IngressClass",
        "Ingress",
        "APIService",
    ];
    KINDS
        .iter()
        .position(|k| *k == kind)
        .map_or(0, |i| i as i64 - KINDS.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": annotations}})
    }

    #[test]
    fn helm_install_hooks_become_presync_and_postsync() {
        let o = with(json!({"helm.sh/hook": "pre-install,pre-upgrade,post-install,post-upgrade"}));
        assert!(is_hook(&o));
        assert_eq!(phases(&o), vec![Phase::PreSync, Phase::PostSync]);
        let o = with(json!({"helm.sh/hook": "post-install", "helm.sh/hook-weight": "-5"}));
        assert_eq!(phases(&o), vec![Phase::PostSync]);
        assert_eq!(wave(&o), -5);
    }

    #[test]
    fn helm_test_hooks_are_ignored_and_crd_install_is_no_hook() {
        let test = with(json!({"helm.sh/hook": "test"}));
        assert!(is_hook(&test) && ignored(&test));
        let crd = with(json!({"helm.sh/hook": "crd-install"}));
        assert!(!is_hook(&crd));
        assert_eq!(phases(&crd), vec![Phase::Sync]);
    }

    #[test]
    fn argo_cd_hook_annotations_win_over_helm() {
        let o = with(json!({"argocd.argoproj.io/hook": "Sync", "helm.sh/hook": "pre-install"}));
        assert_eq!(phases(&o), vec![Phase::Sync]);
        let skip_only = with(json!({"argocd.argoproj.io/hook": "Skip"}));
        assert!(skip(&skip_only) && !is_hook(&skip_only));
        assert!(phases(&skip_only).is_empty());
    }

    #[test]
    fn delete_policies_merge_argo_cd_and_helm_and_default_to_before_hook_creation() {
        let o = with(json!({"helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}));
        assert_eq!(
            delete_policies(&o),
            vec![
                DeletePolicy::BeforeHookCreation,
                DeletePolicy::HookSucceeded
            ]
        );
        assert_eq!(
            delete_policies(&with(json!({}))),
            vec![DeletePolicy::BeforeHookCreation]
        );
    }

    #[test]
    fn sync_wave_wins_over_hook_weight() {
        let o = with(json!({"argocd.argoproj.io/sync-wave": "3", "helm.sh/hook-weight": "-5"}));
        assert_eq!(wave(&o), 3);
        assert_eq!(wave(&with(json!({}))), 0);
    }

    #[test]
    fn crds_sort_before_workloads_and_custom_resources_last() {
        assert!(kind_order("Namespace") < kind_order("CustomResourceDefinition"));
        assert!(kind_order("CustomResourceDefinition") < kind_order("Deployment"));
        assert!(kind_order("APIService") < kind_order("Prometheus"));
        assert_eq!(kind_order("Prometheus"), 0);
    }
}
