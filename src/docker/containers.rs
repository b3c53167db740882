//! Reconciling a registry container with its spec: create what is missing, leave
//! what matches alone (same ID, not restarted), recreate what differs and say why.
//! Shared by the local registry and the pull-through mirrors.

use super::error::{RegistryError, Result};
use super::{DockerError, LABEL_MANAGED};
use crate::report::Outcome;
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, HostConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, TcpListener};

/// The port every registry container serves on.
pub const CONTAINER_PORT: &str = "5000/tcp";
/// Where the registry keeps its data (a named volume).
pub const DATA_PATH: &str = "/var/lib/registry";
/// Environment variables the registry reads start with this; kindling manages all of them.
const ENV_PREFIX: &str = "REGISTRY_";

/// A port published on 127.0.0.1 and the setting that chooses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    pub port: u16,
    pub key: &'static str,
}

/// What a registry container should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// `KEY=value` entries, all starting with REGISTRY_.
    pub env: Vec<String>,
    pub host_port: Option<HostPort>,
    pub volume: String,
    pub labels: BTreeMap<String, String>,
}

/// The result of reconciling one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub name: String,
    pub id: String,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

/// The container with this name, or None.
pub async fn inspect(docker: &Docker, name: &str) -> Result<Option<ContainerInspectResponse>> {
    match docker.inspect_container(name, None).await {
        Ok(c) => Ok(Some(c)),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(DockerError::api("inspect container")(e).into()),
    }
}

/// Whether kindling owns a container (it carries kindling's label).
pub fn owned(container: &ContainerInspectResponse) -> bool {
    labels_of(container).get(LABEL_MANAGED).map(String::as_str) == Some("true")
}

fn labels_of(container: &ContainerInspectResponse) -> HashMap<String, String> {
    container
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

/// The 127.0.0.1 binding of the registry port: (host ip, host port).
pub fn published(container: &ContainerInspectResponse) -> Option<(String, u16)> {
    let bindings = container.host_config.as_ref()?.port_bindings.as_ref()?;
    let binding = bindings.get(CONTAINER_PORT)?.as_ref()?.first()?;
    let port = binding.host_port.as_deref()?.parse().ok()?;
    Some((binding.host_ip.clone().unwrap_or_default(), port))
}

/// The named volume mounted on the data path.
pub fn data_volume(container: &ContainerInspectResponse) -> Option<String> {
    container
        .mounts
        .iter()
        .flatten()
        .find(|m| m.destination.as_deref() == Some(DATA_PATH))
        .and_then(|m| m.name.clone())
}

pub fn state(container: &ContainerInspectResponse) -> ContainerStateStatusEnum {
    container
        .state
        .as_ref()
        .and_then(|s| s.status)
        .unwrap_or(ContainerStateStatusEnum::EMPTY)
}

/// What differs between the spec and an existing container, as "field old → new" lines.
pub fn differences(
    spec: &ContainerSpec,
    image_id: &str,
    container: &ContainerInspectResponse,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let config = container.config.clone().unwrap_or_default();
    let image = config.image.unwrap_or_default();
    if image != spec.image {
        diffs.push(format!("image {image} → {}", spec.image));
    } else if container.image.as_deref() != Some(image_id) {
        diffs.push(format!(
            "image {image} now has ID {} (container runs {})",
            short_id(image_id),
            short_id(container.image.as_deref().unwrap_or("?"))
        ));
    }

    let have = published(container);
    let want = spec.host_port.map(|p| ("127.0.0.1".to_string(), p.port));
    if have != want {
        match (&have, &want) {
            (Some((hi, hp)), Some((wi, wp))) if hi == wi => {
                diffs.push(format!("host port {hp} → {wp}"))
            }
            _ => diffs.push(format!(
                "published port {} → {}",
                show_binding(&have),
                show_binding(&want)
            )),
        }
    }

    let mut env: Vec<String> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.starts_with(ENV_PREFIX))
        .collect();
    env.sort();
    let mut want_env = spec.env.clone();
    want_env.sort();
    if env != want_env {
        diffs.push(format!(
            "env {} → {}",
            show_list(&env),
            show_list(&want_env)
        ));
    }

    let labels = labels_of(container);
    for (key, value) in &spec.labels {
        match labels.get(key) {
            Some(v) if v == value => {}
            Some(v) => diffs.push(format!("label {key} {v} → {value}")),
            None => diffs.push(format!("label {key} (none) → {value}")),
        }
    }

    let volume = data_volume(container);
    if volume.as_deref() != Some(spec.volume.as_str()) {
        diffs.push(format!(
            "volume {} → {}",
            volume.as_deref().unwrap_or("(none)"),
            spec.volume
        ));
    }

    let restart = container
        .host_config
        .as_ref()
        .and_then(|h| h.restart_policy.as_ref())
        .and_then(|r| r.name);
    if restart != Some(RestartPolicyNameEnum::ALWAYS) {
        diffs.push(format!(
            "restart policy {} → always",
            restart.map_or("(none)".to_string(), |r| r.to_string())
        ));
    }
    diffs
}

