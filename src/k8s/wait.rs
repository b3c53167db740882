//! Waiting for readiness: composable conditions evaluated on every watch event, each wait
//! with an explicit timeout. A condition can also say "failed" (a failed sync, a failed Job),
//! which ends the wait at once instead of waiting the timeout out. On timeout or failure the
//! error names what was awaited, what was last seen, and a diagnosis (see `diagnose`).

use super::diagnose;
use super::error::K8sError;
use super::manifest::describe;
use futures::StreamExt;
use futures::future::BoxFuture;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What a condition concluded from the current object (None = it does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// Not yet; the text describes what is seen ("1/3 replicas available").
    Pending(String),
    /// Will not get there by waiting (failed sync, failed Job, degraded Rollout).
    Failed(String),
}

type Check = Arc<dyn Fn(Option<&DynamicObject>) -> Verdict + Send + Sync>;

/// Says why a condition does not hold, from the last object seen (e.g. which resources of an
/// Argo CD Application are not Healthy, and why); replaces the generic diagnosis.
pub type Explain =
    Arc<dyn Fn(kube::Client, DynamicObject) -> BoxFuture<'static, String> + Send + Sync>;

/// A named condition on one object.
#[derive(Clone)]
pub struct Condition {
    /// "rolled out", "Synced and Healthy".
    pub what: String,
    check: Check,
    explain: Option<Explain>,
}

impl Condition {
    pub fn new(
        what: impl Into<String>,
        check: impl Fn(Option<&DynamicObject>) -> Verdict + Send + Sync + 'static,
    ) -> Condition {
        Condition {
            what: what.into(),
            check: Arc::new(check),
            explain: None,
        }
    }

    pub fn check(&self, object: Option<&DynamicObject>) -> Verdict {
        (self.check)(object)
    }

    /// The same condition, explained by `explain` when a wait on it fails or times out.
    pub fn explained_by<F, Fut>(mut self, explain: F) -> Condition
    where
        F: Fn(kube::Client, DynamicObject) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = String> + Send + 'static,
    {
        self.explain = Some(Arc::new(move |client, object| {
            Box::pin(explain(client, object))
        }));
        self
    }

    /// Both conditions; the first one not done decides what is reported (and explained).
    pub fn and(self, other: Condition) -> Condition {
        let what = format!("{} and {}", self.what, other.what);
        let explain = self.explain.clone().or_else(|| other.explain.clone());
        let mut both = Condition::new(what, move |o| match self.check(o) {
            Verdict::Done => other.check(o),
            not_done => not_done,
        });
        both.explain = explain;
        both
    }
}

/// The object to watch.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    pub fn namespaced(resource: ApiResource, namespace: &str, name: &str) -> Target {
        Target {
            resource,
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    pub fn cluster(resource: ApiResource, name: &str) -> Target {
        Target {
            resource,
            namespace: None,
            name: name.into(),
        }
    }

    /// A built-in kind, e.g. `Target::of::<Deployment>("argocd", "argocd-server")`.
    pub fn of<K: kube::Resource<DynamicType = ()>>(namespace: Option<&str>, name: &str) -> Target {
        Target {
            resource: ApiResource::erase::<K>(&()),
            namespace: namespace.map(Into::into),
            name: name.into(),
        }
    }

    /// "Deployment argocd/argocd-server".
    pub fn describe(&self) -> String {
        describe(&self.resource.kind, self.namespace.as_deref(), &self.name)
    }

    pub fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.resource),
            None => Api::all_with(client.clone(), &self.resource),
        }
    }
}

/// Runs waits against one cluster.
#[derive(Clone)]
pub struct Waiter {
    client: kube::Client,
}

impl Waiter {
    pub fn new(client: kube::Client) -> Waiter {
        Waiter { client }
    }

    /// Waits until `condition` holds for `target`, it fails, or `timeout` passes.
    /// Returns the object that satisfied it.
    pub async fn wait(
        &self,
        target: Target,
        condition: Condition,
        timeout: Duration,
    ) -> Result<Option<DynamicObject>, K8sError> {
        let awaited = format!("{} to be {}", target.describe(), condition.what);
        let mut last: Option<DynamicObject> = None;
        let mut last_seen = "nothing yet (no answer from the API server)".to_string();
        let watch = watch_until(&self.client, &target, &condition, &mut last, &mut last_seen);
        let verdict = tokio::time::timeout(timeout, watch).await;
        match verdict {
            Ok(Ok(object)) => Ok(object),
            Ok(Err(reason)) => Err(K8sError::WaitFailed {
                diagnosis: self.diagnosis(&target, &condition, last).await,
                awaited,
                reason,
            }),
            Err(_elapsed) => Err(K8sError::Timeout {
                diagnosis: self.diagnosis(&target, &condition, last).await,
                awaited,
                last_seen,
                after: timeout,
            }),
        }
    }

