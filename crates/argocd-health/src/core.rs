//! Argo CD v3.5.1's rules for the other built-in kinds, ported from gitops-engine/pkg/health
//! (health_pod.go, health_service.go, health_pvc.go, health_ingress.go, health_job.go,
//! health_hpa.go, health_apiservice.go, health_argo.go).

use crate::workloads::int;
use crate::{Health, Status};
use serde_json::Value;

/// Kinds `GetHealthCheckFunc` (health.go) has a rule for, any version.
pub(crate) fn rated(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "apps",
            "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet"
        ) | ("extensions" | "networking.k8s.io", "Ingress")
            | ("argoproj.io", "Workflow")
            | ("apiregistration.k8s.io", "APIService")
            | ("", "Service" | "PersistentVolumeClaim" | "Pod")
            | ("batch", "Job")
            | ("autoscaling", "HorizontalPodAutoscaler")
    )
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// health_pod.go `getCorev1PodHealth`.
pub(crate) fn pod(obj: &Value) -> Health {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let restart_policy = str_of(&spec["restartPolicy"]);
    let message = str_of(&status["message"]);
    // Waiting reasons mark a long-running pod Degraded; not a hook pod (OnFailure/Never), which
    // would fail its hook early.
    if restart_policy == "Always" {
        let messages: Vec<&str> = array(&status["containerStatuses"])
            .iter()
            .filter_map(|c| {
                let waiting = &c["state"]["waiting"];
                let reason = waiting["reason"].as_str()?;
                (reason.starts_with("Err")
                    || reason.ends_with("Error")
                    || reason.ends_with("BackOff"))
                .then(|| str_of(&waiting["message"]))
            })
            .collect();
        if !messages.is_empty() {
            return Health::new(Status::Degraded, messages.join(", "));
        }
    }
    match str_of(&status["phase"]) {
        "Pending" => Health::new(Status::Progressing, message),
        "Succeeded" => Health::new(Status::Healthy, message),
        "Failed" => {
            if !message.is_empty() {
                return Health::new(Status::Degraded, message);
            }
            let containers = array(&status["initContainerStatuses"])
                .iter()
                .chain(array(&status["containerStatuses"]));
            for c in containers {
                let terminated = &c["state"]["terminated"];
                if terminated.is_object() {
                    let m = str_of(&terminated["message"]);
                    if !m.is_empty() {
                        return Health::new(Status::Degraded, m);
                    }
                    if terminated["reason"] == "OOMKilled" {
                        return Health::new(Status::Degraded, "OOMKilled");
                    }
                    let code = int(&terminated["exitCode"]);
                    if code != 0 {
                        return Health::new(
                            Status::Degraded,
                            format!(
                                "container {:?} failed with exit code {code}",
                                str_of(&c["name"])
                            ),
                        );
                    }
                }
            }
            Health::new(Status::Degraded, "")
        }
        "Running" => match restart_policy {
            "Always" => {
                // podutils.IsPodReady: the Ready condition is True.
                let ready = array(&status["conditions"])
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                if ready {
                    return Health::new(Status::Healthy, message);
                }
                let terminated_before = array(&status["containerStatuses"])
                    .iter()
                    .any(|c| c["lastState"]["terminated"].is_object());
                if terminated_before {
                    Health::new(Status::Degraded, message)
                } else {
                    Health::new(Status::Progressing, message)
                }
            }
            // Finite pods (typically hooks) are Progressing while they run.
            "OnFailure" | "Never" => Health::new(Status::Progressing, message),
            _ => Health::new(Status::Unknown, message),
        },
        _ => Health::new(Status::Unknown, message),
    }
}

/// health_service.go: a LoadBalancer Service is Healthy only with an ingress address.
pub(crate) fn service(obj: &Value) -> Health {
    if obj["spec"]["type"] == "LoadBalancer"
        && array(&obj["status"]["loadBalancer"]["ingress"]).is_empty()
    {
        return Health::new(Status::Progressing, "");
    }
    Health::new(Status::Healthy, "")
}

/// health_pvc.go.
pub(crate) fn pvc(obj: &Value) -> Health {
    let status = match str_of(&obj["status"]["phase"]) {
        "Lost" => Status::Degraded,
        "Pending" => Status::Progressing,
        "Bound" => Status::Healthy,
        _ => Status::Unknown,
    };
    Health::new(status, "")
}

