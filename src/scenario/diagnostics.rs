//! What explains a failed scenario, as text for the report: the Rollout's status, its
//! AnalysisRuns with measurements and the queries they ran (arguments resolved), the pods,
//! and the namespace's recent events. Best effort: what cannot be read is said so.

use crate::rollout::api::{GROUP_VERSION, RolloutApi};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use serde_json::Value;
use std::fmt::Write;

/// How many events to show (the newest).
const EVENTS: usize = 30;

pub async fn collect(client: &kube::Client, namespace: &str, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== Rollout {namespace}/{name}");
    match RolloutApi::new(client.clone(), namespace, name)
        .fetch()
        .await
    {
        Ok(ro) => {
            let status = serde_json::to_string_pretty(&ro["status"]).unwrap_or_default();
            let _ = writeln!(out, "generation {}", ro["metadata"]["generation"]);
            let _ = writeln!(out, "status:\n{status}");
            analysis_runs(&mut out, client, namespace, ro["metadata"]["uid"].as_str()).await;
        }
        Err(e) => {
            let _ = writeln!(out, "(cannot read it: {e})");
        }
    }
    pods(&mut out, client, namespace).await;
    events(&mut out, client, namespace).await;
    out
}

async fn analysis_runs(
    out: &mut String,
    client: &kube::Client,
    namespace: &str,
    uid: Option<&str>,
) {
    let request = kube::core::Request::new(format!(
        "/apis/{GROUP_VERSION}/namespaces/{namespace}/analysisruns"
    ));
    let list = match request.list(&ListParams::default()) {
        Ok(req) => client.request::<Value>(req).await,
        Err(e) => Err(kube::Error::BuildRequest(e)),
    };
    let items = match list {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            let _ = writeln!(out, "\n== AnalysisRuns\n(cannot list them: {e})");
            return;
        }
    };
    let owned: Vec<&Value> = items
        .iter()
        .filter(|run| {
            uid.is_none_or(|uid| {
                run["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)))
            })
        })
        .collect();
    let _ = writeln!(out, "\n== AnalysisRuns ({})", owned.len());
    for run in owned {
        describe_run(out, run);
    }
}

/// One AnalysisRun: phase, message, and per metric its query and measurements.
pub fn describe_run(out: &mut String, run: &Value) {
    let _ = writeln!(
        out,
        "- {} {} {}",
        run["metadata"]["name"].as_str().unwrap_or("?"),
        run["status"]["phase"].as_str().unwrap_or("(no phase)"),
        run["status"]["message"].as_str().unwrap_or("")
    );
    let args: Vec<(String, String)> = run["spec"]["args"]
        .as_array()
        .map(|args| {
            args.iter()
                .filter_map(|a| {
                    Some((
                        a["name"].as_str()?.to_string(),
                        a["value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let results = run["status"]["metricResults"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for metric in run["spec"]["metrics"].as_array().into_iter().flatten() {
        let name = metric["name"].as_str().unwrap_or("?");
        let result = results.iter().find(|r| r["name"].as_str() == Some(name));
        let _ = writeln!(
            out,
            "  metric {name}: {} (successCondition {})",
            result
                .and_then(|r| r["phase"].as_str())
                .unwrap_or("not measured"),
            metric["successCondition"].as_str().unwrap_or("-")
        );
        if let Some(query) = metric["provider"]["prometheus"]["query"].as_str() {
            let _ = writeln!(out, "    query: {}", resolve(query, &args).trim());
        }
        for m in result
            .and_then(|r| r["measurements"].as_array())
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                out,
                "    {} {} value={} {}",
                m["finishedAt"]
                    .as_str()
                    .or(m["startedAt"].as_str())
                    .unwrap_or(""),
                m["phase"].as_str().unwrap_or("?"),
                m["value"].as_str().unwrap_or("-"),
                m["message"].as_str().unwrap_or("")
            );
            if let Some(q) = m["metadata"]["ResolvedPrometheusQuery"].as_str() {
                let _ = writeln!(out, "      resolved query: {}", q.trim());
            }
        }
    }
}

/// Substitutes `{{args.NAME}}` as the controller does.
fn resolve(query: &str, args: &[(String, String)]) -> String {
    let mut q = query.to_string();
    for (name, value) in args {
        q = q.replace(&format!("{{{{args.{name}}}}}"), value);
    }
    q
}

async fn pods(out: &mut String, client: &kube::Client, namespace: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let _ = writeln!(out, "\n== Pods");
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            for pod in list.items {
                let pod = serde_json::to_value(pod).unwrap_or_default();
                let statuses = pod["status"]["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let ready = !statuses.is_empty() && statuses.iter().all(|c| c["ready"] == true);
                let waiting: Vec<&str> = statuses
                    .iter()
                    .filter_map(|c| c["state"]["waiting"]["reason"].as_str())
                    .collect();
                let _ = writeln!(
                    out,
                    "- {} hash={} phase={} ready={ready}{}",
                    pod["metadata"]["name"].as_str().unwrap_or("?"),
                    pod["metadata"]["labels"]["rollouts-pod-template-hash"]
                        .as_str()
                        .unwrap_or("-"),
                    pod["status"]["phase"].as_str().unwrap_or("?"),
                    if waiting.is_empty() {
                        String::new()
                    } else {
                        format!(" waiting={}", waiting.join(","))
                    }
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "(cannot list them: {e})");
        }
    }
}

async fn events(out: &mut String, client: &kube::Client, namespace: &str) {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let _ = writeln!(out, "\n== Events (newest {EVENTS})");
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
            let skip = items.len().saturating_sub(EVENTS);
            for e in items.into_iter().skip(skip) {
                let _ = writeln!(
                    out,
                    "- {} {}/{} {}: {}",
                    e.type_.unwrap_or_default(),
                    e.involved_object.kind.unwrap_or_default(),
                    e.involved_object.name.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "(cannot list them: {e})");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_arguments_are_resolved_like_the_controller_does() {
        let q = r#"rate(x{namespace="{{args.namespace}}",h="{{args.canary-hash}}"}[1m])"#;
        let args = vec![
            ("namespace".to_string(), "staging".to_string()),
            ("canary-hash".to_string(), "6f9".to_string()),
        ];
        assert_eq!(
            super::resolve(q, &args),
            r#"rate(x{namespace="staging",h="6f9"}[1m])"#
        );
    }
}
