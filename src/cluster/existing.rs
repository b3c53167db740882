//! `cluster.provider = "existing"`: a cluster kindling did not make and does not own.
//! No kind, no node wiring; kindling only checks that the API server answers and runs a
//! Kubernetes version the platform supports.

use super::{ClusterError, kubeconfig};
use crate::config::Settings;
use crate::env::Env;
use kube::config::Kubeconfig;
use std::path::PathBuf;
use std::time::Duration;

/// The oldest Kubernetes the pinned components support (Argo CD 3.5: 1.33–1.36).
pub const MIN_VERSION: (u32, u32) = (1, 33);
/// How long the API server has to answer `/version`.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// The kubeconfig files to read: cluster.kubeconfig, else $KUBECONFIG (a list), else ~/.kube/config.
pub fn kubeconfig_paths(settings: &Settings, env: &Env) -> Vec<PathBuf> {
    let configured = &settings.config.cluster.kubeconfig;
    if !configured.is_empty() {
        return vec![PathBuf::from(configured)];
    }
    if let Some(list) = env.get("KUBECONFIG") {
        return list
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    env.path("HOME")
        .map(|home| vec![home.join(".kube/config")])
        .unwrap_or_default()
}

/// Reads and merges the kubeconfig files (first file wins, as kubectl does).
pub fn load(settings: &Settings, env: &Env) -> Result<(Kubeconfig, String), ClusterError> {
    let paths = kubeconfig_paths(settings, env);
    let name = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let failed = |reason: String| ClusterError::Kubeconfig {
        source_name: name.clone(),
        reason,
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths.iter().filter(|p| p.is_file()) {
        let next = Kubeconfig::read_from(path).map_err(|e| failed(e.to_string()))?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| failed(e.to_string()))?,
        });
    }
    let kubeconfig = merged.ok_or_else(|| failed("no kubeconfig file found".into()))?;
    let context = &settings.config.cluster.context;
    if !kubeconfig.contexts.iter().any(|c| &c.name == context) {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(failed(format!(
            "it has no context {context:?} (contexts: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok((kubeconfig, name))
}

/// "1", "33+" → (1, 33); None when not numbers.
pub fn parse_version(major: &str, minor: &str) -> Option<(u32, u32)> {
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    Some((digits(major)?, digits(minor)?))
}

/// A reachable, supported existing cluster: its client and Kubernetes version.
pub struct Existing {
    pub client: kube::Client,
    pub server: String,
    pub version: String,
}

/// Connects to the configured context and checks the API server's version.
pub async fn connect(settings: &Settings, env: &Env) -> Result<Existing, ClusterError> {
    let (kubeconfig, source_name) = load(settings, env)?;
    let context = settings.config.cluster.context.as_str();
    let server = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| kubeconfig.clusters.iter().find(|k| k.name == c.cluster))
        .and_then(|k| k.cluster.as_ref())
        .and_then(|k| k.server.clone())
        .unwrap_or_else(|| format!("of context {context}"));
    let client = kubeconfig::client_from(kubeconfig, &source_name, Some(context)).await?;
    let unreachable = |reason: String| ClusterError::Unreachable {
        server: server.clone(),
        reason,
    };
    let info = tokio::time::timeout(VERSION_TIMEOUT, client.apiserver_version())
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", VERSION_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    let version = if info.git_version.is_empty() {
        format!("{}.{}", info.major, info.minor)
    } else {
        info.git_version.clone()
    };
    match parse_version(&info.major, &info.minor) {
        Some(v) if v >= MIN_VERSION => Ok(Existing {
            client,
            server,
            version,
        }),
        _ => Err(ClusterError::Unsupported { server, version }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_the_api_server_writes_them() {
        assert_eq!(parse_version("1", "33"), Some((1, 33)));
        assert_eq!(parse_version("1", "36+"), Some((1, 36)));
        assert_eq!(parse_version("", "36"), None);
        assert!(parse_version("1", "32").unwrap() < MIN_VERSION);
        assert!(parse_version("2", "0").unwrap() >= MIN_VERSION);
    }
}
