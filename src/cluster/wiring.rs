//! Wires the local registry and the pull-through caches into the kind nodes, after the
//! cluster exists: the containers join the `kind` network, and every node's containerd
//! gets a `certs.d/<host>/hosts.toml` (containerd reads these without a restart).

use super::ClusterError;
use crate::config::{Config, mirror_container_name, mirror_remote_url};
use crate::docker::exec;
use crate::docker::network::{self, Connection, KIND_NETWORK};
use crate::report::{ReporterExt, Step};
use bollard::Docker;

/// Where containerd looks for per-registry host configuration.
pub const CERTS_D: &str = "/etc/containerd/certs.d";

/// One file to keep on every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    pub path: String,
    pub content: String,
}

/// The hosts.toml files: the local registry under `localhost:<port>` (the name images are
/// pushed with from the host), and one per mirrored upstream.
pub fn node_files(config: &Config) -> Vec<NodeFile> {
    let registry = &config.registry;
    let mut files = vec![NodeFile {
        path: format!("{CERTS_D}/{}/hosts.toml", config.registry_host()),
        content: format!(
            "# Managed by kindling: the local registry ({} on the host).\n\
             [host.\"http://{}:5000\"]\n",
            config.registry_host(),
            registry.name
        ),
    }];
    for upstream in &registry.mirrors {
        files.push(NodeFile {
            path: format!("{CERTS_D}/{upstream}/hosts.toml"),
            content: format!(
                "# Managed by kindling: pull {upstream} through the local cache, else directly.\n\
                 server = \"{}\"\n\
                 \n\
                 [host.\"http://{}:5000\"]\n\
                 \x20 capabilities = [\"pull\", \"resolve\"]\n",
                mirror_remote_url(upstream),
                mirror_container_name(upstream)
            ),
        });
    }
    files
}

/// The registry and mirror containers the nodes must reach by name.
pub fn registry_containers(config: &Config) -> Vec<String> {
    std::iter::once(config.registry.name.clone())
        .chain(
            config
                .registry
                .mirrors
                .iter()
                .map(|u| mirror_container_name(u)),
        )
        .collect()
}

/// Joins the registry and mirrors to the `kind` network; returns how many were attached now.
/// A container that does not exist is reported and skipped: the registry step creates it.
pub async fn connect_registries(
    docker: &Docker,
    config: &Config,
    step: &Step,
) -> Result<usize, ClusterError> {
    let mut attached = 0;
    for container in registry_containers(config) {
        match network::connect(docker, KIND_NETWORK, &container).await? {
            Connection::Connected => {
                step.progress(format!("{container} joined network {KIND_NETWORK}"));
                attached += 1;
            }
            Connection::AlreadyConnected => {}
            Connection::NoSuchContainer => step.reporter().warn(
                format!("container {container} does not exist: the cluster cannot reach it"),
                Some("`kindling up` creates the registry and caches before wiring them".into()),
            ),
        }
    }
    Ok(attached)
}

/// `files` with each override put in place of the file of the same path (or added).
pub fn with_overrides(mut files: Vec<NodeFile>, overrides: &[NodeFile]) -> Vec<NodeFile> {
    for o in overrides {
        match files.iter_mut().find(|f| f.path == o.path) {
            Some(f) => f.content = o.content.clone(),
            None => files.push(o.clone()),
        }
    }
    files
}

/// Writes these files (`node_files`, maybe with overrides) into every node; files already
/// right are not rewritten. Returns how many files were written.
pub async fn write_files(
    docker: &Docker,
    nodes: &[String],
    files: &[NodeFile],
    step: &Step,
) -> Result<usize, ClusterError> {
    let mut written = 0;
    for node in nodes {
        for file in files {
            let current = exec::read_file(docker, node, &file.path).await?;
            if current.as_deref() == Some(file.content.as_bytes()) {
                continue;
            }
            step.progress(format!("{node}: {}", file.path));
            exec::write_file(docker, node, &file.path, file.content.as_bytes())
                .await
                .map_err(|source| ClusterError::NodeFile {
                    node: node.clone(),
                    path: file.path.clone(),
                    source: Box::new(source),
                })?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_files_follow_the_configuration() {
        let mut config = Config::builtin();
        config.registry.host_port = 5002;
        config.registry.mirrors = vec!["docker.io".into(), "quay.io".into()];
        let files = node_files(&config);
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0].path,
            "/etc/containerd/certs.d/localhost:5002/hosts.toml"
        );
        assert!(
            files[0]
                .content
                .contains("[host.\"http://kind-registry:5000\"]\n")
        );
        assert_eq!(
            files[1].path,
            "/etc/containerd/certs.d/docker.io/hosts.toml"
        );
        assert!(
            files[1]
                .content
                .contains("server = \"https://registry-1.docker.io\"\n")
        );
        assert!(files[1].content.contains(
            "[host.\"http://kindling-mirror-docker-io:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ));
        assert!(files[2].content.contains("server = \"https://quay.io\"\n"));
        let replaced = NodeFile {
            path: files[2].path.clone(),
            content: "x".into(),
        };
        let added = NodeFile {
            path: "/etc/containerd/certs.d/ghcr.io/hosts.toml".into(),
            content: "y".into(),
        };
        let merged = with_overrides(files.clone(), &[replaced.clone(), added.clone()]);
        assert_eq!(merged.len(), 4);
        assert_eq!(merged[2], replaced);
        assert_eq!(merged[3], added);
        let parsed: toml::Table = toml::from_str(&files[1].content).unwrap();
        assert_eq!(
            parsed["host"]["http://kindling-mirror-docker-io:5000"]["capabilities"],
            toml::Value::Array(vec!["pull".into(), "resolve".into()])
        );
    }
}
