//! A Rollout's status (Healthy / Progressing / Paused / Degraded) and message, decided the way
//! the upstream kubectl plugin does (`GetRolloutPhase` / `CalculateRolloutPhase` in
//! argo-rollouts utils/rollout/rolloututil.go, v1.9.1). For statuses written by controllers
//! before v0.8, which the plugin no longer reads, as Argo CD's Rollout health check does
//! (argo-cd v3.5.1 resource_customizations/argoproj.io/Rollout/health.lua): the stable hash
//! from `status.canary.stableRS`, and a blue-green Rollout with no stable hash at all (v0.7)
//! is judged by its active selector alone.

use super::model::Rollout;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    Healthy,
    Progressing,
    Paused,
    Degraded,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Healthy => "Healthy",
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
            Phase::Degraded => "Degraded",
        }
    }

    fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "Healthy" => Phase::Healthy,
            "Progressing" => Phase::Progressing,
            "Paused" => Phase::Paused,
            "Degraded" => Phase::Degraded,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Annotation the controller sets to the referenced Deployment's generation (workloadRef).
const WORKLOAD_GENERATION: &str = "rollout.argoproj.io/workload-generation";

/// The message of a Rollout no controller has written a status for.
pub const NO_STATUS: &str =
    "no status yet: the Argo Rollouts controller has not reconciled this Rollout";

/// The phase and message a client should show: the controller's own `status.phase`
/// when it has observed the current spec, else the client-side calculation.
pub fn phase(ro: &Rollout) -> (Phase, String) {
    // Argo CD says Progressing too; the plugin would invent replica counts from nothing.
    if !ro.has_status {
        return (Phase::Progressing, NO_STATUS.into());
    }
    if !generation_observed(ro) {
        return (
            Phase::Progressing,
            "waiting for rollout spec update to be observed".into(),
        );
    }
    // The user cleared the pause conditions but the controller has not reacted yet.
    if ro.status.controller_pause && ro.status.pause_conditions.is_empty() {
        return (Phase::Progressing, "waiting for rollout to unpause".into());
    }
    // Upstream checks this only once the template was resolved from the Deployment, which a
    // client never sees (the flag is not serialized); a workloadRef stands for it here.
    if ro.spec.workload_ref.is_some() && !workload_generation_observed(ro) {
        return (
            Phase::Progressing,
            "waiting for rollout spec update to be observed for the reference workload".into(),
        );
    }
    if let Some(phase) = ro.status.phase.as_deref().and_then(Phase::parse) {
        // Controllers ≥ v1.0 compute phase and message themselves.
        return (phase, ro.status.message.clone().unwrap_or_default());
    }
    calculate(ro)
}

/// Whether the controller has seen the current spec. Only a numeric observedGeneration can
/// be compared (older controllers wrote a hash: then it counts as observed, as upstream).
pub fn generation_observed(ro: &Rollout) -> bool {
    match ro
        .status
        .observed_generation
        .as_deref()
        .map(str::parse::<i64>)
    {
        // A numeric hash larger than the generation is a pre-v0.10 hash, not a generation.
        Some(Ok(observed)) => observed >= ro.metadata.generation,
        _ => true,
    }
}

fn workload_generation_observed(ro: &Rollout) -> bool {
    let Some(Ok(wanted)) = ro
        .metadata
        .annotations
        .get(WORKLOAD_GENERATION)
        .map(|v| v.parse::<i32>())
    else {
        return true;
    };
    match ro
        .status
        .workload_observed_generation
        .as_deref()
        .map(str::parse::<i32>)
    {
        Some(Ok(observed)) => observed == wanted,
        _ => true,
    }
}

/// The client-side calculation used when the controller wrote no phase (v0.10 and before).
pub fn calculate(ro: &Rollout) -> (Phase, String) {
    let (spec, status) = (&ro.spec, &ro.status);
    for cond in &status.conditions {
        if cond.type_ == "InvalidSpec" {
            return (Phase::Degraded, format!("InvalidSpec: {}", cond.message));
        }
        if matches!(
            cond.reason.as_str(),
            "RolloutAborted" | "ProgressDeadlineExceeded"
        ) {
            return (
                Phase::Degraded,
                format!("{}: {}", cond.reason, cond.message),
            );
        }
    }
    if spec.paused {
        return (Phase::Paused, "manually paused".into());
    }
    if let Some(cond) = status.pause_conditions.first() {
        return (Phase::Paused, cond.reason.clone());
    }
    if let Some(restart_at) = &spec.restart_at
        && !same_time(Some(restart_at), status.restarted_at.as_deref())
    {
        return (Phase::Progressing, "rollout is restarting".into());
    }
    if status.updated_replicas < spec.replicas.unwrap_or(1) {
        return (
            Phase::Progressing,
            "more replicas need to be updated".into(),
        );
    }
    if status.available_replicas < status.updated_replicas {
        return (
            Phase::Progressing,
            "updated replicas are still becoming available".into(),
        );
    }
    let stable_rs = status.stable_rs();
    let fully_promoted = stable_rs == status.current_pod_hash;
    if let Some(bg) = &spec.strategy.blue_green {
        let active = &status.blue_green.active_selector;
        if active.is_empty() || *active != status.current_pod_hash {
            return (Phase::Progressing, "active service cutover pending".into());
        }
        // No stable hash anywhere: a v0.7 controller, which kept none for blue-green.
        if !stable_rs.is_empty() && !fully_promoted {
            let analysis_pending = bg.post_promotion_analysis.is_some()
                && !status
                    .blue_green
                    .post_promotion_analysis_run_status
                    .as_ref()
                    .is_some_and(|r| r.completed());
            let message = if analysis_pending {
                "waiting for analysis to complete"
            } else {
                "waiting for post-promotion verification to complete"
            };
            return (Phase::Progressing, message.into());
        }
    } else if let Some(canary) = &spec.strategy.canary {
        // Only basic canary: blue-green and traffic-routed canaries keep old replicas on
        // purpose (scaleDownDelay).
        if canary.traffic_routing.is_none() && status.replicas > status.updated_replicas {
            return (
                Phase::Progressing,
                "old replicas are pending termination".into(),
            );
        }
        if stable_rs.is_empty() || !fully_promoted {
            return (
                Phase::Progressing,
                "waiting for all steps to complete".into(),
            );
        }
    }
    (Phase::Healthy, String::new())
}

/// Compares two RFC 3339 times as instants (falls back to the text when one does not parse).
fn same_time(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (
            humantime::parse_rfc3339_weak(a.trim_end_matches('Z')),
            humantime::parse_rfc3339_weak(b.trim_end_matches('Z')),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        (None, None) => true,
        _ => false,
    }
}

/// Done: Healthy, the current spec observed, and the desired ReplicaSet is the stable one.
pub fn is_done(ro: &Rollout) -> bool {
    phase(ro).0 == Phase::Healthy
        && generation_observed(ro)
        && ro.status.stable_rs() == ro.status.current_pod_hash
}
