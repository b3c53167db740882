//! `blue-green` (production): release the next version under traffic; the preview gets
//! ready and answers the new version on its own host, where the scenario sends traffic too
//! (pre-promotion analysis judges those requests, and fails without any); pre-promotion
//! analysis succeeds, the Rollout pauses (BlueGreenPause) while the active Service still
//! answers the old version; kindling promotes it; post-promotion analysis succeeds; the
//! active Service answers the new version with zero failed requests across the switch; the
//! old ReplicaSet scales down after scaleDownDelaySeconds.

use super::checks::{self, secs};
use super::model::{EventKind, ScenarioReport};
use super::platform::{Faults, Platform, Profile};
use super::session::Session;
use super::timing::Timing;
use crate::report::SharedReporter;
use crate::rollout::api::RolloutApi;
use crate::rollout::control;
use crate::traffic::{Traffic, window};
use std::time::Duration;

pub const NAME: &str = "blue-green";
pub const ENVIRONMENT: &str = "production";
/// Argo Rollouts' default scaleDownDelaySeconds.
const DEFAULT_SCALE_DOWN_DELAY: u64 = 30;
/// Poll granularity allowed when judging "not before scaleDownDelaySeconds".
const SCALE_DOWN_TOLERANCE_MS: u64 = 1000;

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
    let (from, to) = (s.from_version.clone(), s.to_version.clone());
    let initial = s.initial_hash.clone();
    // Users of the preview: pre-promotion analysis judges the requests its pods answered.
    let preview = platform.preview_target(ENVIRONMENT).and_then(|t| {
        Traffic::start(&t, timing.rate, s.origin)
            .map(|traffic| (t.host, traffic))
            .map_err(|e| e.to_string())
    });
    let (last, paused) = s
        .watch
        .until(timing.rollout_deadline, |o| {
            o.paused_for("BlueGreenPause") || o.degraded() || (o.done && o.stable_hash != initial)
        })
        .await;
    let pause_ms = s.now_ms();
    let preview_check = match preview {
        Ok((host, traffic)) => {
            let samples = traffic.stop().await;
            let w = window(&samples, released_ms, pause_ms + 1);
            let answered = w.by_version.get(&to).copied().unwrap_or(0);
            (
                format!("preview {host} answered {to} during pre-promotion"),
                answered > 0,
                format!("{} requests, {}", w.requests, w.versions_text()),
            )
        }
        Err(why) => ("traffic reaches the preview".to_string(), false, why),
    };
    let new_hash = last
        .as_ref()
        .map(|o| o.current_hash.clone())
        .filter(|h| *h != initial)
        .unwrap_or_default();

    let preview = s.watch.history.iter().find(|o| {
        !new_hash.is_empty()
            && o.preview_hash == new_hash
            && o.replica_sets.get(&new_hash).is_some_and(|r| r.1 >= 1)
    });
    match preview {
        Some(o) => {
            let available = o.replica_sets[&new_hash].1;
            s.checks.push(
                "preview ready",
                true,
                format!(
                    "preview {new_hash}: {available} pod(s) available at {}",
                    secs(o.at_ms)
                ),
            );
        }
        None => {
            s.checks.push(
                "preview ready",
                false,
                "the preview ReplicaSet never had an available pod",
            );
        }
    }
    let (name, passed, detail) = preview_check;
    s.checks.push(name, passed, detail);
    let pre = checks::runs_between(&s.watch, released_ms, pause_ms + 1);
    let (passed, detail) = checks::all_successful(&pre, true);
    s.checks
        .push("pre-promotion analysis Successful", passed, detail);

    let paused_name =
        format!("Rollout Paused (BlueGreenPause) while the active Service answers {from}");
    let Some(paused_obs) = last.filter(|o| paused && o.paused_for("BlueGreenPause")) else {
        let detail = s
            .watch
            .history
            .last()
            .map_or("the Rollout could not be read".into(), |o| {
                format!("never paused: {} ({})", o.phase, o.message)
            });
        s.checks.push(paused_name, false, detail);
        return s.finish().await;
    };
    s.watch.follow(timing.pause_window).await;
    let w = window(
        &s.samples(),
        paused_obs.at_ms + timing.settle.as_millis() as u64,
        s.now_ms(),
    );
    let (passed, detail) = checks::only_version(&w, &from);
    s.checks.push(paused_name, passed, detail);

    // kindling promotes, exactly as `kindling rollout promote production` does.
    let promote_ms = s.now_ms();
    let client = s.watch.client().clone();
    match control::promote(client.clone(), &s.watch.namespace, &s.watch.name, false).await {
        Ok(outcome) => {
            let sent: Vec<String> = outcome.sent.iter().map(|p| p.body.clone()).collect();
            s.watch
                .event(EventKind::Promoted, "promoted by kindling", None);
            s.checks.push(
                "kindling promoted the Rollout",
                true,
                format!("sent {}", sent.join(", ")),
            );
        }
        Err(e) => {
            s.checks
                .push("kindling promoted the Rollout", false, e.to_string());
            return s.finish().await;
        }
    }
    let hash = new_hash.clone();
    let (last, done) = s
        .watch
        .until(timing.rollout_deadline, |o| {
            (o.done && o.stable_hash == hash) || o.degraded()
        })
        .await;
    let done_ms = s.now_ms();
    let post = checks::runs_between(&s.watch, promote_ms, u64::MAX);
    let (passed, detail) = checks::all_successful(&post, true);
    s.checks
        .push("post-promotion analysis Successful", passed, detail);

    s.watch.follow(timing.tail).await;
    let active = format!("active Service answers {to}");
    match last {
        Some(o) if done => {
            let (passed, detail) =
                checks::only_version(&window(&s.samples(), done_ms, s.now_ms()), &to);
            s.checks.push(
                active,
                passed,
                format!(
                    "Healthy, stable {} at {}; {detail}",
                    o.stable_hash,
                    secs(o.at_ms)
                ),
            );
        }
        Some(o) => {
            s.checks.push(
                active,
                false,
                format!("{} ({}) at {}", o.phase, o.message, secs(o.at_ms)),
            );
        }
        None => {
            s.checks
                .push(active, false, "the Rollout could not be read");
        }
    }

    // The old ReplicaSet: kept scaleDownDelaySeconds after the switch, then scaled to zero.
    let delay = RolloutApi::new(client, &s.watch.namespace, &s.watch.name)
        .fetch()
        .await
        .ok()
        .and_then(|ro| ro["spec"]["strategy"]["blueGreen"]["scaleDownDelaySeconds"].as_u64())
        .unwrap_or(DEFAULT_SCALE_DOWN_DELAY);
    let switch_ms = s
        .watch
        .history
        .iter()
        .find(|o| o.at_ms >= promote_ms && o.active_hash == new_hash)
        .map(|o| o.at_ms);
    let old = initial.clone();
    let margin = Duration::from_secs(60).min(timing.rollout_deadline);
    let (down, scaled) = s
        .watch
        .until(Duration::from_secs(delay) + margin, |o| {
            o.replica_sets.get(&old).is_none_or(|r| r.0 == 0)
        })
        .await;
    let name = format!("old ReplicaSet scaled down after scaleDownDelaySeconds ({delay}s)");
    match (switch_ms, down) {
        (Some(switch_ms), Some(o)) if scaled => {
            let after = o.at_ms.saturating_sub(switch_ms);
            let early = after + SCALE_DOWN_TOLERANCE_MS < delay * 1000;
            s.checks.push(
                name,
                !early,
                format!("{old} scaled to 0 {} after the switch", secs(after)),
            );
        }
        (None, _) => {
            s.checks.push(
                name,
                false,
                "the active Service never switched to the new version",
            );
        }
        (Some(_), down) => {
            let replicas = down
                .and_then(|o| o.replica_sets.get(&old).map(|r| r.0))
                .unwrap_or(-1);
            s.checks
                .push(name, false, format!("{old} still has {replicas} replicas"));
        }
    }

    let end_ms = s.now_ms();
    let (passed, detail) = checks::no_failures(&s.samples(), released_ms, end_ms);
    s.checks
        .push("zero failed requests across the switch", passed, detail);
    s.finish().await
}
