//! The status interpreter against upstream's own fixtures (expected values from what the
//! upstream plugin prints for them, and every case of Argo CD's Rollout health check) and
//! small Rollouts written like each controller era.

mod support;

use kindling::rollout::status::{is_done, phase};
use kindling::rollout::{Phase, ReplicaSetCount, Rollout, RolloutSummary, StrategyKind, load_file};
use serde_json::json;

fn fixture(name: &str) -> Option<RolloutSummary> {
    let path = support::upstream(&format!("argo-rollouts/v1.9.1/testdata/{name}"))?;
    let ro = load_file(&path).unwrap();
    Some(RolloutSummary::new(&ro, &[]))
}

fn summary(ro: serde_json::Value) -> RolloutSummary {
    RolloutSummary::new(&Rollout::from_value(&ro).unwrap(), &[])
}

#[test]
fn canary_rollout_fixture_is_degraded_by_the_progress_deadline() {
    let Some(s) = fixture("canary-rollout.yaml") else {
        return;
    };
    assert_eq!(s.name, "canary-demo");
    assert_eq!(s.namespace, "jesse-test");
    assert_eq!(s.strategy, Some(StrategyKind::Canary));
    assert_eq!(s.status, Phase::Degraded);
    assert_eq!(
        s.message,
        "ProgressDeadlineExceeded: ReplicaSet \"canary-demo-65fb5ffc84\" has timed out progressing."
    );
    assert_eq!(s.step.as_deref(), Some("0/8"));
    assert_eq!(s.set_weight, Some(20));
    assert_eq!(s.actual_weight, Some(0));
}

#[test]
fn bluegreen_rollout_fixture_is_paused_for_promotion() {
    let Some(s) = fixture("bluegreen-rollout.yaml") else {
        return;
    };
    assert_eq!(s.name, "bluegreen-demo");
    assert_eq!(s.strategy, Some(StrategyKind::BlueGreen));
    assert_eq!(s.status, Phase::Paused);
    assert_eq!(s.message, "BlueGreenPause");
    assert_eq!(s.step, None);
    assert_eq!(s.set_weight, None);
    assert_eq!(s.actual_weight, None);
}

#[test]
fn canary_demo_fixture_needs_more_updated_replicas() {
    let Some(s) = fixture("canary-demo.yaml") else {
        return;
    };
    assert_eq!(s.name, "canary-demo");
    assert_eq!(s.strategy, Some(StrategyKind::Canary));
    assert_eq!(s.status, Phase::Progressing);
    assert_eq!(s.message, "more replicas need to be updated");
    assert_eq!(s.step.as_deref(), Some("0/1"));
    assert_eq!(s.set_weight, Some(0));
    assert_eq!(s.actual_weight, Some(0));
}

/// A canary at step `index` of [setWeight 20, pause, setWeight 60, pause 30s], in the shape a
/// v1.x controller writes: numeric observedGeneration, phase and message.
fn canary(generation: i64, status: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "demo-app", "namespace": "staging", "generation": generation, "uid": "u1"},
        "spec": {
            "replicas": 5,
            "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {"duration": "30s"}}
            ]}},
            "template": {"spec": {"containers": [{"name": "app", "image": "demo:2"}]}}
        },
        "status": status,
    })
}

