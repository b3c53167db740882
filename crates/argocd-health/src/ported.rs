//! Lua checks Argo CD v3.5.1 ships, ported by hand so that a caller without Lua still rates
//! these kinds as Argo CD does: CustomResourceDefinition, PodDisruptionBudget and CronJob
//! (the shared upstream folder does not hold these scripts), and argoproj.io/Rollout (the
//! platform's own workload; held against every fixture of upstream's health_test.yaml by
//! tests/upstream_fixtures.rs). Each
//! follows its script line by line (argo-cd v3.5.1
//! `resource_customizations/<group>/<kind>/health.lua`), including where the script fails on
//! a missing field (Argo CD then rates Unknown). A caller that runs Lua checks lets a
//! `health.lua` win over these.

use crate::{Health, Status};
use serde_json::Value;

pub(crate) type Rule = fn(&Value) -> Result<Health, String>;

pub(crate) fn rule(group: &str, kind: &str) -> Option<Rule> {
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(crd),
        ("policy", "PodDisruptionBudget") => Some(pdb),
        ("batch", "CronJob") => Some(cron_job),
        ("argoproj.io", "Rollout") => Some(rollout),
        _ => None,
    }
}

fn index_error(field: &str) -> String {
    format!("attempt to index field '{field}' (a nil value)")
}

fn concat<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("attempt to concatenate field '{field}' (a nil value)"))
}

/// apiextensions.k8s.io/CustomResourceDefinition/health.lua.
fn crd(obj: &Value) -> Result<Health, String> {
    if !obj["metadata"]["deletionTimestamp"].is_null() {
        return Ok(Health::new(Status::Progressing, "CRD is terminating"));
    }
    if obj["status"].is_null() {
        return Err(index_error("status"));
    }
    let conditions = match obj["status"]["conditions"].as_array() {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Ok(Health::new(
                Status::Progressing,
                "Status conditions not found",
            ));
        }
    };
    let mut established = false;
    for c in conditions {
        let (t, s) = (&c["type"], &c["status"]);
        if t == "Terminating" && s == "True" {
            let m = concat(&c["message"], "message")?;
            return Ok(Health::new(
                Status::Progressing,
                format!("CRD is terminating: {m}"),
            ));
        }
        if t == "NamesAccepted" && s == "False" {
            let m = concat(&c["message"], "message")?;
            return Ok(Health::new(
                Status::Degraded,
                format!("CRD names have not been accepted: {m}"),
            ));
        }
        if t == "NonStructuralSchema" && s == "True" {
            let m = concat(&c["message"], "message")?;
            return Ok(Health::new(
                Status::Degraded,
                format!("Schema violations found: {m}"),
            ));
        }
        if t == "Established" {
            if s == "True" {
                established = true;
            } else if c["reason"] == "Installing" {
                return Ok(Health::new(Status::Progressing, "CRD is being installed"));
            }
        }
    }
    if !established {
        return Ok(Health::new(Status::Degraded, "CRD is not established"));
    }
    Ok(Health::new(Status::Healthy, "CRD is healthy"))
}

/// policy/PodDisruptionBudget/health.lua: the last condition decides, a False one (but
/// InsufficientPods) at once.
fn pdb(obj: &Value) -> Result<Health, String> {
    let mut health = Health::new(Status::Progressing, "Waiting for status");
    for c in obj["status"]["conditions"].as_array().into_iter().flatten() {
        let reason = concat(&c["reason"], "reason")?;
        if c["status"] == "False" && reason != "InsufficientPods" {
            return Ok(Health::new(
                Status::Degraded,
                format!("PodDisruptionBudget has {reason}"),
            ));
        }
        health = Health::new(Status::Healthy, format!("PodDisruptionBudget has {reason}"));
    }
    Ok(health)
}

/// batch/CronJob/health.lua.
fn cron_job(obj: &Value) -> Result<Health, String> {
    if obj["spec"].is_null() {
        return Err(index_error("spec"));
    }
    if obj["spec"]["suspend"] == true {
        return Ok(Health::new(Status::Healthy, "CronJob is Suspended"));
    }
    let status = &obj["status"];
    if status.is_null() {
        return Ok(Health::new(Status::Progressing, "Waiting for CronJob"));
    }
    let Some(scheduled) = status["lastScheduleTime"].as_str() else {
        return Ok(Health::new(
            Status::Healthy,
            "CronJob has not been scheduled yet",
        ));
    };
    let Some(succeeded) = status["lastSuccessfulTime"].as_str() else {
        return Ok(Health::new(
            Status::Healthy,
            "The CronJob never completed successfully. It may not be healthy",
        ));
    };
    if status["active"].as_array().is_some_and(|a| !a.is_empty()) {
        return Ok(Health::new(
            Status::Healthy,
            "The job is running. Its last execution may not have been successful",
        ));
    }
    // RFC 3339 timestamps compare as strings, as the script compares them.
    if succeeded < scheduled {
        return Ok(Health::new(
            Status::Degraded,
            "CronJob has not completed its last execution successfully",
        ));
    }
    Ok(Health::new(
        Status::Healthy,
        "CronJob has completed its last execution successfully",
    ))
}

