//! Why an Argo CD Application is not Healthy, named resource by resource.
//!
//! Argo CD v3.5.1 writes no Application health message (the field is deprecated and left
//! empty) and, by default, no per-resource health in `status.resources`
//! (`--persist-resource-health` is off in 3.x: the health lives in the resource tree, which
//! only Argo CD's own API serves). So kindling rates the managed resources itself, by Argo
//! CD's rules: every `status.resources` entry (group, version, kind, namespace, name) is read
//! from the cluster and rated with crates/argocd-health — the Go rules of gitops-engine for
//! core kinds and the Lua checks Argo CD ships for built-in kinds and Rollouts, ported and held
//! against upstream's fixtures; the simulated Argo CD of the tests rates with the same code
//! (and runs the Lua checks themselves). Other custom resources, whose Lua checks kindling
//! does not run, show the Ready/Available conditions that are not True. Under each workload
//! that is not Healthy come its pods' states (ImagePullBackOff, not scheduled, ...): the rule
//! says "0 of 1 updated replicas are available", the pod says why.

use crate::k8s::{Discovery, diagnose};
use argocd_health::{Health, Status};
use kube::api::{Api, DynamicObject};
use serde_json::Value;
use std::fmt::Write;

/// How many resources a diagnosis names at most (the rest are counted).
const MAX_NAMED: usize = 12;

/// A resource's health by Argo CD's rules (crates/argocd-health: the Go rules for core kinds,
/// the Lua checks Argo CD ships for built-in kinds and for Rollouts, ported); None for a kind
/// no rule rates (it does not count for Argo CD either, or Argo CD rates it with a Lua check
/// kindling does not run). A rule that fails rates Unknown with its error, as in Argo CD.
pub fn rate(obj: &Value) -> Option<Health> {
    match argocd_health::assess(obj) {
        Ok(health) => health,
        Err(e) => Some(e.health()),
    }
}

/// What the rule checked when its message says nothing (Argo CD's Service, Ingress and PVC
/// rules return an empty message).
fn unsaid(obj: &Value, health: &Health) -> Option<&'static str> {
    let kind = obj["kind"].as_str().unwrap_or("");
    match (kind, health.status) {
        ("Service", Some(Status::Progressing)) => Some(
            "type LoadBalancer and no address in status.loadBalancer.ingress (kind has no \
             load-balancer controller: nothing ever assigns one)",
        ),
        ("Ingress", Some(Status::Progressing)) => Some(
            "no address in status.loadBalancer.ingress: the ingress controller has not \
             published one (is it running, and is this its ingress class?)",
        ),
        ("PersistentVolumeClaim", Some(Status::Progressing)) => Some("not bound yet"),
        ("PersistentVolumeClaim", Some(Status::Degraded)) => Some("its volume is lost"),
        _ => None,
    }
}

/// The conditions of a custom resource kindling cannot rate that say it is not ready.
fn unready_conditions(obj: &Value) -> Vec<String> {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| matches!(c["type"].as_str(), Some("Ready" | "Available")))
        .filter(|c| c["status"] != "True")
        .map(|c| {
            let mut text = format!(
                "{}={}",
                c["type"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or("?")
            );
            if let Some(r) = c["reason"].as_str().filter(|r| !r.is_empty()) {
                let _ = write!(text, " ({r})");
            }
            if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
                let _ = write!(text, ": {m}");
            }
            text
        })
        .collect()
}

