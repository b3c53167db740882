//! Argo CD Applications: listed once from the `argocd` namespace, then read per name — the
//! platform components (names from `platform::applications`) and the demo environments.

use super::READ_TIMEOUT;
use super::model::ApplicationStatus;
use crate::config::Config;
use crate::platform::applications::{self, ARGOCD_NAMESPACE};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use std::collections::BTreeMap;

/// The Applications in `argocd` by name, or why they could not be listed.
pub type Listed = Result<BTreeMap<String, Value>, String>;

pub async fn list(client: &kube::Client) -> Listed {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ARGOCD_NAMESPACE,
        &crate::platform::demo_checks::application_resource(),
    );
    let listed = tokio::time::timeout(READ_TIMEOUT, api.list(&ListParams::default()))
        .await
        .map_err(|_| {
            format!(
                "listing Applications gave no answer within {}s",
                READ_TIMEOUT.as_secs()
            )
        })?;
    match listed {
        // Whole objects: the demo Applications' annotations say which release each runs.
        Ok(list) => Ok(list
            .items
            .into_iter()
            .filter_map(|o| Some((o.metadata.name.clone()?, serde_json::to_value(o).ok()?)))
            .collect()),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            Err("Argo CD is not installed (the cluster has no Application resource)".into())
        }
        Err(e) => Err(format!("listing Applications: {e}")),
    }
}

/// The names of the platform components' Applications, in the order `up` creates them.
pub fn component_names(config: &Config) -> Vec<String> {
    applications::all(config)
        .iter()
        .filter_map(|app| app["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

pub fn components(config: &Config, listed: &Listed) -> Vec<ApplicationStatus> {
    component_names(config)
        .iter()
        .map(|name| one(name, listed))
        .collect()
}

pub fn unknown_components(config: &Config, why: &str) -> Vec<ApplicationStatus> {
    component_names(config)
        .iter()
        .map(|name| ApplicationStatus::unknown(name, why))
        .collect()
}

/// One Application's status from the listing.
pub fn one(name: &str, listed: &Listed) -> ApplicationStatus {
    match listed {
        Err(why) => ApplicationStatus::unknown(name, why.clone()),
        Ok(apps) => match apps.get(name) {
            None => ApplicationStatus::unknown(
                name,
                format!("Application {ARGOCD_NAMESPACE}/{name} not found"),
            ),
            Some(object) => from_object(name, object),
        },
    }
}

/// Sync and health as Argo CD writes them (`status.sync.status`, `status.health.status`), and
/// the most telling message: the health message, an error condition, or a failed operation.
pub fn from_object(name: &str, object: &Value) -> ApplicationStatus {
    let status = &object["status"];
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let operation_failed = matches!(
        status["operationState"]["phase"].as_str(),
        Some("Failed" | "Error")
    );
    let message = text(&status["health"]["message"])
        .or_else(|| {
            status["conditions"].as_array().and_then(|conditions| {
                conditions
                    .iter()
                    .find(|c| c["type"].as_str().is_some_and(|t| t.ends_with("Error")))
                    .and_then(|c| text(&c["message"]))
            })
        })
        .or_else(|| {
            operation_failed
                .then(|| text(&status["operationState"]["message"]))
                .flatten()
        });
    ApplicationStatus {
        name: name.into(),
        sync: text(&status["sync"]["status"]).unwrap_or_else(|| "Unknown".into()),
        health: text(&status["health"]["status"]).unwrap_or_else(|| "Unknown".into()),
        message,
        problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_health_message_or_an_error_condition_explains_an_application() {
        let degraded = json!({ "status": {
            "sync": { "status": "Synced" },
            "health": { "status": "Degraded", "message": "Deployment traefik: ImagePullBackOff" }
        }});
        let s = from_object("traefik", &degraded);
        assert_eq!((s.sync.as_str(), s.health.as_str()), ("Synced", "Degraded"));
        assert_eq!(
            s.message.as_deref(),
            Some("Deployment traefik: ImagePullBackOff")
        );
        let failing = json!({ "status": {
            "sync": { "status": "Unknown" },
            "health": { "status": "Missing" },
            "conditions": [
                { "type": "SharedResourceWarning", "message": "not this one" },
                { "type": "ComparisonError", "message": "chart not found" }
            ],
            "operationState": { "phase": "Failed", "message": "later" }
        }});
        assert_eq!(
            from_object("x", &failing).message.as_deref(),
            Some("chart not found")
        );
        let new = from_object("x", &json!({ "spec": {} }));
        assert_eq!(
            (new.sync.as_str(), new.health.as_str()),
            ("Unknown", "Unknown")
        );
        assert_eq!(new.message, None);
    }

    #[test]
    fn component_names_come_from_the_platform_applications() {
        assert_eq!(
            component_names(&Config::builtin()),
            [
                "traefik",
                "cert-manager",
                "kube-prometheus-stack",
                "argo-rollouts",
                "metrics-server"
            ]
        );
    }
}
