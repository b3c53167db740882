//! `kindling status`: one read-only view of the whole platform — the cluster, the registry and
//! caches, each platform component's Argo CD Application, each demo environment (Application and
//! Rollout), the URLs, and (only when asked) the admin passwords.
//!
//! `collect` gathers a serializable [`PlatformStatus`]; `src/cli/status.rs` renders it. Parts that
//! cannot be read (Docker down, API server unreachable, an object missing) are recorded as
//! unknown with the reason, never as an error: the command always has something to show.
//! Independent reads run concurrently, each bounded by a timeout.

mod applications;
mod cluster;
mod environments;
mod model;
mod problems;
mod registry;
mod secrets;

pub use model::{
    ApplicationStatus, ClusterPart, EnvironmentStatus, PlatformStatus, RegistryPart, RolloutPart,
    Secret, SecretStatus, Secrets, Url,
};
pub use problems::Problem;

use crate::config::Settings;
use crate::env::Env;
use std::time::Duration;

/// How long any single Kubernetes read may take (the API server answers in milliseconds when
/// it is healthy; a hung one must not hang `status`).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What to collect besides the always-shown parts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read the Argo CD and Grafana admin passwords.
    pub show_secrets: bool,
}

/// Reads everything the platform consists of. Never fails: what cannot be read is unknown,
/// with why.
pub async fn collect(settings: &Settings, env: &Env, options: Options) -> PlatformStatus {
    let config = &settings.config;
    // The registry (Docker) is independent of the cluster and everything read through it.
    let (registry, (cluster, inside)) = tokio::join!(
        registry::collect(config, env),
        in_cluster(settings, env, options)
    );
    PlatformStatus {
        cluster,
        registry,
        components: inside.components,
        environments: inside.environments,
        urls: model::urls(config),
        secrets: inside.secrets,
    }
}

/// The components an existing cluster already ran and kindling reuses (kindling's record,
/// `platform::inventory`); none on kind.
async fn reused_components(config: &crate::config::Config, client: &kube::Client) -> Vec<String> {
    if config.cluster.provider != crate::config::Provider::Existing {
        return Vec::new();
    }
    match tokio::time::timeout(READ_TIMEOUT, crate::platform::inventory::load(client)).await {
        Ok(Ok(Some(record))) => record.adopted.into_keys().collect(),
        _ => Vec::new(),
    }
}

/// What is read through the cluster's API server.
struct Inside {
    components: Vec<ApplicationStatus>,
    environments: Vec<EnvironmentStatus>,
    secrets: Option<Secrets>,
}

async fn in_cluster(settings: &Settings, env: &Env, options: Options) -> (ClusterPart, Inside) {
    let config = &settings.config;
    let (cluster, client) = cluster::collect(settings, env).await;
    let secrets = |client| async move {
        match options.show_secrets {
            true => Some(secrets::collect(client, settings).await),
            false => None,
        }
    };
    let inside = match &client {
        Some(client) => {
            // One list of Applications, the three Rollouts, the Secrets: all independent.
            let (apps, rollouts, secrets, reused) = tokio::join!(
                applications::list(client),
                environments::rollouts(client),
                secrets(Some(client)),
                reused_components(config, client),
            );
            let mut components = applications::components(config, &apps);
            // On an existing cluster, what it ran already is its own (no Application of kindling's).
            components.retain(|c| !reused.contains(&c.name));
            Inside {
                components,
                environments: environments::assemble(config, &apps, rollouts),
                secrets,
            }
        }
        None => {
            let why = cluster.unreachable_reason();
            Inside {
                components: applications::unknown_components(config, &why),
                environments: environments::unknown(config, &why),
                secrets: secrets(None).await,
            }
        }
    };
    (cluster, inside)
}
