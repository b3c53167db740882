//! Pull-through caches: one registry container per upstream (a proxy mirrors a
//! single upstream), each with its own volume that outlives `down`.

use super::containers::ContainerSpec;
use super::registry::{LABEL_ROLE, LABEL_UPSTREAM, ROLE_MIRROR, owner_labels};
use crate::config::{Config, mirror_container_name, mirror_remote_url};

/// The container spec of the cache for one upstream (no host port: only the cluster uses it).
pub fn mirror_spec(config: &Config, upstream: &str) -> ContainerSpec {
    let name = mirror_container_name(upstream);
    let mut labels = owner_labels(config);
    labels.insert(LABEL_ROLE.into(), ROLE_MIRROR.into());
    labels.insert(LABEL_UPSTREAM.into(), upstream.into());
    ContainerSpec {
        volume: mirror_volume_name(upstream),
        name,
        image: config.registry.image.clone(),
        env: vec![format!(
            "REGISTRY_PROXY_REMOTEURL={}",
            mirror_remote_url(upstream)
        )],
        host_port: None,
        labels,
    }
}

/// The cache volume of an upstream's mirror.
pub fn mirror_volume_name(upstream: &str) -> String {
    format!("{}-cache", mirror_container_name(upstream))
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
}
