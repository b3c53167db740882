//! `kindling doctor`: preflight checks, each ok / warn / fail with detail and a hint.
//! Checks never fail themselves: a check that cannot tell says so in its result.

mod disk;
mod docker;
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
pub struct CheckResult {
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
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
    let engine = docker::engine(env, config.timeouts.docker).await;
    let client = engine.client.as_ref();
    let (ports, leftovers, kind, existing) = tokio::join!(
        ports::check(config, client),
        leftovers::check(config, client),
        kind_cli::check(settings, env),
        existing_cluster::check(settings, env),
    );
    let mut results = engine.results;
    results.push(inotify::check());
    results.extend(ports);
    results.push(disk::check(settings, engine.docker_root.as_deref()));
    results.push(kind);
    results.push(existing);
    results.push(hosts_file::check(config, env));
    results.push(leftovers);
    results
}

/// The worst status of a set of checks.
pub fn worst(results: &[CheckResult]) -> Status {
    results.iter().map(|r| r.status).max().unwrap_or(Status::Ok)
}
