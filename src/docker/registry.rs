//! The local registry and its pull-through caches: `up` (reconcile, concurrently), `down`
//! (by kindling's labels only), the labels that mark what kindling owns, and the lock that
//! keeps two kindling runs on one machine from changing these containers at once.

use super::containers::{self, ContainerSpec, HostPort, Reconciled};
use super::error::{RegistryError, Result};
use super::mirrors::{self, mirror_specs, mirror_volume_name};
use super::pull::ensure_image;
use super::{DockerError, LABEL_CLUSTER, LABEL_MANAGED};
use crate::config::{Config, mirror_container_name};
use crate::report::{Outcome, ReporterExt, SharedReporter};
use bollard::Docker;
use std::collections::{BTreeMap, BTreeSet};

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
        volume_labels: labels.clone(),
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

/// The progress step of one registry container: (id, title).
pub fn container_step(spec: &ContainerSpec) -> (String, String) {
    let title = match spec.host_port {
        Some(p) => format!("Registry {} on 127.0.0.1:{}", spec.name, p.port),
        None => format!("Mirror {}", spec.name),
    };
    (format!("registry:{}", spec.name), title)
}

/// The steps `up` reports, as (id, title): what `up --dry-run` lists.
pub fn planned_steps(config: &Config) -> Vec<(String, String)> {
    let mut steps = vec![(
        "registry-image".to_string(),
        format!("Registry image {}", config.registry.image),
    )];
    steps.extend(all_specs(config).iter().map(container_step));
    steps
}

/// Where two kindling runs on this machine meet: `flock(2)` on this file (the same kind of
/// lock as the hosts file's) keeps them from creating or removing these containers at once,
/// which Docker would answer with 409s. Fixed under /tmp so every run of every user meets
/// there, whatever its TMPDIR or data dir.
pub const LOCK_FILE: &str = "/tmp/kindling-docker.lock";

/// Held while a run changes the registry containers; released when dropped.
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Takes the machine-wide lock, saying so when another run holds it.
pub async fn lock(reporter: &SharedReporter) -> Result<Lock> {
    use rustix::fs::{FlockOperation, flock};
    use std::os::unix::fs::OpenOptionsExt;
    let io = RegistryError::io(format!("locking {LOCK_FILE}"));
    let open = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o666)
        .open(LOCK_FILE);
    // Made by another user: a read-only handle can hold a flock too.
    let file = match open {
        Ok(f) => f,
        Err(_) => std::fs::File::open(LOCK_FILE).map_err(io)?,
    };
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
        return Ok(Lock(file));
    }
    reporter.info("another kindling run is changing the registry containers: waiting for it");
    let file = tokio::task::spawn_blocking(move || {
        flock(&file, FlockOperation::LockExclusive).map(|()| file)
    })
    .await
    .map_err(|e| RegistryError::io(format!("locking {LOCK_FILE}"))(std::io::Error::other(e)))?
    .map_err(|e| RegistryError::io(format!("locking {LOCK_FILE}"))(e.into()))?;
    Ok(Lock(file))
}

