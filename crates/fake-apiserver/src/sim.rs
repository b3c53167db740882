//! Simulated controllers: move objects through the states real controllers produce, through
//! the same store the HTTP API serves (so watches see every step).

use crate::{Change, ChangeType, Fake};
use serde_json::{Value, json};
use std::time::Duration;

/// Makes every Deployment, StatefulSet and DaemonSet roll out `delay` after each spec change:
/// observedGeneration, replicas, updated/ready/available replicas, as their controllers would.
pub fn spawn_workload_controller(fake: Fake, delay: Duration) -> tokio::task::JoinHandle<()> {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted || change.resource.group != "apps" {
            return true;
        }
        let generation = change.object["metadata"]["generation"]
            .as_i64()
            .unwrap_or(1);
        if change.object["status"]["observedGeneration"].as_i64() == Some(generation) {
            return true;
        }
        let (fake, change) = (fake.clone(), change.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = rolled_out(&fake, &change);
        });
        true
    })
}

/// Sets the status of a Deployment / StatefulSet / DaemonSet to fully rolled out.
pub fn rolled_out(fake: &Fake, change: &Change) -> Result<Value, crate::ApiError> {
    roll_out(fake, change.kind(), &change.namespace, &change.name)
}

/// Sets the status of the Deployment / StatefulSet / DaemonSet `kind` `namespace/name` to fully
/// rolled out at its current generation.
pub fn roll_out(
    fake: &Fake,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, crate::ApiError> {
    let o = fake
        .get("apps/v1", kind, Some(namespace), name)
        .ok_or_else(|| crate::ApiError::new(404, "NotFound", "gone"))?;
    let generation = o["metadata"]["generation"].as_i64().unwrap_or(1);
    let replicas = o["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = match kind {
        "DaemonSet" => json!({
            "observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1, "numberAvailable": 1, "numberReady": 1,
        }),
        "StatefulSet" => json!({
            "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
            "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
            "currentRevision": format!("{name}-1"), "updateRevision": format!("{name}-1"),
        }),
        _ => json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }),
    };
    fake.set_status("apps/v1", kind, Some(namespace), name, status)
}

/// A Deployment stuck on an image that cannot be pulled: status shows 0 available, one pod
/// (matching the Deployment's selector) waits in ImagePullBackOff, and a Warning event says why.
pub fn image_pull_backoff(
    fake: &Fake,
    namespace: &str,
    deployment: &str,
    image: &str,
) -> Result<(), crate::ApiError> {
    let pod = stuck_pod(
        fake,
        namespace,
        deployment,
        json!({
            "waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\": not found")}
        }),
        0,
    )?;
    fake.add_event(namespace, "Pod", &pod, "Warning", "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"))?;
    Ok(())
}

/// A Deployment whose container keeps crashing: CrashLoopBackOff, last exit code 1, logs set.
pub fn crash_loop(
    fake: &Fake,
    namespace: &str,
    deployment: &str,
    log: &str,
) -> Result<(), crate::ApiError> {
    let pod = stuck_pod(
        fake,
        namespace,
        deployment,
        json!({
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
        }),
        3,
    )?;
    let container = container_name(fake, namespace, deployment);
    fake.set_pod_log(namespace, &pod, &container, true, log);
    fake.add_event(
        namespace,
        "Pod",
        &pod,
        "Warning",
        "BackOff",
        "Back-off restarting failed container",
    )?;
    Ok(())
}

fn container_name(fake: &Fake, namespace: &str, deployment: &str) -> String {
    fake.get("apps/v1", "Deployment", Some(namespace), deployment)
        .and_then(|d| {
            d["spec"]["template"]["spec"]["containers"][0]["name"]
                .as_str()
                .map(String::from)
        })
        .unwrap_or_else(|| "main".into())
}

fn stuck_pod(
    fake: &Fake,
    namespace: &str,
    deployment: &str,
    state: Value,
    restarts: i64,
) -> Result<String, crate::ApiError> {
    let d = fake
        .get("apps/v1", "Deployment", Some(namespace), deployment)
        .ok_or_else(|| {
            crate::ApiError::new(
                404,
                "NotFound",
                format!("deployment {deployment} not found"),
            )
        })?;
    let labels = d["spec"]["selector"]["matchLabels"].clone();
    let container = container_name(fake, namespace, deployment);
    let name = format!("{deployment}-7c9d5b6f4-x2x9k");
    let pod = fake.create(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": d["spec"]["template"]["spec"].clone(),
    }))?;
    let mut container_status = json!({
        "name": container, "ready": false, "restartCount": restarts, "image": "", "imageID": "", "state": state,
    });
    if restarts > 0 {
        container_status["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error"}});
    }
    fake.set_status(
        "v1",
        "Pod",
        Some(namespace),
        &name,
        json!({
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [container_status],
        }),
    )?;
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
    fake.set_status("apps/v1", "Deployment", Some(namespace), deployment, json!({
        "observedGeneration": generation, "replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1,
    }))?;
    Ok(pod["metadata"]["name"]
        .as_str()
        .unwrap_or(&name)
        .to_string())
}
