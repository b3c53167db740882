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
    // The registry (Docker) and the cluster (Docker, then the API server) are independent.
    let (registry, (cluster, client)) = tokio::join!(
        registry::collect(config, env),
        cluster::collect(settings, env),
    );
    let (components, environments, secrets) = match &client {
        Some(client) => {
            let apps = applications::list(client).await;
            let components = applications::components(config, &apps);
            let (environments, secrets) =
                tokio::join!(environments::collect(client, config, &apps), async {
                    match options.show_secrets {
                        true => Some(secrets::collect(Some(client), settings).await),
                        false => None,
                    }
                });
            (components, environments, secrets)
        }
        None => {
            let why = cluster.unreachable_reason();
            let secrets = match options.show_secrets {
                true => Some(secrets::collect(None, settings).await),
                false => None,
            };
            (
                applications::unknown_components(config, &why),
                environments::unknown(config, &why),
                secrets,
            )
        }
    };
    PlatformStatus {
        cluster,
        registry,
        components,
        environments,
        urls: model::urls(config),
        secrets,
    }
}
