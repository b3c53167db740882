//! The Kubernetes cluster: a kind cluster kindling creates and wires to the local registry
//! and caches, or an existing cluster (`cluster.provider = "existing"`).
//!
//! Steps, one file each: `kind_cli` (which kind binary), `kind_config` (what kind gets),
//! `create` (create or reuse), `kubeconfig` (kindling's private copy), `wiring` (registry
//! and caches into the nodes), `registry_hosting` (KEP-1755 ConfigMap), `existing`
//! (a cluster kindling does not own), `down` (delete). `state` records what kindling owns.

pub mod create;
pub mod down;
mod error;
pub mod existing;
pub mod kind_cli;
pub mod kind_config;
pub mod kubeconfig;
pub mod platform_client;
pub mod registry_hosting;
pub mod state;
pub mod status;
pub mod wiring;

pub use error::ClusterError;
pub use status::{ClusterStatus, status};

use crate::config::{Provider, Settings};
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use kind_cli::{KindCli, KindSource};
use std::path::PathBuf;
use std::time::Duration;

/// A cluster that exists and answers, as later steps use it.
#[derive(Clone)]
pub struct ClusterHandle {
    pub name: String,
    pub provider: Provider,
    /// The kubeconfig file the client was built from (kindling's copy for kind).
    pub kubeconfig: PathBuf,
    pub context: String,
    pub client: kube::Client,
    /// The kind CLI (provider kind only).
    pub kind: Option<KindCli>,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The steps `ensure` reports, as (id, title): what `up --dry-run` lists.
pub fn planned_steps(settings: &Settings) -> Vec<(String, String)> {
    let cluster = &settings.config.cluster;
    let step = |id: &str, title: String| (id.to_string(), title);
    match cluster.provider {
        Provider::Existing => vec![step("cluster.existing", "Existing cluster".into())],
        Provider::Kind => vec![
            step("cluster.kind-cli", "kind CLI".into()),
            step("cluster.create", format!("kind cluster {}", cluster.name)),
            step("cluster.kubeconfig", "Kubeconfig".into()),
        ],
    }
}

/// The steps `wire` reports, as (id, title).
pub fn planned_wiring(settings: &Settings) -> Vec<(String, String)> {
    let step = |id: &str, title: &str| (id.to_string(), title.to_string());
    match settings.config.cluster.provider {
        Provider::Existing => vec![step("cluster.wiring", "Registry wiring")],
        Provider::Kind => vec![
            step("cluster.wiring", "Registry and caches in the nodes"),
            step(
                "cluster.registry-hosting",
                "ConfigMap kube-public/local-registry-hosting",
            ),
        ],
    }
}

/// Creates or reuses the cluster, then wires the registry and caches into it (kind only).
/// `yes` allows reusing a kind cluster of that name that kindling did not create.
pub async fn up(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    yes: bool,
) -> Result<ClusterHandle, ClusterError> {
    let handle = ensure(settings, env, reporter, yes).await?;
    wire(settings, env, reporter, &handle).await?;
    Ok(handle)
}

/// The cluster part of `up` without the wiring: for pipelines that create the registry
/// concurrently and wire once both exist.
pub async fn ensure(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    yes: bool,
) -> Result<ClusterHandle, ClusterError> {
    let cluster = &settings.config.cluster;
    if cluster.provider == Provider::Existing {
        let step = reporter.step("cluster.existing", "Existing cluster");
        let existing = settle(
            step,
            existing::connect(settings, env).await.map(|found| {
                let detail = format!(
                    "context {}: Kubernetes {} at {}",
                    cluster.context, found.version, found.server
                );
                (found, Outcome::Done, Some(detail))
            }),
        )?;
        let paths = existing::kubeconfig_paths(settings, env);
        return Ok(ClusterHandle {
            name: cluster.name.clone(),
            provider: Provider::Existing,
            kubeconfig: paths.into_iter().next().unwrap_or_default(),
            context: cluster.context.clone(),
            client: existing.client,
            kind: None,
        });
    }

    let docker = crate::docker::connect(env, settings.config.timeouts.docker).await?;
    let step = reporter.step("cluster.kind-cli", "kind CLI");
    let result = kind_cli::resolve(settings, env, &step).await.map(|kind| {
        let outcome = match kind.source {
            KindSource::Downloaded => Outcome::Created,
            _ => Outcome::Unchanged,
        };
        let detail = kind.path.display().to_string();
        (kind, outcome, Some(detail))
    });
    let kind = settle(step, result)?;

    let step = reporter.step("cluster.create", &format!("kind cluster {}", cluster.name));
    let result = create::ensure(settings, &docker, &kind, yes, &step)
        .await
        .map(|(outcome, detail)| ((), outcome, Some(detail)));
    settle(step, result)?;

    let step = reporter.step("cluster.kubeconfig", "Kubeconfig");
    let path = kubeconfig::path(settings);
    let context = kubeconfig::context(&cluster.name);
    let result = async {
        let changed = kubeconfig::fetch(settings, &kind).await?;
        let client = kubeconfig::client(&path, Some(&context)).await?;
        let outcome = if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        };
        Ok((
            client,
            outcome,
            Some(format!("{} (context {context})", path.display())),
        ))
    }
    .await;
    let client = settle(step, result)?;
    Ok(ClusterHandle {
        name: cluster.name.clone(),
        provider: Provider::Kind,
        kubeconfig: path,
        context,
        client,
        kind: Some(kind),
    })
}