fn short_id(id: &str) -> &str {
    let id = id.trim_start_matches("sha256:");
    &id[..id.len().min(12)]
}

fn show_binding(binding: &Option<(String, u16)>) -> String {
    match binding {
        Some((ip, port)) if ip.is_empty() => format!("0.0.0.0:{port}"),
        Some((ip, port)) => format!("{ip}:{port}"),
        None => "(none)".into(),
    }
}

fn show_list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(" ")
    }
}

/// Brings one container to its spec. `image_id` is the local ID of `spec.image`.
pub async fn reconcile(
    docker: &Docker,
    spec: &ContainerSpec,
    image_id: &str,
) -> Result<Reconciled> {
    let existing = inspect(docker, &spec.name).await?;
    let (outcome, detail) = match existing {
        None => {
            create(docker, spec).await?;
            (Outcome::Created, None)
        }
        Some(container) => {
            if !owned(&container) {
                return Err(RegistryError::Foreign {
                    name: spec.name.clone(),
                    label: LABEL_MANAGED,
                });
            }
            let diffs = differences(spec, image_id, &container);
            if !diffs.is_empty() {
                remove(docker, &spec.name).await?;
                create(docker, spec).await?;
                (
                    Outcome::Changed,
                    Some(format!("recreated: {}", diffs.join("; "))),
                )
            } else {
                match state(&container) {
                    ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::RESTARTING => {
                        (Outcome::Unchanged, None)
                    }
                    ContainerStateStatusEnum::PAUSED => {
                        docker
                            .unpause_container(&spec.name)
                            .await
                            .map_err(DockerError::api("unpause container"))?;
                        (Outcome::Changed, Some("unpaused".to_string()))
                    }
                    other => {
                        start(docker, spec).await?;
                        (Outcome::Changed, Some(format!("started (was {other})")))
                    }
                }
            }
        }
    };
    let id = inspect(docker, &spec.name)
        .await?
        .and_then(|c| c.id)
        .unwrap_or_default();
    Ok(Reconciled {
        name: spec.name.clone(),
        id,
        outcome,
        detail,
    })
}

async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<()> {
    // Checked before anything is made, so a taken port leaves nothing half-made behind.
    if let Some(port) = spec.host_port {
        ensure_port_free(docker, port, &spec.name).await?;
    }
    let labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    // Created first so it carries kindling's labels (`down --purge` finds volumes by label).
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(spec.volume.clone()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .map_err(DockerError::api("create volume"))?;
    let port_bindings = spec.host_port.map(|p| {
        HashMap::from([(
            CONTAINER_PORT.to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(p.port.to_string()),
            }]),
        )])
    });
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env.clone()),
        labels: Some(labels),
        exposed_ports: Some(vec![CONTAINER_PORT.to_string()]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{}:{DATA_PATH}", spec.volume)]),
            port_bindings,
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(DockerError::api("create container"))?;
    if let Err(e) = start(docker, spec).await {
        // A container that never started is removed so the next `up` starts clean.
        let _ = remove(docker, &spec.name).await;
        return Err(e);
    }
    Ok(())
}

/// Starts a container; a host port someone else took meanwhile becomes a clear error.
async fn start(docker: &Docker, spec: &ContainerSpec) -> Result<()> {
    if let Some(port) = spec.host_port {
        ensure_port_free(docker, port, &spec.name).await?;
    }
    match docker.start_container(&spec.name, None).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            if let Some(port) = spec.host_port
                && (text.contains("already allocated") || text.contains("address already in use"))
            {
                let holder = crate::doctor::ports::holder(port.port, Some(docker)).await;
                return Err(port_in_use(port, holder));
            }
            Err(DockerError::api("start container")(e).into())
        }
    }
}

