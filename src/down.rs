//! `kindling down`: everything `up` made, removed in reverse — the cluster, then the
//! registry containers (cache volumes stay unless `purge`), then the host changes.
//! Each part is tried even when an earlier one failed; the error lists every failure.

use crate::config::{Provider, Settings};
use crate::env::Env;
use crate::error::{Error, Result, StepFailure};
use crate::report::SharedReporter;

/// What `down` would do, found without changing anything (`reset --dry-run`, and the
/// question `reset` asks before it deletes a cluster).
#[derive(Debug, Clone, Default)]
pub struct DownPlan {
    /// The kind cluster's node containers (empty: no cluster to delete).
    pub nodes: Vec<String>,
    /// Whether kindling made (or adopted) that cluster.
    pub managed: bool,
    /// One line per part: what it would remove, or keep and why.
    pub lines: Vec<String>,
}

/// What `down` (with `purge` or not) would remove.
pub async fn plan(settings: &Settings, env: &Env, purge: bool) -> DownPlan {
    let config = &settings.config;
    let name = &config.cluster.name;
    let mut plan = DownPlan::default();
    let docker = crate::docker::connect(env, config.timeouts.docker).await;
    match (&config.cluster.provider, &docker) {
        (Provider::Existing, _) => plan.lines.push(format!(
            "cluster: context {} is an existing cluster: not deleted",
            config.cluster.context
        )),
        (Provider::Kind, Ok(docker)) => {
            plan.nodes = crate::cluster::down::node_containers(docker, name)
                .await
                .unwrap_or_default();
            plan.managed = crate::cluster::state::load(settings).is_some();
            plan.lines.push(if plan.nodes.is_empty() {
                format!("cluster: no kind cluster {name}")
            } else {
                format!(
                    "cluster: delete kind cluster {name} ({} node(s){})",
                    plan.nodes.len(),
                    if plan.managed {
                        ""
                    } else {
                        "; kindling did not create it"
                    }
                )
            });
        }
        (Provider::Kind, Err(_)) => {}
    }
    match &docker {
        Ok(docker) => match crate::docker::registry::down_plan(docker, config, purge).await {
            Ok(registry) => {
                plan.lines.push(if registry.removed_containers.is_empty() {
                    "containers: none of kindling's".to_string()
                } else {
                    format!(
                        "containers: remove {}",
                        registry.removed_containers.join(", ")
                    )
                });
                for (cache, users) in &registry.kept_for_others {
                    plan.lines.push(format!(
                        "containers: keep {cache} (kindling cluster(s) {} use it)",
                        users.join(", ")
                    ));
                }
                plan.lines.push(if purge {
                    format!("volumes: remove {}", registry.removed_volumes.join(", "))
                } else {
                    "volumes: registry data and caches kept".to_string()
                });
            }
            Err(e) => plan.lines.push(format!("containers: cannot tell ({e})")),
        },
        Err(e) => plan.lines.push(format!(
            "containers: cannot tell, Docker does not answer ({e})"
        )),
    }
    let host = crate::host_changes::present(settings, env);
    if host.is_empty() {
        plan.lines
            .push("host: nothing of kindling's (no trust-store entry, no hosts-file block)".into());
    }
    for line in host {
        plan.lines.push(format!("host: take back: {line}"));
    }
    plan
}

pub async fn down(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    purge: bool,
    yes: bool,
) -> Result<()> {
    let mut failures: Vec<StepFailure> = Vec::new();
    let mut failed = |step: &str, error: Error| {
        failures.push(StepFailure {
            step: step.into(),
            error,
        })
    };
    if settings.config.cluster.provider == crate::config::Provider::Existing {
        // What kindling made in a cluster it does not own (the cluster itself stays).
        if let Err(e) = existing(settings, env, reporter, yes).await {
            failed("down.existing", e);
        }
    } else if let Err(e) = crate::cluster::down(settings, env, reporter, yes).await {
        failed("cluster.delete", e.into());
    }
    match crate::docker::connect(env, settings.config.timeouts.docker).await {
        Ok(docker) => {
            if let Err(e) =
                crate::docker::registry::down(&docker, &settings.config, reporter, purge).await
            {
                failed("registry", e.into());
            }
        }
        Err(e) => failed("registry", e.into()),
    }
    let access = crate::tls::HostAccess::detect(env);
    if let Err(e) = crate::tls::untrust_step(settings, &access, reporter) {
        failed("tls-untrust", e);
    }
    let options = crate::hosts::HostsOptions::detect(env, None);
    if let Err(e) = crate::hosts::remove_step(&settings.config, &options, reporter) {
        failed("hosts", e);
    }
    Error::steps(failures)
}

/// What `down` would remove from an existing cluster (None: kindling has no record there).
pub async fn existing_plan(
    settings: &Settings,
    env: &Env,
) -> Result<Option<crate::platform::teardown::Removal>> {
    let found = crate::cluster::existing::connect(settings, env).await?;
    crate::platform::teardown::plan(found.client).await
}

/// Removes what kindling's record lists; without `yes` it only says what it would remove.
async fn existing(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    yes: bool,
) -> Result<()> {
    use crate::report::{Outcome, ReporterExt};
    let context = &settings.config.cluster.context;
    let Some(removal) = existing_plan(settings, env).await? else {
        reporter
            .step(
                "down.existing",
                "kindling's objects in the existing cluster",
            )
            .finish(
                Outcome::Unchanged,
                format!("context {context}: kindling has made nothing there"),
            );
        return Ok(());
    };
    if !yes {
        return Err(Error::failed(
            format!("down on the existing cluster (context {context})"),
            format!("it would remove {}", removal.describe().join("; ")),
        )
        .with_hint("run `kindling down --yes` to remove them (the cluster itself stays)"));
    }
    crate::platform::teardown::remove(&removal, reporter, settings.config.timeouts.component).await
}
