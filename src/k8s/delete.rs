//! Deleting (foreground propagation: dependents go first) and existence checks.

use super::discovery::Discovery;
use super::error::K8sError;
use super::manifest::describe;
use super::wait::{Condition, Target, Verdict, Waiter};
use kube::api::{DeleteParams, DynamicObject};
use std::time::Duration;

/// Whether the object exists.
pub async fn exists(client: &kube::Client, target: &Target) -> Result<bool, K8sError> {
    get(client, target).await.map(|o| o.is_some())
}

/// The object, or None when it does not exist.
pub async fn get(
    client: &kube::Client,
    target: &Target,
) -> Result<Option<DynamicObject>, K8sError> {
    target
        .api(client)
        .get_opt(&target.name)
        .await
        .map_err(|e| K8sError::from_kube(format!("get {}", target.describe()), e))
}

/// Whether apiVersion/kind name/namespace exists; an unknown kind counts as absent.
pub async fn exists_kind(
    discovery: &Discovery,
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<bool, K8sError> {
    let Some(resolved) = discovery.try_resolve(api_version, kind).await? else {
        return Ok(false);
    };
    let target = Target {
        resource: resolved.resource,
        namespace: namespace.filter(|_| resolved.namespaced).map(Into::into),
        name: name.into(),
    };
    exists(client, &target).await
}

/// Deletes with foreground propagation. Returns false when it was already gone.
/// With `wait` set, waits until the object is gone (its dependents first).
pub async fn delete(
    client: &kube::Client,
    target: &Target,
    wait: Option<Duration>,
) -> Result<bool, K8sError> {
    let result = target
        .api(client)
        .delete(&target.name, &DeleteParams::foreground())
        .await;
    match result {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
        Err(e) => {
            return Err(K8sError::from_kube(
                format!("delete {}", target.describe()),
                e,
            ));
        }
    }
    if let Some(timeout) = wait {
        Waiter::new(client.clone())
            .wait(target.clone(), gone(), timeout)
            .await?;
    }
    Ok(true)
}

/// The object no longer exists.
pub fn gone() -> Condition {
    Condition::new("deleted", |o| match o {
        None => Verdict::Done,
        Some(o) => Verdict::Pending(match &o.metadata.deletion_timestamp {
            Some(_) => format!(
                "being deleted, finalizers {:?}",
                o.metadata.finalizers.clone().unwrap_or_default()
            ),
            None => "still exists".into(),
        }),
    })
}

/// "Kind ns/name" for a target (re-exported convenience).
pub fn describe_target(target: &Target) -> String {
    describe(
        &target.resource.kind,
        target.namespace.as_deref(),
        &target.name,
    )
}
