//! The cluster part: does it exist, do its nodes run, does its API server answer; and the
//! client every Kubernetes read of `status` goes through (None when it cannot be reached).

use super::READ_TIMEOUT;
use super::model::ClusterPart;
use crate::cluster::{self, existing, kubeconfig};
use crate::config::{Provider, Settings};
use crate::env::Env;

pub async fn collect(settings: &Settings, env: &Env) -> (ClusterPart, Option<kube::Client>) {
    let config = &settings.config.cluster;
    let mut part = ClusterPart {
        name: config.name.clone(),
        provider: config.provider,
        exists: None,
        running: None,
        reachable: None,
        context: None,
        kubeconfig: None,
        version: None,
        nodes: Vec::new(),
        problem: None,
    };
    match config.provider {
        Provider::Existing => {
            let client = existing_cluster(settings, env, &mut part).await;
            (part, client)
        }
        Provider::Kind => {
            let client = kind_cluster(settings, env, &mut part).await;
            (part, client)
        }
    }
}

/// A cluster kindling does not own: it "exists" when its API server answers.
async fn existing_cluster(
    settings: &Settings,
    env: &Env,
    part: &mut ClusterPart,
) -> Option<kube::Client> {
    part.context = Some(settings.config.cluster.context.clone());
    part.kubeconfig = existing::kubeconfig_paths(settings, env).into_iter().next();
    match existing::connect(settings, env).await {
        Ok(found) => {
            part.exists = Some(true);
            part.running = Some(true);
            part.reachable = Some(true);
            part.version = Some(found.version);
            Some(found.client)
        }
        Err(e) => {
            part.reachable = Some(false);
            part.problem = Some(e.to_string());
            None
        }
    }
}

/// A kind cluster: its node containers (Docker), then its API server through kindling's
/// kubeconfig copy. When Docker cannot be asked, the API server still can.
async fn kind_cluster(
    settings: &Settings,
    env: &Env,
    part: &mut ClusterPart,
) -> Option<kube::Client> {
    let name = &settings.config.cluster.name;
    let context = kubeconfig::context(name);
    part.context = Some(context.clone());
    let copy = kubeconfig::path(settings);
    match cluster::status(settings, env).await {
        Ok(found) => {
            part.exists = Some(found.exists);
            if !found.exists {
                part.running = Some(false);
                return None;
            }
            part.running = Some(found.nodes.iter().all(|n| n.state == "running"));
            part.nodes = found.nodes;
            part.problem = found.problem;
        }
        Err(e) => {
            part.problem = Some(format!(
                "node containers unknown: {}",
                crate::error::one_line(&e)
            ))
        }
    }
    if !copy.is_file() {
        if part.exists == Some(true) {
            part.problem.get_or_insert_with(|| {
                format!(
                    "kindling's kubeconfig {} is missing: `kindling up` writes it",
                    copy.display()
                )
            });
        }
        return None;
    }
    part.kubeconfig = Some(copy.clone());
    let client = match kubeconfig::client(&copy, Some(&context)).await {
        Ok(client) => client,
        Err(e) => {
            part.problem.get_or_insert_with(|| e.to_string());
            return None;
        }
    };
    match tokio::time::timeout(READ_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(info)) => {
            part.reachable = Some(true);
            part.version = Some(if info.git_version.is_empty() {
                format!("{}.{}", info.major, info.minor)
            } else {
                info.git_version
            });
            if part.exists.is_none() {
                // Docker could not be asked, but the cluster answers: it exists and runs.
                part.exists = Some(true);
                part.running = Some(true);
                part.problem = None;
            }
            Some(client)
        }
        Ok(Err(e)) => {
            part.reachable = Some(false);
            part.problem.get_or_insert_with(|| {
                format!(
                    "the API server does not answer: {}",
                    crate::error::one_line(&e)
                )
            });
            None
        }
        Err(_) => {
            part.reachable = Some(false);
            part.problem.get_or_insert_with(|| {
                format!(
                    "the API server gave no answer within {}s",
                    READ_TIMEOUT.as_secs()
                )
            });
            None
        }
    }
}
