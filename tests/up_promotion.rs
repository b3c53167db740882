//! `kindling up` again while production waits for a manual promotion — what it does after
//! every release: pre-promotion analysis passed, the controller paused the Rollout
//! (BlueGreenPause, autoPromotionEnabled false), and Argo CD v3.5.1 rates it Suspended
//! (resource_customizations/argoproj.io/Rollout/health.lua: phase Paused → Suspended). That
//! environment is settled: `up` succeeds and says how to go on, instead of waiting for Healthy
//! until its timeout. Aborted instead (`kindling rollout abort production`), it is Degraded,
//! and `up` fails naming it. On the simulated kind cluster of tests/up_support: the release
//! goes through `kindling release`, Argo CD syncs it from the artifact, and the simulated
//! Argo Rollouts walks the blue-green gates (AnalysisRuns are not simulated: the test records
//! the pre-promotion run's verdict as the controller does).

mod cluster_support;
mod support;
mod up_support;

use kindling::platform::demo_image::Faults;
use kindling::release::{ReleaseContext, ReleaseRequest};
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
    let Some(mut f) = setup("90s").await else {
        return;
    };
    let (result, recording) = f.up().await;
    up_support::expect_up(result, &recording);
    assert!(!demo_apps_detail(&recording.events()).contains("awaiting promotion"));

    // A release of production: Argo CD syncs it, the controller starts the blue-green and
    // runs pre-promotion analysis.
    let reporter: SharedReporter = RecordingReporter::new();
    let kubeconfig = f.dir.path().join("fake-kubeconfig");
    let context = ReleaseContext::connect(f.settings.clone(), &f.env, Some(&kubeconfig), reporter)
        .await
        .unwrap();
    let released = kindling::release::release(
        &context,
        &ReleaseRequest {
            environment: "production".into(),
            version: "v1.1.0".into(),
            faults: Faults::default(),
            profile: None,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("release failed: {e}"));
    // Nobody calls the preview by itself: the caller is told where to send requests.
    assert_eq!(
        released.preview_url,
        Some(kindling::platform::demo_checks::url(
            &f.settings.config,
            "prod-demo-preview"
        ))
    );
    f.settled().await;
    assert_eq!(
        f.sim.app_status("demo-app-production").unwrap().0,
        "Progressing",
        "pre-promotion analysis runs first"
    );
    f.api
        .patch_status(
            API,
            "Rollout",
            Some("production"),
            "demo-app",
            json!({"blueGreen":
            {"prePromotionAnalysisRunStatus": {"name": "demo-app-2-pre", "status": "Successful"}}}),
        )
        .unwrap();
    f.settled().await;
    let ro = f
        .api
        .get(API, "Rollout", Some("production"), "demo-app")
        .unwrap();
    assert_eq!(
        ro["status"]["pauseConditions"][0]["reason"],
        "BlueGreenPause"
    );
    assert_eq!(
        f.sim.app_status("demo-app-production").unwrap().0,
        "Suspended"
    );

    // Bounded: without the fix this `up` waits for Healthy and fails after these.
    f.settings.config.timeouts.component = std::time::Duration::from_secs(5);
    f.settings.config.timeouts.rollout = std::time::Duration::from_secs(5);
    let (result, recording) = f.up().await;
    up_support::expect_up(result, &recording);
    let detail = demo_apps_detail(&recording.events());
    assert!(
        detail.contains("production: awaiting promotion — `kindling rollout promote production`"),
        "{detail}"
    );
    assert!(!detail.contains("staging: awaiting"), "{detail}");
    let ro = f
        .api
        .get(API, "Rollout", Some("production"), "demo-app")
        .unwrap();
    assert_eq!(
        ro["spec"]["template"]["spec"]["containers"][0]["image"],
        released.image.as_str(),
        "up keeps the release waiting for promotion"
    );

    // Aborted instead: Degraded is not settled.
    let client = kindling::k8s::client_from_kubeconfig(&kubeconfig, None)
        .await
        .unwrap();
    kindling::rollout::control::abort(client, "production", "demo-app")
        .await
        .unwrap();
    f.settled().await;
    assert_eq!(
        f.sim.app_status("demo-app-production").unwrap().0,
        "Degraded"
    );
    let (result, _) = f.up().await;
    let err = result.expect_err("up succeeded with production Degraded");
    let message = err.to_string();
    assert!(
        message.contains("Rollout production/demo-app: Degraded: RolloutAborted"),
        "{message}"
    );

    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}
