//! Removes the kind cluster (`kind delete cluster`) and kindling's records of it.
//! Registry containers and caches are not the cluster's: the registry module removes those.

use super::kind_cli::{self, KindCli};
use super::{ClusterError, kubeconfig, state};
use crate::config::Settings;
use crate::docker::KIND_CLUSTER_LABEL;
use crate::env::Env;
use crate::report::{Outcome, Step};
use bollard::Docker;

/// kind's node containers of cluster `name` (found by kind's own label), running or not.
pub async fn node_containers(docker: &Docker, name: &str) -> Result<Vec<String>, ClusterError> {
    let list =
        crate::docker::containers_with_labels(docker, &[format!("{KIND_CLUSTER_LABEL}={name}")])
            .await?;
    let mut names: Vec<String> = list
        .iter()
        .filter_map(crate::docker::summary_name)
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes the cluster if it exists. Without `yes`, a cluster kindling did not create is an
/// error (the CLI asks first). kind is only resolved (maybe downloaded) when there is
/// something to delete.
pub async fn delete(
    settings: &Settings,
    env: &Env,
    docker: &Docker,
    yes: bool,
    step: &Step,
) -> Result<(Outcome, String), ClusterError> {
    let name = &settings.config.cluster.name;
    let nodes = node_containers(docker, name).await?;
    let mut outcome = Outcome::Unchanged;
    if !nodes.is_empty() {
        if state::load(settings).is_none() && !yes {
            return Err(ClusterError::Foreign {
                name: name.clone(),
                action: "delete",
            });
        }
        let kind: KindCli = kind_cli::resolve(settings, env, step).await?;
        step.progress(format!("kind delete cluster --name {name}"));
        kind.run(&["delete", "cluster", "--name", name]).await?;
        outcome = Outcome::Changed;
    }
    let removed_state = state::remove(settings)?;
    let copy = kubeconfig::path(settings);
    let removed_copy = match std::fs::remove_file(&copy) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(ClusterError::Io {
                what: "cannot remove",
                path: copy,
                source,
            });
        }
    };
    if outcome == Outcome::Unchanged && (removed_state || removed_copy) {
        outcome = Outcome::Changed;
    }
    let detail = match outcome {
        Outcome::Unchanged => format!("no kind cluster {name}"),
        _ if nodes.is_empty() => format!("removed kindling's records of cluster {name}"),
        _ => format!("deleted kind cluster {name} ({} node(s))", nodes.len()),
    };
    Ok((outcome, detail))
}
