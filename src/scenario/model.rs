//! What a scenario run produced: named checks, the per-second traffic timeline, and the
//! rollout's events. Scenarios fill it; `report` renders it (table, JSON, JUnit, HTML).

pub use crate::traffic::TrafficSecond;
use serde::{Deserialize, Serialize};

/// One `kindling scenario` or `kindling smoke` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `fast` or `realistic`.
    pub profile: String,
    /// RFC 3339, when the run started.
    pub started_at: String,
    pub duration_ms: u64,
    pub scenarios: Vec<ScenarioReport>,
    /// Why no scenario ran, when the run could not start (no platform, no kubeconfig, bad
    /// configuration): the report files still say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_started: Option<NotStarted>,
}

/// The error that stopped a run before its first scenario, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotStarted {
    pub error: String,
    pub hints: Vec<String>,
}

/// One scenario: what was released where, the checks, and what traffic saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    /// `canary`, `blue-green` or `broken-release`.
    pub name: String,
    /// `dev`, `staging` or `production`.
    pub environment: String,
    /// The version serving before the release.
    pub from_version: String,
    /// The version released.
    pub to_version: String,
    pub duration_ms: u64,
    /// In the order they were decided.
    pub checks: Vec<Check>,
    /// One entry per second since the scenario started (second 0 first).
    pub timeline: Vec<TrafficSecond>,
    /// What the rollout did, in time order.
    pub events: Vec<RolloutEvent>,
    /// When a check failed: what explains it (Rollout, AnalysisRuns with measurements and
    /// queries, pods, events), as text.
    pub diagnostics: Option<String>,
}

/// A named pass/fail with what was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// e.g. "step 2: set weight 40 reached".
    pub name: String,
    pub passed: bool,
    /// What was measured, e.g. "new version answered 38.5% (target 40% ± 10)".
    pub detail: String,
    pub duration_ms: u64,
}

/// Something the rollout did, to mark on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutEvent {
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
    pub kind: EventKind,
    /// e.g. "step 1/8: setWeight 20", "AnalysisRun demo-app-6f9-2 Successful".
    pub label: String,
    /// The set weight from this point on, when the event changes it.
    pub set_weight: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Released,
    Step,
    Paused,
    AnalysisSuccessful,
    AnalysisFailed,
    Promoted,
    Aborted,
    Healthy,
}

impl RunReport {
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.scenarios.iter().flat_map(|s| s.checks.iter())
    }

    /// True only when every check of every scenario passed (and there was at least one).
    pub fn passed(&self) -> bool {
        self.checks().next().is_some() && self.checks().all(|c| c.passed)
    }
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
}
