//! Reconciling a registry container with its spec: create what is missing, leave
//! what matches alone (same ID, not restarted), recreate what differs and say why.
//! Shared by the local registry and the pull-through mirrors.

use super::error::{RegistryError, Result};
use super::registry_api::RegistryApi;
use super::{DockerError, LABEL_MANAGED};
use crate::report::Outcome;
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, HostConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

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
    /// The data volume's labels (a shared cache's volume names no cluster).
    pub volume_labels: BTreeMap<String, String>,
}

/// The result of reconciling one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub name: String,
    pub id: String,
    pub outcome: Outcome,
    pub detail: Option<String>,
    /// Why it does not answer `GET /v2/` (crash-looping, or silent), when it does not.
    pub problem: Option<String>,
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

/// Brings one container to its spec and waits until it answers `GET /v2/` (at most
/// `timeout`). `image_id` is the local ID of `spec.image`. A container that differs is
/// replaced only when `shared_with` is empty (no other cluster uses it); the old one keeps
/// running until the new one answers, and comes back if the new one cannot be made.
pub async fn reconcile(
    docker: &Docker,
    spec: &ContainerSpec,
    image_id: &str,
    timeout: Duration,
    shared_with: &[String],
) -> Result<Reconciled> {
    restore_interrupted_replace(docker, &spec.name).await?;
    let existing = inspect(docker, &spec.name).await?;
    let (outcome, detail, problem) = match existing {
        None => {
            create(docker, spec).await?;
            let problem = wait_answering(docker, spec, timeout).await?;
            (Outcome::Created, None, problem)
        }
        Some(container) => {
            if !owned(&container) {
                return Err(RegistryError::Foreign {
                    name: spec.name.clone(),
                    label: LABEL_MANAGED,
                });
            }
            let diffs = differences(spec, image_id, &container);
            if diffs.is_empty() {
                let detail = match state(&container) {
                    ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::RESTARTING => {
                        None
                    }
                    ContainerStateStatusEnum::PAUSED => {
                        docker
                            .unpause_container(&spec.name)
                            .await
                            .map_err(DockerError::api("unpause container"))?;
                        Some("unpaused".to_string())
                    }
                    other => {
                        start(docker, spec).await?;
                        Some(format!("started (was {other})"))
                    }
                };
                let outcome = match detail {
                    None => Outcome::Unchanged,
                    Some(_) => Outcome::Changed,
                };
                let problem = wait_answering(docker, spec, timeout).await?;
                (outcome, detail, problem)
            } else if !shared_with.is_empty() {
                // Recreating it would pull it from under the other clusters; starting it
                // when it stopped does not.
                match state(&container) {
                    ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::RESTARTING => {}
                    ContainerStateStatusEnum::PAUSED => docker
                        .unpause_container(&spec.name)
                        .await
                        .map_err(DockerError::api("unpause container"))?,
                    _ => start(docker, spec).await?,
                }
                let detail = format!(
                    "kept as it is: cluster(s) {} use it too (differs: {})",
                    shared_with.join(", "),
                    diffs.join("; ")
                );
                let problem = wait_answering(docker, spec, timeout).await?;
                (Outcome::Unchanged, Some(detail), problem)
            } else {
                let problem = replace(docker, spec, &container, timeout).await?;
                (
                    Outcome::Changed,
                    Some(format!("recreated: {}", diffs.join("; "))),
                    problem,
                )
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
        problem,
    })
}

/// The name the old container has while its replacement is being made.
pub fn previous_name(name: &str) -> String {
    format!("{name}-kindling-previous")
}

/// A run killed in the middle of `replace` left the old container renamed (and maybe no new
/// one): the old one takes its name back, so nothing kindling owns is lost or left over.
async fn restore_interrupted_replace(docker: &Docker, name: &str) -> Result<()> {
    let previous = previous_name(name);
    let Some(old) = inspect(docker, &previous).await? else {
        return Ok(());
    };
    if !owned(&old) {
        return Ok(());
    }
    match inspect(docker, name).await? {
        // The new one was made: the old one is no longer needed.
        Some(_) => remove(docker, &previous).await,
        None => rename(docker, &previous, name).await,
    }
}

/// Replaces `old` with a container made from `spec`: every host port is checked first, the
/// old container is renamed and stopped (not removed), the new one is made, joined to the
/// old one's networks and waited for. Only then is the old one removed; if the new one
/// cannot be made or does not answer where the old one did, the old one is put back.
/// Returns why the new container does not answer, when the old one did not either.
async fn replace(
    docker: &Docker,
    spec: &ContainerSpec,
    old: &ContainerInspectResponse,
    timeout: Duration,
) -> Result<Option<String>> {
    if let Some(port) = spec.host_port
        && published(old).map(|(_, p)| p) != Some(port.port)
    {
        ensure_port_free(docker, port, &spec.name).await?;
    }
    let old_answered = answers_now(old).await;
    let was_running = state(old) == ContainerStateStatusEnum::RUNNING;
    let networks = user_networks(old);
    let previous = previous_name(&spec.name);
    rename(docker, &spec.name, &previous).await?;
    let stopped = docker
        .stop_container(
            &previous,
            Some(StopContainerOptionsBuilder::default().t(10).build()),
        )
        .await;
    if let Err(e) = stopped
        && !matches!(
            &e,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 304,
                ..
            }
        )
    {
        rename(docker, &previous, &spec.name).await?;
        return Err(DockerError::api("stop container")(e).into());
    }
    let made = async {
        create(docker, spec).await?;
        for network in &networks {
            super::network::connect(docker, network, &spec.name).await?;
        }
        wait_answering(docker, spec, timeout).await
    }
    .await;
    match made {
        Ok(None) => {
            remove(docker, &previous).await?;
            Ok(None)
        }
        Ok(Some(problem)) if !old_answered => {
            remove(docker, &previous).await?;
            Ok(Some(problem))
        }
        Ok(Some(problem)) => {
            put_back(docker, &spec.name, &previous, was_running).await?;
            Err(RegistryError::Replace {
                name: spec.name.clone(),
                why: format!("the new container does not answer: {problem}"),
            })
        }
        Err(e) => {
            put_back(docker, &spec.name, &previous, was_running).await?;
            Err(e)
        }
    }
}

