//! One sync operation, step by step, as gitops-engine v3.5.1 runs it
//! (pkg/sync/sync_context.go `Sync`, `getSyncTasks`, `runTasks`, `applyObject`; sync_task.go;
//! sync_tasks.go): tasks per phase (PreSync, Sync, PostSync) and wave, sorted by kind with
//! namespaces and CRDs first; a wave runs only when the previous one is done — hooks
//! completed, and in a multi-step sync every resource Healthy; hooks get the hook finalizer
//! and their delete policies; a custom resource whose kind the server does not serve is an
//! invalid task unless its CRD is part of the sync; a CRD is waited for until Established
//! (3 s); client-side apply stores the last-applied annotation, which fails past 262144 bytes.
//!
//! Each call to [`SyncOp::step`] is one `Sync()`: Argo CD calls it again whenever the
//! application is processed, until the operation completes.

use super::project::Project;
use crate::health::{Rules, Status};
use crate::hooks::{self, DeletePolicy, Phase};
use fake_apiserver::Fake;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// common.OperationPhase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpPhase {
    Running,
    Failed,
    Error,
    Succeeded,
}

impl OpPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            OpPhase::Running => "Running",
            OpPhase::Failed => "Failed",
            OpPhase::Error => "Error",
            OpPhase::Succeeded => "Succeeded",
        }
    }
    pub fn completed(self) -> bool {
        self != OpPhase::Running
    }
}

/// common.ResultCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    Synced,
    SyncFailed,
    Pruned,
    PruneSkipped,
}

impl ResultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Synced => "Synced",
            ResultCode::SyncFailed => "SyncFailed",
            ResultCode::Pruned => "Pruned",
            ResultCode::PruneSkipped => "PruneSkipped",
        }
    }
    /// sync_context.go `operationPhases`.
    fn op_phase(self) -> OpPhase {
        match self {
            ResultCode::Synced => OpPhase::Running,
            ResultCode::SyncFailed => OpPhase::Failed,
            ResultCode::Pruned | ResultCode::PruneSkipped => OpPhase::Succeeded,
        }
    }
}

/// One entry of `syncResult.resources`.
#[derive(Debug, Clone)]
pub struct ResourceResult {
    pub key: Key,
    pub version: String,
    pub status: Option<ResultCode>,
    pub message: String,
    pub hook: bool,
    pub hook_phase: Option<OpPhase>,
    pub sync_phase: Phase,
    pub order: usize,
}

impl ResourceResult {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "group": self.key.group, "version": self.version, "kind": self.key.kind,
            "namespace": self.key.namespace, "name": self.key.name,
            "status": self.status.map_or("", ResultCode::as_str),
            "message": self.message,
            "syncPhase": self.sync_phase.as_str(),
        });
        if let Some(p) = self.hook_phase {
            v["hookPhase"] = json!(p.as_str());
        }
        if self.hook {
            v["hookType"] = json!(self.sync_phase.as_str());
        }
        v
    }
}

/// kube.ResourceKey: group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn of(obj: &Value) -> Key {
        let (group, _) = crate::health::group_version(obj);
        let meta = &obj["metadata"];
        Key {
            group: group.to_string(),
            kind: obj["kind"].as_str().unwrap_or("").to_string(),
            namespace: meta["namespace"].as_str().unwrap_or("").to_string(),
            name: meta["name"].as_str().unwrap_or("").to_string(),
        }
    }
}

/// The sync options that change how a sync runs (the Application's `syncOptions`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub prune: bool,
    pub server_side_apply: bool,
    pub create_namespace: bool,
    pub skip_dry_run_on_missing_resource: bool,
    pub prune_last: bool,
}

impl Options {
    pub fn from_sync_options(prune: bool, options: &[String]) -> Options {
        let has = |o: &str| options.iter().any(|x| x == o);
        Options {
            prune,
            server_side_apply: has("ServerSideApply=true"),
            create_namespace: has("CreateNamespace=true"),
            skip_dry_run_on_missing_resource: has("SkipDryRunOnMissingResource=true"),
            prune_last: has("PruneLast=true"),
        }
    }
}

/// What one step works on: the rendered objects (hooks included, test hooks removed,
/// namespaces and tracking set) and the live objects the Application manages.
pub struct Input<'a> {
    pub fake: &'a Fake,
    pub rules: &'a Rules,
    pub targets: &'a [Value],
    pub managed_live: &'a [Arc<Value>],
    pub project: &'a Project,
    /// Argo CD's pause between waves (ARGOCD_SYNC_WAVE_DELAY, 2 s), scaled.
    pub wave_delay: Duration,
    /// How long to wait for a CRD to be Established (crdReadinessTimeout, 3 s).
    pub crd_timeout: Duration,
}

