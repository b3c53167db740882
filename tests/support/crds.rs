//! Upstream CRDs installed on the real crd-apiserver, and custom resources applied to it.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kindling::lint;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const CRD_DIRS: [&str; 4] = [
    "argo-rollouts/v1.9.1/crds",
    "argo-cd/v3.5.1/crds",
    "cert-manager/v1.21.1/crds",
    "prometheus-operator/v0.93.0/crds",
];

/// (apiVersion, kind) → how to reach it, from the CRDs applied.
pub type Kinds = BTreeMap<(String, String), (ApiResource, bool)>;

pub async fn install_crds(client: &kube::Client, upstream: &Path) -> Kinds {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut kinds = Kinds::new();
    let mut names = Vec::new();
    for dir in CRD_DIRS {
        for file in lint::input::files_below(&upstream.join(dir)).unwrap() {
            for doc in
                lint::input::parse_documents(&std::fs::read_to_string(&file).unwrap()).unwrap()
            {
                let crd: CustomResourceDefinition = serde_json::from_value(doc).unwrap();
                let name = crd.metadata.name.clone().unwrap();
                crds.patch(
                    &name,
                    &PatchParams::apply("kindling-test").force(),
                    &Patch::Apply(&crd),
                )
                .await
                .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
                let spec = &crd.spec;
                for v in &spec.versions {
                    let ar = ApiResource {
                        group: spec.group.clone(),
                        version: v.name.clone(),
                        api_version: format!("{}/{}", spec.group, v.name),
                        kind: spec.names.kind.clone(),
                        plural: spec.names.plural.clone(),
                    };
                    kinds.insert(
                        (ar.api_version.clone(), ar.kind.clone()),
                        (ar, spec.scope == "Namespaced"),
                    );
                }
                names.push(name);
            }
        }
    }
    // Established can lag the create by a moment.
    for name in names {
        until_established(client, &name).await;
    }
    kinds
}

/// Server-side apply with field manager kindling-test and strict field validation.
pub async fn apply(client: &kube::Client, kinds: &Kinds, object: &Value) -> Result<(), String> {
    let key = (
        object["apiVersion"].as_str().unwrap().to_string(),
        object["kind"].as_str().unwrap().to_string(),
    );
    let (ar, namespaced) = kinds
        .get(&key)
        .unwrap_or_else(|| panic!("no CRD for {key:?}"));
    let name = object["metadata"]["name"].as_str().unwrap_or("unnamed");
    let api: Api<DynamicObject> = if *namespaced {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        Api::namespaced_with(client.clone(), ns, ar)
    } else {
        Api::all_with(client.clone(), ar)
    };
    let params = PatchParams::apply("kindling-test").validation_strict();
    api.patch(name, &params, &Patch::Apply(object))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Waits, through a watch, until the CRD `name` is Established (panics after 60 s saying what
/// the CRD showed last).
pub async fn until_established(client: &kube::Client, name: &str) {
    use kindling::k8s::{Target, Waiter, wait};
    Waiter::new(client.clone())
        .wait(
            Target::of::<CustomResourceDefinition>(None, name),
            wait::crd_established(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
