//! Named checks and the judgements the scenarios share: AnalysisRuns, error rate, who
//! answers at the end, a version's share while a weight holds.

use super::model::Check;
use super::watch::{Observation, Watch, run_completed};
use crate::traffic::{Sample, Window, window};
use std::time::Instant;

/// The checks of one scenario, in the order they were decided; each check's duration is
/// the time since the previous decision.
pub struct Checks {
    origin: Instant,
    last_ms: u64,
    pub list: Vec<Check>,
}

impl Checks {
    pub fn new(origin: Instant) -> Checks {
        Checks {
            origin,
            last_ms: 0,
            list: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        name: impl Into<String>,
        passed: bool,
        detail: impl Into<String>,
    ) -> bool {
        let now = self.origin.elapsed().as_millis() as u64;
        self.list.push(Check {
            name: name.into(),
            passed,
            detail: detail.into(),
            duration_ms: now.saturating_sub(self.last_ms),
        });
        self.last_ms = now;
        passed
    }

    pub fn all_passed(&self) -> bool {
        self.list.iter().all(|c| c.passed)
    }
}

/// "12.3s" on the scenario's clock.
pub fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The AnalysisRuns of this scenario (not those of earlier releases) first seen in
/// `[from_ms, to_ms)`, with their last phase.
pub fn runs_between(watch: &Watch, from_ms: u64, to_ms: u64) -> Vec<(String, String)> {
    let last = watch.history.last();
    watch
        .runs_first_seen
        .iter()
        .filter(|(_, seen)| **seen >= from_ms && **seen < to_ms)
        .map(|(name, _)| {
            let phase = last
                .and_then(|o| o.analysis_runs.get(name))
                .cloned()
                .unwrap_or_else(|| "deleted".into());
            (name.clone(), phase)
        })
        .collect()
}

/// Every run Successful (and at least one when `expected`): passed and the detail.
pub fn all_successful(runs: &[(String, String)], expected: bool) -> (bool, String) {
    if runs.is_empty() {
        return if expected {
            (false, "no AnalysisRun was created".into())
        } else {
            (true, "no analysis configured".into())
        };
    }
    let passed = runs.iter().all(|(_, phase)| phase == "Successful");
    let detail = runs
        .iter()
        .map(|(name, phase)| match phase.as_str() {
            p if run_completed(p) => format!("{name} {p}"),
            "" => format!("{name} never started"),
            p => format!("{name} still {p} (never finished)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    (passed, detail)
}

/// The error rate (failed requests / requests) over a window must stay below `limit` %.
pub fn error_rate(samples: &[Sample], from_ms: u64, to_ms: u64, limit: f64) -> (bool, String) {
    let w = window(samples, from_ms, to_ms);
    if w.requests == 0 {
        return (false, "no requests were sent".into());
    }
    let rate = w.error_rate();
    let mut detail = format!(
        "{rate:.2}% ({} of {} requests failed; limit {limit}%)",
        w.errors, w.requests
    );
    if !w.first_failures.is_empty() {
        detail.push_str(&format!("; first: {}", w.first_failures.join("; ")));
    }
    (rate < limit, detail)
}

/// No failed request at all in a window.
pub fn no_failures(samples: &[Sample], from_ms: u64, to_ms: u64) -> (bool, String) {
    let w = window(samples, from_ms, to_ms);
    if w.requests == 0 {
        return (false, "no requests were sent".into());
    }
    if w.errors == 0 {
        (true, format!("0 of {} requests failed", w.requests))
    } else {
        (
            false,
            format!(
                "{} of {} requests failed: {}",
                w.errors,
                w.requests,
                w.first_failures.join("; ")
            ),
        )
    }
}

/// Every successful answer in the window came from `version` (and there were some).
pub fn only_version(w: &Window, version: &str) -> (bool, String) {
    let ok = w.successes();
    if ok == 0 {
        return (
            false,
            format!(
                "no successful answers between {} and {}",
                secs(w.from_ms),
                secs(w.to_ms)
            ),
        );
    }
    let share = w.share(version).unwrap_or(0.0);
    (
        share >= 100.0,
        format!(
            "{version} answered {share:.1}% of {ok} answers between {} and {} ({})",
            secs(w.from_ms),
            secs(w.to_ms),
            w.versions_text()
        ),
    )
}

/// The span during which the Rollout held `weight` as both set and actual weight for the
/// new revision `hash`: (first, last) observation times.
pub fn weight_span(history: &[Observation], hash: &str, weight: i32) -> Option<(u64, u64)> {
    let holds = |o: &Observation| {
        o.current_hash == hash
            && !o.aborted
            && o.set_weight == Some(weight)
            && o.actual_weight == Some(weight)
    };
    let first = history.iter().position(holds)?;
    let last = history[first..]
        .iter()
        .take_while(|o| holds(o))
        .last()
        .map_or(history[first].at_ms, |o| o.at_ms);
    Some((history[first].at_ms, last))
}
