//! Run reports as `kindling smoke` records them (src/scenario/watch.rs labels, the checks of
//! docs/scenarios.md), with the timing of `--profile fast`: markers seconds or less apart,
//! per-second traffic by version, error rates from 0 to 1 % up to a broken release's 10 %.

use kindling::scenario::model::{
    Check, EventKind, NotStarted, RolloutEvent, RunReport, ScenarioReport, TrafficSecond,
};

fn check(name: &str, passed: bool, detail: &str, duration_ms: u64) -> Check {
    Check {
        name: name.into(),
        passed,
        detail: detail.into(),
        duration_ms,
    }
}

fn event(at_ms: u64, kind: EventKind, label: &str, set_weight: Option<u32>) -> RolloutEvent {
    RolloutEvent {
        at_ms,
        kind,
        label: label.into(),
        set_weight,
    }
}

/// `seconds` of traffic at `rate`: `new_share(s)` percent of the answers from `new`, the
/// rest from `old`, `errors(s)` requests failed (taken from the new version's answers first,
/// as a broken release fails them).
fn traffic(
    seconds: u32,
    rate: u32,
    old: &str,
    new: &str,
    new_share: impl Fn(u32) -> u32,
    errors: impl Fn(u32) -> u32,
) -> Vec<TrafficSecond> {
    (0..seconds)
        .map(|second| {
            let failed = errors(second).min(rate);
            let new_answers = (rate * new_share(second) / 100).saturating_sub(failed);
            let old_answers = rate - failed - new_answers;
            TrafficSecond {
                second,
                requests: rate,
                errors: failed,
                by_version: [(old, old_answers), (new, new_answers)]
                    .into_iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(v, n)| (v.to_string(), n))
                    .collect(),
                p50_ms: 4.0 + f64::from(second % 3),
                p99_ms: 18.0 + f64::from(second % 7),
            }
        })
        .collect()
}

/// The set weight in force at `second`, from the events.
fn weight_at(events: &[RolloutEvent], second: u32) -> u32 {
    events
        .iter()
        .filter(|e| e.at_ms <= u64::from(second) * 1000)
        .filter_map(|e| e.set_weight)
        .next_back()
        .unwrap_or(0)
}

/// staging, 9 steps (setWeight/pause/analysis three times), all passed, with `pause_s`
/// pauses (10 with --profile fast, 60 realistic). Steps, pauses and analyses start within
/// half a second of each other: up to four markers in 6 px.
pub fn canary(pause_s: u64) -> ScenarioReport {
    let mut events = vec![event(
        400,
        EventKind::Released,
        "release v1.0.1 to staging",
        None,
    )];
    let mut at = 2_100;
    for (i, weight) in [20, 40, 60].into_iter().enumerate() {
        let step = i * 3 + 1;
        events.push(event(
            at,
            EventKind::Step,
            &format!("step {step}/9: setWeight {weight}"),
            Some(weight),
        ));
        events.push(event(
            at + 500,
            EventKind::Step,
            &format!("step {}/9: pause {pause_s}s", step + 1),
            Some(weight),
        ));
        events.push(event(
            at + 500,
            EventKind::Paused,
            "paused: CanaryPauseStep",
            None,
        ));
        let pause = pause_s * 1000;
        events.push(event(
            at + 500 + pause,
            EventKind::Step,
            &format!("step {}/9: analysis", step + 2),
            Some(weight),
        ));
        events.push(event(
            at + 11_000 + pause,
            EventKind::AnalysisSuccessful,
            &format!("AnalysisRun demo-app-7c9d8f6b5-3-{} Successful", step + 2),
            None,
        ));
        at += 11_000 + pause;
    }
    events.push(event(
        at,
        EventKind::Step,
        "step 9/9: all steps done",
        Some(100),
    ));
    events.push(event(
        at + 5_600,
        EventKind::Healthy,
        "Healthy (stable 7c9d8f6b5)",
        None,
    ));
    let seconds = (at / 1000 + 9) as u32;
    let timeline = traffic(
        seconds,
        20,
        "v1.0.0",
        "v1.0.1",
        |s| weight_at(&events, s.saturating_sub(1)),
        |_| 0,
    );
    let mut checks = vec![
        check(
            "traffic reaches staging-demo.localhost",
            true,
            "v1.0.0 answered 20 of 20 requests",
            1_020,
        ),
        check(
            "release v1.0.1 to staging",
            true,
            "synced and started in 1.7s",
            1_700,
        ),
    ];
    for (n, weight) in [(1, 20), (4, 40), (7, 60)] {
        checks.push(check(
            &format!("step {n}: set weight {weight} reached"),
            true,
            &format!("set and actual weight {weight} for revision 3"),
            420,
        ));
        checks.push(check(
            &format!("step {n}: v1.0.1 answered {weight}% ± 10"),
            true,
            &format!("v1.0.1 answered {weight}.0% of 140 successful requests"),
            7_000,
        ));
    }
    checks.extend([
        check("every AnalysisRun Successful", true, "3 of 3 Successful", 0),
        check(
            "Rollout Healthy with v1.0.1 stable",
            true,
            "Healthy, stableRS 7c9d8f6b5; the last 5 s all answered by v1.0.1",
            5_600,
        ),
        check(
            "error rate below 1%",
            true,
            "0 of 1,420 requests failed (0.00%)",
            0,
        ),
    ]);
    ScenarioReport {
        name: "canary".into(),
        environment: "staging".into(),
        from_version: "v1.0.0".into(),
        to_version: "v1.0.1".into(),
        duration_ms: u64::from(seconds) * 1000 + 300,
        checks,
        timeline,
        events,
        diagnostics: None,
    }
}

