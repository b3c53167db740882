//! A kube client for the platform's cluster: the kubeconfig kindling wrote
//! (<data_dir>/kubeconfig-<cluster>) when present, else the configured or default one.

use super::error::RolloutError;
use crate::config::Settings;
use crate::env::Env;
use std::path::{Path, PathBuf};

/// The kubeconfig file and context to use, in order: the flag, kindling's own file, the
/// configured `cluster.kubeconfig`, $KUBECONFIG (first entry), ~/.kube/config.
pub fn kubeconfig_path(settings: &Settings, env: &Env, flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.to_path_buf());
    }
    let own = settings
        .data_dir
        .join(format!("kubeconfig-{}", settings.config.cluster.name));
    if own.is_file() {
        return Some(own);
    }
    if !settings.config.cluster.kubeconfig.is_empty() {
        return Some(PathBuf::from(&settings.config.cluster.kubeconfig));
    }
    if let Some(first) = env
        .get("KUBECONFIG")
        .and_then(|v| std::env::split_paths(v).find(|p| !p.as_os_str().is_empty()))
    {
        return Some(first);
    }
    env.path("HOME").map(|home| home.join(".kube/config"))
}

/// The context: the configured one for an existing cluster, else kind's `kind-<name>` when
/// the file has it, else the file's current context.
fn context_for(settings: &Settings, kubeconfig: &kube::config::Kubeconfig) -> Option<String> {
    if !settings.config.cluster.context.is_empty() {
        return Some(settings.config.cluster.context.clone());
    }
    let kind = format!("kind-{}", settings.config.cluster.name);
    kubeconfig
        .contexts
        .iter()
        .any(|c| c.name == kind)
        .then_some(kind)
}

/// Connects to the cluster described by `path`.
pub async fn client(settings: &Settings, path: &Path) -> Result<kube::Client, RolloutError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bad = |why: String| RolloutError::Kubeconfig {
        path: path.to_path_buf(),
        why,
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| bad(e.to_string()))?;
    let options = kube::config::KubeConfigOptions {
        context: context_for(settings, &kubeconfig),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| bad(e.to_string()))?;
    crate::k8s::direct_to_loopback(&mut config);
    kube::Client::try_from(config).map_err(|e| bad(e.to_string()))
}
