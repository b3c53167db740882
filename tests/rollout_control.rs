//! promote / abort / retry / restart on a real Rollout served by the real crd-apiserver
//! (upstream Argo Rollouts v1.9.1 CRDs, real status subresource), with every patch body
//! recorded on its way out and compared with what the upstream plugin sends.

mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kindling::rollout::api::{RolloutApi, RolloutTarget};
use kindling::rollout::control::{self, Action, SentPatch};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Wraps the real target and records each (subresource, body) exactly as handed to the wire.
struct Recording<'a> {
    inner: &'a RolloutApi,
    sent: Mutex<Vec<(Option<&'static str>, String)>>,
}

impl RolloutTarget for Recording<'_> {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn get(&self) -> Result<Value, kube::Error> {
        self.inner.get().await
    }
    async fn merge_patch(
        &self,
        sub: Option<&'static str>,
        body: &str,
    ) -> Result<Value, kube::Error> {
        self.sent.lock().unwrap().push((sub, body.to_string()));
        self.inner.merge_patch(sub, body).await
    }
}

impl Recording<'_> {
    fn take(&self) -> Vec<(Option<&'static str>, String)> {
        std::mem::take(&mut self.sent.lock().unwrap())
    }
}

fn rollouts(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
    )
}

async fn install_crds(client: &kube::Client) {
    install_crd(client, "rollout-crd.yaml").await;
}

async fn install_crd(client: &kube::Client, file: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let path = support::upstream(&format!("argo-rollouts/v1.9.1/crds/{file}")).unwrap();
    let crd: CustomResourceDefinition =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = crd.metadata.name.clone().unwrap();
    crds.patch(
        &name,
        &PatchParams::apply("kindling-test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    support::crds::until_established(client, &name).await;
}

fn canary_rollout(name: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": "localhost:5001/demo-app:2"}]}},
            "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 60},
                {"analysis": {"templates": [{"templateName": "error-rate"}]}}, {"pause": {"duration": "30s"}}
            ]}}
        }
    })
}

