//! The one place the commands that act on the platform's cluster (rollout, release, scenario,
//! smoke) get their kube client. They act on kindling's own context only: `kind-<name>` from
//! the kubeconfig kindling keeps (<data_dir>/kubeconfig-<name>), or the configured context of
//! an existing cluster. Never the user's current context: a missing kindling kubeconfig means
//! the platform is not up (exit 1), not "use whatever ~/.kube/config points at". An explicit
//! `--kubeconfig` is fine when it holds that context (else exit 2).

use super::ClusterError;
use crate::config::{Provider, Settings};
use crate::env::Env;
use crate::rollout::RolloutError;
use kube::config::Kubeconfig;
use std::path::{Path, PathBuf};

/// kindling's context for the configured cluster.
pub fn context(settings: &Settings) -> String {
    let cluster = &settings.config.cluster;
    match cluster.provider {
        Provider::Kind => super::kubeconfig::context(&cluster.name),
        Provider::Existing => cluster.context.clone(),
    }
}

/// Connects to kindling's cluster: through `flag` (a kubeconfig that must hold kindling's
/// context), else kindling's own kubeconfig (kind) or the configured one (existing).
pub async fn connect(
    settings: &Settings,
    env: &Env,
    flag: Option<&Path>,
) -> Result<kube::Client, RolloutError> {
    let context = context(settings);
    let (kubeconfig, source) = match flag {
        Some(path) => (read_flag(path, &context)?, path.display().to_string()),
        None => read_own(settings, env, &context)?,
    };
    super::kubeconfig::client_from(kubeconfig, &source, Some(&context))
        .await
        .map_err(|e| RolloutError::Kubeconfig {
            path: PathBuf::from(&source),
            why: match e {
                ClusterError::Kubeconfig { reason, .. } => reason,
                other => other.to_string(),
            },
        })
}

fn contexts(kubeconfig: &Kubeconfig) -> String {
    let names: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// `--kubeconfig PATH`: it must exist and hold kindling's context.
fn read_flag(path: &Path, context: &str) -> Result<Kubeconfig, RolloutError> {
    let wrong = |why: String| RolloutError::WrongKubeconfig {
        path: path.to_path_buf(),
        why,
        context: context.to_string(),
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(|e| wrong(e.to_string()))?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        return Err(wrong(format!(
            "it has no context {context} (its contexts: {})",
            contexts(&kubeconfig)
        )));
    }
    Ok(kubeconfig)
}

/// kindling's own kubeconfig (kind) or the configured ones (existing), holding `context`.
fn read_own(
    settings: &Settings,
    env: &Env,
    context: &str,
) -> Result<(Kubeconfig, String), RolloutError> {
    let cluster = &settings.config.cluster;
    let not_up = |why: String| RolloutError::NotUp {
        why,
        provider: cluster.provider,
    };
    if cluster.provider == Provider::Existing {
        let (kubeconfig, source) =
            super::existing::load(settings, env).map_err(|e| not_up(e.to_string()))?;
        return Ok((kubeconfig, source));
    }
    let own = super::kubeconfig::path(settings);
    if !own.is_file() {
        return Err(not_up(format!(
            "kindling's kubeconfig for cluster {} ({}) does not exist",
            cluster.name,
            own.display()
        )));
    }
    let kubeconfig = Kubeconfig::read_from(&own).map_err(|e| {
        not_up(format!(
            "kindling's kubeconfig {} is unreadable: {e}",
            own.display()
        ))
    })?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        return Err(not_up(format!(
            "kindling's kubeconfig {} has no context {context}",
            own.display()
        )));
    }
    Ok((kubeconfig, own.display().to_string()))
}