/// The state of one sync operation across steps.
pub struct SyncOp {
    pub phase: OpPhase,
    pub message: String,
    pub revision: String,
    namespace: String,
    options: Options,
    started_unix: u64,
    results: BTreeMap<String, ResourceResult>,
}

/// One task (sync_task.go).
struct Task {
    phase: Phase,
    target: Option<Value>,
    live: Option<Arc<Value>>,
    skip_dry_run: bool,
    sync_status: Option<ResultCode>,
    op_state: Option<OpPhase>,
    message: String,
    wave_override: Option<i64>,
}

impl Task {
    fn new(phase: Phase, target: Option<Value>, live: Option<Arc<Value>>) -> Task {
        Task {
            phase,
            target,
            live,
            skip_dry_run: false,
            sync_status: None,
            op_state: None,
            message: String::new(),
            wave_override: None,
        }
    }
    fn obj(&self) -> &Value {
        self.target
            .as_ref()
            .or(self.live.as_deref())
            .expect("a task has a target or a live object")
    }
    fn key(&self) -> Key {
        Key::of(self.obj())
    }
    fn result_key(&self) -> String {
        let k = self.key();
        format!(
            "{}/{}/{}/{}:{}",
            k.group,
            k.kind,
            k.namespace,
            k.name,
            self.phase.as_str()
        )
    }
    fn wave(&self) -> i64 {
        self.wave_override
            .unwrap_or_else(|| hooks::wave(self.obj()))
    }
    fn is_hook(&self) -> bool {
        hooks::is_hook(self.obj())
    }
    fn is_prune(&self) -> bool {
        self.target.is_none()
    }
    fn pending(&self) -> bool {
        self.op_state.is_none()
    }
    fn running(&self) -> bool {
        self.op_state == Some(OpPhase::Running)
    }
    fn completed(&self) -> bool {
        self.op_state.is_some_and(OpPhase::completed)
    }
    fn successful(&self) -> bool {
        self.op_state == Some(OpPhase::Succeeded)
    }
    fn pruned(&self) -> bool {
        self.sync_status == Some(ResultCode::Pruned)
    }
    fn has_policy(&self, p: DeletePolicy) -> bool {
        self.is_hook() && hooks::delete_policies(self.obj()).contains(&p)
    }
    fn delete_before_creation(&self) -> bool {
        self.live.is_some() && self.pending() && self.has_policy(DeletePolicy::BeforeHookCreation)
    }
    fn delete_on_success(&self) -> bool {
        self.live.is_some() && self.has_policy(DeletePolicy::HookSucceeded)
    }
    fn delete_on_failure(&self) -> bool {
        self.live.is_some() && self.has_policy(DeletePolicy::HookFailed)
    }
    fn group(&self) -> String {
        crate::health::group_version(self.obj()).0.to_string()
    }
    fn kind(&self) -> &str {
        self.obj()["kind"].as_str().unwrap_or("")
    }
    fn name(&self) -> &str {
        self.obj()["metadata"]["name"].as_str().unwrap_or("")
    }
}

/// The fake's view of an object: (apiVersion, kind, namespace, name).
fn coords(obj: &Value) -> (&str, &str, &str, &str) {
    let meta = &obj["metadata"];
    (
        obj["apiVersion"].as_str().unwrap_or(""),
        obj["kind"].as_str().unwrap_or(""),
        meta["namespace"].as_str().unwrap_or(""),
        meta["name"].as_str().unwrap_or(""),
    )
}

pub(crate) fn get_live(fake: &Fake, obj: &Value) -> Option<Arc<Value>> {
    let (api_version, kind, ns, name) = coords(obj);
    let def = fake.served(api_version, kind)?;
    let ns = def.namespaced.then_some(ns);
    fake.get_shared(api_version, kind, ns, name)
}

fn is_crd(obj: &Value) -> bool {
    obj["kind"] == "CustomResourceDefinition"
        && crate::health::group_version(obj).0 == "apiextensions.k8s.io"
}

/// "group/Kind" a CRD defines.
fn crd_group_kind(obj: &Value) -> Option<String> {
    Some(format!(
        "{}/{}",
        obj["spec"]["group"].as_str()?,
        obj["spec"]["names"]["kind"].as_str()?
    ))
}

