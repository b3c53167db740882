//! `broken-release` (staging): release a version that fails half its requests; an
//! AnalysisRun must end Failed, the Rollout must abort (Degraded, RolloutAborted), the
//! stable version must keep serving and take back 100% of traffic within
//! `Timing::stable_return_bound` (15 s on a real cluster: `timing::STABLE_RETURN_BOUND`),
//! then re-releasing the good version must bring the Rollout back to Healthy.

use super::checks::{self, secs};
use super::model::ScenarioReport;
use super::platform::{Faults, Platform, Profile};
use super::session::Session;
use super::timing::Timing;
use crate::report::SharedReporter;
use crate::traffic::{Sample, window};

pub const NAME: &str = "broken-release";
pub const ENVIRONMENT: &str = "staging";
/// The broken version answers this share of requests with HTTP 500.
pub const FAULT_ERROR_RATE: f64 = 0.5;

pub async fn run<P: Platform>(
    platform: &P,
    timing: &Timing,
    profile: Profile,
    reporter: &SharedReporter,
) -> ScenarioReport {
    let mut s = Session::start(platform, timing, profile, reporter, NAME, ENVIRONMENT).await;
    let faults = Faults {
        error_rate: Some(FAULT_ERROR_RATE),
        latency_ms: None,
    };
    let Some(released_ms) = s.release_next(faults).await else {
        return s.finish().await;
    };
    let from = s.from_version.clone();
    let initial = s.initial_hash.clone();
    let (last, _) = s
        .watch
        .until(timing.rollout_deadline, |o| {
            (o.aborted && o.degraded()) || (o.done && o.stable_hash != initial)
        })
        .await;
    let abort_ms = s
        .watch
        .history
        .iter()
        .find(|o| o.at_ms >= released_ms && o.aborted)
        .map(|o| o.at_ms);
    if abort_ms.is_some() {
        // Long enough to see the return to stable and confirm it holds.
        s.watch
            .follow(timing.stable_return_bound + timing.tail)
            .await;
    }
    let judged_until = s.now_ms();
    let samples = s.samples();

    let runs = checks::runs_between(&s.watch, released_ms, u64::MAX);
    let failed: Vec<String> = runs
        .iter()
        .filter(|(_, phase)| phase == "Failed")
        .map(|(name, _)| name.clone())
        .collect();
    let detail = if failed.is_empty() {
        let (_, all) = checks::all_successful(&runs, true);
        format!("no AnalysisRun failed: {all}")
    } else {
        format!("{} Failed", failed.join(", "))
    };
    s.checks
        .push("an AnalysisRun ended Failed", !failed.is_empty(), detail);

    let aborted = "Rollout aborted (Degraded, RolloutAborted)";
    match s
        .watch
        .history
        .iter()
        .find(|o| o.at_ms >= released_ms && o.aborted && o.degraded())
    {
        Some(o) if o.message.contains("RolloutAborted") => {
            s.checks.push(
                aborted,
                true,
                format!("at {}: {}", secs(o.at_ms), o.message),
            );
        }
        Some(o) => {
            s.checks.push(
                aborted,
                false,
                format!("Degraded without RolloutAborted: {}", o.message),
            );
        }
        None => {
            let detail = last
                .as_ref()
                .map_or("the Rollout could not be read".into(), |o| {
                    format!(
                        "never aborted; last {} ({}) at step {}",
                        o.phase,
                        o.message,
                        o.step_index.map_or("-".into(), |i| (i + 1).to_string())
                    )
                });
            s.checks.push(aborted, false, detail);
        }
    }

    let (passed, detail) = kept_serving(&samples, &from, released_ms, judged_until);
    s.checks
        .push(format!("{from} kept serving"), passed, detail);

    let bound = timing.stable_return_bound.as_millis() as u64;
    let back = format!("traffic back to 100% {from} within {}", secs(bound));
    match abort_ms {
        Some(abort_ms) => {
            let (passed, detail) =
                returned_to_stable(&samples, &from, abort_ms, judged_until, bound);
            s.checks.push(back, passed, detail);
        }
        None => {
            s.checks.push(back, false, "the Rollout was never aborted");
        }
    }

    // Recover: the good version again; the controller goes straight back to Healthy.
    let recover_ms = s.now_ms();
    if s.release(&from, Faults::default()).await {
        let (last, done) = s
            .watch
            .until(timing.rollout_deadline, |o| {
                o.done && o.stable_hash == initial && o.current_hash == initial
            })
            .await;
        let healthy_ms = s.now_ms();
        s.watch.follow(timing.tail).await;
        let w = window(&s.samples(), healthy_ms, s.now_ms());
        let name = format!("recovered to Healthy on {from}");
        match last {
            Some(o) if done => {
                let (passed, detail) = checks::only_version(&w, &from);
                s.checks.push(
                    name,
                    passed,
                    format!(
                        "Healthy {} after the release; {detail}",
                        secs(o.at_ms.saturating_sub(recover_ms))
                    ),
                );
            }
            Some(o) => {
                s.checks
                    .push(name, false, format!("{} ({})", o.phase, o.message));
            }
            None => {
                s.checks.push(name, false, "the Rollout could not be read");
            }
        }
    }
    s.finish().await
}