    /// The condition's own explanation of the last object seen, else the generic diagnosis.
    async fn diagnosis(
        &self,
        target: &Target,
        condition: &Condition,
        last: Option<DynamicObject>,
    ) -> String {
        match (&condition.explain, last) {
            (Some(explain), Some(object)) => explain(self.client.clone(), object).await,
            (_, last) => diagnose::diagnose(&self.client, target, last.as_ref()).await,
        }
    }

    /// Waits for several targets at once (each with its own condition); the first failure wins.
    pub async fn wait_all(
        &self,
        waits: Vec<(Target, Condition)>,
        timeout: Duration,
    ) -> Result<(), K8sError> {
        let all = waits.into_iter().map(|(t, c)| self.wait(t, c, timeout));
        futures::future::try_join_all(all).await.map(|_| ())
    }
}

/// Watches the one object until the condition is done (Ok) or failed (Err(reason)),
/// keeping the last object and verdict for the timeout message.
async fn watch_until(
    client: &kube::Client,
    target: &Target,
    condition: &Condition,
    last: &mut Option<DynamicObject>,
    last_seen: &mut String,
) -> Result<Option<DynamicObject>, String> {
    // `watch_object` turns the watcher's list-then-watch events into "the object, or None
    // when it is absent or deleted"; the backoff keeps a failing API server from a hot loop.
    let mut stream = watcher::watch_object(target.api(client), &target.name)
        .default_backoff()
        .boxed();
    while let Some(event) = stream.next().await {
        let current = match event {
            Ok(current) => current,
            Err(e) => {
                *last_seen = format!("watch error: {e}");
                continue;
            }
        };
        match condition.check(current.as_ref()) {
            Verdict::Done => return Ok(current),
            Verdict::Failed(reason) => {
                *last = current;
                return Err(reason);
            }
            Verdict::Pending(seen) => {
                *last_seen = seen;
                *last = current;
            }
        }
    }
    Err("the watch ended".into())
}

// ---- field helpers -------------------------------------------------------------------------

fn status(o: &DynamicObject) -> &Value {
    &o.data["status"]
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// metadata.generation has been observed by the controller (status.observedGeneration,
/// a number, or a string in Argo Rollouts).
fn generation_observed(o: &DynamicObject) -> bool {
    let generation = o.metadata.generation.unwrap_or(0);
    int(&status(o)["observedGeneration"]) >= generation
}

/// The condition of `type_` in status.conditions.
pub fn find_condition<'a>(o: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    status(o)["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn condition_text(c: &Value) -> String {
    let mut s = format!(
        "{}={}",
        c["type"].as_str().unwrap_or("?"),
        c["status"].as_str().unwrap_or("?")
    );
    if let Some(r) = c["reason"].as_str().filter(|r| !r.is_empty()) {
        s.push_str(&format!(" ({r})"));
    }
    if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {m}"));
    }
    s
}

fn missing() -> Verdict {
    Verdict::Pending("it does not exist".into())
}

// ---- conditions ----------------------------------------------------------------------------

/// The object exists.
pub fn exists() -> Condition {
    Condition::new("present", |o| {
        if o.is_some() {
            Verdict::Done
        } else {
            missing()
        }
    })
}

/// status.conditions[type=X].status == "True".
pub fn condition_true(type_: &str) -> Condition {
    let type_ = type_.to_string();
    Condition::new(type_.clone(), move |o| {
        let Some(o) = o else { return missing() };
        match find_condition(o, &type_) {
            Some(c) if c["status"] == "True" => Verdict::Done,
            Some(c) => Verdict::Pending(condition_text(c)),
            None => Verdict::Pending(format!("no {type_} condition yet")),
        }
    })
}

/// A CRD is Established (NamesAccepted=False fails at once).
pub fn crd_established() -> Condition {
    let established = condition_true("Established");
    Condition::new("Established", move |o| {
        if let Some(c) = o.and_then(|o| find_condition(o, "NamesAccepted"))
            && c["status"] == "False"
        {
            return Verdict::Failed(condition_text(c));
        }
        established.check(o)
    })
}

/// A Deployment, StatefulSet or DaemonSet is rolled out, as `kubectl rollout status` judges.
pub fn rolled_out() -> Condition {
    Condition::new("rolled out", |o| {
        let Some(o) = o else { return missing() };
        if !generation_observed(o) {
            return Verdict::Pending(
                "the controller has not observed the latest generation".into(),
            );
        }
        let kind = o.types.as_ref().map(|t| t.kind.as_str()).unwrap_or("");
        let s = status(o);
        match kind {
            "DaemonSet" => {
                let desired = int(&s["desiredNumberScheduled"]);
                let updated = int(&s["updatedNumberScheduled"]);
                let available = int(&s["numberAvailable"]);
                if updated < desired {
                    Verdict::Pending(format!("{updated}/{desired} pods updated"))
                } else if available < desired {
                    Verdict::Pending(format!("{available}/{desired} pods available"))
                } else {
                    Verdict::Done
                }
            }
            "StatefulSet" => {
                let want = o.data["spec"]["replicas"].as_i64().unwrap_or(1);
                let ready = int(&s["readyReplicas"]);
                let updated = int(&s["updatedReplicas"]);
                if updated < want {
                    Verdict::Pending(format!("{updated}/{want} replicas updated"))
                } else if ready < want {
                    Verdict::Pending(format!("{ready}/{want} replicas ready"))
                } else if s["updateRevision"] != s["currentRevision"]
                    && !s["updateRevision"].is_null()
                {
                    Verdict::Pending("the update revision is not current yet".into())
                } else {
                    Verdict::Done
                }
            }
            _ => deployment_rolled_out(o),
        }
    })
}