/// The last-applied annotation limit: all annotations together (apimachinery
/// ValidateAnnotations, TotalAnnotationSizeLimitB = 256 KiB).
pub const ANNOTATIONS_LIMIT: usize = 262_144;
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl SyncOp {
    pub fn new(revision: &str, namespace: &str, options: Options) -> SyncOp {
        SyncOp {
            phase: OpPhase::Running,
            message: String::new(),
            revision: revision.to_string(),
            namespace: namespace.to_string(),
            options,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            results: BTreeMap::new(),
        }
    }

    /// The destination namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn results(&self) -> Vec<&ResourceResult> {
        let mut r: Vec<&ResourceResult> = self.results.values().collect();
        r.sort_by_key(|r| r.order);
        r
    }

    fn set_phase(&mut self, phase: OpPhase, message: impl Into<String>) {
        self.phase = phase;
        self.message = message.into();
    }

    fn set_result(
        &mut self,
        task: &mut Task,
        status: Option<ResultCode>,
        op: Option<OpPhase>,
        message: &str,
    ) {
        task.sync_status = status;
        task.op_state = op;
        if !message.is_empty() {
            task.message = message.to_string();
        }
        let order = self.results.len() + 1;
        let entry = self
            .results
            .entry(task.result_key())
            .or_insert_with(|| ResourceResult {
                key: task.key(),
                version: crate::health::group_version(task.obj()).1.to_string(),
                status: None,
                message: String::new(),
                hook: task.is_hook(),
                hook_phase: None,
                sync_phase: task.phase,
                order,
            });
        entry.status = task.sync_status;
        entry.hook_phase = task.op_state;
        entry.message = task.message.clone();
    }

    /// sync_context.go `getSyncTasks`.
    fn tasks(&mut self, input: &Input) -> (Vec<Task>, bool) {
        let mut tasks = Vec::new();
        let (hook_targets, resource_targets): (Vec<&Value>, Vec<&Value>) =
            input.targets.iter().partition(|o| hooks::is_hook(o));
        // Resources: every target plus every managed live object without a target (pruning).
        let target_keys: Vec<Key> = resource_targets.iter().map(|o| Key::of(o)).collect();
        for target in &resource_targets {
            let live = get_live(input.fake, target);
            for phase in hooks::phases(target) {
                tasks.push(Task::new(phase, Some((*target).clone()), live.clone()));
            }
        }
        for live in input.managed_live {
            let key = Key::of(live);
            if target_keys.contains(&key) || hook_targets.iter().any(|h| Key::of(h) == key) {
                continue;
            }
            if hooks::is_hook(live) {
                continue;
            }
            for phase in hooks::phases(live) {
                tasks.push(Task::new(phase, None, Some(live.clone())));
            }
        }
        for hook in &hook_targets {
            for phase in hooks::phases(hook) {
                let mut target = (*hook).clone();
                if target["metadata"]["name"]
                    .as_str()
                    .is_none_or(str::is_empty)
                {
                    // Hook names: generateName + revision[:7] + phase + start time.
                    let revision: String = self.revision.chars().take(7).collect();
                    let prefix = target["metadata"]["generateName"].as_str().unwrap_or("");
                    target["metadata"]["name"] = json!(
                        format!(
                            "{prefix}{revision}-{}-{}",
                            phase.as_str(),
                            self.started_unix
                        )
                        .to_lowercase()
                    );
                }
                let finalizers = &mut target["metadata"]["finalizers"];
                if !finalizers
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == crate::health::HOOK_FINALIZER))
                {
                    let mut list = finalizers.as_array().cloned().unwrap_or_default();
                    list.push(json!(crate::health::HOOK_FINALIZER));
                    *finalizers = json!(list);
                }
                tasks.push(Task::new(phase, Some(target), None));
            }
        }
        // Targets without a namespace get the Application's (cluster-scoped ones too: the
        // server ignores it).
        for task in &mut tasks {
            if let Some(t) = task.target.as_mut()
                && t["metadata"]["namespace"]
                    .as_str()
                    .is_none_or(str::is_empty)
            {
                t["metadata"]["namespace"] = json!(self.namespace);
            }
        }
        if self.options.create_namespace && !self.namespace.is_empty() {
            self.auto_create_namespace(input, &mut tasks);
        }
        for task in &mut tasks {
            if task.live.is_none()
                && let Some(t) = &task.target
            {
                task.live = get_live(input.fake, t);
            }
        }
        // Discovery and project permissions.
        let mut successful = true;
        let crd_kinds: Vec<String> = input
            .targets
            .iter()
            .filter(|o| is_crd(o))
            .filter_map(crd_group_kind)
            .collect();
        let mut failures = Vec::new();
        for (i, task) in tasks.iter_mut().enumerate() {
            let obj = task.obj();
            let (api_version, kind, _, _) = coords(obj);
            match input.fake.served(api_version, kind) {
                None => {
                    let group_kind = format!("{}/{kind}", task.group());
                    let skip = self.options.skip_dry_run_on_missing_resource
                        || hooks::has_sync_option(obj, "SkipDryRunOnMissingResource=true")
                        || crd_kinds.contains(&group_kind);
                    if skip {
                        task.skip_dry_run = true;
                    } else {
                        failures.push((i, not_served(input.fake, api_version, kind)));
                    }
                }
                Some(def) => {
                    if let Err(message) = input.project.permits(obj, def.namespaced) {
                        failures.push((i, message));
                    }
                }
            }
        }
        for (i, message) in failures {
            successful = false;
            let task = &mut tasks[i];
            let op = task.op_state;
            self.set_result(task, Some(ResultCode::SyncFailed), op, &message);
        }
        // Prune waves run in reverse; PruneLast after the last sync wave.
        let mut prune_waves: Vec<i64> = tasks
            .iter()
            .filter(|t| t.is_prune())
            .map(Task::wave)
            .collect();
        prune_waves.sort();
        prune_waves.dedup();
        let n = prune_waves.len();
        for task in tasks.iter_mut().filter(|t| t.is_prune()) {
            if let Some(i) = prune_waves.iter().position(|w| *w == task.wave()) {
                task.wave_override = Some(prune_waves[n - 1 - i]);
            }
        }
        let last_wave = tasks
            .iter()
            .filter(|t| t.phase == Phase::Sync)
            .map(Task::wave)
            .max()
            .unwrap_or(0)
            .max(0)
            + 1;
        for task in tasks.iter_mut() {
            if task.is_prune()
                && (self.options.prune_last
                    || task
                        .live
                        .as_ref()
                        .is_some_and(|l| hooks::has_sync_option(l, "PruneLast=true")))
            {
                task.wave_override = Some(last_wave);
            }
        }
        sort(&mut tasks);
        for task in tasks.iter_mut() {
            if let Some(r) = self.results.get(&task.result_key()) {
                task.sync_status = r.status;
                task.op_state = r.hook_phase;
                task.message = r.message.clone();
            }
        }
        (tasks, successful)
    }

    /// `autoCreateNamespace` with `syncNamespace` (controller/sync_namespace.go): a PreSync
    /// task creating the destination namespace when it does not exist and no target is it.
    fn auto_create_namespace(&self, input: &Input, tasks: &mut Vec<Task>) {
        let is_ns = |o: &Value| {
            o["kind"] == "Namespace"
                && o["apiVersion"] == "v1"
                && o["metadata"]["name"] == self.namespace.as_str()
        };
        if input.targets.iter().any(is_ns) {
            return;
        }
        if input
            .fake
            .get("v1", "Namespace", None, &self.namespace)
            .is_some()
        {
            return;
        }
        let ns =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}});
        tasks.push(Task::new(Phase::PreSync, Some(ns), None));
    }

    /// One `Sync()`.
    pub async fn step(&mut self, input: &Input<'_>) {
        let (mut tasks, ok) = self.tasks(input);
        if !ok {
            let mut messages: Vec<String> = self
                .results
                .values()
                .filter(|r| r.status == Some(ResultCode::SyncFailed) && !r.message.is_empty())
                .map(|r| r.message.clone())
                .collect();
            messages.sort();
            messages.dedup();
            let mut msg = "one or more synchronization tasks are not valid".to_string();
            if !messages.is_empty() {
                msg = format!("{msg}: {}", messages.join("; "));
            }
            self.set_phase(OpPhase::Failed, msg);
            return;
        }
        if self.results.is_empty() {
            // The namespace first (no dry run: if it fails, the sync stops).
            let ns_index = tasks.iter().position(|t| {
                t.live.is_none()
                    && t.target.as_ref().is_some_and(|o| {
                        o["kind"] == "Namespace" && o["metadata"]["name"] == self.namespace.as_str()
                    })
            });
            if let Some(i) = ns_index {
                let mut ns_task = vec![tasks.remove(i)];
                if self.run_tasks(input, &mut ns_task).await == RunState::Failed {
                    let msg = self.fail_message(&ns_task, "the namespace failed to apply");
                    self.set_phase(OpPhase::Failed, msg);
                    return;
                }
                tasks.insert(i, ns_task.pop().unwrap());
            }
            // The client-side dry run (kubectl apply --dry-run=client) checks what the fake
            // cannot (schemas): nothing more to do here.
        }
        // Update the running tasks from the live objects.
        for task in tasks.iter_mut() {
            let Some(live) = task.live.clone().filter(|_| task.running()) else {
                continue;
            };
            let status = task.sync_status;
            if task.is_hook() {
                let (phase, message) = operation_phase(input.rules, &live);
                self.set_result(task, status, Some(phase), &message);
                continue;
            }
            let (phase, message) = match input.rules.assess(&live) {
                Ok(None) => (OpPhase::Succeeded, task.message.clone()),
                Ok(Some(h)) if h.status == Some(Status::Healthy) => (OpPhase::Succeeded, h.message),
                Ok(Some(h)) if h.status == Some(Status::Degraded) => (OpPhase::Failed, h.message),
                _ => continue,
            };
            self.set_result(task, status, Some(phase), &message);
        }
        let multi_step = match (tasks.first(), tasks.last()) {
            (Some(a), Some(b)) => a.wave() != b.wave() || a.phase != b.phase,
            _ => false,
        };
        let running: Vec<usize> = (0..tasks.len())
            .filter(|i| (multi_step || tasks[*i].is_hook()) && tasks[*i].running())
            .collect();
        if !running.is_empty() {
            for &i in &running {
                if tasks[i].live.is_none() {
                    let live = tasks[i]
                        .target
                        .as_ref()
                        .and_then(|t| get_live(input.fake, t));
                    if live.is_some() {
                        continue;
                    }
                    let msg = format!(
                        "Resource {}/{}/{} is missing, it might have been deleted",
                        tasks[i].group(),
                        tasks[i].kind(),
                        tasks[i].name()
                    );
                    self.set_result(
                        &mut tasks[i],
                        Some(ResultCode::SyncFailed),
                        Some(OpPhase::Error),
                        &msg,
                    );
                }
            }
            self.set_running_phase(&tasks, &running, false);
            return;
        }
        let pruned_deleting: Vec<usize> = (0..tasks.len())
            .filter(|i| {
                tasks[*i].pruned()
                    && tasks[*i]
                        .live
                        .as_ref()
                        .is_some_and(|l| !l["metadata"]["deletionTimestamp"].is_null())
            })
            .collect();
        if !pruned_deleting.is_empty() {
            self.set_running_phase(&tasks, &pruned_deleting, true);
            return;
        }
        for task in tasks.iter().filter(|t| t.is_hook() && t.completed()) {
            remove_hook_finalizer(input.fake, task);
        }
        let delete_on_success: Vec<Arc<Value>> = tasks
            .iter()
            .filter(|t| t.is_hook() && !t.running() && t.delete_on_success())
            .filter_map(|t| t.live.clone())
            .collect();
        let delete_on_failure: Vec<Arc<Value>> = tasks
            .iter()
            .filter(|t| t.is_hook() && !t.running() && t.delete_on_failure())
            .filter_map(|t| t.live.clone())
            .collect();
        // SyncFail hooks run only on failure; none of kindling's sources has one, so a
        // failure ends the operation here (executeSyncFailPhase without SyncFail tasks).
        tasks.retain(|t| t.phase != Phase::SyncFail);
        if tasks.iter().any(|t| t.completed() && !t.successful()) {
            delete_all(input.fake, &delete_on_failure);
            let msg = self.fail_message(
                &tasks,
                "one or more synchronization tasks completed unsuccessfully",
            );
            self.set_phase(OpPhase::Failed, msg);
            return;
        }
        tasks.retain(Task::pending);
        if tasks.is_empty() {
            delete_all(input.fake, &delete_on_success);
            self.set_phase(OpPhase::Succeeded, "successfully synced (no more tasks)");
            return;
        }
        let (phase, wave) = (tasks[0].phase, tasks[0].wave());
        let last = tasks.last().unwrap();
        let final_wave = phase == last.phase && wave == last.wave();
        let (mut current, remaining): (Vec<Task>, Vec<Task>) = tasks
            .into_iter()
            .partition(|t| t.phase == phase && t.wave() == wave);
        self.set_phase(OpPhase::Running, "one or more tasks are running");
        let state = self.run_tasks(input, &mut current).await;
        if state != RunState::Failed && !final_wave && !input.wave_delay.is_zero() {
            tokio::time::sleep(input.wave_delay).await;
        }
        match state {
            RunState::Failed => {
                let any_running = current.iter().any(Task::running);
                if any_running {
                    let idx: Vec<usize> = (0..current.len())
                        .filter(|i| current[*i].running())
                        .collect();
                    self.set_running_phase(&current, &idx, false);
                } else {
                    let failed: Vec<Task> = current
                        .into_iter()
                        .filter(|t| t.sync_status == Some(ResultCode::SyncFailed))
                        .collect();
                    let msg = self.fail_message(&failed, "one or more objects failed to apply");
                    self.set_phase(OpPhase::Failed, msg);
                    delete_all(input.fake, &delete_on_failure);
                }
            }
            RunState::Successful => {
                if remaining.is_empty() && !current.iter().any(Task::is_hook) {
                    delete_all(input.fake, &delete_on_success);
                    self.set_phase(OpPhase::Succeeded, "successfully synced (all tasks run)");
                } else {
                    let idx: Vec<usize> = (0..current.len()).collect();
                    self.set_running_phase(&current, &idx, false);
                }
            }
            RunState::Pending => {
                let idx: Vec<usize> = (0..current.len())
                    .filter(|i| {
                        current[*i].delete_before_creation()
                            || (current[*i].is_prune() && current[*i].pending())
                    })
                    .collect();
                self.set_running_phase(&current, &idx, true);
            }
        }
    }

    /// `executeSyncFailPhase`'s message: the failed tasks' messages as the reason.
    fn fail_message(&self, failed: &[Task], message: &str) -> String {
        let mut messages: Vec<&str> = failed
            .iter()
            .filter(|t| t.sync_status == Some(ResultCode::SyncFailed))
            .map(|t| t.message.as_str())
            .collect();
        messages.sort();
        messages.dedup();
        if messages.is_empty() {
            message.to_string()
        } else {
            format!("{message}, reason: {}", messages.join(","))
        }
    }

    /// `setRunningPhase`: "waiting for healthy state of apps/Deployment/x and 2 more resources".
    fn set_running_phase(&mut self, tasks: &[Task], idx: &[usize], deletion: bool) {
        if idx.is_empty() {
            self.set_phase(OpPhase::Running, "");
            return;
        }
        let (hooks, resources): (Vec<usize>, Vec<usize>) =
            idx.iter().partition(|i| tasks[**i].is_hook());
        let mut reason = if hooks.is_empty() {
            "healthy state of"
        } else {
            "completion of hook"
        }
        .to_string();
        let task_type = if resources.is_empty() {
            "hooks"
        } else {
            "resources"
        };
        if deletion {
            reason = "deletion of".into();
            if !hooks.is_empty() {
                reason.push_str(" hook");
            }
        }
        let first = &tasks[*hooks.first().or(resources.first()).unwrap()];
        let mut message = format!(
            "waiting for {reason} {}/{}/{}",
            first.group(),
            first.kind(),
            first.name()
        );
        if idx.len() > 1 {
            message = format!("{message} and {} more {task_type}", idx.len() - 1);
        }
        self.set_phase(OpPhase::Running, message);
    }

    /// `runTasks` (not dry run).
    async fn run_tasks(&mut self, input: &Input<'_>, tasks: &mut [Task]) -> RunState {
        let mut state = RunState::Successful;
        for t in tasks
            .iter()
            .filter(|t| t.is_hook() && t.pending() && t.live.is_some())
        {
            remove_hook_finalizer(input.fake, t);
        }
        for task in tasks.iter_mut().filter(|t| t.is_prune()) {
            let live = task.live.clone().expect("a prune task has a live object");
            let (code, message) = self.prune(input.fake, &live);
            if code == ResultCode::SyncFailed {
                state = RunState::Failed;
            }
            self.set_result(task, Some(code), Some(code.op_phase()), &message);
        }
        for task in tasks
            .iter_mut()
            .filter(|t| !t.is_prune() && t.delete_before_creation())
        {
            let live = task
                .live
                .clone()
                .expect("deleted before creation: it exists");
            match delete(input.fake, &live) {
                Ok(()) => {
                    if state == RunState::Successful {
                        state = RunState::Pending;
                    }
                }
                Err(e) if e.code == 404 => task.live = None,
                Err(e) => {
                    state = RunState::Failed;
                    let status = task.sync_status;
                    let message = format!("failed to delete resource: {e}");
                    self.set_result(task, status, Some(OpPhase::Error), &message);
                }
            }
        }
        if state != RunState::Successful {
            return state;
        }
        for task in tasks.iter_mut().filter(|t| !t.is_prune()) {
            let (code, message) = self.apply(input, task).await;
            if code == ResultCode::SyncFailed {
                state = RunState::Failed;
            }
            self.set_result(task, Some(code), Some(code.op_phase()), &message);
        }
        state
    }

    fn prune(&self, fake: &Fake, live: &Value) -> (ResultCode, String) {
        if !self.options.prune {
            return (
                ResultCode::PruneSkipped,
                "ignored (requires pruning)".into(),
            );
        }
        if hooks::has_sync_option(live, "Prune=false") {
            return (ResultCode::PruneSkipped, "ignored (no prune)".into());
        }
        if live["metadata"]["deletionTimestamp"].is_null()
            && let Err(e) = delete(fake, live)
            && e.code != 404
        {
            return (ResultCode::SyncFailed, e.message);
        }
        (ResultCode::Pruned, "pruned".into())
    }

    /// `applyObject`: kubectl apply (client-side, with the last-applied annotation) or
    /// server-side apply; then, for a CRD, wait until it is Established.
    async fn apply(&self, input: &Input<'_>, task: &Task) -> (ResultCode, String) {
        let target = task.target.clone().unwrap();
        let (api_version, kind, _, name) = coords(&target);
        let (api_version, kind, name) =
            (api_version.to_string(), kind.to_string(), name.to_string());
        let (api_version, kind, name) = (api_version.as_str(), kind.as_str(), name.as_str());
        let ssa = (self.options.server_side_apply
            || hooks::has_sync_option(&target, "ServerSideApply=true"))
            && !hooks::has_sync_option(&target, "ServerSideApply=false");
        let Some(def) = input.fake.served(api_version, kind) else {
            // kubectl: the kind is not (yet) served.
            return (
                ResultCode::SyncFailed,
                format!(
                    "resource mapping not found for name: \"{name}\" namespace: \"{}\" from \"/dev/shm/\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are installed first",
                    target["metadata"]["namespace"].as_str().unwrap_or("")
                ),
            );
        };
        let mut object = target;
        if !def.namespaced
            && let Some(m) = object["metadata"].as_object_mut()
        {
            m.remove("namespace");
        }
        if !ssa {
            let mut config = object.clone();
            if let Some(a) = config["metadata"]["annotations"].as_object_mut() {
                a.remove(LAST_APPLIED);
            }
            let text = serde_json::to_string(&config).unwrap_or_default();
            object["metadata"]["annotations"][LAST_APPLIED] = json!(text);
            let total: usize = object["metadata"]["annotations"]
                .as_object()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                        .sum()
                })
                .unwrap_or(0);
            if total > ANNOTATIONS_LIMIT {
                return (
                    ResultCode::SyncFailed,
                    format!(
                        "The {kind} \"{name}\" is invalid: metadata.annotations: Too long: must have at most {ANNOTATIONS_LIMIT} bytes"
                    ),
                );
            }
        }
        let existed = get_live(input.fake, &object).is_some();
        if let Err(e) = input.fake.apply(object.clone()) {
            return (ResultCode::SyncFailed, e.message);
        }
        if is_crd(&object) {
            wait_established(input.fake, name, input.crd_timeout).await;
        }
        let what = format!("{}/{name}", kind.to_lowercase());
        let verb = match (ssa, existed) {
            (true, _) => "serverside-applied",
            (false, true) => "configured",
            (false, false) => "created",
        };
        (ResultCode::Synced, format!("{what} {verb}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Successful,
    Pending,
    Failed,
}

/// sync_tasks.go `Less` and `Sort`: phase, wave, kind order, name; then namespaces and CRDs
/// moved before the first task that needs them (taking its phase and wave).
fn sort(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        (
            a.phase,
            a.wave(),
            hooks::kind_order(a.kind()),
            a.name().to_string(),
        )
            .cmp(&(
                b.phase,
                b.wave(),
                hooks::kind_order(b.kind()),
                b.name().to_string(),
            ))
    });
    adjust_deps(
        tasks,
        |o| {
            (o["kind"] == "Namespace" && crate::health::group_version(o).0.is_empty())
                .then(|| o["metadata"]["name"].as_str().unwrap_or("").to_string())
        },
        |o| {
            o["metadata"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        },
    );
    adjust_deps(
        tasks,
        |o| if is_crd(o) { crd_group_kind(o) } else { None },
        |o| {
            Some(format!(
                "{}/{}",
                crate::health::group_version(o).0,
                o["kind"].as_str().unwrap_or("")
            ))
        },
    );
}

