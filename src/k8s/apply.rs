//! Server-side apply, the way `kubectl apply --server-side --force-conflicts` does it:
//! Namespaces and CRDs first, wait for the CRDs to be Established, then everything else
//! with bounded concurrency. Each object is reported as created / configured / unchanged.

use super::discovery::{Discovery, Resolved};
use super::error::K8sError;
use super::manifest::{Manifest, gvk_of};
use super::wait::{self, Target, Verdict, Waiter};
use crate::report::{Outcome, Step};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use std::collections::BTreeSet;
use std::time::Duration;

/// The field manager kindling applies with; one fixed manager makes re-runs idempotent.
pub const FIELD_MANAGER: &str = "kindling";

/// The label on every object kindling applies to a cluster it does not own (`owned_only`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "kindling";

/// Whether an existing object is kindling's: it carries kindling's managed-by label, or
/// kindling's field manager owns fields of it (server-side apply's managedFields).
pub fn is_ours(metadata: &ObjectMeta) -> bool {
    let labelled = metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY);
    let managed = metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|f| f.manager.as_deref() == Some(FIELD_MANAGER));
    labelled || managed
}

/// Who an object seems to belong to, for the refusal: its managed-by label, its Helm release,
/// its Argo CD tracking, or its field managers.
pub fn owner_of(metadata: &ObjectMeta) -> String {
    let label = |k: &str| metadata.labels.as_ref().and_then(|l| l.get(k).cloned());
    let annotation = |k: &str| {
        metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(k).cloned())
    };
    if let Some(release) = annotation("meta.helm.sh/release-name") {
        let namespace = annotation("meta.helm.sh/release-namespace").unwrap_or_default();
        return format!("Helm release {namespace}/{release}");
    }
    if let Some(tracking) = annotation("argocd.argoproj.io/tracking-id") {
        let app = tracking.split(':').next().unwrap_or(&tracking).to_string();
        return format!("Argo CD Application {app}");
    }
    if let Some(by) = label(MANAGED_BY_LABEL) {
        return format!("managed by {by}");
    }
    let managers: BTreeSet<String> = metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|f| f.manager.clone())
        .collect();
    if managers.is_empty() {
        "no owner recorded".into()
    } else {
        format!(
            "fields managed by {}",
            managers.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
}

/// Which object: what an inventory of applied objects records.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::manifest::describe(
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        ))
    }
}

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Configured,
    Unchanged,
}

impl Applied {
    pub fn word(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Unchanged => "unchanged",
        }
    }
}

/// One applied object: "Deployment argocd/argocd-server" and what happened to it.
#[derive(Debug, Clone)]
pub struct AppliedObject {
    pub object: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub result: Applied,
}

/// The result of one `apply`, in input order.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub objects: Vec<AppliedObject>,
}

impl ApplyReport {
    pub fn count(&self, result: Applied) -> usize {
        self.objects.iter().filter(|o| o.result == result).count()
    }

    /// The step outcome: Created if anything was created, else Changed, else Unchanged.
    pub fn outcome(&self) -> Outcome {
        if self.count(Applied::Created) > 0 {
            Outcome::Created
        } else if self.count(Applied::Configured) > 0 {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }

    /// "59 objects: 59 created, 0 configured, 0 unchanged".
    pub fn summary(&self) -> String {
        format!(
            "{} objects: {} created, {} configured, {} unchanged",
            self.objects.len(),
            self.count(Applied::Created),
            self.count(Applied::Configured),
            self.count(Applied::Unchanged)
        )
    }

    /// Finishes `step` with this report's outcome and summary.
    pub fn finish(&self, step: Step) {
        step.finish(self.outcome(), self.summary());
    }
}

/// Applies manifests. Cheap to clone; reuse one per cluster so discovery is cached.
#[derive(Clone)]
pub struct Applier {
    client: kube::Client,
    discovery: Discovery,
    default_namespace: String,
    concurrency: usize,
    crd_timeout: Duration,
    owned_only: bool,
}

impl Applier {
    pub fn new(client: kube::Client) -> Applier {
        Applier {
            discovery: Discovery::new(client.clone()),
            client,
            default_namespace: "default".into(),
            concurrency: 8,
            crd_timeout: Duration::from_secs(60),
            owned_only: false,
        }
    }

