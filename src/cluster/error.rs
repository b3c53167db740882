//! What can go wrong bringing a cluster up or down, with what to do about it.

use crate::docker::DockerError;
use crate::docker::exec::ExecError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Docker(#[from] DockerError),

    #[error("cannot download kind {version} from {url}")]
    Download {
        version: String,
        url: String,
        #[source]
        source: crate::net::NetError,
    },

    #[error("{url}.sha256sum is not `<sha256>  <file>`: {text:?}")]
    BadChecksumFile { url: String, text: String },

    #[error("kind version {version:?} is not a release version (cluster.kind_version)")]
    BadVersion { version: String },

    #[error(
        "kind {version} from {url} does not match its published sha256 (expected {expected}, got {actual}); the download was deleted"
    )]
    Checksum {
        version: String,
        url: String,
        expected: String,
        actual: String,
    },

    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },

    /// A kind command failed; `output` is what kind printed.
    #[error("`{command}` failed ({status}):\n{output}")]
    Kind {
        command: String,
        status: String,
        output: String,
        hint: Option<String>,
    },

    #[error("a kind cluster named {name:?} exists, but kindling did not create it")]
    Foreign { name: String, action: &'static str },

    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot use the kubeconfig {source_name}: {reason}")]
    Kubeconfig { source_name: String, reason: String },

    #[error("the API server {server} does not answer: {reason}")]
    Unreachable { server: String, reason: String },

    #[error("the API server {server} runs Kubernetes {version}; kindling needs 1.33 or newer")]
    Unsupported { server: String, version: String },

    #[error("cannot write {path} in node {node}")]
    NodeFile {
        node: String,
        path: String,
        #[source]
        source: Box<ExecError>,
    },

    #[error("cannot apply ConfigMap kube-public/local-registry-hosting")]
    RegistryHosting(#[source] Box<kube::Error>),
}

impl ClusterError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ClusterError::Docker(e) => e.hint(),
            ClusterError::Download { source, .. } if source.is_network() => {
                Some(crate::net::OFFLINE_HINT.into())
            }
            ClusterError::Download { .. } | ClusterError::BadChecksumFile { .. } => Some(
                "put kind (the pinned version) on PATH, or point KINDLING_KIND_DOWNLOAD_URL at a \
                 mirror of kind's releases"
                    .into(),
            ),
            ClusterError::BadVersion { .. } => {
                Some("use a release version such as v0.31.0 (cluster.kind_version)".into())
            }
            ClusterError::Checksum { .. } => Some(
                "run the command again; if it keeps failing, the download is being tampered with \
                 or the mirror (KINDLING_KIND_DOWNLOAD_URL) serves another file"
                    .into(),
            ),
            ClusterError::Spawn { .. } => {
                Some("check that the file exists and is executable (KINDLING_KIND_BIN, PATH)".into())
            }
            ClusterError::Kind { hint, .. } => hint.clone(),
            ClusterError::Foreign { name, action } => Some(format!(
                "pass --yes to {action} it anyway, or remove it yourself with `kind delete cluster --name {name}`, \
                 or pick another cluster.name"
            )),
            ClusterError::Io { .. } => {
                Some("check the permissions of kindling's data and cache directories".into())
            }
            ClusterError::Kubeconfig { .. } => Some(
                "check cluster.kubeconfig and cluster.context (`kubectl config get-contexts`)".into(),
            ),
            ClusterError::Unreachable { .. } => Some(
                "check that the cluster is running and that this machine can reach it (VPN, firewall)"
                    .into(),
            ),
            ClusterError::Unsupported { .. } => Some(
                "upgrade the cluster, or use cluster.provider = \"kind\" for a local one".into(),
            ),
            ClusterError::NodeFile { .. } => Some(
                "check that the node containers run (`kindling cluster status`); `kindling reset` recreates them"
                    .into(),
            ),
            ClusterError::RegistryHosting(_) => {
                Some("check that the API server is up (`kindling cluster status`)".into())
            }
        }
    }
}

impl crate::error::Diagnose for ClusterError {
    fn area(&self) -> &str {
        match self {
            ClusterError::Docker(e) => e.area(),
            _ => "cluster",
        }
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        match self {
            ClusterError::Foreign { .. } | ClusterError::BadVersion { .. } => {
                crate::ExitStatus::Usage
            }
            _ => crate::ExitStatus::Failure,
        }
    }
}
