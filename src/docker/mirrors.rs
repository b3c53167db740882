//! Pull-through caches: one registry container per upstream (a proxy mirrors a single
//! upstream), each with its own volume that outlives `down`. A cache is shared by every
//! kindling cluster on the machine (a second cluster pulls nothing twice), so its container
//! and volume name no cluster. Which clusters use it is kept in labels: one small marker
//! volume per (cache, cluster), since Docker cannot change a container's labels.

use super::containers::ContainerSpec;
use super::registry::{LABEL_ROLE, LABEL_UPSTREAM, ROLE_MIRROR};
use super::{DockerError, LABEL_CLUSTER, LABEL_MANAGED};
use crate::config::{Config, mirror_container_name, mirror_remote_url};
use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::ListVolumesOptionsBuilder;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The role of a marker volume: cluster `dev.kindling.cluster` uses the cache of
/// `dev.kindling.upstream`.
pub const ROLE_CACHE_USER: &str = "cache-user";

fn shared_labels(upstream: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_ROLE.to_string(), ROLE_MIRROR.to_string()),
        (LABEL_UPSTREAM.to_string(), upstream.to_string()),
    ])
}

/// The container spec of the cache for one upstream (no host port: only clusters use it).
pub fn mirror_spec(config: &Config, upstream: &str) -> ContainerSpec {
    let labels = shared_labels(upstream);
    ContainerSpec {
        volume: mirror_volume_name(upstream),
        name: mirror_container_name(upstream),
        image: config.registry.image.clone(),
        env: vec![format!(
            "REGISTRY_PROXY_REMOTEURL={}",
            mirror_remote_url(upstream)
        )],
        host_port: None,
        volume_labels: labels.clone(),
        labels,
    }
}

/// The cache volume of an upstream's mirror.
pub fn mirror_volume_name(upstream: &str) -> String {
    format!("{}-cache", mirror_container_name(upstream))
}

/// The marker volume saying that `cluster` uses the cache of `upstream`.
pub fn user_marker_name(upstream: &str, cluster: &str) -> String {
    format!("{}-used-by-{cluster}", mirror_container_name(upstream))
}

/// Every mirror the configuration asks for.
pub fn mirror_specs(config: &Config) -> Vec<ContainerSpec> {
    config
        .registry
        .mirrors
        .iter()
        .map(|upstream| mirror_spec(config, upstream))
        .collect()
}

/// Records that `cluster` uses the cache of `upstream` (idempotent: Docker returns the
/// existing volume of that name).
pub async fn add_user(docker: &Docker, upstream: &str, cluster: &str) -> Result<(), DockerError> {
    let labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_ROLE.to_string(), ROLE_CACHE_USER.to_string()),
        (LABEL_UPSTREAM.to_string(), upstream.to_string()),
        (LABEL_CLUSTER.to_string(), cluster.to_string()),
    ]);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(user_marker_name(upstream, cluster)),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(DockerError::api("create volume"))
}

/// Forgets that `cluster` uses the cache of `upstream`.
pub async fn remove_user(
    docker: &Docker,
    upstream: &str,
    cluster: &str,
) -> Result<(), DockerError> {
    match docker
        .remove_volume(
            &user_marker_name(upstream, cluster),
            None::<bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(DockerError::api("remove volume")(e)),
    }
}

/// Every (upstream, cluster) use recorded on this machine.
pub async fn users(docker: &Docker) -> Result<BTreeMap<String, BTreeSet<String>>, DockerError> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            format!("{LABEL_MANAGED}=true"),
            format!("{LABEL_ROLE}={ROLE_CACHE_USER}"),
        ],
    )]);
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let volumes = docker
        .list_volumes(Some(options))
        .await
        .map_err(DockerError::api("list volumes"))?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for volume in volumes.volumes.unwrap_or_default() {
        if let (Some(upstream), Some(cluster)) = (
            volume.labels.get(LABEL_UPSTREAM),
            volume.labels.get(LABEL_CLUSTER),
        ) {
            out.entry(upstream.clone())
                .or_default()
                .insert(cluster.clone());
        }
    }
    Ok(out)
}

/// The clusters other than `cluster` that use the cache of `upstream`.
pub fn others(
    users: &BTreeMap<String, BTreeSet<String>>,
    upstream: &str,
    cluster: &str,
) -> Vec<String> {
    users
        .get(upstream)
        .into_iter()
        .flatten()
        .filter(|c| c.as_str() != cluster)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_io_proxies_registry_1() {
        let config = Config::builtin();
        let spec = mirror_spec(&config, "docker.io");
        assert_eq!(spec.name, "kindling-mirror-docker-io");
        assert_eq!(
            spec.env,
            ["REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io"]
        );
        assert_eq!(spec.volume, "kindling-mirror-docker-io-cache");
        assert!(spec.host_port.is_none());
        assert!(!spec.labels.contains_key(crate::docker::KIND_CLUSTER_LABEL));
    }

    #[test]
    fn a_cache_names_no_cluster_so_every_cluster_shares_it() {
        let mut first = Config::builtin();
        first.cluster.name = "one".into();
        let mut second = first.clone();
        second.cluster.name = "two".into();
        assert_eq!(
            mirror_spec(&first, "quay.io"),
            mirror_spec(&second, "quay.io")
        );
        assert!(
            !mirror_spec(&first, "quay.io")
                .labels
                .contains_key(LABEL_CLUSTER)
        );
        assert_ne!(
            user_marker_name("quay.io", "one"),
            user_marker_name("quay.io", "two")
        );
    }
}
