use super::CheckResult;
use crate::config::Config;
use bollard::Docker;

/// Containers kindling (or kind, for this cluster) left behind, and in what state.
pub(super) async fn check(config: &Config, docker: Option<&Docker>) -> CheckResult {
    let Some(docker) = docker else {
        return CheckResult::warn(
            "leftovers",
            "cannot list containers without Docker",
            "fix the docker check first",
        );
    };
    let mut found = Vec::new();
    for label in [
        crate::docker::LABEL_MANAGED.to_string(),
        format!(
            "{}={}",
            crate::docker::KIND_CLUSTER_LABEL,
            config.cluster.name
        ),
    ] {
        match crate::docker::containers_with_labels(docker, &[label]).await {
            Ok(list) => found.extend(list.into_iter().map(|c| {
                let name = crate::docker::summary_name(&c).unwrap_or_default();
                (name, c.state.map(|s| s.to_string()).unwrap_or_default())
            })),
            Err(e) => {
                return CheckResult::warn(
                    "leftovers",
                    format!("cannot list containers: {e}"),
                    "check Docker",
                );
            }
        }
    }
    if found.is_empty() {
        return CheckResult::ok("leftovers", "no kindling containers");
    }
    let stopped: Vec<&str> = found
        .iter()
        .filter(|(_, s)| s != "running")
        .map(|(n, _)| n.as_str())
        .collect();
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    if stopped.is_empty() {
        CheckResult::ok(
            "leftovers",
            format!(
                "{} running (reused by `up`): {}",
                names.len(),
                names.join(", ")
            ),
        )
    } else {
        CheckResult::warn(
            "leftovers",
            format!("stopped kindling containers: {}", stopped.join(", ")),
            "`kindling up` restarts and reuses them; `kindling down` removes them",
        )
    }
}
