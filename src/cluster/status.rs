//! `kindling cluster status`: what exists, without changing anything (no kind needed).

use super::{ClusterError, create, down, existing, kubeconfig, state};
use crate::config::{Provider, Settings};
use crate::env::Env;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub name: String,
    /// Docker's state: running, exited, ...
    pub state: String,
    pub image: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub name: String,
    pub provider: Provider,
    /// Whether the cluster (its node containers, or the API server of an existing one) is there.
    pub exists: bool,
    /// kind only: whether kindling created (or adopted) it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    pub nodes: Vec<NodeStatus>,
    /// kind only: whether the control-plane runs the configured node image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_image_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Existing only: the API server's Kubernetes version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the cluster is not usable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

pub async fn status(settings: &Settings, env: &Env) -> Result<ClusterStatus, ClusterError> {
    let cluster = &settings.config.cluster;
    let mut status = ClusterStatus {
        name: cluster.name.clone(),
        provider: cluster.provider,
        exists: false,
        managed: None,
        nodes: Vec::new(),
        node_image_matches: None,
        kubeconfig: None,
        version: None,
        problem: None,
    };
    if cluster.provider == Provider::Existing {
        status.kubeconfig = existing::kubeconfig_paths(settings, env).into_iter().next();
        match existing::connect(settings, env).await {
            Ok(found) => {
                status.exists = true;
                status.version = Some(found.version);
            }
            Err(e) => status.problem = Some(crate::error::one_line(&e)),
        }
        return Ok(status);
    }
    let docker = crate::docker::connect(env, settings.config.timeouts.docker).await?;
    for node in down::node_containers(&docker, &cluster.name).await? {
        let info = docker
            .inspect_container(&node, None)
            .await
            .map_err(crate::docker::DockerError::api("inspect container"))?;
        status.nodes.push(NodeStatus {
            state: info
                .state
                .and_then(|s| s.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            image: info.config.and_then(|c| c.image).unwrap_or_default(),
            name: node,
        });
    }
    status.exists = !status.nodes.is_empty();
    if status.exists {
        status.managed = Some(state::load(settings).is_some());
        let control_plane = create::control_plane(&cluster.name);
        status.node_image_matches = status
            .nodes
            .iter()
            .find(|n| n.name == control_plane)
            .map(|n| n.image == cluster.node_image);
        let copy = kubeconfig::path(settings);
        status.kubeconfig = copy.is_file().then_some(copy);
        if let Some(stopped) = status.nodes.iter().find(|n| n.state != "running") {
            status.problem = Some(format!(
                "node {} is {}: `kindling cluster up` starts it",
                stopped.name, stopped.state
            ));
        }
    }
    Ok(status)
}
