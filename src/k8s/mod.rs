//! The Kubernetes engine: everything kindling installs goes through here.
//!
//! - `manifest`: multi-document YAML/JSON → objects that remember file and document.
//! - `discovery`: kind → resource and scope (refreshed after CRDs are established).
//! - `apply`: server-side apply (field manager `kindling`, force), Namespaces and CRDs first.
//! - `wait`: composable readiness conditions over watches, with explicit timeouts.
//! - `diagnose`: why something is not ready (events, pod states, log tails).
//! - `delete`: foreground deletion and existence checks.

pub mod apply;
pub mod delete;
pub mod diagnose;
pub mod discovery;
pub mod error;
pub mod manifest;
pub mod wait;

pub use apply::{Applied, Applier, ApplyReport, FIELD_MANAGER, ObjectRef};
pub use discovery::{Discovery, Resolved};
pub use error::K8sError;
pub use manifest::{Manifest, ObjectSource, from_values, load_file, parse_str};
pub use wait::{Condition, Target, Verdict, Waiter};

use std::path::Path;

/// A client for the cluster in `kubeconfig` (its current context, or `context`).
pub async fn client_from_kubeconfig(
    path: &Path,
    context: Option<&str>,
) -> Result<kube::Client, K8sError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fail = |why: String| K8sError::Kubeconfig {
        path: path.display().to_string(),
        why,
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| fail(e.to_string()))?;
    let options = kube::config::KubeConfigOptions {
        context: context.map(Into::into),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| fail(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| fail(e.to_string()))
}