fn deployment_rolled_out(o: &DynamicObject) -> Verdict {
    let s = status(o);
    if let Some(c) = find_condition(o, "Progressing")
        && c["reason"] == "ProgressDeadlineExceeded"
    {
        return Verdict::Failed(condition_text(c));
    }
    let want = o.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = int(&s["updatedReplicas"]);
    let replicas = int(&s["replicas"]);
    let available = int(&s["availableReplicas"]);
    if updated < want {
        Verdict::Pending(format!("{updated}/{want} replicas updated"))
    } else if replicas > updated {
        Verdict::Pending(format!(
            "{} old replicas pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Verdict::Pending(format!("{available}/{updated} updated replicas available"))
    } else {
        Verdict::Done
    }
}

/// A Job completed (condition Complete); condition Failed ends the wait at once.
pub fn job_complete() -> Condition {
    Condition::new("complete", |o| {
        let Some(o) = o else { return missing() };
        if let Some(c) = find_condition(o, "Failed").filter(|c| c["status"] == "True") {
            return Verdict::Failed(condition_text(c));
        }
        match find_condition(o, "Complete") {
            Some(c) if c["status"] == "True" => Verdict::Done,
            _ => Verdict::Pending(format!(
                "{} active, {} succeeded, {} failed",
                int(&status(o)["active"]),
                int(&status(o)["succeeded"]),
                int(&status(o)["failed"])
            )),
        }
    })
}

/// An Argo CD Application is Synced and Healthy. A failed sync operation
/// (status.operationState.phase Failed/Error) and error conditions (ComparisonError,
/// SyncError, InvalidSpecError...) fail at once with their messages.
pub fn application_synced_healthy() -> Condition {
    Condition::new("Synced and Healthy", |o| {
        let Some(o) = o else { return missing() };
        let s = status(o);
        let op = &s["operationState"];
        if let Some(phase @ ("Failed" | "Error")) = op["phase"].as_str() {
            return Verdict::Failed(format!(
                "sync {phase}: {}",
                op["message"].as_str().unwrap_or("(no message)")
            ));
        }
        let errors: Vec<String> = s["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["type"].as_str().is_some_and(|t| t.ends_with("Error")))
            .map(|c| {
                format!(
                    "{}: {}",
                    c["type"].as_str().unwrap_or(""),
                    c["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        if !errors.is_empty() {
            return Verdict::Failed(errors.join("; "));
        }
        let sync = s["sync"]["status"].as_str().unwrap_or("Unknown");
        let health = s["health"]["status"].as_str().unwrap_or("Unknown");
        if sync == "Synced" && health == "Healthy" {
            Verdict::Done
        } else {
            let mut seen = format!("sync {sync}, health {health}");
            if let Some(m) = s["health"]["message"].as_str() {
                seen.push_str(&format!(" ({m})"));
            }
            if let Some(p) = op["phase"].as_str() {
                seen.push_str(&format!(", operation {p}"));
            }
            Verdict::Pending(seen)
        }
    })
}

/// An Argo Rollout is done: Healthy, generation observed, stableRS == currentPodHash
/// (DESIGN.md). Minimal on purpose: it trusts status.phase when the controller wrote it for
/// the current generation; the full status interpreter lives in `src/rollout/`.
pub fn rollout_done() -> Condition {
    Condition::new("done (Healthy, fully promoted)", |o| {
        let Some(o) = o else { return missing() };
        let s = status(o);
        let phase = s["phase"].as_str().unwrap_or("");
        let message = s["message"].as_str().unwrap_or("");
        if !generation_observed(o) {
            return Verdict::Pending(
                "the controller has not observed the latest generation".into(),
            );
        }
        if phase == "Degraded" {
            return Verdict::Failed(format!("Degraded: {message}"));
        }
        let stable = s["stableRS"].as_str().unwrap_or("");
        let current = s["currentPodHash"].as_str().unwrap_or("");
        if phase == "Healthy" && !stable.is_empty() && stable == current {
            Verdict::Done
        } else {
            let phase = if phase.is_empty() {
                "no phase yet"
            } else {
                phase
            };
            Verdict::Pending(
                format!("{phase} {message} (stableRS {stable:?}, currentPodHash {current:?})")
                    .trim()
                    .to_string(),
            )
        }
    })
}

/// A cert-manager Certificate is Ready.
pub fn certificate_ready() -> Condition {
    let ready = condition_true("Ready");
    Condition::new("Ready", move |o| ready.check(o))
}
