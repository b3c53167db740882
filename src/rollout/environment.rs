//! The demo environments and where their Rollout lives.

use super::error::RolloutError;

/// The demo app's Rollout has this name in every environment.
pub const ROLLOUT_NAME: &str = "demo-app";

/// Environment → namespace (dev runs in `default`).
pub const ENVIRONMENTS: &[(&str, &str)] = &[
    ("dev", "default"),
    ("staging", "staging"),
    ("production", "production"),
];

pub fn namespace_of(environment: &str) -> Result<&'static str, RolloutError> {
    ENVIRONMENTS
        .iter()
        .find(|(name, _)| *name == environment)
        .map(|(_, ns)| *ns)
        .ok_or_else(|| RolloutError::UnknownEnvironment(environment.into()))
}
