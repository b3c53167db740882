//! A faithful simulated kind cluster with Argo CD, for kindling's tests: the cluster's
//! controllers act on the fake API server as the real ones do (including the ordinary ways a
//! pod fails to start), and Argo CD rates health by its own v3.5.1 rules (upstream's Lua
//! checks run in place). See README.md for what is modelled, from which upstream source, and
//! which test holds it.
//!
//! ```ignore
//! let api = FakeApiServer::start().await;
//! let sim = Sim::start(&api, Arc::new(Helm::from_env()?), kind_sim::Options::default())?;
//! // apply Applications through the fake (or kindling's own client)...
//! sim.settled().await;              // nothing more will happen by itself
//! let app = sim.argocd.application("traefik").unwrap();
//! ```

pub mod argocd;
pub mod health;
pub mod helm;
pub mod hooks;
pub mod kind;
pub mod runtime;
pub mod yaml;

use fake_apiserver::Fake;
use serde_json::Value;
use std::sync::Arc;

pub use argocd::{ArgoCd, Rendered, Source};
pub use health::{Health, Rules, Status};
pub use helm::Helm;
pub use runtime::Activity;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub kind: kind::Options,
    pub argocd: argocd::Options,
}

/// A running simulated kind cluster with Argo CD.
pub struct Sim {
    fake: Fake,
    pub activity: Activity,
    pub argocd: ArgoCd,
    pub rules: Arc<Rules>,
}

impl Sim {
    /// Starts the cluster's controllers and Argo CD on `fake`: creates the nodes, installs
    /// Argo CD's CRDs (from the shared upstream folder; not with
    /// `argocd::Options::from_install_manifest`, where whoever applies install.yaml does) and
    /// its namespace, and renders Applications with `source`.
    pub fn start(fake: &Fake, source: Arc<dyn Source>, options: Options) -> Result<Sim, String> {
        let rules = Arc::new(Rules::upstream().ok_or_else(|| {
            format!(
                "Argo CD's health rules not found under {} (set KINDLING_SHARED_DIR)",
                health::shared_dir().display()
            )
        })?);
        if !options.argocd.from_install_manifest {
            install_argocd_crds(fake)?;
        }
        fake.create_namespace(&options.argocd.namespace);
        let activity = Activity::default();
        kind::start(fake, &activity, &options.kind)?;
        let argocd = ArgoCd::start(
            fake.clone(),
            &activity,
            rules.clone(),
            source,
            options.argocd,
        );
        Ok(Sim {
            fake: fake.clone(),
            activity,
            argocd,
            rules,
        })
    }

    /// Waits until nothing more will change by itself (every controller caught up, no retry
    /// pending).
    pub async fn settled(&self) {
        self.activity.settled(&self.fake).await
    }

    /// Waits until `done` returns Some (checked after every controller pass), or the cluster
    /// settled without it (None).
    pub async fn until<T>(&self, done: impl FnMut() -> Option<T>) -> Option<T> {
        self.activity.until(&self.fake, done).await
    }

    /// An Application's `status.health.status` and `status.sync.status`.
    pub fn app_status(&self, name: &str) -> Option<(String, String)> {
        let app = self.argocd.application(name)?;
        let s = &app["status"];
        Some((
            s["health"]["status"].as_str()?.to_string(),
            s["sync"]["status"].as_str()?.to_string(),
        ))
    }
}

/// Argo CD v3.5.1's CRDs (Application, AppProject, ApplicationSet) from the shared folder.
pub fn install_argocd_crds(fake: &Fake) -> Result<(), String> {
    let dir = health::shared_dir().join("upstream/argo-cd/v3.5.1/crds");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e} (set KINDLING_SHARED_DIR)", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for crd in yaml::parse_stream(&text)? {
            if crd["kind"] == "CustomResourceDefinition" && served_crd_missing(fake, &crd) {
                fake.apply(crd).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

fn served_crd_missing(fake: &Fake, crd: &Value) -> bool {
    fake.get(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        crd["metadata"]["name"].as_str().unwrap_or(""),
    )
    .is_none()
}
