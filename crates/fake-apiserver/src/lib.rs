//! A fake Kubernetes API server for kindling's tests. It speaks the real HTTP API to the real
//! `kube::Client` through a kubeconfig it writes (plain HTTP on 127.0.0.1).
//!
//! # What it serves
//! - Discovery: `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>` (legacy format, and the
//!   aggregated `apidiscovery.k8s.io/v2` format when the Accept header asks for it), `/version`.
//! - Built-in kinds of core, apps, batch, networking, rbac, policy, autoscaling, coordination,
//!   admissionregistration, apiregistration, storage, scheduling, discovery, events, and
//!   apiextensions (see `resources.rs`): everything the Argo CD, Argo Rollouts, cert-manager
//!   and kube-prometheus-stack install manifests contain.
//! - Custom resources: a CRD's kinds are served once it is Established, which the fake sets
//!   right after the CRD is written (or after `Builder::crd_established_after`); discovery
//!   may lag behind Established (`Builder::crd_discovery_after`), as on a real server.
//! - Verbs: get, list (label and field selectors), watch (resourceVersion resume, 410 when too
//!   old, timeoutSeconds), create (generateName), replace (PUT, optimistic concurrency → 409),
//!   server-side apply (`application/apply-patch+yaml`), merge/strategic-merge patch (both as
//!   RFC 7386 merge), JSON patch, delete; the `status` subresource; pod logs
//!   (`pods/<name>/log`, tailLines, previous, container); metadata-only GET/list
//!   (`as=PartialObjectMetadata`).
//! - Semantics: a global resourceVersion; spec changes bump `metadata.generation`, status
//!   changes don't; for kinds with a status subresource, status sent to the main resource is
//!   ignored; writes that change nothing keep the resourceVersion (so re-applies are no-ops);
//!   namespaced objects in a missing namespace → 404; create of an existing name → 409;
//!   missing or invalid names → 422; errors are `Status` objects like the real server's.
//!   Deletion: objects with finalizers get `deletionTimestamp` and go when the finalizers are
//!   removed; otherwise they go at once, with their dependents (ownerReferences) and, for a
//!   Namespace, its contents (garbage collection and the namespace controller simulated).
//!
//! # What it simplifies (versus the real server)
//! - Server-side apply is create-or-merge (RFC 7386 JSON merge of the applied configuration
//!   into the object): no managedFields, no field ownership, no conflicts (so `force` changes
//!   nothing), lists are replaced rather than merged by key, and fields dropped from a later
//!   apply are not removed. Apply bodies must be JSON (kube-rs sends JSON).
//! - No schema validation, no defaulting, no admission. One stored copy per resource for all
//!   served versions (no conversion).
//! - Foreground deletion completes immediately (no `foregroundDeletion` finalizer phase).
//!
//! # Decision: custom resources on the fake itself
//! The fake serves custom resources itself instead of forwarding non-core groups to the real
//! crd-apiserver: the fake then needs no external binary (so `up` and the delivery scenarios
//! can be tested end to end anywhere, with one server, one request count and simulated
//! controllers acting on custom resources such as Applications and Rollouts through the same
//! Rust API), and tests stay fast. What the fake cannot judge — schema validation, real SSA
//! field ownership — is exactly what kindling's custom-resource tests check against the real
//! crd-apiserver (`support::CrdApiserver`), directly.
//!
//! # Driving it from tests
//! ```ignore
//! let fake = FakeApiServer::start().await;
//! let client = kindling::k8s::client_from_kubeconfig(fake.kubeconfig(), None).await?;
//! fake.set_status("apps/v1", "Deployment", Some("argocd"), "argocd-server", json!({...}))?;
//! let mut changes = fake.subscribe(); // simulated controllers react to changes
//! sim::spawn_workload_controller(fake.handle(), Duration::from_millis(50));
//! assert!(fake.requests() < 200);
//! ```

mod resources;
mod selectors;
mod server;
pub mod sim;
mod store;

mod request_log;

pub use request_log::RequestLog;
pub use resources::ResourceDef;
pub use store::{Admission, ApiError, Change, ChangeType, now_rfc3339};

use serde_json::{Value, json};
use server::AppState;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use store::{PatchType, Store};

/// A handle on the fake's store, cheap to clone into simulated controllers.
#[derive(Clone)]
pub struct Fake {
    app: Arc<AppState>,
}

/// A running fake API server; stops on drop.
pub struct FakeApiServer {
    fake: Fake,
    url: String,
    dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Default)]