/// Lua's `tonumber` on a JSON value: numbers, and strings that read as numbers.
fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Lua's truthiness: everything but nil and false.
fn truthy(v: &Value) -> bool {
    !(v.is_null() || *v == Value::Bool(false))
}

/// argoproj.io/Rollout/health.lua, function by function.
fn rollout(obj: &Value) -> Result<Health, String> {
    let status = &obj["status"];
    let progressing = |m: &str| Ok(Health::new(Status::Progressing, m));
    // isGenerationObserved
    let generation_observed = if status.is_null() {
        false
    } else {
        match to_number(&status["observedGeneration"]) {
            None => true,
            Some(observed) => {
                let generation = to_number(&obj["metadata"]["generation"])
                    .ok_or("attempt to compare nil with number")?;
                observed >= generation
            }
        }
    };
    // isWorkloadGenerationObserved
    let annotations = &obj["metadata"]["annotations"];
    let workload_observed = obj["spec"]["workloadRef"].is_null()
        || annotations.is_null()
        || to_number(&annotations["rollout.argoproj.io/workload-generation"])
            == to_number(&status["workloadObservedGeneration"]);
    if !generation_observed || !workload_observed {
        return progressing("Waiting for rollout spec update to be observed");
    }
    // Argo Rollouts ≥ 1.0 records phase and message: surfaced as they are, Paused as Suspended.
    if let Some(phase) = status["phase"].as_str() {
        let message = status["message"].as_str().unwrap_or("");
        return Ok(match phase {
            "Paused" => Health::new(Status::Suspended, message),
            other => match Status::parse(other) {
                Some(s) => Health::new(s, message),
                None => Health::new(Status::Unknown, "Lua returned an invalid health status"),
            },
        });
    }
    let conditions = match &status["conditions"] {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => &[],
        _ => return Err("bad argument #1 to 'ipairs' (table expected, got nil)".into()),
    };
    for c in conditions {
        let message = c["message"].as_str().unwrap_or("");
        let degraded = c["type"] == "InvalidSpec"
            || c["type"] == "Progressing"
                && (c["reason"] == "RolloutAborted" || c["reason"] == "ProgressDeadlineExceeded");
        if degraded {
            return Ok(Health::new(Status::Degraded, message));
        }
    }
    // checkPaused
    let paused = status["pauseConditions"]
        .as_array()
        .is_some_and(|p| p.iter().any(|c| !c.is_null()))
        || truthy(&obj["spec"]["paused"]);
    if paused {
        return Ok(Health::new(Status::Suspended, "Rollout is paused"));
    }
    let Some(current) = status["currentPodHash"].as_str() else {
        return progressing("Waiting for rollout to finish: status has not been reconciled.");
    };
    // checkReplicasStatus
    let number = |v: &Value, default: f64| to_number(v).unwrap_or(default);
    let desired = number(&obj["spec"]["replicas"], 1.0);
    let replicas = number(&status["replicas"], 0.0);
    let updated = number(&status["updatedReplicas"], 0.0);
    let available = number(&status["availableReplicas"], 0.0);
    if updated < desired {
        return progressing("Waiting for roll out to finish: More replicas need to be updated");
    }
    if available < updated {
        return progressing(
            "Waiting for roll out to finish: updated replicas are still becoming available",
        );
    }
    // getStableRS: status.stableRS, else the pre-v0.8 status.canary.stableRS, else "" (nil
    // when status.canary exists without it).
    let stable: Option<&str> = if !status["stableRS"].is_null() {
        status["stableRS"].as_str()
    } else if !status["canary"].is_null() {
        status["canary"]["stableRS"].as_str()
    } else {
        Some("")
    };
    let strategy = &obj["spec"]["strategy"];
    if strategy.is_null() {
        return Err("attempt to index field 'strategy' (a nil value)".into());
    }
    if !strategy["blueGreen"].is_null() {
        if status["blueGreen"].is_null() || status["blueGreen"]["activeSelector"] != current {
            return progressing("active service cutover pending");
        }
        if stable != Some("") && stable != Some(current) {
            return progressing("waiting for analysis to complete");
        }
    } else if !strategy["canary"].is_null() {
        if replicas > updated {
            return progressing(
                "Waiting for roll out to finish: old replicas are pending termination",
            );
        }
        if stable == Some("") || stable != Some(current) {
            return progressing("Waiting for rollout to finish steps");
        }
    }
    Ok(Health::new(Status::Healthy, ""))
}

#[cfg(test)]
mod tests {
    //! One case per entry of upstream's health_test.yaml for these scripts (argo-cd v3.5.1
    //! resource_customizations/<group>/<kind>/health_test.yaml, same expected status and
    //! message), each fixture reduced to the fields the script reads.
    use super::*;
    use serde_json::json;