async fn create(api: &Api<DynamicObject>, ro: Value) {
    let obj: DynamicObject = serde_json::from_value(ro).unwrap();
    // Right after Established the endpoint may answer 404 for a moment.
    for attempt in 0.. {
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => return,
            Err(e) if attempt < 50 => {
                eprintln!("create: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("create Rollout: {e}"),
        }
    }
}

/// Writes status the way the controller does: through the status subresource.
async fn write_status(api: &Api<DynamicObject>, name: &str, status: Value) {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap();
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Value {
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

fn generation(ro: &Value) -> i64 {
    ro["metadata"]["generation"].as_i64().unwrap()
}

fn sent(sub: Option<&'static str>, body: &str) -> (Option<&'static str>, String) {
    (sub, body.to_string())
}

#[tokio::test]
async fn promote_abort_retry_restart_change_a_real_rollout_as_the_plugin_does() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let client = server.client().await;
    install_crds(&client).await;
    let ns = "staging";
    let api = rollouts(&client, ns);

    // 1. Paused at a canary pause step by the controller: promote clears the pause conditions
    //    only (the controller advances the step); the spec is not touched.
    create(&api, canary_rollout("paused")).await;
    let paused_status = json!({
        "phase": "Paused", "message": "CanaryPauseStep", "observedGeneration": "1",
        "currentStepIndex": 1, "controllerPause": true,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-26T04:00:00Z"}],
        "stableRS": "6d4b7c9f58", "currentPodHash": "7f8b6c5d4e",
        "replicas": 5, "updatedReplicas": 1, "readyReplicas": 5, "availableReplicas": 5
    });
    write_status(&api, "paused", paused_status.clone()).await;
    let target = RolloutApi::new(client.clone(), ns, "paused");
    let rec = Recording {
        inner: &target,
        sent: Mutex::new(Vec::new()),
    };
    let outcome = control::run(&rec, Action::Promote).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(
            Some("status"),
            r#"{"status":{"pauseConditions":null}}"#
        )]
    );
    assert_eq!(
        outcome.sent,
        [SentPatch {
            subresource: Some("status"),
            body: r#"{"status":{"pauseConditions":null}}"#.into()
        }]
    );
    let ro = get(&api, "paused").await;
    let mut expected = paused_status.clone();
    expected.as_object_mut().unwrap().remove("pauseConditions");
    assert_eq!(ro["status"], expected);
    assert_eq!(generation(&ro), 1, "status patches do not touch the spec");
    assert_eq!(
        outcome.rollout.unwrap()["status"],
        expected,
        "the server's answer is returned"
    );

    // 2. A canary not paused (running the analysis step 3): promote skips to step 4.
    create(&api, canary_rollout("analysing")).await;
    let analysing_status = json!({
        "phase": "Progressing", "message": "", "observedGeneration": "1", "currentStepIndex": 3,
        "stableRS": "6d4b7c9f58", "currentPodHash": "7f8b6c5d4e",
        "replicas": 5, "updatedReplicas": 3, "readyReplicas": 5, "availableReplicas": 5
    });
    write_status(&api, "analysing", analysing_status.clone()).await;
    let target = RolloutApi::new(client.clone(), ns, "analysing");
    let rec = Recording {
        inner: &target,
        sent: Mutex::new(Vec::new()),
    };
    control::run(&rec, Action::Promote).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(
            Some("status"),
            r#"{"status":{"pauseConditions":null, "currentStepIndex":4}}"#
        )]
    );
    let mut expected = analysing_status.clone();
    expected["currentStepIndex"] = json!(4);
    assert_eq!(get(&api, "analysing").await["status"], expected);

    // 3. Manually paused (spec.paused) and paused by the controller: status first, then spec.
    api.patch(
        "paused",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"paused": true}})),
    )
    .await
    .unwrap();
    write_status(&api, "paused", paused_status.clone()).await;
    let target = RolloutApi::new(client.clone(), ns, "paused");
    let rec = Recording {
        inner: &target,
        sent: Mutex::new(Vec::new()),
    };
    control::run(&rec, Action::Promote).await.unwrap();
    assert_eq!(
        rec.take(),
        [
            sent(Some("status"), r#"{"status":{"pauseConditions":null}}"#),
            sent(None, r#"{"spec":{"paused":false}}"#),
        ]
    );
    let ro = get(&api, "paused").await;
    assert_eq!(ro["spec"]["paused"], json!(false));
    assert!(ro["status"].get("pauseConditions").is_none());
    assert_eq!(
        generation(&ro),
        3,
        "paused: true then paused: false bumped the generation twice"
    );

    // 4. abort, then retry: status.abort true, then false (merge patch keeps the false).
    let rec = Recording {
        inner: &target,
        sent: Mutex::new(Vec::new()),
    };
    control::run(&rec, Action::Abort).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(Some("status"), r#"{"status":{"abort":true}}"#)]
    );
    assert_eq!(get(&api, "paused").await["status"]["abort"], json!(true));
    control::run(&rec, Action::Retry).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(Some("status"), r#"{"status":{"abort":false}}"#)]
    );
    let ro = get(&api, "paused").await;
    assert_eq!(ro["status"]["abort"], json!(false));
    assert_eq!(
        ro["status"]["currentStepIndex"],
        json!(1),
        "nothing else changed"
    );

    // 5. promote --full while the canary is not stable.
    control::run(&rec, Action::PromoteFull).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(Some("status"), r#"{"status":{"promoteFull":true}}"#)]
    );
    assert_eq!(
        get(&api, "paused").await["status"]["promoteFull"],
        json!(true)
    );

    // 6. restart patches the main resource with the plugin's (multi-line) body.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    control::run(&rec, Action::Restart(at)).await.unwrap();
    assert_eq!(
        rec.take(),
        [sent(
            None,
            "{\n\t\"spec\": {\n\t\t\"restartAt\": \"2026-11-18T11:06:40Z\"\n\t}\n}"
        )]
    );
    assert_eq!(
        get(&api, "paused").await["spec"]["restartAt"],
        json!("2026-11-18T11:06:40Z")
    );

    // 7. A missing Rollout is a NotFound error naming it.
    let missing = RolloutApi::new(client.clone(), ns, "missing");
    let err = control::run(&missing, Action::Abort).await.unwrap_err();
    assert_eq!(err.to_string(), "Rollout staging/missing not found");

    // 8. The public entry points (kube::Client, namespace, name) do the same.
    let out = control::abort(client.clone(), ns, "analysing")
        .await
        .unwrap();
    assert_eq!(out.sent.len(), 1);
    assert_eq!(get(&api, "analysing").await["status"]["abort"], json!(true));
    control::retry(client.clone(), ns, "analysing")
        .await
        .unwrap();
    assert_eq!(
        get(&api, "analysing").await["status"]["abort"],
        json!(false)
    );
}

/// The binary: `kindling rollout promote|abort ENV --kubeconfig` against the same real server.
#[test]
fn the_cli_promotes_and_aborts_through_a_kubeconfig() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(server.client());
    let api = rollouts(&client, "production");
    rt.block_on(async {
        install_crds(&client).await;
        let mut ro = canary_rollout("demo-app");
        ro["spec"]["strategy"] = json!({"blueGreen": {"activeService": "demo-app",
            "previewService": "demo-app-preview", "autoPromotionEnabled": false}});
        create(&api, ro).await;
        write_status(&api, "demo-app", json!({
            "phase": "Paused", "message": "BlueGreenPause", "observedGeneration": "1",
            "controllerPause": true,
            "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2026-11-26T04:00:00Z"}],
            "stableRS": "aaa", "currentPodHash": "bbb",
            "blueGreen": {"activeSelector": "aaa", "previewSelector": "bbb"}
        }))
        .await;
    });
    let data = tempfile::tempdir().unwrap();
    let kubeconfig = support::with_kind_context(&server.kubeconfig(), data.path(), "kindling");
    let kindling = |args: &[&str]| {
        let out = support::kindling()
            .args(args)
            .args([
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--output",
                "json",
            ])
            .env("KINDLING_DATA_DIR", data.path())
            .current_dir(data.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };

    let status = kindling(&["rollout", "status", "production"]);
    assert_eq!(status["status"], "Paused");
    assert_eq!(status["message"], "BlueGreenPause");
    assert_eq!(status["strategy"], "BlueGreen");

    let promoted = kindling(&["rollout", "promote", "production"]);
    assert_eq!(
        promoted["patches"],
        json!([{"subresource": "status", "body": r#"{"status":{"pauseConditions":null}}"#}])
    );
    let ro = rt.block_on(get(&api, "demo-app"));
    assert!(ro["status"].get("pauseConditions").is_none());
    // Cleared but not yet seen by a controller: upstream calls that "waiting for rollout to unpause".
    let status = kindling(&["rollout", "status", "production"]);
    assert_eq!(status["status"], "Progressing");
    assert_eq!(status["message"], "waiting for rollout to unpause");

    let aborted = kindling(&["rollout", "abort", "production"]);
    assert_eq!(
        aborted["patches"][0]["body"],
        r#"{"status":{"abort":true}}"#
    );
    assert_eq!(
        rt.block_on(get(&api, "demo-app"))["status"]["abort"],
        json!(true)
    );
}

/// `rollout status ENV` / `watch` read the Rollout and its AnalysisRuns from the server.
#[tokio::test]
async fn a_live_snapshot_has_the_summary_and_the_rollouts_analysis_runs() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let client = server.client().await;
    install_crds(&client).await;
    install_crd(&client, "analysis-run-crd.yaml").await;
    let api = rollouts(&client, "staging");
    create(&api, canary_rollout("demo-app")).await;
    write_status(
        &api,
        "demo-app",
        json!({
            "phase": "Progressing", "message": "", "observedGeneration": "1", "currentStepIndex": 3,
            "stableRS": "aaa", "currentPodHash": "bbb",
            "replicas": 5, "updatedReplicas": 3, "readyReplicas": 5, "availableReplicas": 5
        }),
    )
    .await;
    let uid = get(&api, "demo-app").await["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AnalysisRun");
    let runs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "staging",
        &ApiResource::from_gvk_with_plural(&gvk, "analysisruns"),
    );
    let owner = json!([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo-app",
                        "uid": uid, "controller": true}]);
    for (name, owner) in [("demo-app-bbb-2-3", owner), ("someone-else", json!([]))] {
        let run: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
            "metadata": {"name": name, "ownerReferences": owner,
                         "annotations": {"rollout.argoproj.io/revision": "2"}},
            "spec": {"metrics": [{"name": "error-rate", "provider": {"prometheus": {"query": "x"}}}]},
            // No status subresource on AnalysisRuns: the controller writes status in place.
            "status": {"phase": "Running", "metricResults": [{"name": "error-rate", "phase": "Running",
                "measurements": [{"phase": "Successful", "value": "[0.002]", "startedAt": "2026-11-26T04:00:00Z"},
                                 {"phase": "Successful", "value": "[0.004]", "startedAt": "2026-11-26T04:00:10Z"}]}]}
        }))
        .unwrap();
        runs.create(&PostParams::default(), &run).await.unwrap();
    }
    let snap = kindling::rollout::live::snapshot(&client, "staging", "demo-app")
        .await
        .unwrap();
    assert_eq!(snap.summary.status, kindling::rollout::Phase::Progressing);
    assert_eq!(snap.summary.step.as_deref(), Some("3/5"));
    assert_eq!(snap.summary.set_weight, Some(60));
    // No core API on this server: ReplicaSets are unknown, so the basic canary's weight is 0.
    assert!(snap.replica_sets.is_empty());
    assert_eq!(snap.summary.actual_weight, Some(0));
    assert_eq!(snap.analysis_runs.len(), 1, "only the Rollout's own runs");
    let run = &snap.analysis_runs[0];
    assert_eq!(
        (run.name.as_str(), run.revision, run.phase.as_str()),
        ("demo-app-bbb-2-3", 2, "Running")
    );
    assert_eq!(run.metrics[0].name, "error-rate");
    assert_eq!(
        run.metrics[0].measurements,
        [
            ("Successful".to_string(), "[0.002]".to_string()),
            ("Successful".to_string(), "[0.004]".to_string())
        ]
    );
}