#[test]
fn modern_controller_phase_and_message_are_used_when_the_generation_is_observed() {
    let s = summary(canary(
        4,
        json!({
            "observedGeneration": "4", "phase": "Paused", "message": "CanaryPauseStep",
            "currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}],
            "controllerPause": true,
            "replicas": 6, "updatedReplicas": 1, "availableReplicas": 6,
            "stableRS": "aaa", "currentPodHash": "bbb"
        }),
    ));
    assert_eq!(
        (s.status, s.message.as_str()),
        (Phase::Paused, "CanaryPauseStep")
    );
    assert_eq!(s.step.as_deref(), Some("1/4"));
    assert_eq!(s.set_weight, Some(20));
    assert_eq!(
        s.actual_weight,
        Some(0),
        "no ReplicaSets known, no traffic routing"
    );

    // The controller's word wins over the client-side calculation (which would say
    // "more replicas need to be updated" here).
    let s = summary(canary(
        4,
        json!({"observedGeneration": 4, "phase": "Healthy", "message": "",
               "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
    ));
    assert_eq!((s.status, s.message.as_str()), (Phase::Healthy, ""));
}

#[test]
fn a_lagging_observed_generation_means_the_phase_is_stale() {
    // The spec changed (generation 5) but the controller last saw 4: its Healthy is stale.
    let ro = Rollout::from_value(&canary(
        5,
        json!({"observedGeneration": "4", "phase": "Healthy", "message": "",
               "replicas": 5, "updatedReplicas": 5, "availableReplicas": 5,
               "stableRS": "aaa", "currentPodHash": "aaa", "currentStepIndex": 4}),
    ))
    .unwrap();
    assert_eq!(
        phase(&ro),
        (
            Phase::Progressing,
            "waiting for rollout spec update to be observed".into()
        )
    );
    assert!(!is_done(&ro));
    // Once observed, the same status is done.
    let mut observed = ro.clone();
    observed.status.observed_generation = Some("5".into());
    assert_eq!(phase(&observed), (Phase::Healthy, String::new()));
    assert!(is_done(&observed));
    // Healthy and observed but stable is not yet the desired ReplicaSet: not done.
    let mut not_stable = observed.clone();
    not_stable.status.stable_rs = "zzz".into();
    assert!(!is_done(&not_stable));
    // Pre-v0.10 controllers wrote a spec hash: not comparable, counts as observed.
    let mut hashed = ro.clone();
    hashed.status.observed_generation = Some("7d595679dd".into());
    assert_eq!(phase(&hashed).0, Phase::Healthy);
}

#[test]
fn without_a_phase_the_status_is_computed_step_by_step() {
    let base = json!({"observedGeneration": "3", "replicas": 5, "updatedReplicas": 5,
                      "availableReplicas": 5, "stableRS": "aaa", "currentPodHash": "bbb",
                      "currentStepIndex": 2});
    let with = |patch: serde_json::Value| {
        let mut status = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            status[k] = v.clone();
        }
        Rollout::from_value(&canary(3, status)).unwrap()
    };
    assert_eq!(
        phase(&with(json!({}))),
        (
            Phase::Progressing,
            "waiting for all steps to complete".into()
        )
    );
    assert_eq!(
        phase(&with(json!({"availableReplicas": 3}))),
        (
            Phase::Progressing,
            "updated replicas are still becoming available".into()
        )
    );
    assert_eq!(
        phase(&with(json!({"replicas": 7}))),
        (
            Phase::Progressing,
            "old replicas are pending termination".into()
        )
    );
    assert_eq!(
        phase(&with(json!({"updatedReplicas": 2}))),
        (
            Phase::Progressing,
            "more replicas need to be updated".into()
        )
    );
    assert_eq!(
        phase(&with(
            json!({"currentPodHash": "aaa", "currentStepIndex": 4})
        )),
        (Phase::Healthy, String::new())
    );
    // Cleared pause conditions the controller has not reacted to yet.
    assert_eq!(
        phase(&with(
            json!({"controllerPause": true, "pauseConditions": null})
        )),
        (Phase::Progressing, "waiting for rollout to unpause".into())
    );
    // A requested restart not yet done.
    let mut restarting = with(json!({"restartedAt": "2026-01-01T00:00:00Z"}));
    restarting.spec.restart_at = Some("2026-01-02T00:00:00Z".into());
    assert_eq!(
        phase(&restarting),
        (Phase::Progressing, "rollout is restarting".into())
    );
    restarting.spec.restart_at = Some("2026-01-01T00:00:00Z".into());
    assert_eq!(phase(&restarting).1, "waiting for all steps to complete");
}

#[test]
fn an_aborted_canary_is_degraded_with_the_abort_reason_and_weight_zero() {
    let s = summary(canary(
        3,
        json!({
            "observedGeneration": "3", "abort": true, "currentStepIndex": 2,
            "conditions": [
                {"type": "Progressing", "status": "False", "reason": "RolloutAborted",
                 "message": "Rollout aborted update to revision 2: Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)"},
                {"type": "Available", "status": "True", "reason": "AvailableReason", "message": "Rollout has minimum availability"}
            ],
            "replicas": 5, "updatedReplicas": 0, "availableReplicas": 5,
            "stableRS": "aaa", "currentPodHash": "bbb"
        }),
    ));
    assert_eq!(s.status, Phase::Degraded);
    assert_eq!(
        s.message,
        "RolloutAborted: Rollout aborted update to revision 2: Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)"
    );
    assert_eq!(s.step.as_deref(), Some("2/4"));
    assert_eq!(s.set_weight, Some(0), "an aborted rollout sets weight 0");
    // InvalidSpec comes first, with its type as the prefix.
    let s = summary(canary(
        3,
        json!({"observedGeneration": "3",
               "conditions": [{"type": "InvalidSpec", "status": "True", "reason": "InvalidSpec",
                               "message": "The Rollout \"demo-app\" is invalid"}]}),
    ));
    assert_eq!(
        (s.status, s.message.as_str()),
        (
            Phase::Degraded,
            "InvalidSpec: The Rollout \"demo-app\" is invalid"
        )
    );
}

#[test]
fn paused_rollouts_name_the_pause() {
    let s = summary(canary(
        3,
        json!({"observedGeneration": "3", "currentStepIndex": 1, "controllerPause": true,
               "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}],
               "replicas": 5, "updatedReplicas": 1, "availableReplicas": 5,
               "stableRS": "aaa", "currentPodHash": "bbb"}),
    ));
    assert_eq!(
        (s.status, s.message.as_str()),
        (Phase::Paused, "CanaryPauseStep")
    );
    let mut manual = canary(3, json!({"observedGeneration": "3"}));
    manual["spec"]["paused"] = json!(true);
    let s = summary(manual);
    assert_eq!(
        (s.status, s.message.as_str()),
        (Phase::Paused, "manually paused")
    );
}

#[test]
fn actual_weight_follows_replica_sets_traffic_routing_and_the_last_step() {
    let status = json!({"observedGeneration": "3", "currentStepIndex": 2, "replicas": 5,
                        "updatedReplicas": 3, "availableReplicas": 5,
                        "stableRS": "aaa", "currentPodHash": "bbb"});
    let ro = Rollout::from_value(&canary(3, status.clone())).unwrap();
    let rs = [
        ReplicaSetCount {
            pod_template_hash: "aaa".into(),
            available: 2,
        },
        ReplicaSetCount {
            pod_template_hash: "bbb".into(),
            available: 3,
        },
    ];
    let s = RolloutSummary::new(&ro, &rs);
    assert_eq!(
        (s.set_weight, s.actual_weight),
        (Some(60), Some(60)),
        "3 of 5 available"
    );

    // With traffic routing: the router's recorded weight, else the set weight.
    let mut routed = canary(3, status.clone());
    routed["spec"]["strategy"]["canary"]["trafficRouting"] =
        json!({"nginx": {"stableIngress": "x"}});
    let s = summary(routed.clone());
    assert_eq!((s.set_weight, s.actual_weight), (Some(60), Some(60)));
    routed["status"]["canary"] = json!({"weights": {"canary": {"weight": 40, "podTemplateHash": "bbb"},
                                                    "stable": {"weight": 60, "podTemplateHash": "aaa"}}});
    assert_eq!(summary(routed).actual_weight, Some(40));

    // Past the last step: everything on the new version.
    let mut done = status.clone();
    done["currentStepIndex"] = json!(4);
    let s = summary(canary(3, done));
    assert_eq!(
        (s.step.as_deref(), s.set_weight, s.actual_weight),
        (Some("4/4"), Some(100), Some(100))
    );
}

#[test]
fn blue_green_progress_messages() {
    let bg = |status: serde_json::Value, post_analysis: bool| {
        let mut strategy = json!({"activeService": "demo-app", "previewService": "demo-app-preview",
                                  "autoPromotionEnabled": false});
        if post_analysis {
            strategy["postPromotionAnalysis"] = json!({"templates": [{"templateName": "smoke"}]});
        }
        let ro = json!({
            "kind": "Rollout", "metadata": {"name": "demo-app", "namespace": "production", "generation": 2},
            "spec": {"replicas": 2, "strategy": {"blueGreen": strategy}},
            "status": status
        });
        summary(ro)
    };
    let base = json!({"observedGeneration": "2", "replicas": 4, "updatedReplicas": 2,
                      "availableReplicas": 4, "stableRS": "aaa", "currentPodHash": "bbb",
                      "blueGreen": {"activeSelector": "aaa", "previewSelector": "bbb"}});
    let s = bg(base.clone(), false);
    assert_eq!(
        (s.status, s.message.as_str()),
        (Phase::Progressing, "active service cutover pending")
    );
    assert_eq!((s.step, s.set_weight, s.actual_weight), (None, None, None));

    let mut switched = base.clone();
    switched["blueGreen"]["activeSelector"] = json!("bbb");
    assert_eq!(
        bg(switched.clone(), true).message,
        "waiting for analysis to complete"
    );
    assert_eq!(
        bg(switched.clone(), false).message,
        "waiting for post-promotion verification to complete"
    );
    switched["blueGreen"]["postPromotionAnalysisRunStatus"] =
        json!({"name": "r", "status": "Successful"});
    assert_eq!(
        bg(switched.clone(), true).message,
        "waiting for post-promotion verification to complete"
    );
    switched["stableRS"] = json!("bbb");
    let s = bg(switched, true);
    assert_eq!((s.status, s.message.as_str()), (Phase::Healthy, ""));
}

#[test]
fn workload_ref_rollouts_have_no_template_and_still_get_a_status() {
    let ro = |annotation: Option<&str>, observed: &str| {
        let mut metadata = json!({"name": "demo-app", "namespace": "dev", "generation": 2});
        if let Some(a) = annotation {
            metadata["annotations"] = json!({"rollout.argoproj.io/workload-generation": a});
        }
        Rollout::from_value(&json!({
            "kind": "Rollout", "metadata": metadata,
            "spec": {"replicas": 2,
                     "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-app"},
                     "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}},
            "status": {"observedGeneration": "2", "workloadObservedGeneration": observed,
                       "phase": "Healthy", "message": "", "currentStepIndex": 2,
                       "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                       "stableRS": "aaa", "currentPodHash": "aaa"}
        }))
        .unwrap()
    };
    let healthy = ro(Some("7"), "7");
    assert!(healthy.spec.workload_ref.is_some());
    let s = RolloutSummary::new(&healthy, &[]);
    assert_eq!(
        (s.status, s.step.as_deref(), s.set_weight, s.actual_weight),
        (Phase::Healthy, Some("2/2"), Some(100), Some(100))
    );
    assert!(is_done(&healthy));
    // The Deployment changed (generation 8) and the controller has not caught up.
    assert_eq!(
        phase(&ro(Some("8"), "7")),
        (
            Phase::Progressing,
            "waiting for rollout spec update to be observed for the reference workload".into()
        )
    );
    assert_eq!(phase(&ro(None, "7")).0, Phase::Healthy);
}

#[test]
fn json_keys_are_the_documented_ones() {
    let Some(s) = fixture("canary-rollout.yaml") else {
        return;
    };
    let v = serde_json::to_value(&s).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "actualWeight",
            "images",
            "message",
            "name",
            "namespace",
            "replicas",
            "setWeight",
            "status",
            "step",
            "strategy"
        ]
    );
    assert_eq!(
        v["replicas"],
        json!({"desired": 5, "current": 6, "updated": 1, "ready": 5, "available": 5})
    );
    assert_eq!(v["strategy"], "Canary");
    assert_eq!(v["status"], "Degraded");
}

