//! The delivery scenarios against a simulated platform: the fake API server with a
//! simulated Argo Rollouts controller, real demo-app processes behind an HTTPS router that
//! splits traffic by the simulated weights. Each scenario passes on a correct simulation
//! and fails, naming the right check, when the simulation misbehaves.

mod scenario_support;
mod support;

use kindling::report::{RecordingReporter, SharedReporter};
use kindling::scenario::model::{EventKind, ScenarioReport};
use kindling::scenario::platform::Profile;
use kindling::scenario::timing::Timing;
use scenario_support::controller::Misbehaviour;
use scenario_support::{FIRST_VERSION, Sim, SimTiming};
use std::time::Duration;

fn timing(deadline: Duration) -> Timing {
    Timing {
        poll: Duration::from_millis(100),
        baseline: Duration::from_millis(800),
        settle: Duration::from_millis(300),
        tail: Duration::from_millis(800),
        rollout_deadline: deadline,
        stable_return_bound: Duration::from_secs(2),
        pause_window: Duration::from_millis(800),
        rate: 50,
    }
}

fn reporter() -> SharedReporter {
    RecordingReporter::new()
}

fn failed(report: &ScenarioReport) -> Vec<String> {
    report.checks.iter().filter(|c| !c.passed).map(|c| c.name.clone()).collect()
}

fn show(report: &ScenarioReport) -> String {
    report
        .checks
        .iter()
        .map(|c| format!("{} {}: {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_passes_every_step_on_a_correct_controller() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else { return };
    let t = timing(Duration::from_secs(30));
    let report = kindling::scenario::canary::run(&sim, &t, Profile::Fast, &reporter()).await;
    assert!(report.passed(), "{}", show(&report));
    assert_eq!(report.from_version, FIRST_VERSION);
    assert_eq!(report.to_version, "v1.0.1");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "step 1: set weight 20 reached",
        "step 1: v1.0.1 answered 20% ± 10",
        "step 4: set weight 40 reached",
        "step 7: v1.0.1 answered 60% ± 10",
        "every AnalysisRun Successful",
        "Rollout Healthy with v1.0.1 stable",
        "error rate below 1%",
    ] {
        assert!(names.contains(&expected), "no check {expected:?} in {names:?}");
    }
    let kinds: Vec<EventKind> = report.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Released));
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::AnalysisSuccessful).count(), 3);
    assert!(kinds.contains(&EventKind::Paused));
    assert_eq!(kinds.last(), Some(&EventKind::Healthy));
    let weights: Vec<u32> = report.events.iter().filter_map(|e| e.set_weight).collect();
    assert!(weights.starts_with(&[20]) && weights.contains(&40) && weights.contains(&60), "{weights:?}");
    // The timeline saw both versions and no errors.
    let answered: u32 = report.timeline.iter().map(|s| s.by_version.get("v1.0.1").copied().unwrap_or(0)).sum();
    assert!(answered > 0);
    assert!(report.timeline.iter().all(|s| s.errors == 0));
    assert!(report.diagnostics.is_none());
}
