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
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect()
}

fn show(report: &ScenarioReport) -> String {
    report
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_passes_every_step_on_a_correct_controller() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
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
        assert!(
            names.contains(&expected),
            "no check {expected:?} in {names:?}"
        );
    }
    let kinds: Vec<EventKind> = report.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Released));
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::AnalysisSuccessful)
            .count(),
        3
    );
    assert!(kinds.contains(&EventKind::Paused));
    assert_eq!(kinds.last(), Some(&EventKind::Healthy));
    let weights: Vec<u32> = report.events.iter().filter_map(|e| e.set_weight).collect();
    assert!(
        weights.starts_with(&[20]) && weights.contains(&40) && weights.contains(&60),
        "{weights:?}"
    );
    // The timeline saw both versions and no errors.
    let answered: u32 = report
        .timeline
        .iter()
        .map(|s| s.by_version.get("v1.0.1").copied().unwrap_or(0))
        .sum();
    assert!(answered > 0);
    assert!(report.timeline.iter().all(|s| s.errors == 0));
    assert!(report.diagnostics.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_fails_the_step_whose_weight_is_never_reached() {
    let misbehave = Misbehaviour {
        weight_stuck_at: Some(40),
        ..Default::default()
    };
    let Some(sim) = Sim::start(SimTiming::default(), misbehave).await else {
        return;
    };
    let t = timing(Duration::from_secs(8));
    let report = kindling::scenario::canary::run(&sim, &t, Profile::Fast, &reporter()).await;
    let failed = failed(&report);
    assert!(
        failed.contains(&"step 4: set weight 40 reached".to_string()),
        "{}",
        show(&report)
    );
    let stuck = report
        .checks
        .iter()
        .find(|c| c.name == "step 4: set weight 40 reached")
        .unwrap();
    assert!(stuck.detail.contains("stayed 20"), "{}", stuck.detail);
    // What came before still passed; the end could not be reached.
    let passed = |name: &str| report.checks.iter().any(|c| c.name == name && c.passed);
    assert!(passed("step 1: set weight 20 reached"), "{}", show(&report));
    assert!(
        passed("step 1: v1.0.1 answered 20% ± 10"),
        "{}",
        show(&report)
    );
    assert!(failed.contains(&"Rollout Healthy with v1.0.1 stable".to_string()));
    let diagnostics = report
        .diagnostics
        .as_deref()
        .expect("diagnostics on failure");
    assert!(
        diagnostics.contains("== Rollout staging/demo-app"),
        "{diagnostics}"
    );
    assert!(
        diagnostics.contains("\"currentStepIndex\": 3"),
        "{diagnostics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_fails_when_an_analysis_never_finishes() {
    let misbehave = Misbehaviour {
        analysis_never_finishes: true,
        ..Default::default()
    };
    let Some(sim) = Sim::start(SimTiming::default(), misbehave).await else {
        return;
    };
    let t = timing(Duration::from_secs(6));
    let report = kindling::scenario::canary::run(&sim, &t, Profile::Fast, &reporter()).await;
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "every AnalysisRun Successful")
        .unwrap();
    assert!(!check.passed, "{}", show(&report));
    assert!(
        check.detail.contains("still Running (never finished)"),
        "{}",
        check.detail
    );
    let diagnostics = report.diagnostics.as_deref().unwrap();
    // The AnalysisRun with its query, arguments resolved.
    assert!(diagnostics.contains("Running"), "{diagnostics}");
    assert!(
        diagnostics.contains("namespace=\\\"staging\\\"")
            || diagnostics.contains("namespace=\"staging\""),
        "{diagnostics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_release_is_aborted_and_recovers_on_a_correct_controller() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
    let t = timing(Duration::from_secs(30));
    let report =
        kindling::scenario::broken_release::run(&sim, &t, Profile::Fast, &reporter()).await;
    assert!(report.passed(), "{}", show(&report));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "release v1.0.1 (error-rate=0.5) to staging",
        "an AnalysisRun ended Failed",
        "Rollout aborted (Degraded, RolloutAborted)",
        "v1.0.0 kept serving",
        "traffic back to 100% v1.0.0 within 2.0s",
        "release v1.0.0 to staging",
        "recovered to Healthy on v1.0.0",
    ] {
        assert!(
            names.contains(&expected),
            "no check {expected:?} in {names:?}"
        );
    }
    // The broken version did answer (and fail) before the abort.
    let errors: u32 = report.timeline.iter().map(|s| s.errors).sum();
    assert!(errors > 0);
    let kinds: Vec<EventKind> = report.events.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&EventKind::AnalysisFailed) && kinds.contains(&EventKind::Aborted),
        "{kinds:?}"
    );
    let ro = sim.rollout("staging");
    assert_eq!(ro["status"]["phase"], "Healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_release_fails_when_the_rollout_is_not_aborted() {
    let misbehave = Misbehaviour {
        no_abort: true,
        ..Default::default()
    };
    let Some(sim) = Sim::start(SimTiming::default(), misbehave).await else {
        return;
    };
    let t = timing(Duration::from_secs(6));
    let report =
        kindling::scenario::broken_release::run(&sim, &t, Profile::Fast, &reporter()).await;
    let failed = failed(&report);
    assert!(
        failed.contains(&"Rollout aborted (Degraded, RolloutAborted)".to_string()),
        "{}",
        show(&report)
    );
    assert!(
        failed.contains(&"traffic back to 100% v1.0.0 within 2.0s".to_string()),
        "{}",
        show(&report)
    );
    // The analysis did fail: that check passes; recovery still works.
    let passed = |name: &str| report.checks.iter().any(|c| c.name == name && c.passed);
    assert!(passed("an AnalysisRun ended Failed"), "{}", show(&report));
    assert!(
        passed("recovered to Healthy on v1.0.0"),
        "{}",
        show(&report)
    );
    assert!(report.diagnostics.as_deref().unwrap().contains("Failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_pauses_is_promoted_and_switches_without_errors() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
    let t = timing(Duration::from_secs(30));
    let report = kindling::scenario::blue_green::run(&sim, &t, Profile::Fast, &reporter()).await;
    assert!(report.passed(), "{}", show(&report));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "preview ready",
        "preview prod-demo-preview.localhost answered v1.0.1 during pre-promotion",
        "pre-promotion analysis Successful",
        "Rollout Paused (BlueGreenPause) while the active Service answers v1.0.0",
        "kindling promoted the Rollout",
        "post-promotion analysis Successful",
        "active Service answers v1.0.1",
        "old ReplicaSet scaled down after scaleDownDelaySeconds (2s)",
        "zero failed requests across the switch",
    ] {
        assert!(
            names.contains(&expected),
            "no check {expected:?} in {names:?}"
        );
    }
    // kindling's promote is what moved it: the upstream plugin's patch.
    let promoted = report
        .checks
        .iter()
        .find(|c| c.name == "kindling promoted the Rollout")
        .unwrap();
    assert!(
        promoted
            .detail
            .contains(r#"{"status":{"pauseConditions":null}}"#),
        "{}",
        promoted.detail
    );
    let kinds: Vec<EventKind> = report.events.iter().map(|e| e.kind).collect();
    let paused = kinds.iter().position(|k| *k == EventKind::Paused).unwrap();
    let promoted = kinds
        .iter()
        .position(|k| *k == EventKind::Promoted)
        .unwrap();
    assert!(paused < promoted, "{kinds:?}");
}

/// Pre-promotion analysis judges the requests the preview answered (and fails without any,
/// like the user-traffic template): when nothing reaches the preview host, the scenario says
/// so and the release never gets to the pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_fails_pre_promotion_when_the_preview_host_gets_no_requests_through() {
    let misbehave = Misbehaviour {
        preview_down: true,
        ..Default::default()
    };
    let Some(sim) = Sim::start(SimTiming::default(), misbehave).await else {
        return;
    };
    let t = timing(Duration::from_secs(30));
    let report = kindling::scenario::blue_green::run(&sim, &t, Profile::Fast, &reporter()).await;
    let failed = failed(&report);
    for expected in [
        "preview prod-demo-preview.localhost answered v1.0.1 during pre-promotion",
        "pre-promotion analysis Successful",
    ] {
        assert!(
            failed.iter().any(|f| f == expected),
            "{expected:?} not failed: {}",
            show(&report)
        );
    }
    let runs = sim
        .fake()
        .list("argoproj.io/v1alpha1", "AnalysisRun", Some("production"));
    let pre = runs
        .iter()
        .find(|r| r["metadata"]["name"].as_str().unwrap().ends_with("-pre"))
        .expect("a pre-promotion AnalysisRun");
    assert_eq!(pre["status"]["phase"], "Failed");
    assert!(
        pre["status"]["message"]
            .as_str()
            .unwrap()
            .contains("user-requests"),
        "{pre}"
    );
    assert_eq!(
        sim.rollout("production")["status"]["phase"],
        "Degraded",
        "the release was aborted before promotion"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_fails_on_a_failed_request_at_switch_time() {
    let misbehave = Misbehaviour {
        fail_at_switch: true,
        ..Default::default()
    };
    let Some(sim) = Sim::start(SimTiming::default(), misbehave).await else {
        return;
    };
    let t = timing(Duration::from_secs(30));
    let report = kindling::scenario::blue_green::run(&sim, &t, Profile::Fast, &reporter()).await;
    assert_eq!(
        failed(&report),
        vec!["zero failed requests across the switch".to_string()],
        "{}",
        show(&report)
    );
    let check = report.checks.last().unwrap();
    assert!(check.detail.contains("HTTP 502"), "{}", check.detail);
}

/// `kindling scenario canary` on the simulated platform through the real binary: the real
/// adapter finds the Rollout with the kubeconfig, sends traffic to staging-demo.localhost on
/// `network.https_port` trusting the CA in the data dir, and releases through `kindling
/// release`, which finds no Argo CD Application on this simulated platform: the release
/// check fails, naming why, with exit 1 and the JSON report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_command_drives_the_real_adapter_and_exits_1_on_a_failed_check() {
    // The release connects to Docker before it looks for the Application.
    if support::docker_available().is_none() {
        return;
    }
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let ca_dir = data.path().join("tls/kindling");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::write(ca_dir.join("ca.crt"), &sim.inner.ca_pem).unwrap();
    let port = sim.router_port("staging");
    let kubeconfig = support::with_kind_context(&sim.kubeconfig(), data.path(), "kindling");
    let out = tokio::process::Command::new(support::kindling_bin())
        .args(["scenario", "canary", "--output", "json", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--set", &format!("network.https_port={port}")])
        .arg("--junit")
        .arg(data.path().join("junit.xml"))
        .arg("--report")
        .arg(data.path().join("report.html"))
        .env("KINDLING_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .current_dir(data.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let report: kindling::scenario::model::RunReport = serde_json::from_str(&stdout).unwrap();
    let checks = &report.scenarios[0].checks;
    let names: Vec<(&str, bool)> = checks.iter().map(|c| (c.name.as_str(), c.passed)).collect();
    assert_eq!(
        names,
        vec![
            ("Rollout Healthy before the release", true),
            ("traffic reaches staging-demo.localhost", true),
            ("release v1.0.1 to staging", false),
        ],
        "{stdout}"
    );
    assert!(
        checks[2]
            .detail
            .contains("Application argocd/demo-app-staging does not exist"),
        "{}",
        checks[2].detail
    );
    assert!(stderr.contains("1 of 3 checks failed"), "{stderr}");
    assert!(
        report.scenarios[0]
            .diagnostics
            .as_deref()
            .unwrap()
            .contains("== Rollout staging/demo-app")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_runs_canary_blue_green_and_broken_release_in_order() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
    let t = timing(Duration::from_secs(30));
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let report = kindling::scenario::run::run(
        &sim,
        &kindling::scenario::run::Scenario::SMOKE,
        Profile::Fast,
        &t,
        &reporter,
    )
    .await;
    let all: Vec<String> = report.scenarios.iter().map(show).collect();
    assert!(report.passed(), "{}", all.join("\n---\n"));
    assert_eq!(report.profile, "fast");
    let order: Vec<(&str, &str, &str, &str)> = report
        .scenarios
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.environment.as_str(),
                s.from_version.as_str(),
                s.to_version.as_str(),
            )
        })
        .collect();
    // broken-release starts from what canary left in staging, and recovers to it.
    assert_eq!(
        order,
        vec![
            ("canary", "staging", "v1.0.0", "v1.0.1"),
            ("blue-green", "production", "v1.0.0", "v1.0.1"),
            ("broken-release", "staging", "v1.0.1", "v1.0.2"),
        ]
    );
    // Progress went through the reporter: one step per scenario, each finished.
    let finished: Vec<String> = recording
        .events()
        .into_iter()
        .filter_map(|e| match e {
            kindling::report::Event::StepFinished { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(
        finished,
        [
            "scenario-canary",
            "scenario-blue-green",
            "scenario-broken-release"
        ]
    );
}

/// The generator trusts kindling's CA only (not the system's roots) and resolves the
/// platform's names itself: with another CA every request fails at TLS; with the right one
/// it sends at the set rate, and each answer's version is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_trusts_only_the_given_ca_and_keeps_its_rate() {
    let Some(sim) = Sim::start(SimTiming::default(), Misbehaviour::default()).await else {
        return;
    };
    use kindling::scenario::platform::Platform;
    let target = sim.target("staging").unwrap();
    let origin = std::time::Instant::now();
    let traffic = kindling::traffic::Traffic::start(&target, 20, origin).unwrap();
    // Wait for 40 answers, not for a time; the rate is then read from when each was sent.
    support::until("40 answers", Duration::from_secs(30), || {
        traffic.samples().len() >= 40
    })
    .await;
    let samples = traffic.stop().await;
    let sent: Vec<u64> = samples[..40]
        .iter()
        .map(|s| s.at_ms - samples[0].at_ms)
        .collect();
    // Never faster than 20/s: the k-th request goes at least k × 50 ms after the first (less one
    // interval, for when the first one's task started late).
    for (k, at) in sent.iter().enumerate() {
        assert!(
            *at + 50 >= k as u64 * 50,
            "request {k} sent at {at} ms: {sent:?}"
        );
    }
    // Nor much slower: 40 requests at 20/s take 1.95 s; 4 s leaves room for a busy machine.
    assert!(sent[39] < 4000, "40 requests took {} ms at 20/s", sent[39]);
    assert!(
        samples
            .iter()
            .all(|s| s.status == Some(200) && s.version.as_deref() == Some(FIRST_VERSION))
    );
    let timeline = kindling::traffic::per_second(&samples);
    assert_eq!(timeline[0].by_version[FIRST_VERSION], timeline[0].requests);

    let other = tempfile::tempdir().unwrap();
    let (other_ca, _) = kindling::tls::ca::ensure(other.path(), "other", "local", false).unwrap();
    let mut untrusted = target.clone();
    untrusted.ca_pem = other_ca.cert_pem.clone();
    let traffic = kindling::traffic::Traffic::start(&untrusted, 20, origin).unwrap();
    support::until("3 answers", Duration::from_secs(30), || {
        traffic.samples().len() >= 3
    })
    .await;
    let samples = traffic.stop().await;
    assert!(!samples.is_empty());
    assert!(
        samples.iter().all(|s| s.failed() && s.status.is_none()),
        "{samples:?}"
    );
    assert!(
        samples[0]
            .error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{:?}",
        samples[0].error
    );
}

/// promote, abort and retry — the scenarios' own control path — take effect on a real
/// Rollout served by the real crd-apiserver (upstream CRD, status subresource), with a
/// simulated controller that reads what kindling patched and writes status only through
/// that server's status subresource; the scenarios' watch sees each state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_abort_and_retry_take_effect_through_a_controller_on_the_real_crd_apiserver() {
    use futures::TryStreamExt;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{
        Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    };
    use kube::runtime::WatchStreamExt;
    use serde_json::{Value, json};

    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let Some(crd_file) = support::upstream("argo-rollouts/v1.9.1/crds/rollout-crd.yaml") else {
        return;
    };
    let client = server.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition =
        serde_saphyr::from_str(&std::fs::read_to_string(crd_file).unwrap()).unwrap();
    crds.patch(
        "rollouts.argoproj.io",
        &PatchParams::apply("kindling-test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "production",
        &ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
    );
    let rollout: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "demo-app", "namespace": "production"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "demo-app"}},
            "template": {"metadata": {"labels": {"app": "demo-app"}},
                         "spec": {"containers": [{"name": "demo-app", "image": "localhost:5001/demo-app:v2"}]}},
            "strategy": {"blueGreen": {"activeService": "demo-app", "previewService": "demo-app-canary",
                                       "autoPromotionEnabled": false}}
        }
    }))
    .unwrap();
    // Established can lag: the endpoint answers 404 for a moment.
    for attempt in 0.. {
        match api.create(&PostParams::default(), &rollout).await {
            Ok(_) => break,
            Err(e) if attempt < 100 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("create Rollout: {e}"),
        }
    }

    // The controller: paused at BlueGreenPause; promoted → switch and Healthy; abort →
    // Degraded RolloutAborted; retry (abort cleared) → back to the pause.
    let (paused_tx, paused_rx) = tokio::sync::oneshot::channel();
    let controller = {
        let api = api.clone();
        tokio::spawn(async move {
            let (old, new) = ("6d4b7c9f58", "7f8b6c5d4e");
            let write = |status: Value| {
                let api = api.clone();
                async move {
                    api.patch_status(
                        "demo-app",
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": status})),
                    )
                    .await
                    .unwrap();
                }
            };
            let paused = json!({
                "phase": "Paused", "message": "BlueGreenPause", "observedGeneration": "1",
                "controllerPause": true, "abort": null,
                "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2026-11-26T07:00:00Z"}],
                "stableRS": old, "currentPodHash": new,
                "blueGreen": {"activeSelector": old, "previewSelector": new},
                "replicas": 4, "updatedReplicas": 1, "readyReplicas": 4, "availableReplicas": 4,
                "conditions": null,
            });
            write(paused.clone()).await;
            let _ = paused_tx.send(());
            // Reacts to each change of the Rollout as its watch reports it (its own writes too).
            let changes = kube::runtime::watcher(
                api.clone(),
                kube::runtime::watcher::Config::default().fields("metadata.name=demo-app"),
            )
            .applied_objects();
            let mut changes = std::pin::pin!(changes);
            while let Some(ro) = changes.try_next().await.unwrap() {
                let ro = serde_json::to_value(ro).unwrap();
                let st = &ro["status"];
                if st["abort"] == true && st["phase"] != "Degraded" {
                    write(json!({
                        "phase": "Degraded", "observedGeneration": "1", "pauseConditions": null, "controllerPause": null,
                        "message": "RolloutAborted: Rollout aborted update to revision 2",
                        "conditions": [{"type": "Progressing", "status": "False", "reason": "RolloutAborted",
                                        "message": "Rollout aborted update to revision 2",
                                        "lastTransitionTime": "2026-11-26T07:01:00Z",
                                        "lastUpdateTime": "2026-11-26T07:01:00Z"}],
                    }))
                    .await;
                } else if st["abort"] != true && st["phase"] == "Degraded" {
                    write(paused.clone()).await;
                } else if st["phase"] == "Paused" && st["pauseConditions"].is_null() {
                    write(json!({
                        "phase": "Healthy", "message": null, "controllerPause": null, "observedGeneration": "1",
                        "stableRS": new, "blueGreen": {"activeSelector": new, "previewSelector": new},
                        "updatedReplicas": 3, "availableReplicas": 3, "replicas": 3, "readyReplicas": 3,
                    }))
                    .await;
                }
            }
        })
    };
    struct Abort(tokio::task::JoinHandle<()>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _controller = Abort(controller);
    // The watch's first read is its baseline: start it once the controller has paused.
    paused_rx.await.unwrap();
    let mut watch = kindling::scenario::watch::Watch::new(
        client.clone(),
        "production",
        "demo-app",
        std::time::Instant::now(),
        Duration::from_millis(100),
        Box::new(|_| {}),
    );
    let wait = Duration::from_secs(20);
    // The first read is the baseline (no event): the Rollout waits for promotion.
    let (_, paused) = watch.until(wait, |o| o.paused_for("BlueGreenPause")).await;
    assert!(paused, "never paused");

    kindling::rollout::control::abort(client.clone(), "production", "demo-app")
        .await
        .unwrap();
    let (obs, aborted) = watch.until(wait, |o| o.aborted && o.degraded()).await;
    assert!(aborted, "abort did not take effect: {obs:?}");
    assert!(obs.unwrap().message.starts_with("RolloutAborted"));

    kindling::rollout::control::retry(client.clone(), "production", "demo-app")
        .await
        .unwrap();
    let (obs, paused) = watch
        .until(wait, |o| !o.aborted && o.paused_for("BlueGreenPause"))
        .await;
    assert!(paused, "retry did not take effect: {obs:?}");

    let outcome =
        kindling::rollout::control::promote(client.clone(), "production", "demo-app", false)
            .await
            .unwrap();
    assert_eq!(
        outcome.sent[0].body,
        r#"{"status":{"pauseConditions":null}}"#
    );
    let (obs, done) = watch.until(wait, |o| o.done).await;
    assert!(done, "promote did not take effect: {obs:?}");
    assert_eq!(obs.unwrap().active_hash, "7f8b6c5d4e");
    let kinds: Vec<EventKind> = watch.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Aborted, EventKind::Paused, EventKind::Healthy],
        "{:?}",
        watch.events
    );
    assert!(
        watch.events[0].label.contains("RolloutAborted"),
        "{:?}",
        watch.events[0]
    );
}
