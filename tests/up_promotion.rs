//! `kindling up` again while production waits for a manual promotion — what it does after
//! every release: pre-promotion analysis passed, the controller paused the Rollout
//! (BlueGreenPause, autoPromotionEnabled false), and Argo CD v3.5.1 rates it Suspended
//! (resource_customizations/argoproj.io/Rollout/health.lua: phase Paused → Suspended). That
//! environment is settled: `up` succeeds and says how to go on, instead of waiting for Healthy
//! until its timeout. A Degraded one still fails it. On the stand-ins of tests/up_support.

mod cluster_support;
mod support;
mod up_support;

use kindling::report::{Event, RecordingReporter, SharedReporter};
use serde_json::json;
use up_support::setup;

const API: &str = "argoproj.io/v1alpha1";

fn demo_apps_detail(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished { step, detail, .. } if step == "demo-apps" => detail.clone(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("demo-apps did not finish: {events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_production_awaiting_promotion_succeeds_and_says_how_to_promote() {
    let Some(mut f) = setup("180s").await else {
        return;
    };
    let (result, recording) = f.up().await;
    result.unwrap_or_else(|e| panic!("first up failed: {e}: {:?}", recording.events()));
    assert!(!demo_apps_detail(&recording.events()).contains("awaiting promotion"));

    // What the controller and Argo CD report once a release passed pre-promotion.
    let ro = f
        .api
        .get(API, "Rollout", Some("production"), "demo-app")
        .unwrap();
    let generation = ro["metadata"]["generation"].as_i64().unwrap_or(1);
    let stable = ro["status"]["stableRS"].as_str().unwrap().to_string();
    f.api
        .set_status(API, "Rollout", Some("production"), "demo-app", json!({
            "observedGeneration": generation.to_string(),
            "phase": "Paused", "message": "BlueGreenPause",
            "pauseConditions": [{ "reason": "BlueGreenPause", "startTime": "2026-11-26T07:00:00Z" }],
            "controllerPause": true,
            "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
            "stableRS": stable, "currentPodHash": "7b9e21",
            "blueGreen": { "activeSelector": stable, "previewSelector": "7b9e21" }
        }))
        .unwrap();
    let app = f
        .api
        .get(API, "Application", Some("argocd"), "demo-app-production")
        .unwrap();
    let mut status = app["status"].clone();
    status["health"] = json!({ "status": "Suspended", "message": "BlueGreenPause" });
    f.api
        .set_status(
            API,
            "Application",
            Some("argocd"),
            "demo-app-production",
            status.clone(),
        )
        .unwrap();

    // Bounded: without the fix this `up` waits for Healthy and fails after these.
    f.settings.config.timeouts.component = "5s".into();
    f.settings.config.timeouts.rollout = "5s".into();
    let (result, recording) = f.up().await;
    result.unwrap_or_else(|e| panic!("up with production awaiting promotion failed: {e}"));
    let detail = demo_apps_detail(&recording.events());
    assert!(
        detail.contains("production: awaiting promotion — `kindling rollout promote production`"),
        "{detail}"
    );
    assert!(!detail.contains("staging: awaiting"), "{detail}");

    // Aborted instead: Degraded is not settled.
    f.api
        .set_status(API, "Rollout", Some("production"), "demo-app", json!({
            "observedGeneration": generation.to_string(),
            "phase": "Degraded", "message": "RolloutAborted: Rollout aborted update to revision 2",
            "abort": true,
            "replicas": 1, "updatedReplicas": 0, "readyReplicas": 1, "availableReplicas": 1,
            "stableRS": stable, "currentPodHash": "7b9e21",
            "blueGreen": { "activeSelector": stable, "previewSelector": "7b9e21" }
        }))
        .unwrap();
    status["health"] = json!({ "status": "Degraded", "message": "RolloutAborted" });
    f.api
        .set_status(
            API,
            "Application",
            Some("argocd"),
            "demo-app-production",
            status,
        )
        .unwrap();
    let (result, _) = f.up().await;
    let err = result.expect_err("up succeeded with production Degraded");
    assert!(err.to_string().contains("Degraded"), "{err}");

    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}
