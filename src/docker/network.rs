//! Docker networks: attaching containers (the registry and mirrors join kind's `kind` network).

use super::DockerError;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::NetworkConnectRequest;

/// The network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// What `connect` found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// The container was attached now.
    Connected,
    /// It already was: nothing done.
    AlreadyConnected,
    /// No container of that name exists.
    NoSuchContainer,
}

fn status_of(error: &BollardError) -> Option<u16> {
    match error {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The networks a container is attached to, or None when it does not exist.
pub async fn networks_of(
    docker: &Docker,
    container: &str,
) -> Result<Option<Vec<String>>, DockerError> {
    match docker.inspect_container(container, None).await {
        Ok(info) => Ok(Some(
            info.network_settings
                .and_then(|n| n.networks)
                .map(|n| n.into_keys().collect())
                .unwrap_or_default(),
        )),
        Err(e) if status_of(&e) == Some(404) => Ok(None),
        Err(e) => Err(DockerError::api("inspect container")(e)),
    }
}

/// Attaches `container` to `network`; idempotent (checks first, and tolerates a concurrent attach).
pub async fn connect(
    docker: &Docker,
    network: &str,
    container: &str,
) -> Result<Connection, DockerError> {
    match networks_of(docker, container).await? {
        None => return Ok(Connection::NoSuchContainer),
        Some(networks) if networks.iter().any(|n| n == network) => {
            return Ok(Connection::AlreadyConnected);
        }
        Some(_) => {}
    }
    let request = NetworkConnectRequest {
        container: container.to_string(),
        endpoint_config: None,
    };
    match docker.connect_network(network, request).await {
        Ok(()) => Ok(Connection::Connected),
        // Someone attached it between our check and our call.
        Err(e) if status_of(&e) == Some(403) && e.to_string().contains("already exists") => {
            Ok(Connection::AlreadyConnected)
        }
        Err(e) => Err(DockerError::api("connect network")(e)),
    }
}
