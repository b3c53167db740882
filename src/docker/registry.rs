//! The local registry and its pull-through mirrors: `up` (reconcile, concurrently),
//! `down` (by kindling's labels only), and the labels that mark what kindling owns.

use super::containers::{self, ContainerSpec, HostPort, Reconciled};
use super::error::{RegistryError, Result};
use super::mirrors::mirror_specs;
use super::pull::ensure_image;
use super::registry_api::RegistryApi;
use super::{DockerError, LABEL_CLUSTER, LABEL_MANAGED};
use crate::config::Config;
use crate::report::{Outcome, ReporterExt, SharedReporter};
use bollard::Docker;
use bollard::query_parameters::ListVolumesOptionsBuilder;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// What a kindling registry container is for: "registry" or "mirror".
pub const LABEL_ROLE: &str = "dev.kindling.role";
/// The upstream a mirror caches.
pub const LABEL_UPSTREAM: &str = "dev.kindling.upstream";
pub const ROLE_REGISTRY: &str = "registry";
pub const ROLE_MIRROR: &str = "mirror";

/// kindling's ownership labels (never kind's `io.x-k8s.kind.cluster`: `kind delete` would remove it).
pub fn owner_labels(config: &Config) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_CLUSTER.to_string(), config.cluster.name.clone()),
    ])
}

/// The local registry's container spec.
pub fn registry_spec(config: &Config) -> ContainerSpec {
    let mut labels = owner_labels(config);
    labels.insert(LABEL_ROLE.into(), ROLE_REGISTRY.into());
    ContainerSpec {
        name: config.registry.name.clone(),
        image: config.registry.image.clone(),
        env: Vec::new(),
        host_port: Some(HostPort {
            port: config.registry.host_port,
            key: "registry.host_port",
        }),
        volume: registry_volume_name(config),
        labels,
    }
}

/// The registry's data volume.
pub fn registry_volume_name(config: &Config) -> String {
    format!("{}-data", config.registry.name)
}

/// The registry first, then one mirror per configured upstream.
pub fn all_specs(config: &Config) -> Vec<ContainerSpec> {
    let mut specs = vec![registry_spec(config)];
    specs.extend(mirror_specs(config));
    specs
}

/// Brings the registry and mirrors up: pulls the image if missing, removes mirrors no longer
/// configured, reconciles every container concurrently (one step each), and waits until the
/// registry answers `GET /v2/` on its host port.
pub async fn up(
    docker: &Docker,
    config: &Config,
    reporter: &SharedReporter,
) -> Result<Vec<Reconciled>> {
    let image = &config.registry.image;
    let step = reporter.step("registry-image", &format!("Registry image {image}"));
    let image_id = match ensure_image(docker, image, &step).await {
        Ok(local) if local.pulled => {
            step.finish(Outcome::Created, Some("pulled".to_string()));
            local.id
        }
        Ok(local) => {
            step.finish(Outcome::Unchanged, Some("present locally".to_string()));
            local.id
        }
        Err(e) => {
            step.fail(&e);
            return Err(e);
        }
    };

    remove_stale_mirrors(docker, config, reporter).await?;

    let tasks = all_specs(config).into_iter().map(|spec| {
        let image_id = image_id.clone();
        async move {
            let is_registry = spec.host_port.is_some();
            let title = match spec.host_port {
                Some(p) => format!("Registry {} on 127.0.0.1:{}", spec.name, p.port),
                None => format!("Mirror {}", spec.name),
            };
            let step = reporter.step(&format!("registry:{}", spec.name), &title);
            let result = async {
                let done = containers::reconcile(docker, &spec, &image_id).await?;
                if let Some(port) = spec.host_port.filter(|_| is_registry) {
                    step.progress(format!("waiting for http://127.0.0.1:{}/v2/", port.port));
                    wait_ready(
                        &RegistryApi::local(port.port),
                        &spec.name,
                        config.timeouts.registry,
                    )
                    .await?;
                }
                Ok::<_, RegistryError>(done)
            }
            .await;
            match result {
                Ok(done) => {
                    step.finish(done.outcome, done.detail.clone());
                    Ok(done)
                }
                Err(e) => {
                    step.fail(&e);
                    Err(e)
                }
            }
        }
    });
    // Every container gets its chance (no cancellation); the first error is returned.
    let results = futures::future::join_all(tasks).await;
    results.into_iter().collect()
}

