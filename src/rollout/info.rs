//! What `kindling rollout status` reports about a Rollout: strategy, status, step and
//! weights, computed as the upstream plugin's `NewRolloutInfo` does
//! (pkg/kubectl-argo-rollouts/info/rollout_info.go, v1.9.1).

use super::model::Rollout;
use super::status::{self, Phase};
use serde::Serialize;

/// The label the controller puts on ReplicaSets and pods: the pod template hash.
pub const POD_TEMPLATE_HASH: &str = "rollouts-pod-template-hash";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StrategyKind {
    Canary,
    BlueGreen,
}

/// A ReplicaSet owned by the Rollout, reduced to what the weights need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaSetCount {
    pub pod_template_hash: String,
    pub available: i32,
}

/// The one JSON object `rollout status --output json` prints (field names are the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSummary {
    pub name: String,
    pub namespace: String,
    pub strategy: Option<StrategyKind>,
    pub status: Phase,
    pub message: String,
    /// "N/M" for a canary with steps.
    pub step: Option<String>,
    /// The weight the current canary step asks for (desired, not actual).
    pub set_weight: Option<i32>,
    pub actual_weight: Option<i32>,
    /// The pod template's container images (empty with a workloadRef: they live in the
    /// referenced Deployment).
    pub images: Vec<String>,
    /// Replica counts from the status; None when there is no status yet.
    pub replicas: Option<Replicas>,
    /// Fields that had an unexpected shape and were left out (see `Rollout::ignored`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// Replica counts as the plugin's `get rollout` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    pub desired: i32,
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

impl RolloutSummary {
    /// Summarizes a Rollout. `replica_sets` are those the Rollout owns (empty when only the
    /// Rollout object is known, e.g. a saved file: then a basic canary's actual weight is 0).
    pub fn new(ro: &Rollout, replica_sets: &[ReplicaSetCount]) -> RolloutSummary {
        let (phase, message) = status::phase(ro);
        let mut summary = RolloutSummary {
            name: ro.metadata.name.clone(),
            namespace: ro.metadata.namespace.clone(),
            strategy: None,
            status: phase,
            message,
            step: None,
            set_weight: None,
            actual_weight: None,
            images: ro
                .spec
                .template
                .spec
                .containers
                .iter()
                .map(|c| c.image.clone())
                .filter(|i| !i.is_empty())
                .collect(),
            replicas: ro.has_status.then(|| Replicas {
                desired: ro.spec.replicas.unwrap_or(1),
                current: ro.status.replicas,
                updated: ro.status.updated_replicas,
                ready: ro.status.ready_replicas,
                available: ro.status.available_replicas,
            }),
            ignored: ro.ignored.clone(),
        };
        if let Some(canary) = &ro.spec.strategy.canary {
            summary.strategy = Some(StrategyKind::Canary);
            // Step and weights are the controller's progress: with no status there is none.
            if !ro.has_status {
                return summary;
            }
            if let Some(index) = ro.status.current_step_index
                && !canary.steps.is_empty()
            {
                summary.step = Some(format!("{index}/{}", canary.steps.len()));
            }
            let set_weight = set_weight(ro);
            summary.set_weight = Some(set_weight);
            summary.actual_weight = Some(actual_weight(ro, set_weight, replica_sets));
        } else if ro.spec.strategy.blue_green.is_some() {
            summary.strategy = Some(StrategyKind::BlueGreen);
        }
        summary
    }
}

/// The weight that means all traffic (trafficRouting.maxTrafficWeight, default 100).
pub fn max_weight(ro: &Rollout) -> i32 {
    ro.spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.max_traffic_weight)
        .unwrap_or(100)
}

/// The current canary step's index, and whether that step exists (past the last step: None).
fn current_step(ro: &Rollout) -> Option<(usize, bool)> {
    let steps = &ro.spec.strategy.canary.as_ref()?.steps;
    if steps.is_empty() {
        return None;
    }
    let index = ro.status.current_step_index.unwrap_or(0).max(0) as usize;
    Some((index, index < steps.len()))
}

/// upstream `GetCurrentSetWeight`: 0 when aborted; the maximum when there is no current step;
/// else the last setWeight at or before the current step (0 if none).
pub fn set_weight(ro: &Rollout) -> i32 {
    if ro.status.abort {
        return 0;
    }
    let Some(canary) = &ro.spec.strategy.canary else {
        return 0;
    };
    match current_step(ro) {
        Some((index, true)) => canary.steps[..=index]
            .iter()
            .rev()
            .find_map(|s| s.set_weight)
            .unwrap_or(0),
        _ => max_weight(ro),
    }
}

/// upstream's ActualWeight: past the last step (or no steps) the maximum; without traffic
/// routing the canary ReplicaSet's share of available replicas; with traffic routing the
/// weight the router was set to, or the set weight when none is recorded.
pub fn actual_weight(ro: &Rollout, set_weight: i32, replica_sets: &[ReplicaSetCount]) -> i32 {
    let Some(canary) = &ro.spec.strategy.canary else {
        return 0;
    };
    if !matches!(current_step(ro), Some((_, true))) {
        return max_weight(ro);
    }
    let available = ro.status.available_replicas;
    if available <= 0 {
        return 0;
    }
    if canary.traffic_routing.is_none() {
        // The canary ReplicaSet is the desired one when it is not (yet) the stable one.
        let canary_hash = &ro.status.current_pod_hash;
        if canary_hash == ro.status.stable_rs() {
            return 0;
        }
        replica_sets
            .iter()
            .rfind(|rs| rs.pod_template_hash == *canary_hash)
            .map_or(0, |rs| rs.available * max_weight(ro) / available)
    } else {
        ro.status
            .canary
            .weights
            .as_ref()
            .map_or(set_weight, |w| w.canary.weight)
    }
}
