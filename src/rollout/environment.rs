//! The demo environments and where their Rollout lives (the list is `crate::environments`).

use super::error::RolloutError;

/// The demo app's Rollout has this name in every environment.
pub const ROLLOUT_NAME: &str = "demo-app";

/// Environment → namespace (dev runs in `default`).
pub fn namespace_of(environment: &str) -> Result<&'static str, RolloutError> {
    crate::environments::environment(environment)
        .map(|env| env.namespace)
        .ok_or_else(|| RolloutError::UnknownEnvironment(environment.into()))
}
