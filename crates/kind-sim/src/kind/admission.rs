//! Admission webhooks as the API server calls them (k8s.io/apiserver
//! pkg/admission/plugin/webhook): a write matching a webhook's rules (apiGroups, apiVersions,
//! resources, operations), namespaceSelector and objectSelector is sent to its Service; when
//! the Service has no ready endpoint the call fails, and with `failurePolicy: Fail` (the
//! default) the write is refused: "Internal error occurred: failed calling webhook ...". So
//! cert-manager's resources are refused until its webhook pod is ready, as on a real
//! cluster. What the webhooks would answer once called is not modelled (they admit).

use super::{Ctx, selector_matches};
use fake_apiserver::{ApiError, Fake, ResourceDef};
use serde_json::{Value, json};

/// Installs the check on `fake`.
pub fn install(fake: &Fake, registries: Vec<String>) {
    let f = fake.clone();
    fake.set_admission(move |def, ns, object, create| {
        if def.group == "admissionregistration.k8s.io" {
            return Ok(());
        }
        let c = Ctx {
            fake: &f,
            registries: &registries,
        };
        check(&c, def, ns, object, create)
    });
}

fn matches_list(list: &Value, value: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == value))
}

fn check(
    c: &Ctx,
    def: &ResourceDef,
    ns: &str,
    object: &Value,
    create: bool,
) -> Result<(), ApiError> {
    let operation = if create { "CREATE" } else { "UPDATE" };
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        for config in c.list("admissionregistration.k8s.io/v1", kind, None) {
            for hook in config["webhooks"].as_array().into_iter().flatten() {
                if hook["failurePolicy"].as_str().unwrap_or("Fail") != "Fail" {
                    continue;
                }
                let rule_matches = hook["rules"].as_array().into_iter().flatten().any(|r| {
                    matches_list(&r["apiGroups"], &def.group)
                        && matches_list(&r["apiVersions"], &def.version)
                        && r["resources"].as_array().is_some_and(|l| {
                            l.iter()
                                .any(|v| v == "*" || v == "*/*" || v == def.plural.as_str())
                        })
                        && matches_list(&r["operations"], operation)
                        && r["scope"]
                            .as_str()
                            .is_none_or(|s| s == "*" || (s == "Namespaced") == def.namespaced)
                });
                if !rule_matches {
                    continue;
                }
                // A cluster-scoped object is not subject to the namespaceSelector.
                if def.namespaced && hook["namespaceSelector"].is_object() {
                    let labels = c
                        .get("v1", "Namespace", None, ns)
                        .map(|n| n["metadata"]["labels"].clone())
                        .unwrap_or(json!({}));
                    if !selector_matches(&hook["namespaceSelector"], &labels) {
                        continue;
                    }
                }
                if hook["objectSelector"].is_object()
                    && !selector_matches(&hook["objectSelector"], &object["metadata"]["labels"])
                {
                    continue;
                }
                let service = &hook["clientConfig"]["service"];
                if !service.is_object() {
                    continue; // a URL webhook outside the cluster: not modelled
                }
                let (sns, sname) = (
                    service["namespace"].as_str().unwrap_or(""),
                    service["name"].as_str().unwrap_or(""),
                );
                let why = match c.get("v1", "Service", Some(sns), sname) {
                    None => format!("service \"{sname}\" not found"),
                    Some(s) if super::pods::service_endpoints(c, &s).is_empty() => {
                        let port = service["port"].as_i64().unwrap_or(443);
                        let path = service["path"].as_str().unwrap_or("");
                        let timeout = hook["timeoutSeconds"].as_i64().unwrap_or(10);
                        format!(
                            "Post \"https://{sname}.{sns}.svc:{port}{path}?timeout={timeout}s\": no endpoints available for service \"{sname}\""
                        )
                    }
                    Some(_) => continue,
                };
                return Err(ApiError::new(
                    500,
                    "InternalError",
                    format!(
                        "Internal error occurred: failed calling webhook \"{}\": failed to call webhook: {why}",
                        hook["name"].as_str().unwrap_or("")
                    ),
                ));
            }
        }
    }
    Ok(())
}