/// production at 100 requests per second: the active Service switches to the preview
/// after promotion. `failed_requests` requests fail around the switch (one per second, so
/// the error rate stays between 0 and 1 %); any failure fails the last check.
pub fn blue_green(failed_requests: u32) -> ScenarioReport {
    let events = vec![
        event(
            300,
            EventKind::Released,
            "release v1.0.1 to production",
            None,
        ),
        event(
            7_400,
            EventKind::AnalysisSuccessful,
            "AnalysisRun demo-app-5d8b7c9f4-2-pre Successful",
            None,
        ),
        event(8_000, EventKind::Paused, "paused: BlueGreenPause", None),
        event(18_000, EventKind::Promoted, "promoted by kindling", None),
        event(
            29_000,
            EventKind::AnalysisSuccessful,
            "AnalysisRun demo-app-5d8b7c9f4-2-post Successful",
            None,
        ),
        event(
            29_500,
            EventKind::Healthy,
            "Healthy (stable 5d8b7c9f4)",
            None,
        ),
    ];
    let timeline = traffic(
        62,
        100,
        "v1.0.0",
        "v1.0.1",
        |s| if s >= 19 { 100 } else { 0 },
        |s| u32::from((18..18 + failed_requests).contains(&s)),
    );
    let zero_failed = failed_requests == 0;
    ScenarioReport {
        name: "blue-green".into(),
        environment: "production".into(),
        from_version: "v1.0.0".into(),
        to_version: "v1.0.1".into(),
        duration_ms: 62_400,
        checks: vec![
            check("traffic reaches prod-demo.localhost", true, "v1.0.0 answered 100 of 100 requests", 1_010),
            check("release v1.0.1 to production", true, "synced and started in 1.2s", 1_200),
            check("preview ready", true, "preview selector on 5d8b7c9f4, 3 available pods", 6_100),
            check("pre-promotion analysis Successful", true, "1 of 1 Successful", 7_100),
            check(
                "Rollout Paused (BlueGreenPause) while the active Service answers v1.0.0",
                true,
                "paused 10.0 s; 1,000 of 1,000 answers from v1.0.0",
                10_000,
            ),
            check("kindling promoted the Rollout", true, "promote patch accepted", 40),
            check("post-promotion analysis Successful", true, "1 of 1 Successful", 11_000),
            check("active Service answers v1.0.1", true, "3,300 of 3,300 answers from v1.0.1", 33_000),
            check(
                "old ReplicaSet scaled down after scaleDownDelaySeconds (30s)",
                true,
                "6b4f8d7c9 reached 0 replicas 30.6 s after the switch",
                30_600,
            ),
            check(
                "zero failed requests across the switch",
                zero_failed,
                &if zero_failed {
                    "0 of 6,200 requests failed".to_string()
                } else {
                    format!(
                        "{failed_requests} of 6,200 requests failed (0.05%), first at 0:18: 503 Service Unavailable"
                    )
                },
                62_000,
            ),
        ],
        timeline,
        events,
        diagnostics: (!zero_failed).then(|| {
            "Rollout production/demo-app: Healthy, stableRS 5d8b7c9f4, activeSelector 5d8b7c9f4, previewSelector 5d8b7c9f4\n\
             Pods:\n  demo-app-5d8b7c9f4-7kq2x  Running  ready 1/1  restarts 0\n  demo-app-5d8b7c9f4-p9w4d  Running  ready 1/1  restarts 0\n\
             Events (newest first):\n  0:18  Normal  SwitchService  Switched selector for service 'demo-app-active' from '6b4f8d7c9' to '5d8b7c9f4'"
                .to_string()
        }),
    }
}

