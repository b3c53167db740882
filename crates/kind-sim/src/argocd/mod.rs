//! The simulated Argo CD application controller (v3.5.1): watches Applications, renders their
//! source through a pluggable [`Source`], compares, syncs automatically ([`sync`]: hooks,
//! waves, retries) and writes status the way Argo CD does ([`app`]).
//!
//! What it writes (controller/appcontroller.go, controller/state.go, controller/health.go):
//! `status.sync.{status,revision,comparedTo}`, `status.health.status` (Argo CD v3 no longer
//! writes an Application health message: the field is deprecated and left empty),
//! `status.resources[]` (each resource's sync status; its health only with
//! `persist_resource_health`, which Argo CD 3.x turns off by default — the health lives in
//! the resource tree, here [`ArgoCd::resource_tree`]), `status.operationState` and
//! `status.conditions`.

pub mod app;
pub mod project;
pub mod sync;

use crate::health::{Health, Rules};
use crate::runtime::Activity;
use fake_apiserver::Fake;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a source renders for an Application.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The revision Argo CD reports (`status.sync.revision`): a chart version, a digest.
    pub revision: String,
    pub objects: Vec<Value>,
}

/// The repo-server's part: renders an Application's source, given the API versions the
/// cluster serves (Argo CD passes them to Helm as `--api-versions`).
pub trait Source: Send + Sync + 'static {
    fn render(&self, app: &Value, api_versions: &[String]) -> Result<Rendered, String>;
}

impl<F> Source for F
where
    F: Fn(&Value, &[String]) -> Result<Rendered, String> + Send + Sync + 'static,
{
    fn render(&self, app: &Value, api_versions: &[String]) -> Result<Rendered, String> {
        self(app, api_versions)
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Where Applications live (`argocd`).
    pub namespace: String,
    /// Multiplies Argo CD's own delays: retry backoff (5 s default, the Application's
    /// `retry.backoff`) and the pause between sync waves (2 s). 1.0 is real time; the default
    /// 0.001 makes a 10 s backoff 10 ms. (The 3 s wait for a CRD to be Established is not
    /// scaled: it ends as soon as the fake establishes it.)
    pub time_scale: f64,
    /// `--persist-resource-health` (off by default in Argo CD 3.x).
    pub persist_resource_health: bool,
    /// Argo CD comes from its install.yaml, applied by the test (as kindling's `up` does):
    /// its CRDs are not installed up front, and Applications are reconciled only while its
    /// application controller and repo-server have a ready pod (the cluster runs them like
    /// any workload). Off: Argo CD is simply there (CRDs installed, controller running).
    pub from_install_manifest: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            namespace: "argocd".into(),
            time_scale: 0.001,
            persist_resource_health: false,
            from_install_manifest: false,
        }
    }
}

impl Options {
    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale.max(0.0))
    }
}

/// A running simulated Argo CD.
#[derive(Clone)]
pub struct ArgoCd {
    fake: Fake,
    trees: Arc<Mutex<BTreeMap<String, Vec<TreeNode>>>>,
    options: Options,
}

/// One managed resource and its health, as Argo CD's resource tree shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub health: Option<Health>,
}

impl ArgoCd {
    /// Starts the controller on `fake` (the Application CRD must be installed).
    pub fn start(
        fake: Fake,
        activity: &Activity,
        rules: Arc<Rules>,
        source: Arc<dyn Source>,
        options: Options,
    ) -> ArgoCd {
        let argocd = ArgoCd {
            fake: fake.clone(),
            trees: Arc::default(),
            options: options.clone(),
        };
        let controller = Arc::new(tokio::sync::Mutex::new(app::Controller::new(
            fake.clone(),
            rules,
            source,
            options,
            argocd.trees.clone(),
        )));
        activity.spawn(fake, move || {
            let controller = controller.clone();
            async move { controller.lock().await.pass().await }
        });
        argocd
    }

    /// The managed resources of an Application with their health (Argo CD's resource tree,
    /// which the UI and `argocd app get` show).
    pub fn resource_tree(&self, app: &str) -> Vec<TreeNode> {
        self.trees
            .lock()
            .unwrap()
            .get(app)
            .cloned()
            .unwrap_or_default()
    }

    /// The Application object as it is now.
    pub fn application(&self, name: &str) -> Option<Value> {
        self.fake.get(
            "argoproj.io/v1alpha1",
            "Application",
            Some(&self.options.namespace),
            name,
        )
    }
}