/// `rollout watch --exit` stops with 0 once the Rollout is done, and with 1 when Degraded.
#[test]
fn watch_exits_when_the_rollout_is_done_or_degraded() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(server.client());
    let api = rollouts(&client, "default");
    rt.block_on(async {
        install_crds(&client).await;
        create(&api, canary_rollout("demo-app")).await;
        write_status(
            &api,
            "demo-app",
            json!({
                "phase": "Healthy", "message": "", "observedGeneration": "1", "currentStepIndex": 5,
                "stableRS": "bbb", "currentPodHash": "bbb",
                "replicas": 5, "updatedReplicas": 5, "readyReplicas": 5, "availableReplicas": 5
            }),
        )
        .await;
    });
    let data = tempfile::tempdir().unwrap();
    let kubeconfig = support::with_kind_context(&server.kubeconfig(), data.path(), "kindling");
    let watch = || {
        support::kindling()
            .args([
                "rollout",
                "watch",
                "dev",
                "--exit",
                "--interval",
                "1",
                "--no-color",
            ])
            .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
            .env("KINDLING_DATA_DIR", data.path())
            .current_dir(data.path())
            .output()
            .unwrap()
    };
    let out = watch();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Healthy"), "{stdout}");
    assert!(stdout.contains("  Step:         5/5\n"), "{stdout}");
    assert!(stdout.contains("[████████████████████] 100"), "{stdout}");

    rt.block_on(write_status(
        &api,
        "demo-app",
        json!({
            "phase": "Degraded", "message": "RolloutAborted: Rollout aborted update to revision 2",
            "abort": true, "currentPodHash": "ccc"
        }),
    ));
    let out = watch();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Rollout default/demo-app is Degraded: RolloutAborted: Rollout aborted update to revision 2"),
        "{stderr}"
    );
}
