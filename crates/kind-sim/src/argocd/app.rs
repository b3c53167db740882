//! Reconciling one Application as argo-cd v3.5.1's controller does: render (repo-server),
//! compare (controller/state.go `compareAppState`: targets get the destination namespace and
//! the tracking annotation, helm test hooks are dropped), rate health
//! (controller/health.go `setApplicationHealth`), auto-sync (appcontroller.go `autoSync`:
//! only when OutOfSync, not twice for the same revision and source unless selfHeal, a failed
//! attempt becomes a SyncError condition), run the operation with retries
//! (`processRequestedAppOperation`: Failed/Error → Running again after
//! duration × factor^retries, capped at maxDuration; default limit 5 for automated syncs),
//! and write the status.

use super::project::Project;
use super::sync::{self, Input, Key, OpPhase, SyncOp};
use super::{Options, Rendered, Source, TreeNode};
use crate::health::{Health, Rules, Status};
use crate::hooks;
use fake_apiserver::Fake;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const APP_API: &str = "argoproj.io/v1alpha1";
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
const REFRESH: &str = "argocd.argoproj.io/refresh";
const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

pub(crate) struct Controller {
    fake: Fake,
    rules: Arc<Rules>,
    source: Arc<dyn Source>,
    options: Options,
    trees: Arc<Mutex<BTreeMap<String, Vec<TreeNode>>>>,
    apps: BTreeMap<String, AppState>,
}

#[derive(Default)]
struct AppState {
    render_key: String,
    rendered: Option<Arc<Result<Rendered, String>>>,
    /// A new render arrived since the last reconcile.
    fresh_render: bool,
    /// The rendered objects prepared as targets (namespaces, tracking), per render.
    targets: Arc<Vec<Value>>,
    /// Target index → (live resourceVersion, in sync).
    in_sync: std::collections::HashMap<usize, (String, bool)>,
    /// Objects this Application applied: (apiVersion, kind, namespace, name).
    managed: BTreeSet<(String, String, String, String)>,
    op: Option<Operation>,
    last_attempt: Option<Attempt>,
    /// The operationState last written (kept after the operation ends, as Argo CD does).
    operation_state: Option<Value>,
    health_since: (String, String),
}

struct Operation {
    sync: SyncOp,
    source: Value,
    sync_options: Vec<String>,
    prune: bool,
    retry: Value,
    started_at: String,
    finished_at: Option<String>,
    retry_count: u32,
    retry_at: Option<Instant>,
}

struct Attempt {
    revision: String,
    source: Value,
    succeeded: bool,
    message: String,
}

fn now() -> String {
    fake_apiserver::now_rfc3339()
}

/// Go's time.Kitchen ("3:04PM"), in UTC.
fn kitchen_in(d: Duration) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs())
        + d.as_secs();
    let (h, m) = ((secs / 3600) % 24, (secs / 60) % 60);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{h12}:{m:02}{ampm}")
}