    /// For a cluster kindling does not own: every applied object gets kindling's managed-by
    /// label, and an object that exists without being kindling's (`is_ours`) is refused
    /// (`K8sError::NotOurs`) instead of taken over by the forced apply.
    pub fn owned_only(mut self, yes: bool) -> Applier {
        self.owned_only = yes;
        self
    }

    /// Whether this applier labels and guards (`owned_only`).
    pub fn is_owned_only(&self) -> bool {
        self.owned_only
    }

    /// The namespace given to namespaced objects without one (Argo CD's install.yaml
    /// relies on this: `argocd`).
    pub fn default_namespace(mut self, namespace: impl Into<String>) -> Applier {
        self.default_namespace = namespace.into();
        self
    }

    pub fn concurrency(mut self, n: usize) -> Applier {
        self.concurrency = n.max(1);
        self
    }

    /// How long to wait for applied CRDs to become Established.
    pub fn crd_timeout(mut self, timeout: Duration) -> Applier {
        self.crd_timeout = timeout;
        self
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Where each manifest would go: its kind, and its namespace as `apply` defaults it (a kind
    /// the server does not serve yet, e.g. a custom resource whose CRD is in the same batch,
    /// keeps the namespace it names).
    pub async fn refs(&self, manifests: &[Manifest]) -> Result<Vec<ObjectRef>, K8sError> {
        let mut refs = Vec::with_capacity(manifests.len());
        for m in manifests {
            let namespace = match self
                .discovery
                .try_resolve(m.api_version(), m.kind())
                .await?
            {
                Some(resolved) => self.namespace_for(m, &resolved)?,
                None => m.namespace().map(str::to_string),
            };
            refs.push(ObjectRef {
                api_version: m.api_version().to_string(),
                kind: m.kind().to_string(),
                namespace,
                name: m.name().to_string(),
            });
        }
        Ok(refs)
    }

    /// Refuses the whole batch, before anything is applied, when one of its objects exists and
    /// is not kindling's (`is_ours`); `apply` checks each object again as it goes.
    pub async fn check_owned(&self, manifests: &[Manifest]) -> Result<(), K8sError> {
        for chunk in manifests.chunks(self.concurrency) {
            futures::future::try_join_all(chunk.iter().map(|m| self.check_one(m))).await?;
        }
        Ok(())
    }

    async fn check_one(&self, m: &Manifest) -> Result<(), K8sError> {
        let Some(resolved) = self
            .discovery
            .try_resolve(m.api_version(), m.kind())
            .await?
        else {
            return Ok(());
        };
        let namespace = self.namespace_for(m, &resolved)?;
        let api = api_for(&self.client, &resolved, namespace.as_deref());
        let describe = super::manifest::describe(m.kind(), namespace.as_deref(), m.name());
        let found = api
            .get_metadata_opt(m.name())
            .await
            .map_err(|e| K8sError::from_kube(format!("get {describe}"), e))?;
        match found {
            Some(found) if !is_ours(&found.metadata) => Err(K8sError::NotOurs {
                object: describe,
                owner: owner_of(&found.metadata),
            }),
            _ => Ok(()),
        }
    }

    /// Loads the files and applies all their objects as one batch (CRDs first across files).
    pub async fn apply_files(
        &self,
        paths: &[&std::path::Path],
        step: &Step,
    ) -> Result<ApplyReport, K8sError> {
        let mut manifests = Vec::new();
        for path in paths {
            manifests.extend(super::manifest::load_file(path)?);
        }
        self.apply(&manifests, step).await
    }

    /// Applies everything; progress lines go to `step`, which the caller finishes
    /// (e.g. with `report.finish(step)`).
    pub async fn apply(
        &self,
        manifests: &[Manifest],
        step: &Step,
    ) -> Result<ApplyReport, K8sError> {
        let total = manifests.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let (first, rest): (Vec<usize>, Vec<usize>) = (0..manifests.len())
            .partition(|&i| manifests[i].is_namespace() || manifests[i].is_crd());

        let mut results: Vec<Option<AppliedObject>> = vec![None; manifests.len()];
        let run = |indices: Vec<usize>| {
            let done = &done;
            futures::stream::iter(indices)
                .map(move |i| async move {
                    let (applied, answer) = self.apply_object(&manifests[i]).await?;
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    step.progress_count(
                        format!("{} {}", applied.object, applied.result.word()),
                        n,
                        Some(total),
                    );
                    // A CRD the server already reports Established (a re-apply, or a server
                    // that is quick about it) needs no wait.
                    let established = manifests[i].is_crd()
                        && wait::crd_established().check(Some(&answer)) == Verdict::Done;
                    Ok::<_, K8sError>((i, applied, established))
                })
                .buffer_unordered(self.concurrency)
                .try_collect::<Vec<_>>()
        };

        let mut pending_crds = Vec::new();
        for (i, applied, established) in run(first).await? {
            results[i] = Some(applied);
            if manifests[i].is_crd() && !established {
                pending_crds.push(&manifests[i]);
            }
        }
        self.await_crds(&pending_crds, step).await?;
        let groups: BTreeSet<&str> = manifests
            .iter()
            .filter(|m| m.is_crd())
            .filter_map(|c| c.object.data["spec"]["group"].as_str())
            .collect();
        for group in groups {
            self.discovery.refresh_group(group);
        }
        self.await_discovery(manifests).await?;
        for (i, applied, _) in run(rest).await? {
            results[i] = Some(applied);
        }
        Ok(ApplyReport {
            objects: results.into_iter().flatten().collect(),
        })
    }

    /// Waits until every given CRD is Established (discovery is refreshed by the caller).
    async fn await_crds(&self, crds: &[&Manifest], step: &Step) -> Result<(), K8sError> {
        if crds.is_empty() {
            return Ok(());
        }
        step.progress(format!(
            "waiting for {} CRD(s) to be established",
            crds.len()
        ));
        let waiter = Waiter::new(self.client.clone());
        let crd_resource = self
            .discovery
            .resolve(crds[0].api_version(), "CustomResourceDefinition", None)
            .await?
            .resource;
        let waits = crds.iter().map(|crd| {
            let target = Target::cluster(crd_resource.clone(), crd.name());
            waiter.wait(target, wait::crd_established(), self.crd_timeout)
        });
        futures::future::try_join_all(waits).await?;
        Ok(())
    }

    /// Waits (within the CRD timeout) until discovery serves the kind of every CRD among
    /// `manifests`, in each served version: an API server reports a CRD Established a moment
    /// before its discovery lists the kind. Past the timeout the objects of that kind fail
    /// with the missing-kind error.
    async fn await_discovery(&self, manifests: &[Manifest]) -> Result<(), K8sError> {
        let deadline = crate::retry::Deadline::after(self.crd_timeout);
        for crd in manifests.iter().filter(|m| m.is_crd()) {
            let spec = &crd.object.data["spec"];
            let (Some(group), Some(kind)) =
                (spec["group"].as_str(), spec["names"]["kind"].as_str())
            else {
                continue;
            };
            let served = spec["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["served"] != false)
                .filter_map(|v| v["name"].as_str());
            for version in served {
                let api_version = format!("{group}/{version}");
                // Err(None): not listed yet (retried); Err(Some(e)): discovery failed.
                let listed = deadline
                    .retry(
                        Duration::from_millis(100),
                        || async {
                            match self.discovery.try_resolve(&api_version, kind).await {
                                Ok(Some(_)) => Ok(()),
                                Ok(None) => Err(None),
                                Err(e) => Err(Some(e)),
                            }
                        },
                        Option::is_none,
                    )
                    .await;
                if let Err(Some(e)) = listed {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Applies one object: resolve, default the namespace, GET, apply, compare resourceVersion.
    pub async fn apply_one(&self, manifest: &Manifest) -> Result<AppliedObject, K8sError> {
        self.apply_object(manifest)
            .await
            .map(|(applied, _)| applied)
    }

    /// `apply_one`, also returning the server's answer (metadata and status only).
    ///
    /// The GET before the apply is what tells created / configured / unchanged apart: the
    /// apply response alone cannot (a no-op apply and a change both answer 200 with the
    /// object, and the resourceVersion it had before is gone). It asks for metadata only, so
    /// it costs one small round trip, nothing for objects that don't exist yet.
    async fn apply_object(
        &self,
        manifest: &Manifest,
    ) -> Result<(AppliedObject, DynamicObject), K8sError> {
        let resolved = self
            .discovery
            .resolve(
                manifest.api_version(),
                manifest.kind(),
                Some(&manifest.source),
            )
            .await?;
        let namespace = self.namespace_for(manifest, &resolved)?;
        let api = api_for(&self.client, &resolved, namespace.as_deref());
        let describe =
            super::manifest::describe(manifest.kind(), namespace.as_deref(), manifest.name());
        let action = format!("apply {describe} ({})", manifest.source);

        let existing = api
            .get_metadata_opt(manifest.name())
            .await
            .map_err(|e| K8sError::from_kube(&action, e))?;
        if self.owned_only
            && let Some(found) = &existing
            && !is_ours(&found.metadata)
        {
            return Err(K8sError::NotOurs {
                object: describe.clone(),
                owner: owner_of(&found.metadata),
            });
        }
        let before = existing.and_then(|m| m.metadata.resource_version);
        let after = self
            .patch_apply(&resolved, namespace.as_deref(), manifest)
            .await
            .map_err(|e| K8sError::from_kube(&action, e))?;
        let result = match before {
            None => Applied::Created,
            Some(rv) if Some(&rv) == after.metadata.resource_version.as_ref() => Applied::Unchanged,
            Some(_) => Applied::Configured,
        };
        let applied = AppliedObject {
            object: describe,
            api_version: manifest.api_version().to_string(),
            kind: manifest.kind().to_string(),
            namespace,
            name: manifest.name().to_string(),
            result,
        };
        Ok((applied, after))
    }

    /// The server-side apply request itself. Two copies of large objects are avoided, which
    /// for CRDs (Argo CD's biggest is 1.4 MB of YAML) is most of the client's work: the body
    /// is serialized straight from the manifest, only its metadata copied to set the
    /// namespace; and of the response only metadata and status are read (what the report
    /// and the CRD wait need), not the whole object echoed back.
    async fn patch_apply(
        &self,
        resolved: &Resolved,
        namespace: Option<&str>,
        manifest: &Manifest,
    ) -> Result<DynamicObject, kube::Error> {
        let mut metadata = manifest.object.metadata.clone();
        metadata.namespace = namespace.map(String::from);
        if self.owned_only {
            metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        }
        let body = ApplyBody {
            types: &manifest.object.types,
            metadata,
            data: &manifest.object.data,
        };
        let url = DynamicObject::url_path(&resolved.resource, namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let request = kube::core::Request::new(url)
            .patch(manifest.name(), &params, &Patch::Apply(&body))
            .map_err(kube::Error::BuildRequest)?;
        let answer: AppliedAnswer = self.client.request(request).await?;
        let mut data = serde_json::Map::new();
        if let Some(status) = answer.status {
            data.insert("status".into(), status);
        }
        Ok(DynamicObject {
            types: manifest.object.types.clone(),
            metadata: answer.metadata,
            data: serde_json::Value::Object(data),
        })
    }

    fn namespace_for(
        &self,
        manifest: &Manifest,
        resolved: &Resolved,
    ) -> Result<Option<String>, K8sError> {
        match (resolved.namespaced, manifest.namespace()) {
            (true, Some(ns)) if !ns.is_empty() => Ok(Some(ns.to_string())),
            (true, _) => Ok(Some(self.default_namespace.clone())),
            (false, Some(ns)) if !ns.is_empty() => Err(K8sError::ClusterScopedWithNamespace {
                object: format!("{} {}", manifest.kind(), manifest.name()),
                at: manifest.source.clone(),
                namespace: ns.to_string(),
            }),
            (false, _) => Ok(None),
        }
    }
}

/// A dynamic Api for a resolved kind, namespaced or not.
pub fn api_for(
    client: &kube::Client,
    resolved: &Resolved,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (resolved.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resolved.resource),
        _ => Api::all_with(client.clone(), &resolved.resource),
    }
}

/// The group of an apiVersion ("" for the core group).
pub fn group_of(api_version: &str) -> String {
    gvk_of(api_version, "").group
}

/// An apply body borrowing the manifest's (possibly large) content; serializes exactly as
/// `DynamicObject` does.
#[derive(serde::Serialize)]
struct ApplyBody<'a> {
    #[serde(flatten)]
    types: &'a Option<kube::api::TypeMeta>,
    metadata: ObjectMeta,
    #[serde(flatten)]
    data: &'a serde_json::Value,
}

/// What is read of an apply response; serde skips the rest without building it.
#[derive(serde::Deserialize)]
struct AppliedAnswer {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    status: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{NullReporter, ReporterExt, SharedReporter};
    use fake_apiserver::FakeApiServer;
    use std::sync::Arc;

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n";

    async fn apply_with_no_crd_timeout(fake: &FakeApiServer) -> Result<ApplyReport, K8sError> {
        let client = super::super::client_from_kubeconfig(fake.kubeconfig(), None)
            .await
            .unwrap();
        // A zero timeout fails any wait that actually has to watch.
        let applier = Applier::new(client).crd_timeout(Duration::ZERO);
        let manifests = super::super::parse_str(CRD, "widget.yaml").unwrap();
        let reporter: SharedReporter = Arc::new(NullReporter);
        let step = reporter.step("apply", "apply");
        applier.apply(&manifests, &step).await
    }

    #[tokio::test]
    async fn a_crd_the_answer_shows_established_is_not_waited_for() {
        // The fake establishes CRDs in the write itself, so its apply answer says so.
        let fake = FakeApiServer::start().await;
        let report = apply_with_no_crd_timeout(&fake).await.unwrap();
        assert_eq!(report.count(Applied::Created), 2, "{}", report.summary());
        let again = apply_with_no_crd_timeout(&fake).await.unwrap();
        assert_eq!(again.count(Applied::Unchanged), 2, "{}", again.summary());
    }

    /// A real API server reports a CRD Established a moment before its discovery lists the
    /// kind; the custom resources after it must still apply.
    #[tokio::test]
    async fn custom_resources_wait_for_discovery_to_serve_their_kind() {
        let fake = FakeApiServer::builder()
            .crd_discovery_after(Duration::from_millis(500))
            .start()
            .await;
        let client = super::super::client_from_kubeconfig(fake.kubeconfig(), None)
            .await
            .unwrap();
        let applier = Applier::new(client);
        let manifests = super::super::parse_str(CRD, "widget.yaml").unwrap();
        let reporter: SharedReporter = Arc::new(NullReporter);
        let step = reporter.step("apply", "apply");
        let report = applier.apply(&manifests, &step).await.unwrap();
        assert_eq!(report.count(Applied::Created), 2, "{}", report.summary());
    }

    #[tokio::test]
    async fn a_crd_not_yet_established_is_still_waited_for() {
        let fake = FakeApiServer::builder()
            .crd_established_after(Duration::from_secs(3600))
            .start()
            .await;
        let err = apply_with_no_crd_timeout(&fake).await.unwrap_err();
        assert!(err.to_string().contains("widgets.example.com"), "{err}");
    }

    #[tokio::test]
    async fn on_a_cluster_kindling_does_not_own_it_refuses_to_take_over_an_object() {
        let fake = FakeApiServer::start().await;
        // Someone else's ConfigMap, installed by Helm.
        fake.create(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "theirs", "namespace": "default",
                          "annotations": { "meta.helm.sh/release-name": "team-app",
                                           "meta.helm.sh/release-namespace": "default" } },
            "data": { "a": "1" }
        }))
        .unwrap();
        let client = super::super::client_from_kubeconfig(fake.kubeconfig(), None)
            .await
            .unwrap();
        let applier = Applier::new(client).owned_only(true);
        let reporter: SharedReporter = Arc::new(NullReporter);
        let step = reporter.step("apply", "apply");
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, namespace: default}\ndata: {a: '2'}\n\
                    ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ours, namespace: default}\ndata: {a: '1'}\n";
        let manifests = super::super::parse_str(text, "t.yaml").unwrap();
        let err = applier.apply(&manifests, &step).await.unwrap_err();
        assert!(matches!(err, K8sError::NotOurs { .. }), "{err}");
        assert!(
            err.to_string().contains("Helm release default/team-app"),
            "{err}"
        );
        let theirs = fake
            .get("v1", "ConfigMap", Some("default"), "theirs")
            .unwrap();
        assert_eq!(theirs["data"]["a"], "1", "their object is untouched");

        // What kindling made is labelled, and applying it again is allowed and unchanged.
        let ours = &manifests[1..];
        applier.apply(ours, &step).await.unwrap();
        let made = fake
            .get("v1", "ConfigMap", Some("default"), "ours")
            .unwrap();
        assert_eq!(made["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
        let again = applier.apply(ours, &step).await.unwrap();
        assert_eq!(again.count(Applied::Unchanged), 1, "{}", again.summary());
    }
}
