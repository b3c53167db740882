//! `kindling doctor`: preflight checks, each ok / warn / fail with detail and a hint.
//! Checks never fail themselves: a check that cannot tell says so in its result.

mod browsers;
mod disk;
mod docker;
pub mod engine_probe;
mod existing_cluster;
mod hosts_file;
mod inotify;
mod kind_cli;
mod leftovers;
pub(crate) mod ports;

use crate::config::Settings;
use crate::env::Env;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
}

/// The checks together: the worst status decides (`doctor --output json` prints this).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `fail` when any check failed (exit 3), `warn` when any warned, else `ok`.
    pub status: Status,
    pub failed: usize,
    pub warned: usize,
    pub checks: Vec<CheckResult>,
}

impl Verdict {
    pub fn of(checks: Vec<CheckResult>) -> Verdict {
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        Verdict {
            status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
            failed: count(Status::Fail),
            warned: count(Status::Warn),
            checks,
        }
    }
}

impl CheckResult {
    pub fn ok(check: &str, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            check: check.into(),
            status: Status::Ok,
            detail: detail.into(),
            hint: None,
        }
    }
    pub fn warn(check: &str, detail: impl Into<String>, hint: impl Into<String>) -> CheckResult {
        CheckResult {
            check: check.into(),
            status: Status::Warn,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
    pub fn fail(check: &str, detail: impl Into<String>, hint: impl Into<String>) -> CheckResult {
        CheckResult {
            check: check.into(),
            status: Status::Fail,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Runs every check (independent ones concurrently) and returns them in a fixed order.
pub async fn run(settings: &Settings, env: &Env) -> Vec<CheckResult> {
    let config = &settings.config;
    let timeout = config.timeouts.docker;
    let engine = docker::engine(config, env, timeout).await;
    let client = engine.client.as_ref();
    let (ports, leftovers, kind, existing, probe) = tokio::join!(
        ports::check(config, client),
        leftovers::check(config, client),
        kind_cli::check(settings, env),
        existing_cluster::check(settings, env),
        vm_probe(config, client, &engine.host, timeout),
    );
    let mut results = engine.results;
    results.push(inotify::check(&engine.host, probe.as_ref()));
    results.extend(ports);
    results.push(disk::check(
        &engine.host,
        engine.docker_root.as_deref(),
        probe.as_ref(),
    ));
    results.push(kind);
    results.push(existing);
    results.push(hosts_file::domain(config));
    results.push(hosts_file::check(config, env));
    let access = crate::tls::HostAccess::detect(env);
    results.push(browsers::check(
        config,
        access.nss.as_ref(),
        access.store.as_ref(),
    ));
    if access.wsl {
        results.push(browsers::wsl(config));
    }
    results.push(leftovers);
    results
}

/// The engine VM's limits and disk, read from a container of the node image when the engine
/// is not on this host and the image is already there (doctor never pulls).
async fn vm_probe(
    config: &crate::config::Config,
    docker: Option<&bollard::Docker>,
    host: &engine_probe::EngineHost,
    timeout: std::time::Duration,
) -> Option<Result<engine_probe::Probe, String>> {
    let docker = docker?;
    if !matches!(host, engine_probe::EngineHost::Remote(_)) {
        return None;
    }
    let image = &config.cluster.node_image;
    if !engine_probe::image_present(docker, image).await {
        return None;
    }
    Some(
        engine_probe::run(
            docker,
            image,
            timeout.max(std::time::Duration::from_secs(30)),
        )
        .await,
    )
}

/// The worst status of a set of checks.
pub fn worst(results: &[CheckResult]) -> Status {
    results.iter().map(|r| r.status).max().unwrap_or(Status::Ok)
}
