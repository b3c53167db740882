//! What keeps the platform from being healthy: one line per problem, each naming the part, with
//! what to do. When the cluster cannot be read, that one problem stands for everything inside it.

use super::model::{ApplicationStatus, EnvironmentStatus, PlatformStatus, RegistryPart};
use crate::rollout::Phase;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// cluster, registry, component/<name>, environment/<name>.
    pub part: String,
    pub message: String,
    pub hint: Option<String>,
}

fn problem(part: impl Into<String>, message: impl Into<String>, hint: Option<String>) -> Problem {
    Problem {
        part: part.into(),
        message: message.into(),
        hint,
    }
}

pub fn of(status: &PlatformStatus) -> Vec<Problem> {
    let mut out = Vec::new();
    let cluster = &status.cluster;
    // Nothing made yet (or all taken down): one problem, not one per missing container.
    let nothing_up = cluster.exists == Some(false)
        && status.registry.problem.is_none()
        && status
            .registry
            .containers
            .iter()
            .all(|c| c.state == "missing");
    if !cluster.healthy() {
        let (message, hint) = match cluster.exists {
            Some(false) if nothing_up => (
                format!(
                    "cluster {} does not exist (nor do the registry and caches)",
                    cluster.name
                ),
                "`kindling up` creates the platform",
            ),
            Some(false) => (
                format!("cluster {} does not exist", cluster.name),
                "`kindling up` creates the platform",
            ),
            _ => (
                cluster.problem.clone().unwrap_or_else(|| {
                    format!("cluster {} is not running or does not answer", cluster.name)
                }),
                "`kindling up` starts and converges it (`kindling cluster status` shows the nodes)",
            ),
        };
        out.push(problem("cluster", message, Some(hint.into())));
    }
    if !nothing_up {
        registry(&status.registry, &mut out);
    }
    // Without a cluster, every part inside it is unknown for the same reason, said once above.
    if !cluster.healthy() {
        return out;
    }
    for app in &status.components {
        if let Some(message) = application(app, false) {
            out.push(problem(
                format!("component/{}", app.name),
                message,
                Some(format!(
                    "see the Application in Argo CD (https://argocd.<domain>, or `kubectl -n argocd describe application {}`); `kindling up` re-applies it",
                    app.name
                )),
            ));
        }
    }
    for env in &status.environments {
        environment(env, &mut out);
    }
    out
}

fn registry(part: &RegistryPart, out: &mut Vec<Problem>) {
    let hint =
        || Some("`kindling registry up` (or `kindling up`) reconciles the containers".into());
    if let Some(why) = &part.problem {
        out.push(problem(
            "registry",
            format!("registry and caches unknown: {why}"),
            Some("start Docker, then run `kindling status` again".into()),
        ));
        return;
    }
    for c in &part.containers {
        if let Some(message) = RegistryPart::container_problem(c) {
            out.push(problem("registry", message, hint()));
        }
    }
}

/// Why an Application is not healthy. A demo environment may be Suspended: a paused Rollout
/// waiting for `promote` is a normal state of progressive delivery, not a fault.
fn application(app: &ApplicationStatus, suspended_ok: bool) -> Option<String> {
    if let Some(why) = &app.problem {
        return Some(format!("Application {}: {why}", app.name));
    }
    let health_ok = app.health == "Healthy" || (suspended_ok && app.health == "Suspended");
    if app.sync == "Synced" && health_ok {
        return None;
    }
    let message = app
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Some(format!(
        "Application {} is {} and {}{message}",
        app.name, app.health, app.sync
    ))
}

fn environment(env: &EnvironmentStatus, out: &mut Vec<Problem>) {
    let part = format!("environment/{}", env.name);
    if let Some(message) = application(&env.application, true) {
        out.push(problem(
            &part,
            message,
            Some(format!(
                "`kubectl -n argocd describe application {}`",
                env.application.name
            )),
        ));
    }
    let ro = &env.rollout;
    let hint = Some(format!(
        "`kindling rollout status {}` shows its steps, pods and analysis",
        env.name
    ));
    match (ro.phase, &ro.problem) {
        (_, Some(why)) => out.push(problem(
            &part,
            format!("Rollout {}/{}: {why}", env.namespace, ro.name),
            hint,
        )),
        (Some(Phase::Healthy | Phase::Paused), _) => {}
        (Some(phase), _) => {
            let message = ro
                .message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            out.push(problem(
                &part,
                format!("Rollout {}/{} is {phase}{message}", env.namespace, ro.name),
                hint,
            ));
        }
        (None, None) => out.push(problem(
            &part,
            format!("Rollout {}/{}: unknown", env.namespace, ro.name),
            hint,
        )),
    }
}