/// Brings the registry and caches up: pulls the image if missing, checks every host port
/// before anything is removed, records that this cluster uses each cache, removes the caches
/// it no longer uses (when no other cluster does), reconciles every container concurrently
/// (one step each) and waits until each answers `GET /v2/`. The registry must answer; a
/// cache that does not (it crash-loops when it cannot reach its upstream) fails its step and
/// is named in its `Reconciled::problem`: the cluster then pulls from the upstream directly.
pub async fn up(
    docker: &Docker,
    config: &Config,
    reporter: &SharedReporter,
) -> Result<Vec<Reconciled>> {
    let _lock = lock(reporter).await?;
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

    check_before_changing(docker, config).await?;
    let cluster = &config.cluster.name;
    for upstream in &config.registry.mirrors {
        mirrors::add_user(docker, upstream, cluster).await?;
    }
    let users = mirrors::users(docker).await?;
    remove_unused_mirrors(docker, config, &users, reporter).await?;

    let timeout = config.timeouts.registry;
    let tasks = all_specs(config).into_iter().map(|spec| {
        let image_id = image_id.clone();
        let shared_with = spec
            .labels
            .get(LABEL_UPSTREAM)
            .map(|upstream| mirrors::others(&users, upstream, cluster))
            .unwrap_or_default();
        async move {
            let is_registry = spec.host_port.is_some();
            let (id, title) = container_step(&spec);
            let step = reporter.step(&id, &title);
            match containers::reconcile(docker, &spec, &image_id, timeout, &shared_with).await {
                Ok(done) => match &done.problem {
                    None => {
                        step.finish(done.outcome, done.detail.clone());
                        Ok(done)
                    }
                    Some(problem) if is_registry => {
                        let e = RegistryError::NotAnswering {
                            what: spec.name.clone(),
                            why: problem.clone(),
                        };
                        step.fail(&e);
                        Err(e)
                    }
                    Some(problem) => {
                        let detail = done
                            .detail
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default();
                        step.fail(format!(
                            "{}{detail}, but it does not answer: {problem}",
                            done.outcome.word()
                        ));
                        Ok(done)
                    }
                },
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

/// Before anything is removed or recreated: every host port the new containers publish is
/// free (or already theirs), and the registry's name is not another cluster's registry.
async fn check_before_changing(docker: &Docker, config: &Config) -> Result<()> {
    for spec in all_specs(config) {
        let existing = containers::inspect(docker, &spec.name).await?;
        if let Some(port) = spec.host_port {
            let published = existing
                .as_ref()
                .and_then(containers::published)
                .map(|(_, p)| p);
            if published != Some(port.port) {
                containers::ensure_port_free(docker, port, &spec.name).await?;
            }
        }
        let owner = existing
            .as_ref()
            .filter(|c| containers::owned(c))
            .and_then(|c| {
                c.config
                    .as_ref()?
                    .labels
                    .as_ref()?
                    .get(LABEL_CLUSTER)
                    .cloned()
            });
        let role = spec.labels.get(LABEL_ROLE).map(String::as_str);
        if role == Some(ROLE_REGISTRY)
            && let Some(owner) = owner
            && owner != config.cluster.name
        {
            return Err(RegistryError::OtherCluster {
                name: spec.name.clone(),
                owner,
                cluster: config.cluster.name.clone(),
            });
        }
    }
    Ok(())
}

/// The registry containers of this cluster (found by label), with a replacement's leftover.
async fn registry_containers(docker: &Docker, config: &Config) -> Result<Vec<String>> {
    let labels = [
        format!("{LABEL_MANAGED}=true"),
        format!("{LABEL_CLUSTER}={}", config.cluster.name),
        format!("{LABEL_ROLE}={ROLE_REGISTRY}"),
    ];
    let list = super::containers_with_labels(docker, &labels).await?;
    Ok(list.iter().filter_map(super::summary_name).collect())
}

/// The upstreams whose caches this cluster uses: recorded uses, the configured mirrors, and
/// caches an older kindling labelled with this cluster's name.
async fn caches_of(
    docker: &Docker,
    config: &Config,
    users: &BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeSet<String>> {
    let cluster = &config.cluster.name;
    let mut upstreams: BTreeSet<String> = users
        .iter()
        .filter(|(_, clusters)| clusters.contains(cluster))
        .map(|(upstream, _)| upstream.clone())
        .collect();
    upstreams.extend(config.registry.mirrors.iter().cloned());
    let labels = [
        format!("{LABEL_MANAGED}=true"),
        format!("{LABEL_CLUSTER}={cluster}"),
        format!("{LABEL_ROLE}={ROLE_MIRROR}"),
    ];
    for c in super::containers_with_labels(docker, &labels).await? {
        if let Some(upstream) = c.labels.as_ref().and_then(|l| l.get(LABEL_UPSTREAM)) {
            upstreams.insert(upstream.clone());
        }
    }
    Ok(upstreams)
}

/// Caches this cluster used whose upstream left `registry.mirrors`: the cluster stops using
/// them; a cache no other cluster uses is removed (its volume kept).
async fn remove_unused_mirrors(
    docker: &Docker,
    config: &Config,
    users: &BTreeMap<String, BTreeSet<String>>,
    reporter: &SharedReporter,
) -> Result<()> {
    let cluster = &config.cluster.name;
    for upstream in caches_of(docker, config, users).await? {
        if config.registry.mirrors.contains(&upstream) {
            continue;
        }
        mirrors::remove_user(docker, &upstream, cluster).await?;
        let name = mirror_container_name(&upstream);
        let Some(container) = containers::inspect(docker, &name).await? else {
            continue;
        };
        if !containers::owned(&container) {
            continue;
        }
        let step = reporter.step(
            &format!("registry:{name}"),
            &format!("Remove mirror {name}"),
        );
        let others = mirrors::others(users, &upstream, cluster);
        if !others.is_empty() {
            step.finish(
                Outcome::Unchanged,
                Some(format!(
                    "no longer in registry.mirrors; kept for cluster(s) {}",
                    others.join(", ")
                )),
            );
            continue;
        }
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
    Ok(())
}

/// What `down` removed, and the caches it kept for other clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownReport {
    pub removed_containers: Vec<String>,
    pub removed_volumes: Vec<String>,
    /// (cache container, the other clusters that still use it).
    pub kept_for_others: Vec<(String, Vec<String>)>,
}

/// What `down` would remove, without removing anything (for `reset --dry-run`).
pub async fn down_plan(docker: &Docker, config: &Config, purge: bool) -> Result<DownReport> {
    let cluster = &config.cluster.name;
    let users = mirrors::users(docker).await?;
    let mut plan = DownReport {
        removed_containers: registry_containers(docker, config).await?,
        ..DownReport::default()
    };
    if purge {
        plan.removed_volumes.push(registry_volume_name(config));
    }
    for upstream in caches_of(docker, config, &users).await? {
        let name = mirror_container_name(&upstream);
        let others = mirrors::others(&users, &upstream, cluster);
        if !others.is_empty() {
            plan.kept_for_others.push((name, others));
            continue;
        }
        if containers::inspect(docker, &name)
            .await?
            .is_some_and(|c| containers::owned(&c))
        {
            plan.removed_containers.push(name);
        }
        if purge {
            plan.removed_volumes.push(mirror_volume_name(&upstream));
        }
    }
    Ok(plan)
}

/// Removes this cluster's registry container and the caches no other kindling cluster uses
/// (by label and name, never anything kindling does not own), and forgets this cluster's
/// uses. Volumes (registry data, caches) are kept unless `purge`; a cache another cluster
/// still uses is kept, with its volume, and named in the report.
pub async fn down(
    docker: &Docker,
    config: &Config,
    reporter: &SharedReporter,
    purge: bool,
) -> Result<DownReport> {
    let _lock = lock(reporter).await?;
    let cluster = &config.cluster.name;
    let users = mirrors::users(docker).await?;
    let mut report = DownReport::default();
    let mut doomed = registry_containers(docker, config).await?;
    let mut doomed_volumes = Vec::new();
    if purge {
        doomed_volumes.push(registry_volume_name(config));
    }
    for upstream in caches_of(docker, config, &users).await? {
        mirrors::remove_user(docker, &upstream, cluster).await?;
        let name = mirror_container_name(&upstream);
        let others = mirrors::others(&users, &upstream, cluster);
        if !others.is_empty() {
            reporter.info(format!(
                "cache {name} kept: kindling cluster(s) {} still use it",
                others.join(", ")
            ));
            report.kept_for_others.push((name, others));
            continue;
        }
        for candidate in [name.clone(), containers::previous_name(&name)] {
            if containers::inspect(docker, &candidate)
                .await?
                .is_some_and(|c| containers::owned(&c))
            {
                doomed.push(candidate);
            }
        }
        if purge {
            doomed_volumes.push(mirror_volume_name(&upstream));
        }
    }
    // Removed concurrently, one step each; the first error is returned after all tried.
    let removals = doomed.into_iter().map(|name| async move {
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
    if !purge {
        reporter.info("registry data and cache volumes kept (use --purge to remove them)");
    }
    for volume in doomed_volumes {
        if remove_owned_volume(docker, &volume, reporter).await? {
            report.removed_volumes.push(volume);
        }
    }
    Ok(report)
}

/// Removes a volume kindling labelled (absent is fine); true when it was removed.
async fn remove_owned_volume(
    docker: &Docker,
    name: &str,
    reporter: &SharedReporter,
) -> Result<bool> {
    let owned = match docker.inspect_volume(name).await {
        Ok(v) => v.labels.get(LABEL_MANAGED).map(String::as_str) == Some("true"),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(false),
        Err(e) => return Err(DockerError::api("inspect volume")(e).into()),
    };
    if !owned {
        return Ok(false);
    }
    let step = reporter.step(&format!("volume:{name}"), &format!("Remove volume {name}"));
    match docker
        .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
        .await
    {
        Ok(()) => {
            step.finish(Outcome::Changed, Some("removed (--purge)".to_string()));
            Ok(true)
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            step.finish(Outcome::Unchanged, Some("already gone".to_string()));
            Ok(false)
        }
        // Mounted by a container kindling does not own: that container decides.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => {
            step.finish(
                Outcome::Skipped,
                Some("kept: a container kindling does not own still mounts it".to_string()),
            );
            Ok(false)
        }
        Err(e) => {
            let e = RegistryError::from(DockerError::api("remove volume")(e));
            step.fail(&e);
            Err(e)
        }
    }
}
