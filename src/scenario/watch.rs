//! Follows the Rollout while a scenario runs: one `Observation` per read, and the
//! `RolloutEvent`s (steps, pauses, analysis results, abort, healthy) derived from changes.

use super::model::{EventKind, RolloutEvent};
use crate::rollout::live::{self, Snapshot};
use crate::rollout::{Phase, RolloutError, status};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The Rollout as read at one moment, reduced to what the checks judge.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
    pub phase: Phase,
    pub message: String,
    pub step_index: Option<i32>,
    pub set_weight: Option<i32>,
    pub actual_weight: Option<i32>,
    pub aborted: bool,
    /// Reasons of `status.pauseConditions` (CanaryPauseStep, BlueGreenPause...).
    pub pause_reasons: Vec<String>,
    pub stable_hash: String,
    pub current_hash: String,
    pub active_hash: String,
    pub preview_hash: String,
    /// Healthy, spec observed, and the desired ReplicaSet is the stable one.
    pub done: bool,
    /// pod-template-hash → (replicas, available).
    pub replica_sets: BTreeMap<String, (i32, i32)>,
    /// AnalysisRun name → phase ("" before the controller wrote one).
    pub analysis_runs: BTreeMap<String, String>,
}

impl Observation {
    fn from_snapshot(at_ms: u64, s: &Snapshot) -> Observation {
        let st = &s.rollout.status;
        Observation {
            at_ms,
            phase: s.summary.status,
            message: s.summary.message.clone(),
            step_index: st.current_step_index,
            set_weight: s.summary.set_weight,
            actual_weight: s.summary.actual_weight,
            aborted: st.abort,
            pause_reasons: st
                .pause_conditions
                .iter()
                .map(|p| p.reason.clone())
                .collect(),
            stable_hash: st.stable_rs.clone(),
            current_hash: st.current_pod_hash.clone(),
            active_hash: st.blue_green.active_selector.clone(),
            preview_hash: st.blue_green.preview_selector.clone(),
            done: status::is_done(&s.rollout),
            replica_sets: s
                .replica_sets
                .iter()
                .map(|rs| (rs.pod_template_hash.clone(), (rs.replicas, rs.available)))
                .collect(),
            analysis_runs: s
                .analysis_runs
                .iter()
                .map(|r| (r.name.clone(), r.phase.clone()))
                .collect(),
        }
    }

    pub fn paused_for(&self, reason: &str) -> bool {
        self.pause_reasons.iter().any(|r| r == reason)
    }

    pub fn degraded(&self) -> bool {
        self.phase == Phase::Degraded
    }
}

/// Whether an AnalysisRun phase is final (upstream `AnalysisPhase.Completed()`).
pub fn run_completed(phase: &str) -> bool {
    matches!(phase, "Successful" | "Failed" | "Error" | "Inconclusive")
}

pub struct Watch {
    client: kube::Client,
    pub namespace: String,
    pub name: String,
    origin: Instant,
    poll: Duration,
    pub history: Vec<Observation>,
    pub events: Vec<RolloutEvent>,
    /// AnalysisRuns that existed before the scenario (earlier releases): not judged.
    pub earlier_runs: BTreeSet<String>,
    /// When each AnalysisRun of this scenario was first seen (ms since the origin).
    pub runs_first_seen: BTreeMap<String, u64>,
    /// The last full snapshot (for step names and diagnostics).
    pub last: Option<Snapshot>,
    progress: Box<dyn Fn(&str) + Send + Sync>,
}

