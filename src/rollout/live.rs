//! A live view of one Rollout: the Rollout, the ReplicaSets and pods it owns, and its
//! AnalysisRuns with their measurements (what `rollout status ENV` and `watch` show).

use super::api::{GROUP_VERSION, RolloutApi};
use super::error::RolloutError;
use super::info::{POD_TEMPLATE_HASH, ReplicaSetCount, RolloutSummary};
use super::model::Rollout;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub rollout: Rollout,
    pub summary: RolloutSummary,
    /// Newest revision first.
    pub replica_sets: Vec<ReplicaSetView>,
    pub analysis_runs: Vec<AnalysisRunView>,
}

#[derive(Debug, Clone, Default)]
pub struct ReplicaSetView {
    pub name: String,
    pub revision: i64,
    pub pod_template_hash: String,
    /// stable, canary, active, preview (several for blue-green).
    pub roles: Vec<&'static str>,
    pub replicas: i32,
    pub available: i32,
    pub pods: Vec<PodView>,
}

#[derive(Debug, Clone, Default)]
pub struct PodView {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    /// A container's waiting reason (ImagePullBackOff, CrashLoopBackOff...).
    pub waiting: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AnalysisRunView {
    pub name: String,
    pub revision: i64,
    pub phase: String,
    pub message: String,
    pub metrics: Vec<MetricView>,
}

#[derive(Debug, Clone, Default)]
pub struct MetricView {
    pub name: String,
    pub phase: String,
    /// (phase, value) of each measurement, oldest first.
    pub measurements: Vec<(String, String)>,
}

fn owned_by(meta: &Value, uid: &str) -> bool {
    meta["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)))
}

fn revision(meta: &Value) -> i64 {
    meta["annotations"]["rollout.argoproj.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads everything about one Rollout. ReplicaSets, pods and AnalysisRuns are best effort:
/// when a list fails (no permission, no core API) the view just lacks them.
pub async fn snapshot(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Snapshot, RolloutError> {
    let api = RolloutApi::new(client.clone(), namespace, name);
    let raw = api.fetch().await?;
    let rollout = Rollout::from_value(&raw).map_err(RolloutError::Decode)?;
    let uid = rollout.metadata.uid.clone();

    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let mut replica_sets: Vec<ReplicaSetView> = match rs_api.list(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|rs| serde_json::to_value(rs).ok())
            .filter(|rs| owned_by(&rs["metadata"], &uid))
            .map(|rs| replica_set_view(&rollout, &rs))
            .collect(),
        Err(_) => Vec::new(),
    };
    replica_sets.sort_by(|a, b| b.revision.cmp(&a.revision).then(a.name.cmp(&b.name)));

    let pod_api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    if let Ok(pods) = pod_api.list(&ListParams::default()).await {
        for pod in pods.items {
            let pod = serde_json::to_value(pod).unwrap_or_default();
            if let Some(rs) = replica_sets.iter_mut().find(|rs| rs_owns(rs, &pod)) {
                rs.pods.push(pod_view(&pod));
            }
        }
    }

    let analysis_runs = analysis_runs(client, namespace, &uid).await;
    let counts: Vec<ReplicaSetCount> = replica_sets
        .iter()
        .map(|rs| ReplicaSetCount {
            pod_template_hash: rs.pod_template_hash.clone(),
            available: rs.available,
        })
        .collect();
    Ok(Snapshot {
        summary: RolloutSummary::new(&rollout, &counts),
        rollout,
        replica_sets,
        analysis_runs,
    })
}

fn rs_owns(rs: &ReplicaSetView, pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["name"].as_str() == Some(&rs.name)))
}

fn replica_set_view(ro: &Rollout, rs: &Value) -> ReplicaSetView {
    let hash = rs["metadata"]["labels"][POD_TEMPLATE_HASH]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let status = &ro.status;
    let mut roles = Vec::new();
    if ro.spec.strategy.canary.is_some() {
        if status.stable_rs == hash {
            roles.push("stable");
        } else if status.current_pod_hash == hash {
            roles.push("canary");
        }
    }
    if ro.spec.strategy.blue_green.is_some() {
        if status.stable_rs == hash {
            roles.push("stable");
        }
        if status.blue_green.active_selector == hash {
            roles.push("active");
        } else if status.blue_green.preview_selector == hash {
            roles.push("preview");
        }
    }
    ReplicaSetView {
        name: text(&rs["metadata"]["name"]),
        revision: revision(&rs["metadata"]),
        pod_template_hash: hash,
        roles,
        replicas: rs["status"]["replicas"].as_i64().unwrap_or(0) as i32,
        available: rs["status"]["availableReplicas"].as_i64().unwrap_or(0) as i32,
        pods: Vec::new(),
    }
}

fn pod_view(pod: &Value) -> PodView {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    PodView {
        name: text(&pod["metadata"]["name"]),
        phase: text(&pod["status"]["phase"]),
        ready: !statuses.is_empty() && statuses.iter().all(|c| c["ready"] == true),
        waiting: statuses
            .iter()
            .find_map(|c| c["state"]["waiting"]["reason"].as_str().map(String::from)),
    }
}

/// The Rollout's AnalysisRuns (owned by it), newest revision first.
async fn analysis_runs(client: &kube::Client, namespace: &str, uid: &str) -> Vec<AnalysisRunView> {
    let request = kube::core::Request::new(format!(
        "/apis/{GROUP_VERSION}/namespaces/{namespace}/analysisruns"
    ));
    let Ok(req) = request.list(&ListParams::default()) else {
        return Vec::new();
    };
    // No AnalysisRun CRD (404) or no permission: nothing to show.
    let Ok(list) = client.request::<Value>(req).await else {
        return Vec::new();
    };
    let mut runs: Vec<AnalysisRunView> = list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|run| owned_by(&run["metadata"], uid))
                .map(analysis_run_view)
                .collect()
        })
        .unwrap_or_default();
    runs.sort_by(|a, b| b.revision.cmp(&a.revision).then(b.name.cmp(&a.name)));
    runs
}

pub fn analysis_run_view(run: &Value) -> AnalysisRunView {
    let metrics = run["status"]["metricResults"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|m| MetricView {
                    name: text(&m["name"]),
                    phase: text(&m["phase"]),
                    measurements: m["measurements"]
                        .as_array()
                        .map(|ms| {
                            ms.iter()
                                .map(|x| (text(&x["phase"]), text(&x["value"])))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    AnalysisRunView {
        name: text(&run["metadata"]["name"]),
        revision: revision(&run["metadata"]),
        phase: text(&run["status"]["phase"]),
        message: text(&run["status"]["message"]),
        metrics,
    }
}