/// health_ingress.go: Healthy once `status.loadBalancer.ingress` lists an address.
pub(crate) fn ingress(obj: &Value) -> Health {
    if array(&obj["status"]["loadBalancer"]["ingress"]).is_empty() {
        Health::new(Status::Progressing, "")
    } else {
        Health::new(Status::Healthy, "")
    }
}

/// health_job.go `getBatchv1JobHealth` (condition types only: their status is not read, as
/// upstream).
pub(crate) fn job(obj: &Value) -> Health {
    let (mut failed, mut complete, mut suspended) = (false, false, false);
    let (mut fail_message, mut message) = ("", "");
    for c in array(&obj["status"]["conditions"]) {
        match str_of(&c["type"]) {
            "Failed" => {
                failed = true;
                complete = true;
                fail_message = str_of(&c["message"]);
            }
            "Complete" => {
                complete = true;
                message = str_of(&c["message"]);
            }
            "Suspended" => {
                complete = true;
                message = str_of(&c["message"]);
                if c["status"] == "True" {
                    suspended = true;
                }
            }
            _ => {}
        }
    }
    if !complete {
        Health::new(Status::Progressing, message)
    } else if failed {
        Health::new(Status::Degraded, fail_message)
    } else if suspended {
        Health::new(Status::Suspended, fail_message)
    } else {
        Health::new(Status::Healthy, message)
    }
}

/// health_hpa.go: v2 reads status.conditions, v1 the conditions annotation.
pub(crate) fn hpa(version: &str, obj: &Value) -> Result<Health, String> {
    let progressing = Health::new(Status::Progressing, "Waiting to Autoscale");
    let conditions: Vec<Value> = if version == "v2" {
        array(&obj["status"]["conditions"]).to_vec()
    } else {
        let Some(text) =
            obj["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"].as_str()
        else {
            return Ok(progressing);
        };
        let parsed: Vec<Value> = serde_json::from_str(text)
            .map_err(|e| format!("failed to convert conditions annotation to typed: {e}"))?;
        if parsed.is_empty() {
            return Ok(progressing);
        }
        parsed
    };
    // checkConditions: a degraded (type, reason) first, then AbleToScale/ScalingLimited True.
    const DEGRADED: [(&str, &str); 8] = [
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "FailedGetObjectMetric"),
        ("ScalingActive", "FailedGetPodsMetric"),
        ("ScalingActive", "FailedGetExternalMetric"),
        ("ScalingActive", "FailedComputeMetricsReplicas"),
        ("ScalingActive", "InvalidSelector"),
    ];
    // The v1 annotation holds Go-cased fields (Type, Reason...), matched case-insensitively
    // by encoding/json; v2 conditions are lower-case.
    let field = |c: &Value, name: &str| -> String {
        c.as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    for c in &conditions {
        let (t, r) = (field(c, "type"), field(c, "reason"));
        if DEGRADED.iter().any(|(dt, dr)| *dt == t && *dr == r) {
            return Ok(Health::new(Status::Degraded, field(c, "message")));
        }
    }
    for c in &conditions {
        let t = field(c, "type");
        if (t == "AbleToScale" || t == "ScalingLimited") && field(c, "status") == "True" {
            return Ok(Health::new(Status::Healthy, field(c, "message")));
        }
    }
    Ok(progressing)
}

/// health_apiservice.go (v1 and v1beta1 alike).
pub(crate) fn api_service(obj: &Value) -> Health {
    for c in array(&obj["status"]["conditions"]) {
        if c["type"] == "Available" {
            let message = format!("{}: {}", str_of(&c["reason"]), str_of(&c["message"]));
            let status = if c["status"] == "True" {
                Status::Healthy
            } else {
                Status::Progressing
            };
            return Health::new(status, message);
        }
    }
    Health::new(Status::Progressing, "Waiting to be processed")
}

/// health_argo.go: an Argo Workflow by its phase.
pub(crate) fn argo_workflow(obj: &Value) -> Health {
    let message = str_of(&obj["status"]["message"]);
    let status = match str_of(&obj["status"]["phase"]) {
        "" | "Pending" | "Running" => Status::Progressing,
        "Succeeded" => Status::Healthy,
        "Failed" | "Error" => Status::Degraded,
        _ => Status::Unknown,
    };
    Health::new(status, message)
}