/// Undoes a replacement: the new container goes, the old one gets its name back and runs.
async fn put_back(docker: &Docker, name: &str, previous: &str, start: bool) -> Result<()> {
    remove(docker, name).await?;
    rename(docker, previous, name).await?;
    if start {
        docker
            .start_container(name, None)
            .await
            .map_err(DockerError::api("start container"))?;
    }
    Ok(())
}

async fn rename(docker: &Docker, from: &str, to: &str) -> Result<()> {
    let options = RenameContainerOptionsBuilder::default().name(to).build();
    docker
        .rename_container(from, options)
        .await
        .map_err(|e| DockerError::api("rename container")(e).into())
}

/// Networks the container joined besides Docker's default one (kind's, for the nodes).
fn user_networks(container: &ContainerInspectResponse) -> Vec<String> {
    container
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| {
            n.keys()
                .filter(|k| !matches!(k.as_str(), "bridge" | "host" | "none"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Where the host can ask a container `GET /v2/`: its 127.0.0.1 port, else (Linux) its
/// address on a Docker network. None where container addresses are not routable from the
/// host (Docker Desktop).
pub fn api_of(container: &ContainerInspectResponse) -> Option<RegistryApi> {
    if let Some((_, port)) = published(container) {
        return Some(RegistryApi::local(port));
    }
    if !cfg!(target_os = "linux") {
        return None;
    }
    let networks = container.network_settings.as_ref()?.networks.as_ref()?;
    let ip = networks
        .values()
        .filter_map(|n| n.ip_address.clone())
        .find(|ip| !ip.is_empty())?;
    Some(RegistryApi::direct(format!("http://{ip}:5000")))
}

/// Whether the host reaches `api`'s address at all: a refused connection is an answer (the
/// address is there, nothing listens yet); a timeout or no route means it cannot be asked.
pub async fn routable(api: &RegistryApi) -> bool {
    let Some(addr) = api
        .base()
        .strip_prefix("http://")
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
    else {
        return false;
    };
    match tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        Err(_) => false,
    }
}

/// Whether it answers right now (one try).
async fn answers_now(container: &ContainerInspectResponse) -> bool {
    state(container) == ContainerStateStatusEnum::RUNNING
        && match api_of(container) {
            Some(api) => api.ping().await.is_ok(),
            None => true,
        }
}

/// How long a container the host cannot ask must run without restarting to count as up.
const SETTLE: Duration = Duration::from_secs(3);

/// Waits until the container answers `GET /v2/`. None: it does; Some(why) when it crashes
/// (a restart, or Docker reports it restarting or exited: fails at once, with its last log
/// line) or does not answer within `timeout`. Where the host cannot reach it (no host port
/// on Docker Desktop), running for a few seconds without a restart counts as up.
pub async fn wait_answering(
    docker: &Docker,
    spec: &ContainerSpec,
    timeout: Duration,
) -> Result<Option<String>> {
    let started = Instant::now();
    let restarts = std::sync::OnceLock::new();
    let looked = crate::retry::retry(
        timeout,
        Duration::from_millis(200),
        || look(docker, spec, started, &restarts),
        |not_yet| matches!(not_yet, NotYet::Waiting { .. }),
    )
    .await;
    match looked {
        Ok(verdict) => Ok(verdict),
        Err(NotYet::Failed(e)) => Err(e),
        Err(NotYet::Waiting { url, last }) => Ok(Some(format!(
            "{url} did not answer within {}s (last: {last})",
            timeout.as_secs()
        ))),
    }
}

/// Why a look at the container settled nothing.
enum NotYet {
    /// It does not answer yet: what was last seen, at which URL.
    Waiting { url: String, last: String },
    /// Docker could not be asked.
    Failed(RegistryError),
}

/// One look at the container: Ok(None) when it answers, Ok(Some(why)) when it crashed or is
/// gone. `restarts` keeps the restart count of the first look.
async fn look(
    docker: &Docker,
    spec: &ContainerSpec,
    started: Instant,
    restarts: &std::sync::OnceLock<i64>,
) -> std::result::Result<Option<String>, NotYet> {
    let Some(container) = inspect(docker, &spec.name).await.map_err(NotYet::Failed)? else {
        return Ok(Some("the container is gone".into()));
    };
    let count = container.restart_count.unwrap_or(0);
    let first = *restarts.get_or_init(|| count);
    let state = state(&container);
    let crashed = count > first
        || matches!(
            state,
            ContainerStateStatusEnum::RESTARTING
                | ContainerStateStatusEnum::EXITED
                | ContainerStateStatusEnum::DEAD
        );
    if crashed {
        return Ok(Some(crash_report(docker, &container, count - first).await));
    }
    let api = api_of(&container);
    let running = state == ContainerStateStatusEnum::RUNNING;
    let settled = running && started.elapsed() >= SETTLE;
    let last = match &api {
        Some(api) if running => match api.ping().await {
            Ok(()) => return Ok(None),
            // A container address the host cannot route to (Docker Desktop for Linux, a
            // remote engine): it cannot be asked, like `None` below.
            Err(_) if settled && spec.host_port.is_none() && !routable(api).await => {
                return Ok(None);
            }
            Err(e) => e,
        },
        None if settled => return Ok(None),
        _ => format!("the container is {state}"),
    };
    let url = api.map_or("/v2/".to_string(), |a| format!("{}/v2/", a.base()));
    Err(NotYet::Waiting { url, last })
}

/// "restarting (exit code 2, restarted 3 times): panic: Get …" — Docker's state and the
/// line of the container's log that says why. `seen` restarts happened while kindling waited.
async fn crash_report(docker: &Docker, container: &ContainerInspectResponse, seen: i64) -> String {
    let name = container
        .name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/');
    let exit = container
        .state
        .as_ref()
        .and_then(|s| s.exit_code)
        .unwrap_or_default();
    let restarts = container.restart_count.unwrap_or(0);
    let times = |n: i64| format!("{n} time{}", if n == 1 { "" } else { "s" });
    let mut text = match state(container) {
        // Between two restarts Docker says "running": what matters is that it restarted.
        ContainerStateStatusEnum::RUNNING => format!(
            "crash-looping (restarted {} while kindling waited for it)",
            times(seen)
        ),
        other => format!("{other} (exit code {exit}, restarted {})", times(restarts)),
    };
    if let Some(line) = last_error_line(docker, name).await {
        text.push_str(": ");
        text.push_str(&line);
    }
    text
}

/// The last line of a container's log that looks like the reason it stopped.
async fn last_error_line(docker: &Docker, name: &str) -> Option<String> {
    use futures::StreamExt;
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("60")
        .build();
    let chunks: Vec<_> = docker.logs(name, Some(options)).collect().await;
    let text: String = chunks
        .into_iter()
        .flatten()
        .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
        .collect();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| {
            l.starts_with("panic:")
                || l.contains("level=fatal")
                || l.contains("level=error")
                || l.starts_with("Error")
        })
        .or(lines.last())?;
    let mut line = line.to_string();
    if line.len() > 300 {
        let mut end = 300;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    Some(line)
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
            labels: Some(spec.volume_labels.clone().into_iter().collect()),
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
                let holder = super::port_holder::holder(port.port, Some(docker)).await;
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
            let holder = super::port_holder::holder(port.port, Some(docker)).await;
            match holder {
                Some(h) if h.container.as_deref() == Some(container) => Ok(()),
                holder => Err(port_in_use(port, holder)),
            }
        }
    }
}

fn port_in_use(port: HostPort, holder: Option<super::port_holder::Holder>) -> RegistryError {
    RegistryError::PortInUse {
        port: port.port,
        holder: holder.map_or_else(|| "another program".into(), |h| h.name),
        key: port.key,
    }
}

/// Docker's answer while another request is removing the same container (an interrupted
/// `down` whose removal still runs, or a concurrent one).
pub fn is_removal_in_progress(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
            if message.contains("already in progress")
    )
}