    fn crd_with(conditions: Value) -> Value {
        json!({"kind": "CustomResourceDefinition", "metadata": {"name": "x"},
               "status": {"conditions": conditions}})
    }

    #[test]
    fn crd_cases_of_upstream_health_test() {
        let cond = |t: &str, s: &str, r: &str, m: &str| json!({"type": t, "status": s, "reason": r, "message": m});
        let cases = [
            (
                crd_with(json!([
                    cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                    cond(
                        "Established",
                        "True",
                        "InitialNamesAccepted",
                        "the initial names have been accepted"
                    )
                ])),
                Status::Healthy,
                "CRD is healthy",
            ),
            (
                crd_with(json!([
                    cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                    cond(
                        "Established",
                        "False",
                        "Installing",
                        "the initial names have been accepted"
                    )
                ])),
                Status::Progressing,
                "CRD is being installed",
            ),
            (
                crd_with(json!([cond(
                    "NamesAccepted",
                    "False",
                    "NotAccepted",
                    "the initial names have not been accepted"
                )])),
                Status::Degraded,
                "CRD names have not been accepted: the initial names have not been accepted",
            ),
            (
                crd_with(json!([])),
                Status::Progressing,
                "Status conditions not found",
            ),
            (
                crd_with(json!([cond(
                    "NonStructuralSchema",
                    "True",
                    "Violations",
                    "spec.preserveUnknownFields: Invalid value: true: must be false"
                )])),
                Status::Degraded,
                "Schema violations found: spec.preserveUnknownFields: Invalid value: true: must be false",
            ),
            (
                crd_with(json!([
                    cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                    cond("Established", "False", "NotEstablished", "not established")
                ])),
                Status::Degraded,
                "CRD is not established",
            ),
            (
                crd_with(json!([cond(
                    "Terminating",
                    "True",
                    "InstanceDeletionInProgress",
                    "user has deleted the CRD"
                )])),
                Status::Progressing,
                "CRD is terminating: user has deleted the CRD",
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2024-12-04T12:00:00Z"}, "status": {}}),
                Status::Progressing,
                "CRD is terminating",
            ),
        ];
        for (obj, status, message) in cases {
            assert_eq!(crd(&obj).unwrap(), Health::new(status, message), "{obj}");
        }
        assert!(
            crd(&json!({"metadata": {}})).is_err(),
            "no status: the script fails"
        );
    }

    #[test]
    fn pdb_cases_of_upstream_health_test() {
        let pdb_with = |status: &str, reason: &str| json!({"status": {"conditions": [{"type": "DisruptionAllowed", "status": status, "reason": reason}]}});
        assert_eq!(
            pdb(&pdb_with("True", "SufficientPods")).unwrap(),
            Health::new(Status::Healthy, "PodDisruptionBudget has SufficientPods")
        );
        assert_eq!(
            pdb(&pdb_with("False", "SyncFailed")).unwrap(),
            Health::new(Status::Degraded, "PodDisruptionBudget has SyncFailed")
        );
        assert_eq!(
            pdb(&pdb_with("False", "InsufficientPods")).unwrap(),
            Health::new(Status::Healthy, "PodDisruptionBudget has InsufficientPods")
        );
        assert_eq!(
            pdb(&json!({"spec": {}})).unwrap(),
            Health::new(Status::Progressing, "Waiting for status")
        );
    }

    #[test]
    fn cron_job_cases_of_upstream_health_test() {
        let cases = [
            (
                json!({"spec": {"suspend": true}}),
                Status::Healthy,
                "CronJob is Suspended",
            ),
            (
                json!({"spec": {}, "status": {}}),
                Status::Healthy,
                "CronJob has not been scheduled yet",
            ),
            (
                json!({"spec": {}, "status": {"lastScheduleTime": "2024-01-01T00:00:00Z"}}),
                Status::Healthy,
                "The CronJob never completed successfully. It may not be healthy",
            ),
            (
                json!({"spec": {}, "status": {"lastScheduleTime": "2024-01-02T00:00:00Z",
                    "lastSuccessfulTime": "2024-01-01T00:00:00Z", "active": [{"name": "j"}]}}),
                Status::Healthy,
                "The job is running. Its last execution may not have been successful",
            ),
            (
                json!({"spec": {}, "status": {"lastScheduleTime": "2024-01-02T00:00:00Z",
                    "lastSuccessfulTime": "2024-01-01T00:00:00Z"}}),
                Status::Degraded,
                "CronJob has not completed its last execution successfully",
            ),
            (
                json!({"spec": {}, "status": {"lastScheduleTime": "2024-01-01T00:00:00Z",
                    "lastSuccessfulTime": "2024-01-01T00:01:00Z"}}),
                Status::Healthy,
                "CronJob has completed its last execution successfully",
            ),
        ];
        for (obj, status, message) in cases {
            assert_eq!(
                cron_job(&obj).unwrap(),
                Health::new(status, message),
                "{obj}"
            );
        }
    }
}
