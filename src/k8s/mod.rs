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
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| fail(e.to_string()))?;
    direct_to_loopback(&mut config);
    kube::Client::try_from(config).map_err(|e| fail(e.to_string()))
}

/// An API server on this machine (a kind cluster listens on 127.0.0.1) is reached directly.
/// kube takes HTTPS_PROXY from the environment by itself and, built without its http-proxy
/// feature, then refuses to connect at all — so a laptop with proxy variables set (offices,
/// workshop machines with a `NO_PROXY` for loopback) could not reach its own cluster.
pub fn direct_to_loopback(config: &mut kube::Config) {
    let host = config
        .cluster_url
        .host()
        .unwrap_or("")
        .trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        config.proxy_url = None;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_local_api_server_is_reached_without_the_proxy_variables() {
        for (server, direct) in [
            ("https://127.0.0.1:6443", true),
            ("https://[::1]:6443", true),
            ("https://localhost:6443", true),
            ("https://k8s.example:6443", false),
        ] {
            let mut config = kube::Config::new(server.parse().unwrap());
            config.proxy_url = Some("http://proxy.example:3128".parse().unwrap());
            super::direct_to_loopback(&mut config);
            assert_eq!(config.proxy_url.is_none(), direct, "{server}");
        }
    }
}