fn adjust_deps(
    tasks: &mut [Task],
    is_dep: impl Fn(&Value) -> Option<String>,
    refs_dep: impl Fn(&Value) -> Option<String>,
) {
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..tasks.len() {
        let Some(target) = tasks[i].target.as_ref() else {
            continue;
        };
        if let Some(dep) = is_dep(target) {
            if let Some(&index) = first.get(&dep) {
                let wave = tasks[index].wave();
                let phase = tasks[index].phase;
                tasks[i].wave_override = Some(wave);
                tasks[i].phase = phase;
                tasks[index..=i].rotate_right(1);
                for v in first.values_mut() {
                    if *v >= index {
                        *v += 1;
                    }
                }
            }
        } else if let Some(dep) = refs_dep(target) {
            first.entry(dep).or_insert(i);
        }
    }
}

/// `getOperationPhase`: a hook's progress from its health.
fn operation_phase(rules: &Rules, live: &Value) -> (OpPhase, String) {
    let name = live["metadata"]["name"].as_str().unwrap_or("");
    match rules.assess(live) {
        Err(e) => (
            OpPhase::Error,
            format!("failed to get resource health: {e}"),
        ),
        Ok(None) => (OpPhase::Succeeded, format!("{name} created")),
        Ok(Some(h)) => match h.status {
            Some(Status::Unknown | Status::Degraded) => (OpPhase::Failed, h.message),
            Some(Status::Progressing | Status::Suspended) => (OpPhase::Running, h.message),
            Some(Status::Healthy) => (OpPhase::Succeeded, h.message),
            _ => (OpPhase::Succeeded, format!("{name} created")),
        },
    }
}

