//! promote, promote --full, abort, retry and restart: the merge patches the upstream
//! kubectl plugin sends (pkg/kubectl-argo-rollouts/cmd/{promote,abort,retry,restart}, v1.9.1),
//! in the same order: the status subresource first, then the main resource (which also gets
//! the whole change when the status subresource answers 404, as on old CRDs).

use super::api::{RolloutApi, RolloutTarget, api_error, is_not_found};
use super::error::RolloutError;
use super::model::Rollout;
use serde_json::Value;
use std::time::SystemTime;

// The plugin's patch bodies, verbatim.
const UNPAUSE: &str = r#"{"spec":{"paused":false}}"#;
const CLEAR_PAUSE_CONDITIONS: &str = r#"{"status":{"pauseConditions":null}}"#;
const UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS: &str =
    r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#;
const PROMOTE_FULL: &str = r#"{"status":{"promoteFull":true}}"#;
const UNPAUSE_AND_PROMOTE_FULL: &str = r#"{"spec":{"paused":false},"status":{"promoteFull":true}}"#;
const ABORT: &str = r#"{"status":{"abort":true}}"#;
const RETRY: &str = r#"{"status":{"abort":false}}"#;

fn clear_pause_conditions_with_step(index: usize) -> String {
    format!(r#"{{"status":{{"pauseConditions":null, "currentStepIndex":{index}}}}}"#)
}

fn unpause_and_clear_pause_conditions_with_step(index: usize) -> String {
    format!(
        r#"{{"spec":{{"paused":false}},"status":{{"pauseConditions":null, "currentStepIndex":{index}}}}}"#
    )
}

fn clear_pause_conditions_and_controller_pause(index: usize) -> String {
    format!(
        r#"{{"status":{{"pauseConditions":null, "controllerPause":false, "currentStepIndex":{index}}}}}"#
    )
}

fn restart_patch(at: SystemTime) -> String {
    // Go's time.RFC3339 of a UTC time: seconds, "Z".
    let at = humantime::format_rfc3339_seconds(at);
    format!("{{\n\t\"spec\": {{\n\t\t\"restartAt\": \"{at}\"\n\t}}\n}}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Promote,
    PromoteFull,
    Abort,
    Retry,
    Restart(SystemTime),
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::PromoteFull => "fully promote",
            Action::Abort => "abort",
            Action::Retry => "retry",
            Action::Restart(_) => "restart",
        }
    }
}

/// The patches for one action: `status` goes to the status subresource, `spec` to the main
/// resource; `unified` replaces `spec` when the status subresource is not found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patches {
    pub status: Option<String>,
    pub spec: Option<String>,
    pub unified: Option<String>,
}

/// One patch as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPatch {
    /// `Some("status")` for the status subresource.
    pub subresource: Option<&'static str>,
    pub body: String,
}

/// What an action did: the patches sent, in order, and the Rollout as the server returned it.
#[derive(Debug, Clone)]
pub struct ControlOutcome {
    pub sent: Vec<SentPatch>,
    pub rollout: Option<Value>,
}

/// The index after the current canary step (upstream `GetCurrentCanaryStep` + 1, capped at
/// the number of steps); None without canary steps.
fn next_step_index(ro: &Rollout) -> Option<usize> {
    let steps = ro.spec.strategy.canary.as_ref()?.steps.len();
    if steps == 0 {
        return None;
    }
    let index = ro.status.current_step_index.unwrap_or(0).max(0) as usize;
    Some(if index < steps { index + 1 } else { index })
}

