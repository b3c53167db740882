//! What can go wrong with the registry, its mirrors, images and artifacts, and what to do about it.

use super::DockerError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Docker(#[from] DockerError),

    #[error("127.0.0.1:{port} is already in use by {holder}")]
    PortInUse {
        port: u16,
        holder: String,
        /// The setting that chooses the port.
        key: &'static str,
    },

    #[error(
        "a container named {name} exists but kindling does not own it (it has no {label}=true label); kindling will not touch it"
    )]
    Foreign { name: String, label: &'static str },

    #[error("cannot pull image {image}: {reason}")]
    Pull { image: String, reason: String },

    #[error("{what} did not answer on {url} within {secs}s (last: {last})")]
    NotReady {
        what: String,
        url: String,
        secs: u64,
        last: String,
    },

    #[error("{name} was not replaced (the old container runs again): {why}")]
    Replace { name: String, why: String },

    #[error(
        "registry container {name} belongs to kindling cluster {owner}, not {cluster}; kindling will not take it over"
    )]
    OtherCluster {
        name: String,
        owner: String,
        cluster: String,
    },

    #[error("{what} does not answer: {why}")]
    NotAnswering { what: String, why: String },

    #[error("building image {image} failed: {reason}\n--- last build output ---\n{log}")]
    Build {
        image: String,
        reason: String,
        log: String,
    },

    #[error("pushing image {image} failed: {reason}")]
    Push { image: String, reason: String },

    #[error("registry API: {call} failed: {reason}")]
    Api { call: String, reason: String },

    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// Bad input (a folder that does not exist, a bad name).
    #[error("{0}")]
    Input(String),
}

impl RegistryError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let what = what.into();
        move |source| RegistryError::Io { what, source }
    }

    pub fn api(call: impl Into<String>, reason: impl std::fmt::Display) -> RegistryError {
        RegistryError::Api {
            call: call.into(),
            reason: reason.to_string(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Docker(e) => e.hint(),
            RegistryError::PortInUse { key, .. } => Some(format!(
                "stop it, or choose another port with {key} in bootstrap.toml (or --set {key}=<port>)"
            )),
            RegistryError::Foreign { name, .. } => Some(format!(
                "remove or rename it yourself (`docker rm -f {name}`), or choose another name with registry.name"
            )),
            RegistryError::Pull { .. } => Some(
                "check the network (and any proxy); without internet, `kindling up --bundle FILE` \
                 (docs/workshop.md), or pre-load the image with `docker load -i <file>`"
                    .into(),
            ),
            RegistryError::NotReady { what, .. } => {
                Some(format!("see what the container says: `docker logs {what}`"))
            }
            RegistryError::Replace { name, .. }
            | RegistryError::NotAnswering { what: name, .. } => {
                Some(format!("see what the container says: `docker logs {name}`"))
            }
            RegistryError::OtherCluster { .. } => Some(
                "give this cluster its own registry: another registry.name and registry.host_port"
                    .into(),
            ),
            RegistryError::Build { .. } => Some(
                "fix the Dockerfile or the build context; the build's last lines are above".into(),
            ),
            RegistryError::Push { .. } | RegistryError::Api { .. } => Some(
                "check that the local registry runs and answers: `kindling registry status`".into(),
            ),
            RegistryError::Io { .. } | RegistryError::Input(_) => None,
        }
    }
}

impl crate::error::Diagnose for RegistryError {
    fn area(&self) -> &str {
        match self {
            RegistryError::Docker(e) => e.area(),
            RegistryError::Pull { .. } => "image pull",
            RegistryError::Build { .. } => "image build",
            RegistryError::Push { .. } => "image push",
            RegistryError::Io { .. } | RegistryError::Input(_) => "files",
            _ => "registry",
        }
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        match self {
            RegistryError::Input(_) => crate::ExitStatus::Usage,
            _ => crate::ExitStatus::Failure,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