/// Fails with the holder's name when 127.0.0.1:<port> is taken by anything but `container`
/// itself (which holds it while Docker is still starting it, after an interrupted run).
pub async fn ensure_port_free(docker: &Docker, port: HostPort, container: &str) -> Result<()> {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port.port)) {
        Ok(_) => Ok(()),
        // Ports below 1024 need root to test; Docker itself will say if it is taken.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
        Err(_) => {
            let holder = crate::doctor::ports::holder(port.port, Some(docker)).await;
            match holder {
                Some(h) if h.container.as_deref() == Some(container) => Ok(()),
                holder => Err(port_in_use(port, holder)),
            }
        }
    }
}

fn port_in_use(port: HostPort, holder: Option<crate::doctor::ports::Holder>) -> RegistryError {
    RegistryError::PortInUse {
        port: port.port,
        holder: holder.map_or_else(|| "another program".into(), |h| h.name),
        key: port.key,
    }
}

/// Removes a container (running or not); absent is fine.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(DockerError::api("remove container")(e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, MountPoint};

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "kind-registry".into(),
            image: "registry:3".into(),
            env: vec!["REGISTRY_PROXY_REMOTEURL=https://quay.io".into()],
            host_port: Some(HostPort {
                port: 5001,
                key: "registry.host_port",
            }),
            volume: "kind-registry-data".into(),
            labels: BTreeMap::from([
                (LABEL_MANAGED.to_string(), "true".to_string()),
                ("dev.kindling.cluster".to_string(), "kindling".to_string()),
            ]),
        }
    }

    /// What the engine reports for a container made from `spec` (plus what images add).
    fn container_of(spec: &ContainerSpec) -> ContainerInspectResponse {
        let mut env = spec.env.clone();
        env.push("PATH=/usr/bin".into());
        let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
        labels.insert("org.opencontainers.image.version".into(), "3".into());
        ContainerInspectResponse {
            image: Some("sha256:aaaa".into()),
            config: Some(ContainerConfig {
                image: Some(spec.image.clone()),
                env: Some(env),
                labels: Some(labels),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                port_bindings: spec.host_port.map(|p| {
                    HashMap::from([(
                        CONTAINER_PORT.to_string(),
                        Some(vec![PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some(p.port.to_string()),
                        }]),
                    )])
                }),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::ALWAYS),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            mounts: Some(vec![MountPoint {
                name: Some(spec.volume.clone()),
                destination: Some(DATA_PATH.into()),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn identical_container_has_no_differences() {
        let spec = spec();
        assert!(differences(&spec, "sha256:aaaa", &container_of(&spec)).is_empty());
    }

    #[test]
    fn each_field_is_named() {
        let have = container_of(&spec());
        let mut want = spec();
        want.host_port = Some(HostPort {
            port: 5002,
            key: "registry.host_port",
        });
        want.env = vec!["REGISTRY_PROXY_REMOTEURL=https://ghcr.io".into()];
        want.volume = "other".into();
        want.labels
            .insert("dev.kindling.cluster".into(), "second".into());
        let diffs = differences(&want, "sha256:aaaa", &have);
        assert_eq!(
            diffs,
            [
                "host port 5001 → 5002",
                "env REGISTRY_PROXY_REMOTEURL=https://quay.io → REGISTRY_PROXY_REMOTEURL=https://ghcr.io",
                "label dev.kindling.cluster kindling → second",
                "volume kind-registry-data → other",
            ]
        );
    }

    #[test]
    fn image_name_and_image_id_changes() {
        let have = container_of(&spec());
        let mut want = spec();
        want.image = "registry:3.1".into();
        assert_eq!(
            differences(&want, "sha256:aaaa", &have),
            ["image registry:3 → registry:3.1"]
        );
        let diffs = differences(&spec(), "sha256:bbbb", &have);
        assert_eq!(diffs.len(), 1);
        assert!(diffs[0].contains("now has ID bbbb"), "{diffs:?}");
    }

    #[test]
    fn binding_on_all_interfaces_is_a_difference() {
        let mut have = container_of(&spec());
        let bindings = have
            .host_config
            .as_mut()
            .unwrap()
            .port_bindings
            .as_mut()
            .unwrap();
        bindings.get_mut(CONTAINER_PORT).unwrap().as_mut().unwrap()[0].host_ip =
            Some(String::new());
        assert_eq!(
            differences(&spec(), "sha256:aaaa", &have),
            ["published port 0.0.0.0:5001 → 127.0.0.1:5001"]
        );
    }
}