#[test]
fn files_that_are_not_rollouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.yaml");
    std::fs::write(
        &path,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
    )
    .unwrap();
    let err = load_file(&path).unwrap_err();
    assert!(err.to_string().contains("its kind is Deployment"), "{err}");
    let json_path = dir.path().join("ro.json");
    std::fs::write(
        &json_path,
        canary(1, json!({"observedGeneration": 1})).to_string(),
    )
    .unwrap();
    assert_eq!(load_file(&json_path).unwrap().metadata.name, "demo-app");
}

#[test]
fn a_rollout_with_no_status_says_so_and_invents_no_progress() {
    let mut ro = canary(1, json!(null));
    for status in [json!(null), json!({})] {
        ro["status"] = status.clone();
        let s = summary(ro.clone());
        assert_eq!(s.status, Phase::Progressing, "{status}");
        assert_eq!(s.message, kindling::rollout::status::NO_STATUS);
        assert_eq!(
            (s.step, s.set_weight, s.actual_weight, s.replicas),
            (None, None, None, None),
            "no weights or counts the controller never wrote"
        );
        assert_eq!(s.images, ["demo:2"]);
    }
    ro.as_object_mut().unwrap().remove("status");
    assert_eq!(summary(ro).message, kindling::rollout::status::NO_STATUS);
}