/// The stable version answered in every second of the broken release (none went dark).
fn kept_serving(samples: &[Sample], from: &str, start_ms: u64, end_ms: u64) -> (bool, String) {
    let mut lowest: Option<(u64, f64)> = None;
    let mut dark = Vec::new();
    let mut second = start_ms / 1000 + 1;
    while (second + 1) * 1000 <= end_ms {
        let w = window(samples, second * 1000, (second + 1) * 1000);
        if w.requests > 0 {
            let share = w.share(from).unwrap_or(0.0);
            if share == 0.0 {
                dark.push(second);
            }
            if lowest.is_none_or(|(_, s)| share < s) {
                lowest = Some((second, share));
            }
        }
        second += 1;
    }
    match lowest {
        None => (false, "no traffic during the release".into()),
        Some(_) if !dark.is_empty() => (
            false,
            format!("{from} answered nothing in second(s) {dark:?}"),
        ),
        Some((second, share)) => (
            true,
            format!("{from} answered in every second; lowest share {share:.0}% at {second}s"),
        ),
    }
}

/// After the abort, the last answer not given by `from` (or failed) came within `bound`,
/// and `from` answered after it.
fn returned_to_stable(
    samples: &[Sample],
    from: &str,
    abort_ms: u64,
    end_ms: u64,
    bound: u64,
) -> (bool, String) {
    let after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_ms >= abort_ms && s.at_ms < end_ms)
        .collect();
    let stable = |s: &Sample| !s.failed() && s.version.as_deref() == Some(from);
    let last_other = after.iter().rev().find(|s| !stable(s)).map(|s| s.at_ms);
    let confirmed = after
        .iter()
        .filter(|s| s.at_ms >= abort_ms + bound && stable(s))
        .count();
    match last_other {
        Some(at) if at > abort_ms + bound => (
            false,
            format!(
                "an answer not from {from} (or a failure) {} after the abort",
                secs(at - abort_ms)
            ),
        ),
        _ if confirmed == 0 => (
            false,
            format!(
                "no answers from {from} after {} past the abort",
                secs(bound)
            ),
        ),
        Some(at) => (
            true,
            format!(
                "100% {from} from {} after the abort ({confirmed} answers since the bound)",
                secs(at - abort_ms)
            ),
        ),
        None => (
            true,
            format!("100% {from} right from the abort ({confirmed} answers since the bound)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at_ms: u64, version: &str, status: u16) -> Sample {
        Sample {
            at_ms,
            latency_ms: 1.0,
            status: Some(status),
            version: Some(version.into()),
            error: None,
        }
    }

    #[test]
    fn the_return_to_stable_is_judged_against_the_bound() {
        // Abort at 1000 ms, bound 2000 ms.
        let mut samples: Vec<Sample> = (0..50).map(|i| at(i * 100, "v1", 200)).collect();
        samples.push(at(1500, "v2", 500));
        let (passed, detail) = returned_to_stable(&samples, "v1", 1000, 5000, 2000);
        assert!(passed, "{detail}");
        assert!(detail.contains("from 0.5s after the abort"), "{detail}");
        samples.push(at(3500, "v2", 200));
        let (passed, detail) = returned_to_stable(&samples, "v1", 1000, 5000, 2000);
        assert!(!passed);
        assert!(detail.contains("2.5s after the abort"), "{detail}");
        // Nothing answered after the bound: not proven.
        let (passed, _) = returned_to_stable(&samples[..10], "v1", 0, 5000, 2000);
        assert!(!passed);
    }

    #[test]
    fn the_stable_version_must_answer_in_every_second() {
        let mut samples: Vec<Sample> = (0..30).map(|i| at(i * 100, "v1", 200)).collect();
        assert!(kept_serving(&samples, "v1", 0, 3000).0);
        samples.retain(|s| s.at_ms < 2000);
        samples.extend((20..30).map(|i| at(i * 100, "v2", 200)));
        let (passed, detail) = kept_serving(&samples, "v1", 0, 3000);
        assert!(!passed);
        assert!(detail.contains("[2]"), "{detail}");
    }
}