pub struct Builder {
    crd_delay: Duration,
    discovery_delay: Duration,
    namespaces: Vec<String>,
}

impl Builder {
    /// Sets CRDs Established only after `delay` (default: at once), so tests can show that
    /// callers wait for it.
    pub fn crd_established_after(mut self, delay: Duration) -> Builder {
        self.crd_delay = delay;
        self
    }

    /// Serves a CRD's kinds in discovery only `delay` after it is Established (default: at
    /// once), as a real API server lags, so tests can show that callers wait for discovery.
    pub fn crd_discovery_after(mut self, delay: Duration) -> Builder {
        self.discovery_delay = delay;
        self
    }

    /// Namespaces to create besides default, kube-system, kube-public, kube-node-lease.
    pub fn namespace(mut self, name: &str) -> Builder {
        self.namespaces.push(name.into());
        self
    }

    pub async fn start(self) -> FakeApiServer {
        let store = Store::new(self.crd_delay, self.discovery_delay);
        for ns in &self.namespaces {
            store.create_namespace(ns);
        }
        let app = Arc::new(AppState {
            store,
            requests: Default::default(),
            log: RequestLog::default(),
        });
        let router = axum::Router::new()
            .fallback(server::handle)
            .with_state(app.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let url = format!("http://{addr}");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&url, "fake")).expect("write kubeconfig");
        FakeApiServer {
            fake: Fake { app },
            url,
            dir,
            kubeconfig,
            shutdown: Some(tx),
        }
    }
}

/// A kubeconfig with one context, `context` (the cluster and user are `fake`), pointing at `url`.
fn kubeconfig_text(url: &str, context: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: {context}\nusers:\n- name: fake\n  user:\n    token: fake-token\n"
    )
}

