//! KEP-1755: the ConfigMap `local-registry-hosting` in `kube-public` tells tools (Tilt,
//! Skaffold, ...) where the cluster's local registry is.

use super::ClusterError;
use crate::config::Config;
use crate::report::Outcome;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "kube-public";
pub const NAME: &str = "local-registry-hosting";
pub const KEY: &str = "localRegistryHosting.v1";
pub const FIELD_MANAGER: &str = "kindling";

/// The `localRegistryHosting.v1` document (YAML, as the KEP shows it).
pub fn document(config: &Config) -> String {
    format!(
        "host: \"{}\"\nhostFromClusterNetwork: \"{}:5000\"\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
        config.registry_host(),
        config.registry.name
    )
}

pub fn config_map(config: &Config) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(KEY.to_string(), document(config))])),
        ..Default::default()
    }
}

/// Server-side apply (field manager "kindling", force); reads first so a re-run reports Unchanged.
pub async fn apply(client: kube::Client, config: &Config) -> Result<Outcome, ClusterError> {
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let desired = config_map(config);
    let current = api
        .get_opt(NAME)
        .await
        .map_err(|e| ClusterError::RegistryHosting(Box::new(e)))?;
    if let Some(current) = &current
        && current.data == desired.data
    {
        return Ok(Outcome::Unchanged);
    }
    api.patch(
        NAME,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&desired),
    )
    .await
    .map_err(|e| ClusterError::RegistryHosting(Box::new(e)))?;
    Ok(if current.is_some() {
        Outcome::Changed
    } else {
        Outcome::Created
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_both_addresses() {
        let config = Config::builtin();
        let cm = serde_json::to_value(config_map(&config)).unwrap();
        assert_eq!(cm["apiVersion"], "v1");
        assert_eq!(cm["kind"], "ConfigMap");
        assert_eq!(cm["metadata"]["namespace"], "kube-public");
        let doc: serde_json::Value =
            serde_saphyr::from_str(cm["data"][KEY].as_str().unwrap()).unwrap();
        assert_eq!(doc["host"], "localhost:5001");
        assert_eq!(doc["hostFromClusterNetwork"], "kind-registry:5000");
    }
}