/// "Deployment kube-system/metrics-server".
fn describe(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

/// Why the Application is not (yet) Healthy: its sync operation when one is running, then each
/// managed resource that is not Healthy with its health and the reason, pod states under
/// workloads, and what has not been created. Best effort: what the cluster cannot answer is
/// left out.
pub async fn explain(client: kube::Client, app: DynamicObject) -> String {
    let status = &app.data["status"];
    let mut out = String::new();
    let op = &status["operationState"];
    if op["phase"] == "Running"
        && let Some(message) = op["message"].as_str().filter(|m| !m.is_empty())
    {
        let _ = writeln!(out, "Argo CD's sync is running: {message}");
    }
    let discovery = Discovery::new(client.clone());
    let (mut lines, mut named, mut missing) = (String::new(), 0, Vec::new());
    for entry in status["resources"].as_array().into_iter().flatten() {
        let (group, version) = (
            entry["group"].as_str().unwrap_or(""),
            entry["version"].as_str().unwrap_or(""),
        );
        let kind = entry["kind"].as_str().unwrap_or("");
        let namespace = entry["namespace"].as_str().unwrap_or("");
        let name = entry["name"].as_str().unwrap_or("");
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let what = describe(kind, namespace, name);
        let Ok(Some(resolved)) = discovery.try_resolve(&api_version, kind).await else {
            missing.push(what);
            continue;
        };
        let api: Api<DynamicObject> = if resolved.namespaced {
            Api::namespaced_with(client.clone(), namespace, &resolved.resource)
        } else {
            Api::all_with(client.clone(), &resolved.resource)
        };
        let live = match api.get_opt(name).await {
            Ok(Some(live)) => live,
            Ok(None) => {
                missing.push(what);
                continue;
            }
            Err(_) => continue,
        };
        let Ok(obj) = serde_json::to_value(&live) else {
            continue;
        };
        let line = match rate(&obj) {
            Some(h) if h.status == Some(Status::Healthy) => continue,
            Some(h) => {
                let mut line = format!("{what}: {}", h.status_str());
                if !h.message.is_empty() {
                    let _ = write!(line, ": {}", h.message);
                } else if let Some(why) = unsaid(&obj, &h) {
                    let _ = write!(line, ": {why}");
                }
                line
            }
            None => {
                let conditions = unready_conditions(&obj);
                if conditions.is_empty() {
                    continue;
                }
                format!("{what}: {}", conditions.join("; "))
            }
        };
        named += 1;
        if named > MAX_NAMED {
            continue;
        }
        let _ = writeln!(lines, "  {line}");
        if let Some(selector) = workload_selector(&obj) {
            for pod_line in diagnose::pod_states(&client, namespace, &selector)
                .await
                .lines()
            {
                let _ = writeln!(lines, "    {pod_line}");
            }
        }
    }
    if named > 0 {
        let _ = writeln!(
            out,
            "not Healthy by Argo CD's rules ({}):",
            describe(
                "Application",
                app.metadata.namespace.as_deref().unwrap_or(""),
                &app.metadata.name.clone().unwrap_or_default()
            )
        );
        out.push_str(&lines);
        if named > MAX_NAMED {
            let _ = writeln!(out, "  ... and {} more", named - MAX_NAMED);
        }
    }
    if !missing.is_empty() {
        let _ = writeln!(out, "not created yet: {}", missing.join(", "));
    }
    out.trim_end().to_string()
}

/// The pod selector of a workload kind (its pods say why it is not available).
fn workload_selector(obj: &Value) -> Option<String> {
    let kind = obj["kind"].as_str()?;
    if !matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Rollout"
    ) {
        return None;
    }
    let labels = obj["spec"]["selector"]["matchLabels"].as_object()?;
    let selector: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    (!selector.is_empty()).then(|| selector.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_load_balancer_service_says_why_it_is_progressing() {
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "traefik", "namespace": "traefik"},
            "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        let h = rate(&svc).unwrap();
        assert_eq!(h, Health::new(Status::Progressing, ""));
        assert!(unsaid(&svc, &h).unwrap().contains("LoadBalancer"));
    }

    #[test]
    fn a_paused_rollout_is_suspended_as_argo_cd_rates_it() {
        let ro = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "demo-app", "generation": 2},
            "spec": {"strategy": {"blueGreen": {"activeService": "a"}}},
            "status": {"observedGeneration": "2", "phase": "Paused", "message": "BlueGreenPause",
                       "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2026-01-01T00:00:00Z"}]}});
        assert_eq!(
            rate(&ro),
            Some(Health::new(Status::Suspended, "BlueGreenPause"))
        );
    }

    #[test]
    fn custom_resources_without_a_rule_show_their_unready_conditions() {
        let cert = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "tls"},
            "status": {"conditions": [
                {"type": "Issuing", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"}]}});
        assert_eq!(rate(&cert), None);
        assert_eq!(
            unready_conditions(&cert),
            ["Ready=False (DoesNotExist): Issuing certificate as Secret does not exist"]
        );
    }
}
