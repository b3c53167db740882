//! What kindling adds to Argo CD's pinned install.yaml: the `argocd` namespace, its settings
//! in `argocd-cmd-params-cm` and the Ingress for the UI. The `argocd` step of `up` applies
//! exactly these; `kindling render` writes them.

use super::applications::{self, ARGOCD_NAMESPACE};
use crate::config::Config;
use crate::k8s::Manifest;
use serde_json::{Value, json};

/// The ConfigMap argocd-server reads its command-line parameters from.
pub const PARAMS_CONFIG_MAP: &str = "argocd-cmd-params-cm";

/// kindling's keys in argocd-cmd-params-cm. TLS ends at the ingress, so argocd-server serves
/// plain HTTP behind it (Argo CD docs, "Ingress Configuration": `server.insecure: "true"`).
pub const PARAMS: &[(&str, &str)] = &[("server.insecure", "true")];

/// The namespace install.yaml expects (its namespaced objects carry none).
pub fn namespace() -> Value {
    json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ARGOCD_NAMESPACE } })
}

/// The objects applied beside install.yaml: the namespace and the UI's Ingress.
pub fn objects(config: &Config) -> Vec<Value> {
    vec![namespace(), applications::argocd_ingress(config)]
}

/// argocd-cmd-params-cm as kindling changes it: only kindling's keys (install.yaml's own
/// ConfigMap is empty apart from its labels).
pub fn params_patch() -> Value {
    let data: serde_json::Map<String, Value> = PARAMS
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": PARAMS_CONFIG_MAP, "namespace": ARGOCD_NAMESPACE },
        "data": data
    })
}

/// Sets kindling's keys in install.yaml's argocd-cmd-params-cm.
pub fn patch_install(manifests: &mut [Manifest]) {
    for m in manifests.iter_mut() {
        if m.kind() == "ConfigMap" && m.object.metadata.name.as_deref() == Some(PARAMS_CONFIG_MAP) {
            let data = m
                .object
                .data
                .as_object_mut()
                .map(|o| o.entry("data").or_insert_with(|| json!({})));
            if let Some(data) = data.and_then(|d| d.as_object_mut()) {
                for (k, v) in PARAMS {
                    data.insert(k.to_string(), Value::from(*v));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_gets_exactly_the_keys_render_shows() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cmd-params-cm\n";
        let mut manifests = crate::k8s::parse_str(text, "install.yaml").unwrap();
        patch_install(&mut manifests);
        assert_eq!(manifests[0].object.data["data"], params_patch()["data"]);
        assert_eq!(params_patch()["data"]["server.insecure"], "true");
    }
}
