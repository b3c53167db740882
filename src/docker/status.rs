//! `registry status`: each registry and mirror container, its state, port, volume,
//! and whether it answers `GET /v2/`.

use super::containers::{self, ContainerSpec};
use super::error::Result;
use super::registry::all_specs;
use super::registry_api::RegistryApi;
use crate::config::Config;
use bollard::Docker;
use bollard::models::ContainerStateStatusEnum;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerStatus {
    pub name: String,
    /// "registry" or "mirror".
    pub role: String,
    /// The upstream a mirror caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// running, exited, ..., "missing", or "foreign" (a container kindling does not own).
    pub state: String,
    /// Host port on 127.0.0.1 (the registry only).
    pub port: Option<u16>,
    pub volume: Option<String>,
    /// Whether `GET /v2/` answers; None when it cannot be asked from here (e.g. a mirror
    /// without host port where container addresses are not routable).
    pub answers: Option<bool>,
    pub id: Option<String>,
}

/// The status of every container the configuration asks for.
pub async fn status(docker: &Docker, config: &Config) -> Result<Vec<ContainerStatus>> {
    let mut out = Vec::new();
    for spec in all_specs(config) {
        out.push(one(docker, &spec).await?);
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
    if state != ContainerStateStatusEnum::RUNNING {
        return Ok(status);
    }
    status.answers = match status.port {
        Some(port) => Some(RegistryApi::local(port).ping().await.is_ok()),
        None => ask_by_container_address(&container).await,
    };
    Ok(status)
}

/// Mirrors have no host port; on Linux the host reaches container addresses directly.
async fn ask_by_container_address(
    container: &bollard::models::ContainerInspectResponse,
) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let networks = container.network_settings.as_ref()?.networks.as_ref()?;
    let ip = networks
        .values()
        .filter_map(|n| n.ip_address.clone())
        .find(|ip| !ip.is_empty())?;
    Some(
        RegistryApi::new(format!("http://{ip}:5000"))
            .ping()
            .await
            .is_ok(),
    )
}