impl FakeApiServer {
    pub async fn start() -> FakeApiServer {
        Builder::default().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// "http://127.0.0.1:PORT".
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A kubeconfig for it (context `fake`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The kubeconfig text with its one context named `context` (e.g. kind's `kind-NAME`).
    pub fn kubeconfig_with_context(&self, context: &str) -> String {
        kubeconfig_text(&self.url, context)
    }

    /// A temporary directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn handle(&self) -> Fake {
        self.fake.clone()
    }
}

impl std::ops::Deref for FakeApiServer {
    type Target = Fake;
    fn deref(&self) -> &Fake {
        &self.fake
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Fake {
    fn store(&self) -> &Arc<Store> {
        &self.app.store
    }

    fn def(&self, api_version: &str, kind: &str) -> Result<ResourceDef, ApiError> {
        self.store().def_by_kind(api_version, kind).ok_or_else(|| {
            ApiError::new(404, "NotFound", format!("no kind {kind} in {api_version}"))
        })
    }

    /// HTTP requests served so far (every request, including discovery and watches).
    pub fn requests(&self) -> u64 {
        self.app.requests.load(Ordering::Relaxed)
    }

    pub fn reset_requests(&self) {
        self.app.requests.store(0, Ordering::Relaxed);
    }

    /// Every request served so far, in order (see `RequestLog`).
    pub fn request_log(&self) -> &RequestLog {
        &self.app.log
    }

    /// How many requests have been served: pass it to `until_watch` to consider only later ones.
    pub fn log_mark(&self) -> usize {
        self.app.log.mark()
    }

    /// Marks the CRD `name` Established now and serves its kinds (for a fake built with
    /// `crd_established_after` a long delay: the test decides when, after what it observed).
    pub fn establish(&self, name: &str) {
        self.store().establish(name);
    }

    /// Waits until a client has opened, from the `since`-th request on, a watch on the object
    /// `name` of the resource `plural` (see `RequestLog::until_watch`).
    pub async fn until_watch(&self, since: usize, plural: &str, name: &str) -> String {
        self.app.log.until_watch(since, plural, name).await
    }

    /// The latest committed resourceVersion: every write bumps it, so a simulated controller
    /// that has handled every change up to it has nothing left to do.
    pub fn resource_version(&self) -> u64 {
        self.store().resource_version()
    }

    /// The resource type served for a kind at an apiVersion, if any (built-in, or of an
    /// Established CRD).
    pub fn served(&self, api_version: &str, kind: &str) -> Option<ResourceDef> {
        self.store().def_by_kind(api_version, kind)
    }

    /// The resource types served now (built-ins and established CRDs).
    pub fn resources(&self) -> Vec<ResourceDef> {
        self.store().defs()
    }

    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let def = self.def(api_version, kind).ok()?;
        self.store().get(&def, namespace.unwrap_or(""), name).ok()
    }

    /// Like `get`, without copying the stored object (CRDs are megabytes).
    pub fn get_shared(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Arc<Value>> {
        let def = self.def(api_version, kind).ok()?;
        self.store()
            .get_shared(&def, namespace.unwrap_or(""), name)
            .ok()
    }

    /// All objects of a kind (in one namespace, or everywhere).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        match self.def(api_version, kind) {
            Ok(def) => self.store().list(&def, namespace, |_| true).0,
            Err(_) => Vec::new(),
        }
    }

    /// Creates an object (its apiVersion, kind and metadata.namespace say where).
    pub fn create(&self, object: Value) -> Result<Value, ApiError> {
        let def = self.def(
            object["apiVersion"].as_str().unwrap_or(""),
            object["kind"].as_str().unwrap_or(""),
        )?;
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        self.store()
            .create(&def, &ns, object)
            .map(Arc::unwrap_or_clone)
    }

    /// Creates or merges, like a server-side apply.
    pub fn apply(&self, object: Value) -> Result<Value, ApiError> {
        let def = self.def(
            object["apiVersion"].as_str().unwrap_or(""),
            object["kind"].as_str().unwrap_or(""),
        )?;
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        self.store()
            .apply(&def, &ns, &name, object, false)
            .map(|(o, _)| Arc::unwrap_or_clone(o))
    }

    /// Replaces the object's status (as a controller writing `/status`).
    pub fn set_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Result<Value, ApiError> {
        let def = self.def(api_version, kind)?;
        let ns = namespace.unwrap_or("");
        let mut object = self.store().get(&def, ns, name)?;
        object["status"] = status;
        self.store()
            .replace(&def, ns, name, object, true)
            .map(Arc::unwrap_or_clone)
    }

    /// Merges `patch` into the object's status.
    pub fn patch_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: Value,
    ) -> Result<Value, ApiError> {
        let def = self.def(api_version, kind)?;
        self.store()
            .patch(
                &def,
                namespace.unwrap_or(""),
                name,
                PatchType::Merge,
                json!({"status": patch}),
                true,
            )
            .map(Arc::unwrap_or_clone)
    }

    /// Merge-patches the object (spec, metadata...), as a user or controller would.
    pub fn patch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: Value,
    ) -> Result<Value, ApiError> {
        let def = self.def(api_version, kind)?;
        self.store()
            .patch(
                &def,
                namespace.unwrap_or(""),
                name,
                PatchType::Merge,
                patch,
                false,
            )
            .map(Arc::unwrap_or_clone)
    }

    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        let def = self.def(api_version, kind)?;
        self.store()
            .delete(&def, namespace.unwrap_or(""), name)
            .map(|_| ())
    }

    pub fn create_namespace(&self, name: &str) {
        self.store().create_namespace(name);
    }

    /// Sets the admission check every create and update of a main resource (HTTP or this
    /// API) goes through, as admission webhooks would (simulated controllers decide).
    pub fn set_admission(
        &self,
        check: impl Fn(&ResourceDef, &str, &Value, bool) -> Result<(), ApiError> + Send + Sync + 'static,
    ) {
        *self.store().admission.write().unwrap() = Some(Arc::new(check));
    }

    /// Every committed change from now on (simulated controllers subscribe here).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        self.store().tx.subscribe()
    }

    /// Sets a container's log (`previous`: of its last terminated run), served by `pods/<name>/log`.
    pub fn set_pod_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        text: &str,
    ) {
        let mut st = self.store().state.lock().unwrap();
        st.logs.insert(
            (namespace.into(), pod.into(), container.into(), previous),
            text.into(),
        );
    }

    /// Records an Event about an object, as the kubelet or a controller would.
    pub fn add_event(
        &self,
        namespace: &str,
        involved_kind: &str,
        involved_name: &str,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Result<Value, ApiError> {
        let now = store::now_rfc3339();
        self.create(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": format!("{involved_name}."), "namespace": namespace},
            "involvedObject": {"kind": involved_kind, "name": involved_name, "namespace": namespace},
            "type": type_, "reason": reason, "message": message, "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "fake-apiserver"},
        }))
    }

    /// Calls `f` for every change until it returns false (runs on a tokio task).
    pub fn on_change(
        &self,
        f: impl Fn(&Fake, &Change) -> bool + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let mut rx = self.subscribe();
        let fake = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(c) => {
                        if !f(&fake, &c) {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                }
            }
        })
    }
}