/// staging: a release failing half its requests is aborted, but the broken version keeps
/// answering and the stable one stops: four checks fail.
pub fn broken_release() -> ScenarioReport {
    let abort = "aborted: RolloutAborted: Rollout aborted update to revision 4: Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)";
    let events = vec![
        event(
            500,
            EventKind::Released,
            "release v1.0.2 (error-rate=0.5) to staging",
            None,
        ),
        event(2_000, EventKind::Step, "step 1/9: setWeight 20", Some(20)),
        event(2_500, EventKind::Step, "step 2/9: pause 10s", Some(20)),
        event(2_500, EventKind::Paused, "paused: CanaryPauseStep", None),
        event(12_500, EventKind::Step, "step 3/9: analysis", Some(20)),
        event(
            13_800,
            EventKind::AnalysisFailed,
            "AnalysisRun demo-app-5b7f9c8d4-4-3 Failed",
            None,
        ),
        event(14_300, EventKind::Aborted, abort, Some(0)),
        event(
            48_000,
            EventKind::Released,
            "release v1.0.1 to staging",
            None,
        ),
    ];
    // The broken version keeps its share after the abort (the failure this run shows).
    let timeline = traffic(
        95,
        20,
        "v1.0.1",
        "v1.0.2",
        |s| match s {
            0..3 => 0,
            3..40 => 20,
            _ => 0,
        },
        |s| if (3..40).contains(&s) { 2 } else { 0 },
    );
    ScenarioReport {
        name: "broken-release".into(),
        environment: "staging".into(),
        from_version: "v1.0.1".into(),
        to_version: "v1.0.2".into(),
        duration_ms: 95_200,
        checks: vec![
            check("traffic reaches staging-demo.localhost", true, "v1.0.1 answered 20 of 20 requests", 1_000),
            check("release v1.0.2 (error-rate=0.5) to staging", true, "synced and started in 1.4s", 1_400),
            check("an AnalysisRun ended Failed", true, "demo-app-5b7f9c8d4-4-3 Failed: error-rate 0.52 > 0.01", 11_300),
            check(
                "Rollout aborted (Degraded, RolloutAborted)",
                true,
                "Degraded: RolloutAborted: Rollout aborted update to revision 4",
                500,
            ),
            check(
                "v1.0.1 kept serving",
                false,
                "no answer from v1.0.1 in 3 of 40 seconds (first 0:17)",
                40_000,
            ),
            check(
                "traffic back to 100% v1.0.1 within 15.0s",
                false,
                "v1.0.2 still answered 25.7 s after the abort was seen",
                25_700,
            ),
            check("release v1.0.1 to staging", true, "synced and started in 1.1s", 1_100),
            check(
                "recovered to Healthy on v1.0.1",
                false,
                "still Progressing after 45 s: 0 of 5 pods of 6b4f8d7c9 ready",
                45_000,
            ),
        ],
        timeline,
        events,
        diagnostics: Some(
            "Rollout staging/demo-app: Progressing, message \"more replicas need to be updated\", stableRS 6b4f8d7c9, currentPodHash 6b4f8d7c9\n\
             AnalysisRuns:\n  demo-app-5b7f9c8d4-4-3  Failed  error-rate: Failed (1 of 1 measurements failed)\n    query: sum(rate(http_requests_total{namespace=\"staging\",rollouts_pod_template_hash=\"5b7f9c8d4\",code=~\"5..\"}[30s])) / sum(rate(http_requests_total{namespace=\"staging\",rollouts_pod_template_hash=\"5b7f9c8d4\"}[30s]))\n    0:13  value 0.52  Failed\n\
             Pods:\n  demo-app-6b4f8d7c9-2xk8d  Pending  ready 0/1  0/1 nodes are available: 1 Insufficient cpu\n  demo-app-5b7f9c8d4-h7q2m  Running  ready 1/1  restarts 0\n\
             Events (newest first):\n  1:30  Warning  FailedScheduling  0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available\n  0:14  Warning  RolloutAborted  Rollout aborted update to revision 4"
                .into(),
        ),
    }
}

/// `kindling smoke --profile realistic` where every check passed.
pub fn passing_run() -> RunReport {
    RunReport {
        profile: "realistic".into(),
        ..run(vec![canary(60), blue_green(0)])
    }
}

/// `kindling smoke` with four failed checks in two scenarios.
pub fn failing_run() -> RunReport {
    run(vec![canary(10), blue_green(3), broken_release()])
}

fn run(scenarios: Vec<ScenarioReport>) -> RunReport {
    RunReport {
        profile: "fast".into(),
        started_at: "2026-11-26T07:00:00Z".into(),
        duration_ms: scenarios.iter().map(|s| s.duration_ms).sum(),
        scenarios,
        not_started: None,
    }
}

/// `kindling smoke` with no platform up: no scenario ran.
pub fn not_started_run() -> RunReport {
    RunReport {
        profile: "fast".into(),
        started_at: "2026-11-26T07:00:00Z".into(),
        duration_ms: 35,
        scenarios: vec![],
        not_started: Some(NotStarted {
            error: "the platform is not up: no kubeconfig for cluster \"kindling\" (looked for /home/workshop/.local/share/kindling/kubeconfig-kindling)".into(),
            hints: vec!["run `kindling up` first, or pass --kubeconfig PATH for a cluster kindling set up".into()],
        }),
    }
}

/// The failed checks as the banner names them: (scenario, check).
pub fn failed_checks(report: &RunReport) -> Vec<(String, String)> {
    report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| (s.name.clone(), c.name.clone()))
        })
        .collect()
}