/// Polls `GET /v2/` until it answers or `timeout` passes.
pub async fn wait_ready(api: &RegistryApi, what: &str, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let last = match api.ping().await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if started.elapsed() >= timeout {
            return Err(RegistryError::NotReady {
                what: what.to_string(),
                url: format!("{}/v2/", api.base()),
                secs: timeout.as_secs(),
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Containers kindling made for this cluster's registry and mirrors (found by label).
pub async fn owned_containers(
    docker: &Docker,
    config: &Config,
) -> Result<Vec<bollard::models::ContainerSummary>> {
    let labels = [
        format!("{LABEL_MANAGED}=true"),
        format!("{LABEL_CLUSTER}={}", config.cluster.name),
    ];
    let list = super::containers_with_labels(docker, &labels).await?;
    Ok(list
        .into_iter()
        .filter(|c| {
            let role = c.labels.as_ref().and_then(|l| l.get(LABEL_ROLE));
            matches!(
                role.map(String::as_str),
                Some(ROLE_REGISTRY) | Some(ROLE_MIRROR)
            )
        })
        .collect())
}

fn container_name(c: &bollard::models::ContainerSummary) -> String {
    c.names
        .iter()
        .flatten()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
        .or_else(|| c.id.clone())
        .unwrap_or_default()
}

/// Mirrors of this cluster whose upstream left `registry.mirrors`: removed, their cache kept.
async fn remove_stale_mirrors(
    docker: &Docker,
    config: &Config,
    reporter: &SharedReporter,
) -> Result<()> {
    let wanted: Vec<String> = mirror_specs(config).into_iter().map(|s| s.name).collect();
    for c in owned_containers(docker, config).await? {
        let labels = c.labels.clone().unwrap_or_default();
        let name = container_name(&c);
        if labels.get(LABEL_ROLE).map(String::as_str) == Some(ROLE_MIRROR)
            && !wanted.contains(&name)
        {
            let step = reporter.step(
                &format!("registry:{name}"),
                &format!("Remove mirror {name}"),
            );
            match containers::remove(docker, &name).await {
                Ok(()) => step.finish(
                    Outcome::Changed,
                    Some("no longer in registry.mirrors (cache volume kept)".to_string()),
                ),
                Err(e) => {
                    step.fail(&e);
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// What `down` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DownReport {
    pub removed_containers: Vec<String>,
    pub removed_volumes: Vec<String>,
}

/// Removes the registry and mirror containers kindling owns for this cluster (by label, never
/// anything else). Volumes (registry data, caches) are kept unless `purge`.
pub async fn down(
    docker: &Docker,
    config: &Config,
    reporter: &SharedReporter,
    purge: bool,
) -> Result<DownReport> {
    let mut report = DownReport::default();
    // Removed concurrently, one step each; the first error is returned after all tried.
    let removals = owned_containers(docker, config)
        .await?
        .into_iter()
        .map(|c| async move {
            let name = container_name(&c);
            let step = reporter.step(&format!("registry:{name}"), &format!("Remove {name}"));
            match containers::remove(docker, &name).await {
                Ok(()) => {
                    step.finish(Outcome::Changed, Some("removed".to_string()));
                    Ok(name)
                }
                Err(e) => {
                    step.fail(&e);
                    Err(e)
                }
            }
        });
    for removed in futures::future::join_all(removals).await {
        report.removed_containers.push(removed?);
    }
    if purge {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_MANAGED}=true"),
                format!("{LABEL_CLUSTER}={}", config.cluster.name),
            ],
        )]);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let volumes = docker
            .list_volumes(Some(options))
            .await
            .map_err(DockerError::api("list volumes"))?;
        for volume in volumes.volumes.unwrap_or_default() {
            let role = volume.labels.get(LABEL_ROLE).map(String::as_str);
            if !matches!(role, Some(ROLE_REGISTRY) | Some(ROLE_MIRROR)) {
                continue;
            }
            let step = reporter.step(
                &format!("volume:{}", volume.name),
                &format!("Remove volume {}", volume.name),
            );
            match docker
                .remove_volume(
                    &volume.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await
            {
                Ok(()) => step.finish(Outcome::Changed, Some("removed (--purge)".to_string())),
                Err(e) => {
                    let e = RegistryError::from(DockerError::api("remove volume")(e));
                    step.fail(&e);
                    return Err(e);
                }
            }
            report.removed_volumes.push(volume.name);
        }
    } else {
        reporter.info("registry data and mirror caches kept (use --purge to remove them)");
    }
    Ok(report)
}
