//! `kindling render`: every object and file `kindling up` would create for the effective
//! configuration, one folder per area and one file per object, deterministic, Secrets
//! redacted, with no Docker and no cluster. Each area calls the very function its `up` step
//! applies, so the render is what `up` applies:
//!
//! | folder | what | made by |
//! | --- | --- | --- |
//! | `cluster/` | the kind config; the KEP-1755 ConfigMap | `cluster::kind_config::render` (step `cluster`); `cluster::registry_hosting::config_map` (step `wire`) |
//! | `containerd/<host>/hosts.toml` | registry hosts on every node | `cluster::wiring::node_files` (step `wire`) |
//! | `argocd/` | what kindling adds to the pinned install.yaml | `platform::argocd_install` (step `argocd`) |
//! | `platform/` | platform Applications, Grafana admin Secret, dashboards | `platform::applications::platform_objects` (step `platform`) |
//! | `ca-issuer/` | the ClusterIssuer (not the CA Secret: it holds the key) | `tls::cluster::cluster_issuer` (step `ca-issuer`) |
//! | `artifact/` | the manifests artifact's tree (kustomize input) | `platform::gitops::stage` (step `publish`) |
//! | `demo-apps/` | repository Secret, AppProject, Applications | `platform::gitops::argocd_objects_for` (step `demo-apps`) |
//! | `demo-environments/<env>/` | each environment after kustomize, as Argo CD applies it | `kustomize build` of `artifact/` |

mod argocd;
mod ca_issuer;
mod cluster;
mod containerd;
mod demo_apps;
mod demo_environments;
pub mod kustomize;
pub mod output;
mod platform;
pub mod redact;

pub use output::write;

use crate::config::Config;
use crate::env::Env;
use crate::error::Result;
use serde::Serialize;
use serde_json::Value;

/// One file of the render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    /// The folder it is in (the area), e.g. `platform`.
    pub area: String,
    /// The object it holds, when it holds one Kubernetes object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    #[serde(skip)]
    pub content: String,
}

/// Which object a file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectId {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// Everything `render` made, and what it could not (e.g. no kustomize).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Render {
    pub files: Vec<File>,
    /// What the reader should know about this render (no absolute paths: it is deterministic).
    pub notes: Vec<String>,
    /// How the demo environments were built ("kustomize build"); None: not built, no kustomize.
    pub kustomize: Option<String>,
}

/// A file holding some text.
fn text_file(area: &str, relative: &str, content: String) -> File {
    File {
        path: format!("{area}/{relative}"),
        area: area.split('/').next().unwrap_or(area).to_string(),
        object: None,
        content,
    }
}

/// A file holding one object as YAML, Secrets redacted, named `<kind>-<name>.yaml` in `dir`.
fn object_file(dir: &str, object: &Value) -> File {
    let mut object = object.clone();
    redact::secrets(&mut object);
    let meta = &object["metadata"];
    let id = ObjectId {
        api_version: object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        kind: object["kind"].as_str().unwrap_or_default().to_string(),
        namespace: meta["namespace"].as_str().map(str::to_string),
        name: meta["name"].as_str().unwrap_or_default().to_string(),
    };
    let file_name = format!("{}-{}.yaml", id.kind.to_lowercase(), id.name);
    let mut file = text_file(dir, &file_name, to_yaml(&object));
    file.object = Some(id);
    file
}

/// The objects as `up` applies them: on an existing cluster every object kindling applies
/// carries its managed-by label (`k8s::Applier::owned_only`).
fn as_applied(config: &Config, mut objects: Vec<Value>) -> Vec<Value> {
    if config.cluster.provider == crate::config::Provider::Existing {
        for object in &mut objects {
            let labels = &mut object["metadata"]["labels"];
            if !labels.is_object() {
                *labels = serde_json::json!({});
            }
            labels[crate::k8s::apply::MANAGED_BY_LABEL] = crate::k8s::apply::MANAGED_BY.into();
        }
    }
    objects
}

/// YAML for one object: apiVersion, kind and metadata first as people write them, every other
/// key in name order (serde_json's map is sorted), so the output is stable.
fn to_yaml(object: &Value) -> String {
    serde_saphyr::to_string(&Ordered(object)).expect("a JSON value serializes to YAML")
}

struct Ordered<'a>(&'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(map) = self.0.as_object() else {
            return self.0.serialize(serializer);
        };
        const FIRST: [&str; 3] = ["apiVersion", "kind", "metadata"];
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for key in FIRST {
            if let Some(value) = map.get(key) {
                out.serialize_entry(key, value)?;
            }
        }
        for (key, value) in map.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())) {
            out.serialize_entry(key, value)?;
        }
        out.end()
    }
}

/// Renders everything `up` would create for `config`. `env` is where kustomize is looked for.
pub fn render(config: &Config, env: &Env) -> Result<Render> {
    let mut render = Render::default();
    render.files.extend(cluster::files(config));
    render.files.extend(containerd::files(config));
    render.files.extend(argocd::files(config));
    render.files.extend(platform::files(config));
    render.files.extend(ca_issuer::files(config));
    if config.cluster.provider == crate::config::Provider::Existing {
        render.notes.push(
            "existing cluster: up reuses what the cluster already runs (cert-manager, the \
             metrics API, Prometheus operator CRDs, Argo CD) and then leaves those parts out; \
             it records what it makes in ConfigMap kube-public/kindling-inventory \
             (docs/existing-cluster.md)"
                .into(),
        );
    }
    let demo = demo_apps::render(config)?;
    render.files.extend(demo.files);
    render.notes.extend(demo.notes);
    let environments = demo_environments::files(&demo.staged, env)?;
    render.files.extend(environments.files);
    render.notes.extend(environments.notes);
    render.kustomize = environments.kustomize;
    render.files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(twice) = render.files.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(crate::Error::failed(
            "rendering",
            format!("two objects would be written to {}", twice[0].path),
        ));
    }
    Ok(render)
}