/// upstream promote's `getPatches` (without the deprecated skip flags).
pub fn promote_patches(ro: &Rollout, full: bool) -> Patches {
    let mut p = Patches::default();
    if full {
        if ro.spec.paused {
            p.spec = Some(UNPAUSE.into());
        }
        if ro.status.current_pod_hash != ro.status.stable_rs {
            p.status = Some(PROMOTE_FULL.into());
        }
        p.unified = Some(UNPAUSE_AND_PROMOTE_FULL.into());
        return p;
    }
    p.unified = Some(UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS.into());
    if ro.spec.paused {
        p.spec = Some(UNPAUSE.into());
    }
    let inconclusive = ro.spec.strategy.canary.is_some()
        && ro
            .status
            .canary
            .current_step_analysis_run_status
            .as_ref()
            .is_some_and(|r| r.status == "Inconclusive");
    let paused_by_controller = !ro.status.pause_conditions.is_empty();
    if inconclusive && paused_by_controller && ro.status.controller_pause {
        if let Some(next) = next_step_index(ro) {
            p.status = Some(clear_pause_conditions_and_controller_pause(next));
        }
    } else if paused_by_controller {
        p.status = Some(CLEAR_PAUSE_CONDITIONS.into());
    } else if ro.spec.strategy.canary.is_some()
        && let Some(next) = next_step_index(ro)
    {
        // A canary not paused (e.g. waiting on a step's analysis): skip the current step.
        p.status = Some(clear_pause_conditions_with_step(next));
        p.unified = Some(unpause_and_clear_pause_conditions_with_step(next));
    }
    p
}

/// The patches for an action; promote needs the current Rollout, the others do not.
pub fn patches(action: Action, current: Option<&Rollout>) -> Patches {
    let default = Rollout::default();
    let ro = current.unwrap_or(&default);
    match action {
        Action::Promote => promote_patches(ro, false),
        Action::PromoteFull => promote_patches(ro, true),
        Action::Abort => Patches {
            status: Some(ABORT.into()),
            spec: None,
            unified: Some(ABORT.into()),
        },
        Action::Retry => Patches {
            status: Some(RETRY.into()),
            spec: None,
            unified: Some(RETRY.into()),
        },
        // restart patches the main resource only.
        Action::Restart(at) => Patches {
            status: None,
            spec: Some(restart_patch(at)),
            unified: None,
        },
    }
}

/// Runs an action on a Rollout, exactly as the plugin does.
pub async fn run<T: RolloutTarget>(
    target: &T,
    action: Action,
) -> Result<ControlOutcome, RolloutError> {
    let fail = |source: kube::Error| api_error(target, action.verb(), source);
    let patches = if matches!(action, Action::Promote | Action::PromoteFull) {
        let value = target.get().await.map_err(fail)?;
        let current = Rollout::from_value(&value).map_err(RolloutError::Decode)?;
        patches(action, Some(&current))
    } else {
        patches(action, None)
    };
    let mut outcome = ControlOutcome {
        sent: Vec::new(),
        rollout: None,
    };
    let mut spec = patches.spec;
    if let Some(body) = patches.status {
        outcome.sent.push(SentPatch {
            subresource: Some("status"),
            body: body.clone(),
        });
        match target.merge_patch(Some("status"), &body).await {
            Ok(ro) => outcome.rollout = Some(ro),
            // No status subresource (old CRDs): the main resource takes the whole change.
            Err(e) if is_not_found(&e) => spec = patches.unified,
            Err(e) => return Err(fail(e)),
        }
    }
    if let Some(body) = spec {
        outcome.sent.push(SentPatch {
            subresource: None,
            body: body.clone(),
        });
        outcome.rollout = Some(target.merge_patch(None, &body).await.map_err(fail)?);
    }
    Ok(outcome)
}

/// `kubectl argo rollouts promote [--full]`.
pub async fn promote(
    client: kube::Client,
    namespace: &str,
    name: &str,
    full: bool,
) -> Result<ControlOutcome, RolloutError> {
    let action = if full {
        Action::PromoteFull
    } else {
        Action::Promote
    };
    run(&RolloutApi::new(client, namespace, name), action).await
}

/// `kubectl argo rollouts abort`.
pub async fn abort(
    client: kube::Client,
    namespace: &str,
    name: &str,
) -> Result<ControlOutcome, RolloutError> {
    run(&RolloutApi::new(client, namespace, name), Action::Abort).await
}

/// `kubectl argo rollouts retry rollout`.
pub async fn retry(
    client: kube::Client,
    namespace: &str,
    name: &str,
) -> Result<ControlOutcome, RolloutError> {
    run(&RolloutApi::new(client, namespace, name), Action::Retry).await
}

/// `kubectl argo rollouts restart` (now, or at a given time).
pub async fn restart(
    client: kube::Client,
    namespace: &str,
    name: &str,
    at: Option<SystemTime>,
) -> Result<ControlOutcome, RolloutError> {
    let action = Action::Restart(at.unwrap_or_else(SystemTime::now));
    run(&RolloutApi::new(client, namespace, name), action).await
}