#[test]
fn an_unexpected_shape_in_one_status_field_keeps_phase_and_message() {
    let ro = Rollout::from_value(&canary(
        3,
        json!({"observedGeneration": 3, "phase": "Degraded", "message": "InvalidSpec",
               "conditions": {}, "pauseConditions": "yes", "replicas": "five",
               "currentStepIndex": 1}),
    ))
    .unwrap();
    assert_eq!(phase(&ro), (Phase::Degraded, "InvalidSpec".into()));
    assert_eq!(ro.status.current_step_index, Some(1), "the rest is read");
    assert_eq!(
        ro.ignored,
        [
            "status.conditions: invalid type: map, expected a sequence",
            "status.pauseConditions: invalid type: string \"yes\", expected a sequence",
            "status.replicas: invalid type: string \"five\", expected i32",
        ]
    );
    // One bad item of a list goes, its siblings stay.
    let ro = Rollout::from_value(&canary(
        3,
        json!({"observedGeneration": 3,
               "conditions": [7, {"type": "InvalidSpec", "status": "True", "message": "bad"}]}),
    ))
    .unwrap();
    assert_eq!(phase(&ro), (Phase::Degraded, "InvalidSpec: bad".into()));
    assert!(Rollout::from_value(&json!("not an object")).is_err());
}

/// Argo CD's health check (health.lua) and kindling name one state differently.
fn argo_cd_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Paused => "Suspended",
        other => other.as_str(),
    }
}

#[test]
fn every_argo_cd_rollout_health_case_gets_the_same_status() {
    let Some(dir) =
        support::upstream("argo-cd/v3.5.1/health/resource_customizations/argoproj.io/Rollout")
    else {
        return;
    };
    let cases: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("health_test.yaml")).unwrap())
            .unwrap();
    let cases = cases["tests"].as_array().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut disagreements = Vec::new();
    for case in cases {
        let input = case["inputPath"].as_str().unwrap();
        let expected = case["healthStatus"]["status"].as_str().unwrap();
        let ro = load_file(&dir.join(input)).unwrap_or_else(|e| panic!("{input}: {e}"));
        let (got, message) = phase(&ro);
        if argo_cd_word(got) != expected {
            disagreements.push(format!(
                "{input}: Argo CD {expected}, kindling {got} ({message})"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