/// Wires the registry and caches into the nodes (network, hosts.toml) and publishes the
/// KEP-1755 ConfigMap. Nothing to do for an existing cluster.
pub async fn wire(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    handle: &ClusterHandle,
) -> Result<(), ClusterError> {
    wire_with(settings, env, reporter, handle, &[]).await
}

/// `wire`, with some hosts.toml files replaced or added by path (a loaded bundle's).
pub async fn wire_with(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    handle: &ClusterHandle,
    overrides: &[wiring::NodeFile],
) -> Result<(), ClusterError> {
    let Some(kind) = &handle.kind else {
        reporter.step("cluster.wiring", "Registry wiring").finish(
            Outcome::Skipped,
            "existing cluster: no nodes of kindling's to wire".to_string(),
        );
        return Ok(());
    };
    let config = &settings.config;
    let docker = crate::docker::connect(env, config.timeouts.docker).await?;
    let step = reporter.step("cluster.wiring", "Registry and caches in the nodes");
    let result = async {
        let attached = wiring::connect_registries(&docker, config, &step).await?;
        let nodes = kind.nodes(&handle.name).await?;
        let files = wiring::with_overrides(wiring::node_files(config), overrides);
        let written = wiring::write_files(&docker, &nodes, &files, &step).await?;
        let outcome = if attached + written == 0 {
            Outcome::Unchanged
        } else {
            Outcome::Changed
        };
        let detail = format!(
            "{} node(s); {attached} container(s) joined network kind, {written} hosts.toml written",
            nodes.len()
        );
        Ok(((), outcome, Some(detail)))
    }
    .await;
    settle(step, result)?;

    let step = reporter.step(
        "cluster.registry-hosting",
        "ConfigMap kube-public/local-registry-hosting",
    );
    let result = retry_while_starting(|| registry_hosting::apply(handle.client.clone(), config))
        .await
        .map(|outcome| ((), outcome, None));
    settle(step, result)
}

/// Ends a step with the result of its work: finished with an outcome, or failed with the
/// error on one line (the full error, with kind's output, is the command's error).
fn settle<T>(
    step: Step,
    result: Result<(T, Outcome, Option<String>), ClusterError>,
) -> Result<T, ClusterError> {
    match result {
        Ok((value, outcome, detail)) => {
            step.finish(outcome, detail);
            Ok(value)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

/// A fresh API server can refuse connections for a few seconds after kind returns.
async fn retry_while_starting<T, F, Fut>(attempt: F) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    crate::retry::retry(
        Duration::from_secs(30),
        Duration::from_secs(2),
        attempt,
        |e| {
            matches!(e, ClusterError::RegistryHosting(e)
                if matches!(**e, kube::Error::HyperError(_) | kube::Error::Service(_)))
        },
    )
    .await
}

/// Deletes the kind cluster (nothing for an existing cluster). `yes` allows deleting a kind
/// cluster of that name that kindling did not create.
pub async fn down(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    yes: bool,
) -> Result<(), ClusterError> {
    let cluster = &settings.config.cluster;
    let step = reporter.step("cluster.delete", &format!("kind cluster {}", cluster.name));
    if cluster.provider == Provider::Existing {
        step.finish(
            Outcome::Skipped,
            "existing cluster: kindling does not delete it".to_string(),
        );
        return Ok(());
    }
    let result = async {
        let docker = crate::docker::connect(env, settings.config.timeouts.docker).await?;
        let (outcome, detail) = down::delete(settings, env, &docker, yes, &step).await?;
        Ok(((), outcome, Some(detail)))
    }
    .await;
    settle(step, result)
}