/// parseStringToDuration: plain seconds or a Go duration (ms, s, m, h).
fn parse_duration(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// RetryStrategy.NextRetryAt: duration × factor^retries, at most maxDuration (defaults 5 s,
/// 2, 3 m).
fn retry_delay(retry: &Value, retries: u32) -> Duration {
    let backoff = &retry["backoff"];
    let duration = backoff["duration"]
        .as_str()
        .and_then(parse_duration)
        .unwrap_or(Duration::from_secs(5));
    let max = backoff["maxDuration"]
        .as_str()
        .and_then(parse_duration)
        .unwrap_or(Duration::from_secs(180));
    let factor = backoff["factor"].as_i64().unwrap_or(2) as f64;
    let wait = duration.as_secs_f64() * factor.powi(retries as i32);
    let wait = if max.is_zero() {
        wait
    } else {
        wait.min(max.as_secs_f64())
    };
    Duration::from_secs_f64(wait.max(0.0))
}

/// live ⊇ target: every field the target sets has the same value live (a null or empty
/// target field matches an absent one). Status is not compared (Argo CD ignores status).
pub fn contains(live: &Value, target: &Value) -> bool {
    match (target, live) {
        (Value::Object(t), Value::Object(l)) => t.iter().all(|(k, tv)| match l.get(k) {
            Some(lv) => contains(lv, tv),
            None => {
                tv.is_null()
                    || tv.as_object().is_some_and(|o| o.is_empty())
                    || tv.as_array().is_some_and(|a| a.is_empty())
            }
        }),
        (Value::Array(t), Value::Array(l)) => {
            t.len() == l.len() && t.iter().zip(l).all(|(tv, lv)| contains(lv, tv))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Null, _) => live.is_null(),
        _ => target == live,
    }
}

fn in_sync(live: &Value, target: &Value) -> bool {
    match target.as_object() {
        Some(t) => t
            .iter()
            .filter(|(k, _)| *k != "status")
            .all(|(k, tv)| contains(&live[k.as_str()], tv)),
        None => contains(live, target),
    }
}

impl Controller {
    pub(crate) fn new(
        fake: Fake,
        rules: Arc<Rules>,
        source: Arc<dyn Source>,
        options: Options,
        trees: Arc<Mutex<BTreeMap<String, Vec<TreeNode>>>>,
    ) -> Controller {
        Controller {
            fake,
            rules,
            source,
            options,
            trees,
            apps: BTreeMap::new(),
        }
    }

    pub(crate) async fn pass(&mut self) -> Option<Instant> {
        self.fake.served(APP_API, "Application")?;
        if self.options.from_install_manifest && !self.running() {
            return None;
        }
        let apps = self
            .fake
            .list(APP_API, "Application", Some(&self.options.namespace));
        let names: BTreeSet<String> = apps
            .iter()
            .filter_map(|a| a["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        self.apps.retain(|name, _| names.contains(name));
        self.render(&apps).await;
        let mut next: Option<Instant> = None;
        for app in apps {
            if let Some(at) = self.reconcile(&app).await {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    /// Argo CD's application controller and repo-server each have a ready pod (install.yaml's
    /// `app.kubernetes.io/name` labels).
    fn running(&self) -> bool {
        let pods = self.fake.list("v1", "Pod", Some(&self.options.namespace));
        ["argocd-application-controller", "argocd-repo-server"]
            .iter()
            .all(|component| {
                pods.iter().any(|p| {
                    p["metadata"]["labels"]["app.kubernetes.io/name"] == *component
                        && p["status"]["phase"] == "Running"
                        && crate::kind::workloads::pod_ready(p)
                })
            })
    }

    /// The repo-server's part, for every Application whose source or the cluster's API
    /// versions changed (or that asked for a refresh), in parallel as the repo-server does.
    async fn render(&mut self, apps: &[Value]) {
        let api_versions = Arc::new(self.api_versions());
        let mut renders = tokio::task::JoinSet::new();
        for app in apps {
            let Some(name) = app["metadata"]["name"].as_str() else {
                continue;
            };
            let state = self.apps.entry(name.to_string()).or_default();
            if app["metadata"]["annotations"][REFRESH].is_string() {
                state.render_key.clear();
                let _ = self.fake.patch(
                    APP_API,
                    "Application",
                    Some(&self.options.namespace),
                    name,
                    json!({"metadata": {"annotations": {REFRESH: null}}}),
                );
            }
            let spec = &app["spec"];
            let source = if spec["source"].is_object() {
                &spec["source"]
            } else {
                &spec["sources"][0]
            };
            let key = serde_json::to_string(&json!([
                name,
                source,
                spec["destination"]["namespace"],
                *api_versions
            ]))
            .unwrap_or_default();
            if state.render_key == key {
                continue;
            }
            let (src, app, versions, name) = (
                self.source.clone(),
                app.clone(),
                api_versions.clone(),
                name.to_string(),
            );
            renders.spawn_blocking(move || (name, key, src.render(&app, &versions)));
        }
        while let Some(done) = renders.join_next().await {
            let Ok((name, key, rendered)) = done else {
                continue;
            };
            let state = self.apps.entry(name).or_default();
            state.render_key = key;
            state.rendered = Some(Arc::new(rendered));
            state.fresh_render = true;
        }
    }

    fn project(&self, name: &str) -> Project {
        match self
            .fake
            .get(APP_API, "AppProject", Some(&self.options.namespace), name)
        {
            Some(p) => Project::from_object(&p),
            None if name == "default" || name.is_empty() => Project::default_project(),
            None => Project::from_object(&json!({"metadata": {"name": name}, "spec": {}})),
        }
    }

    /// Every served group/version and group/version/Kind (Argo CD's `APIResourcesToStrings`).
    fn api_versions(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for def in self.fake.resources() {
            out.insert(def.api_version());
            out.insert(format!("{}/{}", def.api_version(), def.kind));
        }
        out.into_iter().collect()
    }

    /// Targets as compareAppState prepares them.
    fn targets(&self, app_name: &str, dest_ns: &str, objects: &[Value]) -> Vec<Value> {
        objects
            .iter()
            .filter(|o| !hooks::ignored(o))
            .map(|o| {
                let mut o = o.clone();
                let (api_version, kind) = (
                    o["apiVersion"].as_str().unwrap_or("").to_string(),
                    o["kind"].as_str().unwrap_or("").to_string(),
                );
                // Unknown kinds count as namespaced (IsNamespacedOrUnknown).
                let namespaced = self
                    .fake
                    .served(&api_version, &kind)
                    .is_none_or(|d| d.namespaced);
                let meta = &mut o["metadata"];
                if namespaced {
                    if meta["namespace"].as_str().is_none_or(str::is_empty) {
                        meta["namespace"] = json!(dest_ns);
                    }
                } else if let Some(m) = meta.as_object_mut() {
                    m.remove("namespace");
                }
                let key = Key::of(&o);
                let id = format!(
                    "{app_name}:{}/{}:{}/{}",
                    key.group, key.kind, key.namespace, key.name
                );
                o["metadata"]["annotations"][TRACKING_ID] = json!(id);
                o
            })
            .collect()
    }

    fn tracked_by(live: &Value, app: &str) -> bool {
        live["metadata"]["annotations"][TRACKING_ID]
            .as_str()
            .is_some_and(|id| id.split(':').next() == Some(app))
    }

    fn managed_live(&self, app: &str) -> Vec<Arc<Value>> {
        let Some(state) = self.apps.get(app) else {
            return Vec::new();
        };
        state
            .managed
            .iter()
            .filter_map(|(api_version, kind, ns, name)| {
                let def = self.fake.served(api_version, kind)?;
                let ns = def.namespaced.then_some(ns.as_str());
                self.fake.get_shared(api_version, kind, ns, name)
            })
            .filter(|l| Self::tracked_by(l, app))
            .collect()
    }

    async fn reconcile(&mut self, app: &Value) -> Option<Instant> {
        let name = app["metadata"]["name"].as_str()?.to_string();
        self.apps.entry(name.clone()).or_default();
        if !app["metadata"]["deletionTimestamp"].is_null() {
            self.finalize(&name, app);
            return None;
        }
        let spec = &app["spec"];
        let source = if spec["source"].is_object() {
            spec["source"].clone()
        } else {
            spec["sources"][0].clone()
        };
        let dest_ns = spec["destination"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let project = self.project(spec["project"].as_str().unwrap_or("default"));
        let mut conditions: Vec<(String, String)> = Vec::new();
        let repo = source["repoURL"].as_str().unwrap_or("");
        if !project.source_permitted(repo) {
            conditions.push((
                "InvalidSpecError".into(),
                format!(
                    "application repo {repo} is not permitted in project '{}'",
                    project.name()
                ),
            ));
        }
        let fresh_render = std::mem::take(&mut self.apps.get_mut(&name).unwrap().fresh_render);
        let rendered = self.apps[&name].rendered.clone();
        let empty = Vec::new();
        let (revision, objects, render_error) = match rendered.as_deref() {
            Some(Ok(r)) => (r.revision.clone(), &r.objects, None),
            Some(Err(e)) => (String::new(), &empty, Some(e.clone())),
            None => (String::new(), &empty, None),
        };
        if let Some(e) = &render_error {
            conditions.push((
                "ComparisonError".into(),
                format!(
                    "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = {e}"
                ),
            ));
        }
        let targets = if !conditions.is_empty() {
            Arc::new(Vec::new())
        } else if fresh_render || self.apps[&name].targets.is_empty() {
            let t = Arc::new(self.targets(&name, &dest_ns, objects));
            let state = self.apps.get_mut(&name).unwrap();
            state.targets = t.clone();
            state.in_sync.clear();
            t
        } else {
            self.apps[&name].targets.clone()
        };
        let targets: &[Value] = &targets;
        let sync_policy = &spec["syncPolicy"];
        let sync_options: Vec<String> = sync_policy["syncOptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect();

        // Auto-sync.
        let (_, sync_status) = self.compare(&name, targets);
        let automated = sync_policy["automated"].is_object()
            && sync_policy["automated"]["enabled"].as_bool() != Some(false);
        let prune = sync_policy["automated"]["prune"].as_bool() == Some(true);
        let self_heal = sync_policy["automated"]["selfHeal"].as_bool() == Some(true);
        let idle = self.apps[&name].op.is_none();
        if automated && idle && conditions.is_empty() && sync_status == "OutOfSync" {
            let attempted = self.apps[&name]
                .last_attempt
                .as_ref()
                .filter(|a| a.revision == revision && a.source == source);
            let start = match attempted {
                Some(a) if !a.succeeded => {
                    conditions.push((
                        "SyncError".into(),
                        format!("Failed last sync attempt to [{revision}]: {}", a.message),
                    ));
                    false
                }
                Some(_) => self_heal,
                None => true,
            };
            if start {
                let retry = if sync_policy["retry"].is_object() {
                    sync_policy["retry"].clone()
                } else {
                    json!({"limit": 5})
                };
                let options = sync::Options::from_sync_options(prune, &sync_options);
                self.apps.get_mut(&name).unwrap().op = Some(Operation {
                    sync: SyncOp::new(&revision, &dest_ns, options),
                    source: source.clone(),
                    sync_options: sync_options.clone(),
                    prune,
                    retry,
                    started_at: now(),
                    finished_at: None,
                    retry_count: 0,
                    retry_at: None,
                });
            }
        }

        // Run the operation one step.
        let mut next = None;
        if self.apps[&name].op.is_some() {
            next = self.run_operation(&name, targets, &project).await;
        }
        // Remember what we applied.
        let applied: Vec<(String, String, String, String)> = targets
            .iter()
            .filter_map(|t| {
                let live = sync::get_live(&self.fake, t)?;
                Self::tracked_by(&live, &name).then(|| {
                    let k = Key::of(&live);
                    (
                        live["apiVersion"].as_str().unwrap_or("").to_string(),
                        k.kind,
                        k.namespace,
                        k.name,
                    )
                })
            })
            .collect();
        let state = self.apps.get_mut(&name).unwrap();
        state.managed.extend(applied);

        // Status.
        let (resources, sync_status) = self.compare(&name, targets);
        let sync_status = if render_error.is_some() {
            "Unknown".to_string()
        } else {
            sync_status
        };
        let (health, tree, health_error) = self.health(&name, &resources);
        if let Some(e) = health_error {
            conditions.push((
                "ComparisonError".into(),
                format!("error setting app health: {e}"),
            ));
        }
        self.trees
            .lock()
            .unwrap()
            .insert(name.clone(), tree.clone());
        let status = self.status(
            &name,
            app,
            &source,
            &revision,
            &sync_status,
            health,
            &resources,
            &tree,
            &conditions,
        );
        if app["status"] != status {
            let _ = self.fake.set_status(
                APP_API,
                "Application",
                Some(&self.options.namespace),
                &name,
                status,
            );
        }
        next
    }

    /// One `processRequestedAppOperation`.
    async fn run_operation(
        &mut self,
        name: &str,
        targets: &[Value],
        project: &Project,
    ) -> Option<Instant> {
        let managed_live = self.managed_live(name);
        // The CRD wait is not scaled: it ends when the fake establishes the CRD, which takes
        // real time (Builder::crd_established_after).
        let (wave_delay, crd_timeout) = (
            self.options.scaled(Duration::from_secs(2)),
            Duration::from_secs(3),
        );
        let state = self.apps.get_mut(name).unwrap();
        let op = state.op.as_mut().unwrap();
        if let Some(at) = op.retry_at {
            if Instant::now() < at {
                return Some(at);
            }
            // Retrying: a fresh sync with the results cleared.
            op.retry_at = None;
            op.finished_at = None;
            let options = sync::Options::from_sync_options(op.prune, &op.sync_options);
            let (revision, ns) = (op.sync.revision.clone(), op.sync.namespace().to_string());
            op.sync = SyncOp::new(&revision, &ns, options);
        }
        let input = Input {
            fake: &self.fake,
            rules: &self.rules,
            targets,
            managed_live: &managed_live,
            project,
            wave_delay,
            crd_timeout,
        };
        op.sync.step(&input).await;
        match op.sync.phase {
            OpPhase::Running => {}
            OpPhase::Failed | OpPhase::Error => {
                let limit = op.retry["limit"].as_i64().unwrap_or(0);
                if (op.retry_count as i64) < limit || limit < 0 {
                    let delay = retry_delay(&op.retry, op.retry_count);
                    op.retry_count += 1;
                    op.finished_at = Some(now());
                    let at = Instant::now() + self.options.scaled(delay);
                    op.retry_at = Some(at);
                    let message = format!(
                        "{}. Retrying attempt #{} at {}.",
                        op.sync.message,
                        op.retry_count,
                        kitchen_in(delay)
                    );
                    state.operation_state = Some(operation_json(op, "Running", &message));
                    return Some(at);
                }
                let mut message = op.sync.message.clone();
                if op.retry_count > 0 {
                    message = format!("{message} (retried {} times).", op.retry_count);
                }
                op.finished_at = Some(now());
                let phase = op.sync.phase.as_str();
                state.operation_state = Some(operation_json(op, phase, &message));
                state.last_attempt = Some(Attempt {
                    revision: op.sync.revision.clone(),
                    source: op.source.clone(),
                    succeeded: false,
                    message,
                });
                state.op = None;
                return None;
            }
            OpPhase::Succeeded => {
                op.finished_at = Some(now());
                let message = op.sync.message.clone();
                state.operation_state = Some(operation_json(op, "Succeeded", &message));
                state.last_attempt = Some(Attempt {
                    revision: op.sync.revision.clone(),
                    source: op.source.clone(),
                    succeeded: true,
                    message,
                });
                state.op = None;
                return None;
            }
        }
        let message = op.sync.message.clone();
        state.operation_state = Some(operation_json(op, "Running", &message));
        None
    }

    /// Each managed resource: (key, apiVersion, target, live, sync status).
    fn compare(&mut self, name: &str, targets: &[Value]) -> (Vec<Resource>, String) {
        // Comparing megabytes of CRDs on every pass is slow: remember each target's result
        // for the live resourceVersion it was computed on (cleared with each new render).
        let mut cache = std::mem::take(&mut self.apps.get_mut(name).unwrap().in_sync);
        let mut resources = Vec::new();
        let mut keys = BTreeSet::new();
        for (i, t) in targets
            .iter()
            .enumerate()
            .filter(|(_, t)| !hooks::is_hook(t))
        {
            let live = sync::get_live(&self.fake, t);
            let synced = live.as_ref().is_some_and(|l| {
                let rv = l["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                match cache.get(&i) {
                    Some((seen, synced)) if *seen == rv => *synced,
                    _ => {
                        let synced = in_sync(l, t);
                        cache.insert(i, (rv, synced));
                        synced
                    }
                }
            });
            let key = Key::of(t);
            keys.insert(key.clone());
            resources.push(Resource {
                key,
                version: crate::health::group_version(t).1.to_string(),
                has_target: true,
                skip: hooks::skip(t),
                live,
                synced,
            });
        }
        self.apps.get_mut(name).unwrap().in_sync = cache;
        for live in self.managed_live(name) {
            let key = Key::of(&live);
            if keys.contains(&key) {
                continue;
            }
            resources.push(Resource {
                key,
                version: crate::health::group_version(&live).1.to_string(),
                has_target: false,
                skip: false,
                live: Some(live),
                synced: false,
            });
        }
        resources.sort_by(|a, b| a.key.cmp(&b.key));
        let counted = resources
            .iter()
            .filter(|r| !r.live.as_deref().is_some_and(hooks::is_hook));
        let status = if counted.clone().all(|r| r.synced) {
            "Synced"
        } else {
            "OutOfSync"
        };
        (resources, status.to_string())
    }

    /// setApplicationHealth.
    fn health(&self, app: &str, resources: &[Resource]) -> (Status, Vec<TreeNode>, Option<String>) {
        let mut app_health = Status::Healthy;
        let (mut contains_resources, mut contains_live) = (false, false);
        let mut tree = Vec::new();
        let (mut error, mut errors) = (None, 0);
        for r in resources {
            if r.skip {
                continue;
            }
            if r.live
                .as_ref()
                .is_some_and(|l| hooks::is_hook(l) || hooks::ignored(l))
            {
                continue;
            }
            contains_resources = true;
            contains_live |= r.live.is_some();
            let node = |health| TreeNode {
                group: r.key.group.clone(),
                kind: r.key.kind.clone(),
                namespace: r.key.namespace.clone(),
                name: r.key.name.clone(),
                health,
            };
            if r.live.as_ref().is_some_and(|l| {
                l["metadata"]["annotations"]["argocd.argoproj.io/ignore-healthcheck"] == "true"
            }) {
                tree.push(node(None));
                continue;
            }
            let health = match &r.live {
                None => Some(Health::new(Status::Missing, "")),
                Some(live) => {
                    // An Application that manages itself does not rate itself.
                    if r.key.group == "argoproj.io"
                        && r.key.kind == "Application"
                        && r.key.name == app
                        && r.key.namespace == self.options.namespace
                    {
                        continue;
                    }
                    match self.rules.assess(live) {
                        Ok(h) => h,
                        Err(e) => {
                            errors += 1;
                            if error.is_none() {
                                error = Some(format!(
                                    "failed to get resource health for {:?} with name {:?} in namespace {:?}: {e}",
                                    r.key.kind, r.key.name, r.key.namespace
                                ));
                            }
                            Some(e.health())
                        }
                    }
                }
            };
            tree.push(node(health.clone()));
            let Some(health) = health else { continue };
            if r.live.is_none() && health.status == Some(Status::Missing) {
                continue;
            }
            if r.key.kind == "Application"
                && r.key.group == "argoproj.io"
                && matches!(health.status, Some(Status::Missing | Status::Unknown))
            {
                continue;
            }
            if Status::is_worse(Some(app_health), health.status) {
                app_health = health.status.unwrap();
            }
        }
        if contains_resources
            && !contains_live
            && Status::is_worse(Some(app_health), Some(Status::Missing))
        {
            app_health = Status::Missing;
        }
        if errors > 1 {
            error = error.map(|e| {
                format!(
                    "see application-controller logs for {} other errors; most recent error was: {e}",
                    errors - 1
                )
            });
        }
        (app_health, tree, error)
    }

    #[allow(clippy::too_many_arguments)]
    fn status(
        &mut self,
        name: &str,
        app: &Value,
        source: &Value,
        revision: &str,
        sync_status: &str,
        health: Status,
        resources: &[Resource],
        tree: &[TreeNode],
        conditions: &[(String, String)],
    ) -> Value {
        let state = self.apps.get_mut(name).unwrap();
        let old = &app["status"];
        if state.health_since.0 != health.as_str() {
            state.health_since = (health.as_str().to_string(), now());
        }
        let persist = self.options.persist_resource_health;
        let resources: Vec<Value> = resources
            .iter()
            .filter(|r| !r.live.as_deref().is_some_and(hooks::is_hook))
            .map(|r| {
                let mut v = json!({
                    "group": r.key.group, "version": r.version, "kind": r.key.kind,
                    "namespace": r.key.namespace, "name": r.key.name,
                    "status": if r.synced { "Synced" } else { "OutOfSync" },
                });
                if !r.has_target {
                    v["requiresPruning"] = json!(true);
                }
                if persist
                    && let Some(h) = tree
                        .iter()
                        .find(|n| {
                            n.kind == r.key.kind
                                && n.name == r.key.name
                                && n.namespace == r.key.namespace
                                && n.group == r.key.group
                        })
                        .and_then(|n| n.health.clone())
                {
                    v["health"] = json!({"status": h.status_str(), "message": h.message});
                }
                v
            })
            .collect();
        let source_type = if source["chart"].is_string() || source["helm"].is_object() {
            "Helm"
        } else if source["kustomize"].is_object() {
            "Kustomize"
        } else {
            "Directory"
        };
        let mut status = json!({
            "sync": {
                "status": sync_status,
                "revision": revision,
                "comparedTo": {"source": source, "destination": app["spec"]["destination"]},
            },
            "health": {"status": health.as_str(), "lastTransitionTime": state.health_since.1},
            "resources": resources,
            "sourceType": source_type,
            "resourceHealthSource": if persist { "inline" } else { "appTree" },
            "controllerNamespace": self.options.namespace,
        });
        if !conditions.is_empty() {
            let old_conditions = old["conditions"].as_array().cloned().unwrap_or_default();
            let conditions: Vec<Value> = conditions
                .iter()
                .map(|(t, m)| {
                    let since = old_conditions
                        .iter()
                        .find(|c| c["type"] == t.as_str() && c["message"] == m.as_str())
                        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
                        .unwrap_or_else(now);
                    json!({"type": t, "message": m, "lastTransitionTime": since})
                })
                .collect();
            status["conditions"] = json!(conditions);
        }
        if let Some(op) = &state.operation_state {
            status["operationState"] = op.clone();
        }
        status
    }

    /// Deleting an Application with the resources finalizer deletes what it manages first.
    fn finalize(&mut self, name: &str, app: &Value) {
        let finalizers: Vec<Value> = app["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == RESOURCES_FINALIZER) {
            return;
        }
        for live in self.managed_live(name) {
            let k = Key::of(&live);
            let api_version = live["apiVersion"].as_str().unwrap_or("");
            let ns = (!k.namespace.is_empty()).then_some(k.namespace.as_str());
            let _ = self.fake.delete(api_version, &k.kind, ns, &k.name);
        }
        if self.managed_live(name).is_empty() {
            let kept: Vec<Value> = finalizers
                .into_iter()
                .filter(|f| f != RESOURCES_FINALIZER)
                .collect();
            let _ = self.fake.patch(
                APP_API,
                "Application",
                Some(&self.options.namespace),
                name,
                json!({"metadata": {"finalizers": kept}}),
            );
        }
    }
}

/// One managed resource as the comparison sees it.
pub(crate) struct Resource {
    key: Key,
    version: String,
    has_target: bool,
    /// The target has the Skip hook annotation.
    skip: bool,
    live: Option<Arc<Value>>,
    synced: bool,
}

fn operation_json(op: &Operation, phase: &str, message: &str) -> Value {
    let results: Vec<Value> = op.sync.results().iter().map(|r| r.to_json()).collect();
    let mut v = json!({
        "operation": {
            "sync": {"revision": op.sync.revision, "prune": op.prune, "syncOptions": op.sync_options},
            "initiatedBy": {"automated": true},
            "retry": op.retry,
        },
        "phase": phase,
        "message": message,
        "startedAt": op.started_at,
        "syncResult": {"resources": results, "revision": op.sync.revision, "source": op.source},
    });
    if let Some(f) = &op.finished_at {
        v["finishedAt"] = json!(f);
    }
    if op.retry_count > 0 {
        v["retryCount"] = json!(op.retry_count);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_doubles_from_the_duration_up_to_the_maximum() {
        let retry =
            json!({"limit": 10, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}});
        assert_eq!(retry_delay(&retry, 0), Duration::from_secs(10));
        assert_eq!(retry_delay(&retry, 2), Duration::from_secs(40));
        assert_eq!(retry_delay(&retry, 6), Duration::from_secs(180));
        assert_eq!(
            retry_delay(&json!({"limit": 5}), 1),
            Duration::from_secs(10)
        );
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    }

    #[test]
    fn a_live_object_with_more_fields_is_in_sync_one_with_a_changed_field_is_not() {
        let target = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}, "metadata": {"annotations": null}});
        let live = json!({"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"port": 80, "protocol": "TCP"}]}, "metadata": {}});
        assert!(contains(&live, &target));
        let changed = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        assert!(!contains(&changed, &target));
    }
}
