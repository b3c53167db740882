use super::CheckResult;
use crate::cluster::existing;
use crate::config::{Provider, Settings};
use crate::env::Env;

/// `cluster.provider = "existing"`: the API server answers and runs a supported Kubernetes.
pub(super) async fn check(settings: &Settings, env: &Env) -> CheckResult {
    if settings.config.cluster.provider != Provider::Existing {
        return CheckResult::ok("existing cluster", "not used (cluster.provider = \"kind\")");
    }
    match existing::connect(settings, env).await {
        Ok(found) => CheckResult::ok(
            "existing cluster",
            format!(
                "context {}: Kubernetes {} at {}",
                settings.config.cluster.context, found.version, found.server
            ),
        ),
        Err(e) => CheckResult::fail(
            "existing cluster",
            crate::error::one_line(&e),
            e.hint()
                .unwrap_or_else(|| "check cluster.kubeconfig and cluster.context".into()),
        ),
    }
}
