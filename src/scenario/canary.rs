//! `canary` (staging): release the next version under traffic and prove every step — the
//! set weight is reached and the new version answers that share of traffic (± 10 points),
//! every AnalysisRun ends Successful, the Rollout ends Healthy with the new version stable,
//! and fewer than 1% of requests fail during the rollout.

use super::checks::{self, secs, weight_span};
use super::model::ScenarioReport;
use super::platform::{Faults, Platform, Profile};
use super::session::Session;
use super::timing::Timing;
use super::watch::Observation;
use crate::report::SharedReporter;
use crate::traffic::window;

pub const NAME: &str = "canary";
pub const ENVIRONMENT: &str = "staging";
/// How far the new version's share of traffic may be from the set weight, in points.
pub const SHARE_TOLERANCE: f64 = 10.0;
/// Most requests that may fail during the rollout, in percent.
pub const ERROR_RATE_LIMIT: f64 = 1.0;

pub async fn run<P: Platform>(
    platform: &P,
    timing: &Timing,
    profile: Profile,
    reporter: &SharedReporter,
) -> ScenarioReport {
    let mut s = Session::start(platform, timing, profile, reporter, NAME, ENVIRONMENT).await;
    let Some(released_ms) = s.release_next(Faults::default()).await else {
        return s.finish().await;
    };
    let to = s.to_version.clone();
    let initial = s.initial_hash.clone();
    let (last, done) = s
        .watch
        .until(timing.rollout_deadline, |o| {
            (o.done && o.stable_hash != initial) || o.degraded()
        })
        .await;
    let end_ms = s.now_ms();
    s.watch.follow(timing.tail).await;
    let tail_end = s.now_ms();
    let samples = s.samples();
    let new_hash = last
        .as_ref()
        .map(|o| o.current_hash.clone())
        .filter(|h| *h != initial)
        .unwrap_or_default();

    // Every setWeight step: reached, and the traffic share while it held.
    let steps: Vec<(usize, i32)> = s
        .watch
        .last
        .as_ref()
        .and_then(|snap| snap.rollout.spec.strategy.canary.as_ref())
        .map(|c| {
            c.steps
                .iter()
                .enumerate()
                .filter_map(|(i, step)| step.set_weight.map(|w| (i, w)))
                .collect()
        })
        .unwrap_or_default();
    let has_analysis = s
        .watch
        .last
        .as_ref()
        .and_then(|snap| snap.rollout.spec.strategy.canary.as_ref())
        .is_some_and(|c| c.steps.iter().any(|st| st.analysis.is_some()));
    for (index, weight) in steps {
        let name = format!("step {}: set weight {weight} reached", index + 1);
        match weight_span(&s.watch.history, &new_hash, weight) {
            Some((first, last_ms)) => {
                s.checks.push(
                    name,
                    true,
                    format!(
                        "actual weight {weight} from {} to {}",
                        secs(first),
                        secs(last_ms)
                    ),
                );
                let from = (first + timing.settle.as_millis() as u64).min(last_ms);
                let w = window(&samples, from, last_ms.max(from + 1));
                let share_name = format!(
                    "step {}: {to} answered {weight}% ± {SHARE_TOLERANCE}",
                    index + 1
                );
                match w.share(&to) {
                    Some(share) => {
                        let passed = (share - f64::from(weight)).abs() <= SHARE_TOLERANCE;
                        s.checks.push(
                            share_name,
                            passed,
                            format!(
                                "{to} answered {share:.1}% of {} answers from {} to {} ({}; target {weight}% ± {SHARE_TOLERANCE})",
                                w.successes(),
                                secs(w.from_ms),
                                secs(w.to_ms),
                                w.versions_text()
                            ),
                        );
                    }
                    None => {
                        s.checks.push(
                            share_name,
                            false,
                            format!(
                                "no successful answers from {} to {}",
                                secs(w.from_ms),
                                secs(w.to_ms)
                            ),
                        );
                    }
                }
            }
            None => {
                s.checks.push(
                    name,
                    false,
                    not_reached(&s.watch.history, &new_hash, index, weight),
                );
            }
        }
    }

    let runs = checks::runs_between(&s.watch, released_ms, u64::MAX);
    let (passed, detail) = checks::all_successful(&runs, has_analysis);
    s.checks
        .push("every AnalysisRun Successful", passed, detail);

    let healthy = format!("Rollout Healthy with {to} stable");
    match &last {
        Some(o) if done && o.done => {
            let (passed, detail) = checks::only_version(&window(&samples, end_ms, tail_end), &to);
            s.checks.push(
                healthy,
                passed,
                format!("stable {} at {}; {detail}", o.stable_hash, secs(o.at_ms)),
            );
        }
        Some(o) => {
            s.checks.push(
                healthy,
                false,
                format!("{} ({}) at {}", o.phase, o.message, secs(o.at_ms)),
            );
        }
        None => {
            s.checks
                .push(healthy, false, "the Rollout could not be read");
        }
    }

    let (passed, detail) = checks::error_rate(&samples, released_ms, tail_end, ERROR_RATE_LIMIT);
    s.checks.push(
        format!("error rate below {ERROR_RATE_LIMIT}%"),
        passed,
        detail,
    );
    s.finish().await
}

/// Why a weight was not reached: where the Rollout stood instead.
fn not_reached(history: &[Observation], new_hash: &str, index: usize, weight: i32) -> String {
    if new_hash.is_empty() {
        return "the Rollout never started a new revision".into();
    }
    let at_step: Vec<&Observation> = history
        .iter()
        .filter(|o| o.current_hash == new_hash && o.step_index == Some(index as i32))
        .collect();
    match at_step.last() {
        Some(o) => format!(
            "weight {weight} not reached: at step {} the actual weight stayed {} (set {}) from {} to {}",
            index + 1,
            o.actual_weight.unwrap_or(0),
            o.set_weight.unwrap_or(0),
            secs(at_step[0].at_ms),
            secs(o.at_ms)
        ),
        None => {
            let last = history.last();
            format!(
                "the Rollout never got to step {} (last at step {} with actual weight {}: {} {})",
                index + 1,
                last.and_then(|o| o.step_index)
                    .map_or("-".into(), |i| (i + 1).to_string()),
                last.and_then(|o| o.actual_weight).unwrap_or(0),
                last.map_or("".into(), |o| o.phase.to_string()),
                last.map_or("", |o| o.message.as_str())
            )
        }
    }
}
