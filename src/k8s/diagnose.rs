//! Why is it not ready? Collects what a user would otherwise dig out with kubectl: recent
//! Warning events in the namespace, and for each not-ready pod of the awaited workload its
//! container states and, for crashing containers, the last log lines. Best effort: anything
//! the server cannot answer (e.g. a server without the core API) is left out.

use super::wait::Target;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use std::fmt::Write;

const MAX_EVENTS: usize = 8;
const LOG_LINES: i64 = 10;

/// A multi-line diagnosis for `target` (empty when there is nothing to add).
pub async fn diagnose(
    client: &kube::Client,
    target: &Target,
    last: Option<&DynamicObject>,
) -> String {
    let mut out = String::new();
    let Some(namespace) = target.namespace.as_deref() else {
        return out;
    };
    if let Some(selector) = last.and_then(pod_selector) {
        out.push_str(&pod_states(client, namespace, &selector).await);
    }
    out.push_str(&warning_events(client, namespace).await);
    out.trim_end().to_string()
}

/// "app=x,tier=y" from spec.selector.matchLabels (Deployment, StatefulSet, DaemonSet, Job, Rollout).
fn pod_selector(o: &DynamicObject) -> Option<String> {
    let labels = o.data["spec"]["selector"]["matchLabels"].as_object()?;
    let selector: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    (!selector.is_empty()).then(|| selector.join(","))
}

/// Recent Warning events in the namespace, newest last.
pub async fn warning_events(client: &kube::Client, namespace: &str) -> String {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = api
        .list(&ListParams::default().fields("type=Warning"))
        .await
    else {
        return String::new();
    };
    let mut events: Vec<Event> = list
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    if events.is_empty() {
        return String::new();
    }
    events.sort_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
            .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
    });
    let mut out = format!("recent Warning events in {namespace}:\n");
    for e in events.iter().rev().take(MAX_EVENTS).rev() {
        let object = format!(
            "{} {}",
            e.involved_object.kind.as_deref().unwrap_or("?"),
            e.involved_object.name.as_deref().unwrap_or("?")
        );
        let count = e
            .count
            .filter(|c| *c > 1)
            .map(|c| format!(" (x{c})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {object}: {}: {}{count}",
            e.reason.as_deref().unwrap_or(""),
            e.message.as_deref().unwrap_or("").trim()
        );
    }
    out
}

/// The state of every not-ready pod matching `selector`, with log tails of crashing containers.
pub async fn pod_states(client: &kube::Client, namespace: &str, selector: &str) -> String {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let Ok(pods) = api.list(&ListParams::default().labels(selector)).await else {
        return String::new();
    };
    let mut out = String::new();
    for pod in pods.items.iter().filter(|p| !pod_ready(p)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let _ = writeln!(
            out,
            "pod {namespace}/{name} is not ready (phase {}):",
            status.phase.as_deref().unwrap_or("Unknown")
        );
        for c in status.conditions.iter().flatten() {
            if c.type_ == "PodScheduled" && c.status == "False" {
                let _ = writeln!(
                    out,
                    "  not scheduled: {}",
                    c.message.as_deref().unwrap_or("")
                );
            }
        }
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for cs in statuses {
            let Some(state) = container_state(cs) else {
                continue;
            };
            let _ = writeln!(out, "  container {}: {state}", cs.name);
            if crashing(cs) {
                out.push_str(&log_tail(&api, &name, cs).await);
            }
        }
    }
    out
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        || p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
}

/// "ImagePullBackOff: Back-off pulling image ...", "CrashLoopBackOff (last exit 1: Error)";
/// None for a running, ready container.
fn container_state(cs: &ContainerStatus) -> Option<String> {
    let state = cs.state.as_ref()?;
    if let Some(w) = &state.waiting {
        let mut s = w.reason.clone().unwrap_or_else(|| "Waiting".into());
        if let Some(m) = w.message.as_deref().filter(|m| !m.is_empty()) {
            s.push_str(&format!(": {m}"));
        }
        if let Some(t) = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref()) {
            s.push_str(&format!(
                " (last exit code {}{}, {} restarts)",
                t.exit_code,
                t.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default(),
                cs.restart_count
            ));
        }
        return Some(s);
    }
    if let Some(t) = &state.terminated {
        return Some(format!(
            "terminated with exit code {}{}",
            t.exit_code,
            t.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    (!cs.ready).then(|| "running but not ready (readiness probe failing?)".to_string())
}

fn crashing(cs: &ContainerStatus) -> bool {
    cs.restart_count > 0
        || cs
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some()
        || cs
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            == Some("CrashLoopBackOff")
}

/// The last log lines of a container (its previous run when it has restarted).
async fn log_tail(api: &Api<Pod>, pod: &str, cs: &ContainerStatus) -> String {
    let params = LogParams {
        container: Some(cs.name.clone()),
        tail_lines: Some(LOG_LINES),
        previous: cs.restart_count > 0,
        ..LogParams::default()
    };
    let logs = match api.logs(pod, &params).await {
        Ok(l) => l,
        // The previous run's log may be gone: fall back to the current one.
        Err(_) if params.previous => {
            let current = LogParams {
                previous: false,
                ..params
            };
            api.logs(pod, &current).await.unwrap_or_default()
        }
        Err(_) => String::new(),
    };
    if logs.trim().is_empty() {
        return String::new();
    }
    let mut out = format!("    last log lines of {}:\n", cs.name);
    for line in logs.lines() {
        let _ = writeln!(out, "      {line}");
    }
    out
}
