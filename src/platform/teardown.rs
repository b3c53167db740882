//! `kindling down` on an existing cluster: removes exactly what kindling's record
//! (`inventory`) lists, and nothing else, in an order that lets Argo CD clean up after itself:
//!
//! 1. the Applications, demo environments first, each with Argo CD's resources finalizer
//!    (`resources-finalizer.argocd.argoproj.io`: Argo CD deletes what the Application made,
//!    CRDs its chart installed included, before the Application goes), waited for;
//! 2. every other object kindling applied itself (the ClusterIssuer and CA Secret, Grafana's
//!    Secret and dashboards, the repository Secret and AppProject, Argo CD's own install when
//!    kindling installed it), namespaced ones first, CRDs last;
//! 3. the namespaces kindling created, waited for;
//! 4. the record.
//!
//! A cluster with no record has nothing of kindling's: nothing is touched.

use super::inventory::{self, Inventory};
use crate::error::{Error, Result};
use crate::k8s::{Discovery, K8sError, ObjectRef, Target, Waiter};
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use std::time::Duration;

/// Argo CD's finalizer that deletes an Application's resources with it.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// What `down` would remove from the cluster.
pub struct Removal {
    pub client: kube::Client,
    pub inventory: Inventory,
}

impl Removal {
    /// One line per part, for the question `down` asks first.
    pub fn describe(&self) -> Vec<String> {
        let inventory = &self.inventory;
        let apps: Vec<&str> = inventory.applications().map(|a| a.name.as_str()).collect();
        let others = inventory.objects.len() - apps.len();
        let mut lines = vec![format!(
            "{} Argo CD Application(s) and everything they deployed: {}",
            apps.len(),
            apps.join(", ")
        )];
        lines.push(format!(
            "{others} other object(s) kindling applied (ClusterIssuer, Secrets, dashboards{})",
            if inventory.installed.contains(super::adopt::ARGOCD) {
                ", Argo CD itself"
            } else {
                ""
            }
        ));
        if !inventory.namespaces.is_empty() {
            lines.push(format!(
                "the namespaces kindling created: {}",
                inventory
                    .namespaces
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !inventory.adopted.is_empty() {
            lines.push(format!(
                "kept (the cluster's own): {}",
                inventory
                    .adopted
                    .values()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        lines
    }
}

/// kindling's record in the cluster, when it has one.
pub async fn plan(client: kube::Client) -> Result<Option<Removal>> {
    Ok(inventory::load(&client)
        .await?
        .map(|inventory| Removal { client, inventory }))
}

/// Removes everything the record lists (see the module comment); `timeout` bounds each wait.
pub async fn remove(removal: &Removal, reporter: &SharedReporter, timeout: Duration) -> Result<()> {
    let client = &removal.client;
    let inventory = &removal.inventory;
    let discovery = Discovery::new(client.clone());

    let step = reporter.step(
        "down.applications",
        "Argo CD Applications and what they deployed",
    );
    let (demo, platform): (Vec<&ObjectRef>, Vec<&ObjectRef>) = inventory
        .applications()
        .partition(|a| a.name.starts_with("demo-app-"));
    let result = async {
        let mut removed = 0;
        for group in [demo, platform] {
            removed += delete_applications(client, &discovery, &group, timeout, &step).await?;
        }
        Ok::<_, Error>(removed)
    }
    .await;
    settle(step, result, |n| {
        format!("{n} removed with their resources")
    })?;

    let step = reporter.step("down.objects", "Objects kindling applied");
    let mut rest: Vec<&ObjectRef> = inventory
        .objects
        .iter()
        .filter(|o| !(o.kind == "Application" && o.api_version.starts_with("argoproj.io/")))
        .filter(|o| o.kind != "Namespace" || !inventory.namespaces.contains(&o.name))
        .collect();
    // Namespaced first, then cluster-scoped, CRDs last (their custom resources go with them).
    rest.sort_by_key(|o| (o.namespace.is_none(), o.kind == "CustomResourceDefinition"));
    let result = async {
        let mut removed = 0;
        for object in rest {
            step.progress(format!("deleting {object}"));
            if delete(client, &discovery, object, None).await? {
                removed += 1;
            }
        }
        Ok::<_, Error>(removed)
    }
    .await;
    settle(step, result, |n| format!("{n} deleted"))?;

    let step = reporter.step("down.namespaces", "Namespaces kindling created");
    let result = async {
        let mut removed = 0;
        for name in &inventory.namespaces {
            let object = ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: name.clone(),
            };
            step.progress(format!("deleting namespace {name}"));
            if delete(client, &discovery, &object, Some(timeout)).await? {
                removed += 1;
            }
        }
        Ok::<_, Error>(removed)
    }
    .await;
    settle(step, result, |n| format!("{n} deleted"))?;

    inventory::remove(client).await
}

fn settle<T>(step: Step, result: Result<T>, detail: impl Fn(&T) -> String) -> Result<T> {
    match result {
        Ok(value) => {
            let text = detail(&value);
            step.finish(Outcome::Changed, text);
            Ok(value)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

/// Deletes one object (foreground); false when it was already gone or its kind is no longer
/// served (its CRD went with an Application).
async fn delete(
    client: &kube::Client,
    discovery: &Discovery,
    object: &ObjectRef,
    wait: Option<Duration>,
) -> Result<bool> {
    let Some(resolved) = discovery
        .try_resolve(&object.api_version, &object.kind)
        .await?
    else {
        return Ok(false);
    };
    let target = Target {
        resource: resolved.resource,
        namespace: object.namespace.clone().filter(|_| resolved.namespaced),
        name: object.name.clone(),
    };
    Ok(crate::k8s::delete::delete(client, &target, wait).await?)
}

/// Deletes Applications so that Argo CD removes what they deployed: each gets the resources
/// finalizer first (kindling's demo Applications are created without it), then all are
/// deleted and waited for.
async fn delete_applications(
    client: &kube::Client,
    discovery: &Discovery,
    apps: &[&ObjectRef],
    timeout: Duration,
    step: &Step,
) -> Result<usize> {
    if apps.is_empty() {
        return Ok(0);
    }
    let Some(resolved) = discovery
        .try_resolve(&apps[0].api_version, &apps[0].kind)
        .await?
    else {
        // No Application kind: Argo CD is gone already, and its Applications with it.
        return Ok(0);
    };
    let mut targets = Vec::new();
    for app in apps {
        let namespace = app.namespace.clone().unwrap_or_default();
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &namespace, &resolved.resource);
        let Some(found) = api.get_opt(&app.name).await.map_err(|e| {
            Error::from(K8sError::from_kube(
                format!("get Application {}", app.name),
                e,
            ))
        })?
        else {
            continue;
        };
        let finalizers = found.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == RESOURCES_FINALIZER) {
            let mut all = finalizers;
            all.push(RESOURCES_FINALIZER.into());
            let patch = serde_json::json!({ "metadata": { "finalizers": all } });
            api.patch(&app.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| {
                    Error::from(K8sError::from_kube(
                        format!(
                            "add Argo CD's resources finalizer to Application {}",
                            app.name
                        ),
                        e,
                    ))
                })?;
        }
        let target = Target::namespaced(resolved.resource.clone(), &namespace, &app.name);
        step.progress(format!("deleting Application {}", app.name));
        crate::k8s::delete::delete(client, &target, None).await?;
        targets.push(target);
    }
    let waits = targets
        .iter()
        .map(|t| (t.clone(), crate::k8s::delete::gone()))
        .collect::<Vec<_>>();
    let count = waits.len();
    step.progress(format!(
        "waiting for Argo CD to remove {count} Application(s)"
    ));
    Waiter::new(client.clone())
        .wait_all(waits, timeout)
        .await
        .map_err(|e| {
            Error::from(e).with_hint(
                "Argo CD removes an Application's resources before the Application itself: it \
                 must be running (`kubectl -n argocd get pods,applications`)",
            )
        })?;
    Ok(count)
}