impl Watch {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        origin: Instant,
        poll: Duration,
        progress: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Watch {
        Watch {
            client,
            namespace: namespace.into(),
            name: name.into(),
            origin,
            poll,
            history: Vec::new(),
            events: Vec::new(),
            earlier_runs: BTreeSet::new(),
            runs_first_seen: BTreeMap::new(),
            last: None,
            progress,
        }
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Records an event the scenario itself caused (released, promoted) or saw.
    pub fn event(&mut self, kind: EventKind, label: impl Into<String>, set_weight: Option<u32>) {
        let label = label.into();
        (self.progress)(&label);
        self.events.push(RolloutEvent {
            at_ms: self.now_ms(),
            kind,
            label,
            set_weight,
        });
    }

    /// Reads the Rollout once, before the release: remembers the AnalysisRuns that exist.
    pub async fn baseline(&mut self) -> Result<Observation, RolloutError> {
        let obs = self.observe().await?;
        self.earlier_runs = obs.analysis_runs.keys().cloned().collect();
        self.runs_first_seen.clear();
        Ok(obs)
    }

    /// Reads the Rollout once, records the observation and the events its changes mean.
    pub async fn observe(&mut self) -> Result<Observation, RolloutError> {
        let snapshot = live::snapshot(&self.client, &self.namespace, &self.name).await?;
        let obs = Observation::from_snapshot(self.now_ms(), &snapshot);
        self.record_changes(&obs, &snapshot);
        self.history.push(obs.clone());
        self.last = Some(snapshot);
        Ok(obs)
    }

    /// Reads the Rollout every `poll` until `done` holds or `timeout` passes; the last
    /// observation and whether `done` held. Read errors are retried until the timeout.
    pub async fn until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&Observation) -> bool,
    ) -> (Option<Observation>, bool) {
        let end = Instant::now() + timeout;
        let mut last = None;
        loop {
            match self.observe().await {
                Ok(obs) => {
                    let reached = done(&obs);
                    last = Some(obs);
                    if reached {
                        return (last, true);
                    }
                }
                Err(e) => tracing::debug!("reading the Rollout: {e}"),
            }
            if Instant::now() >= end {
                return (last, false);
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Keeps observing for `span` (so the history covers it).
    pub async fn follow(&mut self, span: Duration) {
        let _ = self.until(span, |_| false).await;
    }

    fn record_changes(&mut self, obs: &Observation, snapshot: &Snapshot) {
        let prev = self.history.last().cloned();
        let at = obs.at_ms;
        let push = |events: &mut Vec<RolloutEvent>, kind, label: String, w: Option<i32>| {
            (self.progress)(&label);
            events.push(RolloutEvent {
                at_ms: at,
                kind,
                label,
                set_weight: w.map(|w| w.max(0) as u32),
            });
        };
        let Some(prev) = prev else { return };
        if obs.step_index != prev.step_index
            && let Some(index) = obs.step_index
        {
            let label = step_label(snapshot, index);
            push(&mut self.events, EventKind::Step, label, obs.set_weight);
        } else if obs.set_weight != prev.set_weight && !obs.aborted {
            let label = format!("set weight {}", obs.set_weight.unwrap_or(0));
            push(&mut self.events, EventKind::Step, label, obs.set_weight);
        }
        for reason in &obs.pause_reasons {
            if !prev.pause_reasons.contains(reason) {
                push(
                    &mut self.events,
                    EventKind::Paused,
                    format!("paused: {reason}"),
                    None,
                );
            }
        }
        for (name, phase) in &obs.analysis_runs {
            if self.earlier_runs.contains(name) {
                continue;
            }
            self.runs_first_seen.entry(name.clone()).or_insert(at);
            let before = prev.analysis_runs.get(name).map(String::as_str);
            if run_completed(phase) && before != Some(phase.as_str()) {
                let kind = if phase == "Successful" {
                    EventKind::AnalysisSuccessful
                } else {
                    EventKind::AnalysisFailed
                };
                push(
                    &mut self.events,
                    kind,
                    format!("AnalysisRun {name} {phase}"),
                    None,
                );
            }
        }
        // Once the controller has reacted (Degraded), so the label carries its message.
        let aborted = |o: &Observation| o.aborted && o.degraded();
        if aborted(obs) && !aborted(&prev) {
            let label = format!("aborted: {}", obs.message);
            push(&mut self.events, EventKind::Aborted, label, Some(0));
        }
        if obs.done && !prev.done {
            let label = format!("Healthy (stable {})", obs.stable_hash);
            push(&mut self.events, EventKind::Healthy, label, None);
        }
    }
}

/// "step 1/9: setWeight 20", "step 2/9: pause 10s", "step 3/9: analysis".
fn step_label(snapshot: &Snapshot, index: i32) -> String {
    let steps = snapshot
        .rollout
        .spec
        .strategy
        .canary
        .as_ref()
        .map(|c| c.steps.as_slice())
        .unwrap_or_default();
    let total = steps.len();
    let Some(step) = steps.get(index.max(0) as usize) else {
        return format!("step {index}/{total}: all steps done");
    };
    let what = if let Some(w) = step.set_weight {
        format!("setWeight {w}")
    } else if let Some(p) = &step.pause {
        match &p.duration {
            Some(serde_json::Value::String(d)) => format!("pause {d}"),
            Some(serde_json::Value::Number(n)) => format!("pause {n}s"),
            _ => "pause until promoted".into(),
        }
    } else if step.analysis.is_some() {
        "analysis".into()
    } else {
        "step".into()
    };
    format!("step {}/{total}: {what}", index + 1)
}
