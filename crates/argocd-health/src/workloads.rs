//! Argo CD v3.5.1's rules for apps/v1 workloads, ported from gitops-engine/pkg/health
//! (health_deployment.go, health_statefulset.go, health_replicaset.go, health_daemonset.go).
//! Absent fields read as Go's zero values; pointers (`spec.replicas`, partition) as absent.

use crate::{Health, Status};
use serde_json::Value;

pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn opt_int(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// health_deployment.go `getAppsv1DeploymentHealth`.
pub(crate) fn deployment(obj: &Value) -> Health {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    if spec["paused"].as_bool() == Some(true) {
        return Health::new(Status::Suspended, "Deployment is paused");
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if int(&obj["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Health::new(
            Status::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let updated = int(&status["updatedReplicas"]);
    let replicas = opt_int(&spec["replicas"]);
    if condition(obj, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Health::new(
            Status::Degraded,
            format!("Deployment {name:?} exceeded its progress deadline"),
        );
    }
    if let Some(replicas) = replicas.filter(|r| updated < *r) {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated..."
            ),
        );
    }
    let total = int(&status["replicas"]);
    if total > updated {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
        );
    }
    let available = int(&status["availableReplicas"]);
    if available < updated {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    Health::new(Status::Healthy, "")
}

/// health_statefulset.go `getAppsv1StatefulSetHealth`.
pub(crate) fn stateful_set(obj: &Value) -> Health {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let observed = int(&status["observedGeneration"]);
    if observed == 0 || int(&obj["metadata"]["generation"]) > observed {
        return Health::new(
            Status::Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let replicas = opt_int(&spec["replicas"]);
    let ready = int(&status["readyReplicas"]);
    if let Some(replicas) = replicas.filter(|r| ready < *r) {
        return Health::new(
            Status::Progressing,
            format!("Waiting for {} pods to be ready...", replicas - ready),
        );
    }
    let strategy = &spec["updateStrategy"];
    let updated = int(&status["updatedReplicas"]);
    if strategy["type"] == "RollingUpdate" && strategy["rollingUpdate"].is_object() {
        if let (Some(replicas), Some(partition)) =
            (replicas, opt_int(&strategy["rollingUpdate"]["partition"]))
            && updated < replicas - partition
        {
            return Health::new(
                Status::Progressing,
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    replicas - partition
                ),
            );
        }
        return Health::new(
            Status::Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        );
    }
    if strategy["type"] == "OnDelete" {
        return Health::new(
            Status::Healthy,
            format!("statefulset has {ready} ready pods"),
        );
    }
    let update_revision = status["updateRevision"].as_str().unwrap_or("");
    let current_revision = status["currentRevision"].as_str().unwrap_or("");
    if update_revision != current_revision {
        return Health::new(
            Status::Progressing,
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
            ),
        );
    }
    Health::new(
        Status::Healthy,
        format!(
            "statefulset rolling update complete {} pods at revision {current_revision}...",
            int(&status["currentReplicas"])
        ),
    )
}

/// health_replicaset.go `getAppsv1ReplicaSetHealth`.
pub(crate) fn replica_set(obj: &Value) -> Health {
    let status = &obj["status"];
    if int(&obj["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Health::new(
            Status::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    if let Some(c) = condition(obj, "ReplicaFailure").filter(|c| c["status"] == "True") {
        return Health::new(Status::Degraded, c["message"].as_str().unwrap_or(""));
    }
    let available = int(&status["availableReplicas"]);
    if let Some(replicas) = opt_int(&obj["spec"]["replicas"]).filter(|r| available < *r) {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {replicas} new replicas are available..."
            ),
        );
    }
    Health::new(Status::Healthy, "")
}

/// health_daemonset.go `getAppsv1DaemonSetHealth`.
pub(crate) fn daemon_set(obj: &Value) -> Health {
    let status = &obj["status"];
    if int(&obj["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Health::new(
            Status::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let updated = int(&status["updatedNumberScheduled"]);
    let desired = int(&status["desiredNumberScheduled"]);
    if obj["spec"]["updateStrategy"]["type"] == "OnDelete" {
        return Health::new(
            Status::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if updated < desired {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
        );
    }
    let available = int(&status["numberAvailable"]);
    if available < desired {
        return Health::new(
            Status::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
            ),
        );
    }
    Health::new(Status::Healthy, "")
}
