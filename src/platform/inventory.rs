//! What kindling made in a cluster it does not own (`cluster.provider = "existing"`), recorded
//! in the cluster itself: ConfigMap `kube-public/kindling-inventory`. `up` writes it before it
//! creates anything (so an interrupted `up` can still be undone) and after each decision;
//! `down` removes exactly what it lists, then the record.
//!
//! - `namespaces`: namespaces that did not exist when kindling first needed them (kindling's to
//!   delete; a namespace that existed before is never deleted);
//! - `installed`: the components kindling installs itself (`argocd` and the platform
//!   Applications); `adopted`: what the cluster already had and kindling reuses;
//! - `objects`: every object kindling applied itself (Applications, Secrets, the ClusterIssuer,
//!   Argo CD's install). What the Applications make is theirs: Argo CD deletes it with them.

use crate::error::{Error, Result};
use crate::k8s::ObjectRef;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const NAMESPACE: &str = "kube-public";
pub const NAME: &str = "kindling-inventory";
const KEY: &str = "inventory.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// `cluster.name` of the configuration that made it.
    pub cluster: String,
    #[serde(default)]
    pub namespaces: BTreeSet<String>,
    #[serde(default)]
    pub installed: BTreeSet<String>,
    /// Component → what was found ("cert-manager v1.19.1 in namespace cert-manager").
    #[serde(default)]
    pub adopted: BTreeMap<String, String>,
    #[serde(default)]
    pub objects: BTreeSet<ObjectRef>,
}

impl Inventory {
    pub fn new(cluster: &str) -> Inventory {
        Inventory {
            cluster: cluster.to_string(),
            ..Inventory::default()
        }
    }

    /// Nothing recorded: kindling has made nothing here.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.installed.is_empty() && self.objects.is_empty()
    }

    /// The recorded Applications (kindling's platform and demo Applications).
    pub fn applications(&self) -> impl Iterator<Item = &ObjectRef> {
        self.objects
            .iter()
            .filter(|o| o.kind == "Application" && o.api_version.starts_with("argoproj.io/"))
    }
}

fn api(client: &kube::Client) -> Api<ConfigMap> {
    Api::namespaced(client.clone(), NAMESPACE)
}

/// The record, or None when kindling has none in this cluster.
pub async fn load(client: &kube::Client) -> Result<Option<Inventory>> {
    let found = api(client)
        .get_opt(NAME)
        .await
        .map_err(|e| Error::failed(format!("reading ConfigMap {NAMESPACE}/{NAME}"), e))?;
    let Some(map) = found else {
        return Ok(None);
    };
    let text = map
        .data
        .as_ref()
        .and_then(|d| d.get(KEY))
        .cloned()
        .unwrap_or_default();
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::failed(
            format!("reading ConfigMap {NAMESPACE}/{NAME}"),
            format!("its {KEY} is not kindling's record: {e}"),
        )
        .with_hint(format!(
            "if another tool wrote it, rename kindling's cluster.name; if it is kindling's and \
             damaged, delete it with `kubectl -n {NAMESPACE} delete configmap {NAME}` (kindling \
             then forgets what it made there)"
        ))
    })
}

/// Writes the record (server-side apply, kindling's field manager and label).
pub async fn save(client: &kube::Client, inventory: &Inventory) -> Result<()> {
    let text = serde_json::to_string_pretty(inventory).expect("the inventory serializes");
    let body = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": { crate::k8s::apply::MANAGED_BY_LABEL: crate::k8s::apply::MANAGED_BY }
        },
        "data": { KEY: text }
    });
    api(client)
        .patch(
            NAME,
            &PatchParams::apply(crate::k8s::FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| Error::failed(format!("writing ConfigMap {NAMESPACE}/{NAME}"), e))?;
    Ok(())
}

/// Removes the record (after `down` removed everything it lists).
pub async fn remove(client: &kube::Client) -> Result<()> {
    match api(client).delete(NAME, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(Error::failed(
            format!("deleting ConfigMap {NAMESPACE}/{NAME}"),
            e,
        )),
    }
}

/// The record as `up` keeps it while it runs: changes are saved at once, one at a time.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    inventory: std::sync::Arc<tokio::sync::Mutex<Inventory>>,
}

impl Recorder {
    pub fn new(client: kube::Client, inventory: Inventory) -> Recorder {
        Recorder {
            client,
            inventory: std::sync::Arc::new(tokio::sync::Mutex::new(inventory)),
        }
    }

    pub async fn snapshot(&self) -> Inventory {
        self.inventory.lock().await.clone()
    }

    /// Applies `change` and saves when it changed anything.
    pub async fn update(&self, change: impl FnOnce(&mut Inventory)) -> Result<()> {
        let mut inventory = self.inventory.lock().await;
        let before = inventory.clone();
        change(&mut inventory);
        if *inventory != before {
            save(&self.client, &inventory).await?;
        }
        Ok(())
    }

    /// Records objects before kindling applies them.
    pub async fn objects(&self, refs: Vec<ObjectRef>) -> Result<()> {
        self.update(|i| i.objects.extend(refs)).await
    }
}