fn remove_hook_finalizer(fake: &Fake, task: &Task) {
    let Some(live) = get_live(fake, task.obj()) else {
        return;
    };
    let Some(finalizers) = live["metadata"]["finalizers"].as_array() else {
        return;
    };
    if !finalizers
        .iter()
        .any(|f| f == crate::health::HOOK_FINALIZER)
    {
        return;
    }
    let kept: Vec<&Value> = finalizers
        .iter()
        .filter(|f| *f != crate::health::HOOK_FINALIZER)
        .collect();
    let (api_version, kind, ns, name) = coords(&live);
    let ns = (!ns.is_empty()).then_some(ns);
    let _ = fake.patch(
        api_version,
        kind,
        ns,
        name,
        json!({"metadata": {"finalizers": kept}}),
    );
}

fn delete(fake: &Fake, live: &Value) -> Result<(), fake_apiserver::ApiError> {
    let (api_version, kind, ns, name) = coords(live);
    let ns = (!ns.is_empty()).then_some(ns);
    fake.delete(api_version, kind, ns, name)
}

fn delete_all(fake: &Fake, objects: &[Arc<Value>]) {
    for o in objects {
        let _ = delete(fake, o);
    }
}

/// What discovery answers for a kind the server does not serve (kube.go
/// `ServerResourceForGroupVersionKind`).
fn not_served(fake: &Fake, api_version: &str, kind: &str) -> String {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let version_served = fake
        .resources()
        .iter()
        .any(|d| d.api_version() == api_version);
    if version_served {
        format!("{kind}.{group} \"\" not found")
    } else {
        format!(
            "failed to discover server resources for group version {api_version}: the server could not find the requested resource"
        )
    }
}

/// `ensureCRDReady`: poll until Established, at most `timeout`; a timeout is only logged
/// upstream, so it is not an error here either.
async fn wait_established(fake: &Fake, name: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut changes = fake.subscribe();
    loop {
        let established = fake
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                name,
            )
            .is_some_and(|crd| {
                crd["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
            });
        if established {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, changes.recv()).await.is_err() {
            return;
        }
    }
}
