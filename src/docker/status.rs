//! `registry status`: each registry and cache container, its state, port, volume, whether it
//! answers `GET /v2/`, and (caches) which kindling clusters use it.

use super::containers::{self, ContainerSpec};
use super::error::Result;
use super::mirrors;
use super::registry::all_specs;
use crate::config::Config;
use bollard::Docker;
use bollard::models::ContainerStateStatusEnum;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    /// "registry" or "mirror".
    pub role: String,
    /// The upstream a mirror caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// running, restarting, exited, ..., "missing", or "foreign" (a container kindling does
    /// not own).
    pub state: String,
    /// Host port on 127.0.0.1 (the registry only).
    pub port: Option<u16>,
    pub volume: Option<String>,
    /// Whether `GET /v2/` answers; None when it cannot be asked from here (a cache without
    /// host port where container addresses are not routable, Docker Desktop).
    pub answers: Option<bool>,
    pub id: Option<String>,
    /// Caches: the kindling clusters that use it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

impl ContainerStatus {
    /// Running and answering (or running where it cannot be asked).
    pub fn is_up(&self) -> bool {
        self.state == ContainerStateStatusEnum::RUNNING.to_string() && self.answers != Some(false)
    }

    /// What is wrong, in a few words ("restarting", "missing", "not answering").
    pub fn problem(&self) -> Option<String> {
        if self.is_up() {
            None
        } else if self.state == ContainerStateStatusEnum::RUNNING.to_string() {
            Some("running, but not answering /v2/".into())
        } else {
            Some(self.state.clone())
        }
    }
}

/// The status of every container the configuration asks for.
pub async fn status(docker: &Docker, config: &Config) -> Result<Vec<ContainerStatus>> {
    let users = mirrors::users(docker).await?;
    let mut out = Vec::new();
    for spec in all_specs(config) {
        let mut row = one(docker, &spec).await?;
        if let Some(upstream) = &row.upstream {
            row.users = users
                .get(upstream)
                .map(|u| u.iter().cloned().collect())
                .unwrap_or_default();
        }
        out.push(row);
    }
    Ok(out)
}

async fn one(docker: &Docker, spec: &ContainerSpec) -> Result<ContainerStatus> {
    let role = spec
        .labels
        .get(super::registry::LABEL_ROLE)
        .cloned()
        .unwrap_or_default();
    let upstream = spec.labels.get(super::registry::LABEL_UPSTREAM).cloned();
    let mut status = ContainerStatus {
        name: spec.name.clone(),
        role,
        upstream,
        state: "missing".into(),
        port: None,
        volume: None,
        answers: Some(false),
        id: None,
        users: Vec::new(),
    };
    let Some(container) = containers::inspect(docker, &spec.name).await? else {
        return Ok(status);
    };
    status.id = container.id.clone();
    if !containers::owned(&container) {
        status.state = "foreign".into();
        status.answers = None;
        return Ok(status);
    }
    let state = containers::state(&container);
    status.state = state.to_string();
    status.port = containers::published(&container).map(|(_, p)| p);
    status.volume = containers::data_volume(&container);
    // A crash-looping container is "running" between two restarts: not up.
    if state != ContainerStateStatusEnum::RUNNING {
        return Ok(status);
    }
    status.answers = match containers::api_of(&container) {
        Some(api) if api.ping().await.is_ok() => Some(true),
        // A container address the host cannot route to cannot be asked. No route is also
        // what a container that died while it was asked leaves (a crash loop between two
        // restarts): it is only "cannot be asked" if it still runs, not restarted since.
        Some(api) if status.port.is_none() && !containers::routable(&api).await => {
            match containers::inspect(docker, &spec.name).await? {
                Some(again)
                    if containers::state(&again) == ContainerStateStatusEnum::RUNNING
                        && again.restart_count == container.restart_count =>
                {
                    None
                }
                again => {
                    status.state = again
                        .as_ref()
                        .map_or("missing".to_string(), |c| containers::state(c).to_string());
                    Some(false)
                }
            }
        }
        Some(_) => Some(false),
        None => None,
    };
    Ok(status)
}
