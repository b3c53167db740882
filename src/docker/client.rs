use crate::env::Env;
use bollard::Docker;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine at {host}")]
    Unreachable {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the Docker engine at {host} did not answer: timed out after {}", crate::report::format_duration(*.after))]
    TimedOut { host: String, after: Duration },
    #[error("Docker API call {call} failed")]
    Api {
        call: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

impl DockerError {
    pub fn api(call: &'static str) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        move |source| DockerError::Api { call, source }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            DockerError::Unreachable { .. } | DockerError::TimedOut { .. } => Some(
                "start Docker (Docker Desktop, or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine"
                    .into(),
            ),
            DockerError::Api { .. } => None,
        }
    }
}

/// The engine address kindling uses: DOCKER_HOST, else the local socket.
pub fn docker_host(env: &Env) -> String {
    env.get("DOCKER_HOST")
        .unwrap_or("unix:///var/run/docker.sock")
        .to_string()
}

/// Connects to the engine, agrees on an API version (older engines such as
/// Debian's 20.10 reject newer clients) and checks that it answers within `timeout`.
pub async fn connect(env: &Env, timeout: Duration) -> Result<Docker, DockerError> {
    let host = docker_host(env);
    let unreachable = |source| DockerError::Unreachable {
        host: host.clone(),
        source,
    };
    let timed_out = |_| DockerError::TimedOut {
        host: host.clone(),
        after: timeout,
    };
    let secs = timeout.as_secs().max(1);
    let docker = if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, secs, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_socket(&host, secs, bollard::API_DEFAULT_VERSION)
    }
    .map_err(unreachable)?;
    let docker = tokio::time::timeout(timeout, docker.negotiate_version())
        .await
        .map_err(timed_out)?
        .map_err(unreachable)?;
    tokio::time::timeout(timeout, docker.ping())
        .await
        .map_err(timed_out)?
        .map_err(unreachable)?;
    Ok(docker)
}

/// Containers, running or not, carrying every label in `labels` ("key=value" or "key").
pub async fn containers_with_labels(
    docker: &Docker,
    labels: &[String],
) -> Result<Vec<bollard::models::ContainerSummary>, DockerError> {
    let filters = std::collections::HashMap::from([("label".to_string(), labels.to_vec())]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(DockerError::api("list containers"))
}

/// A container's name as users know it (without the API's leading '/').
pub fn summary_name(container: &bollard::models::ContainerSummary) -> Option<String> {
    container
        .names
        .iter()
        .flatten()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
}

impl crate::error::Diagnose for DockerError {
    fn area(&self) -> &str {
        "Docker"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }
}