/// How long a removal someone else started may take before kindling gives up waiting.
const REMOVAL_WAIT: Duration = Duration::from_secs(60);

/// Removes a container (running or not); absent is fine, and so is a removal already under
/// way (kindling waits until the container is gone).
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) if is_removal_in_progress(&e) => {
            // Err(None): still there (asked again); Err(Some(e)): Docker failed.
            let gone = crate::retry::retry(
                REMOVAL_WAIT,
                Duration::from_millis(200),
                || async {
                    match inspect(docker, name).await {
                        Ok(None) => Ok(()),
                        Ok(Some(_)) => Err(None),
                        Err(e) => Err(Some(e)),
                    }
                },
                Option::is_none,
            )
            .await;
            match gone {
                Ok(()) => Ok(()),
                Err(Some(inspect_failed)) => Err(inspect_failed),
                Err(None) => Err(DockerError::api("remove container")(e).into()),
            }
        }
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
            volume_labels: BTreeMap::new(),
        }
    }

    #[test]
    fn a_removal_already_under_way_is_recognised() {
        let error =
            |status_code: u16, message: &str| bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: message.into(),
            };
        // moby daemon/delete.go: errdefs.Conflict("removal of container %s is already in progress").
        assert!(is_removal_in_progress(&error(
            409,
            "removal of container kind-registry is already in progress"
        )));
        assert!(!is_removal_in_progress(&error(
            409,
            "Conflict. The container name \"/kind-registry\" is already in use"
        )));
        assert!(!is_removal_in_progress(&error(500, "already in progress")));
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
