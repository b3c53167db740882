//! The simulated Argo CD syncs as v3.5.1 does: hooks in their phases (Helm test hooks
//! never), CRDs before their custom resources, custom resources without a served CRD as
//! invalid tasks retried per the Application's retry policy, the last-applied annotation
//! limit without ServerSideApply, pruning, AppProject permissions, and the platform
//! operators' custom resources rated by upstream's Lua checks.

mod support;

use serde_json::{Value, json};
use support::*;

fn job(name: &str, image: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}})
}

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

fn results(c: &Cluster, app: &str) -> Vec<(String, String, String)> {
    let a = c.sim.argocd.application(app).unwrap();
    a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (s("syncPhase"), s("kind"), s("name"))
        })
        .collect()
}

#[tokio::test]
async fn helm_install_hooks_run_in_presync_and_postsync_and_test_hooks_never_run() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let policy = "before-hook-creation,hook-succeeded";
    let test_pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "chart-test",
        "annotations": {"helm.sh/hook": "test", "helm.sh/hook-delete-policy": policy}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "bats/bats:1.14.0"}]}});
    c.deploy(application("hooks", "hooks", &[], Value::Null), vec![
        job("migrate", "busybox:1.37", json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": policy})),
        config_map("settings"),
        job("announce", "busybox:1.37", json!({"helm.sh/hook": "post-install", "helm.sh/hook-weight": "1"})),
        test_pod,
    ]);
    let (health, sync, phase, message) = c.settled("hooks").await;
    assert_eq!(
        (health.as_str(), sync.as_str(), phase.as_str()),
        ("Healthy", "Synced", "Succeeded"),
        "{message}"
    );
    let order: Vec<(String, String, String)> = results(&c, "hooks");
    let at = |kind: &str, name: &str| order.iter().position(|(_, k, n)| k == kind && n == name);
    assert!(
        at("Job", "migrate") < at("ConfigMap", "settings")
            && at("ConfigMap", "settings") < at("Job", "announce"),
        "{order:?}"
    );
    assert_eq!(order[at("Job", "migrate").unwrap()].0, "PreSync");
    assert_eq!(order[at("Job", "announce").unwrap()].0, "PostSync");
    assert!(
        at("Pod", "chart-test").is_none(),
        "a test hook is no sync task"
    );
    assert!(
        c.api
            .get("v1", "Pod", Some("hooks"), "chart-test")
            .is_none(),
        "and never created"
    );
    // hook-succeeded deletes the hook; without a policy it stays (BeforeHookCreation only).
    assert!(
        c.api
            .get("batch/v1", "Job", Some("hooks"), "migrate")
            .is_none()
    );
    let announce = c
        .api
        .get("batch/v1", "Job", Some("hooks"), "announce")
        .unwrap();
    assert!(
        announce["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "hook finalizer removed"
    );
}

#[tokio::test]
async fn a_presync_hook_that_cannot_start_holds_the_sync_before_any_resource() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("held", "held", &[], Value::Null),
        vec![
            job(
                "setup",
                "registry.example.test/setup:1",
                json!({"argocd.argoproj.io/hook": "PreSync"}),
            ),
            config_map("settings"),
        ],
    );
    let (_, sync, phase, message) = c.settled("held").await;
    assert_eq!((sync.as_str(), phase.as_str()), ("OutOfSync", "Running"));
    assert_eq!(message, "waiting for completion of hook batch/Job/setup");
    assert!(
        c.api
            .get("v1", "ConfigMap", Some("held"), "settings")
            .is_none()
    );
}

fn crd(group: &str, kind: &str, plural: &str, scope: &str, description_bytes: usize) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": scope,
                 "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "description": "x".repeat(description_bytes),
                                                    "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn widget(name: &str) -> Value {
    json!({"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 1}})
}

#[tokio::test]
async fn a_crd_in_the_same_application_is_applied_before_its_custom_resources() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("widgets", "widgets", &[], Value::Null),
        vec![
            widget("w"),
            crd("example.test", "Widget", "widgets", "Namespaced", 10),
        ],
    );
    let (_, sync, phase, message) = c.settled("widgets").await;
    assert_eq!(
        (sync.as_str(), phase.as_str()),
        ("Synced", "Succeeded"),
        "{message}"
    );
    let order = results(&c, "widgets");
    assert!(
        order.iter().position(|r| r.1 == "CustomResourceDefinition")
            < order.iter().position(|r| r.1 == "Widget")
    );
}

#[tokio::test]
async fn a_custom_resource_whose_crd_is_not_served_fails_the_sync_and_is_retried_until_it_is() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let retry =
        json!({"limit": 3, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}});
    c.deploy(
        application("early", "early", &[], retry.clone()),
        vec![widget("w"), config_map("settings")],
    );
    // The first attempt fails and a retry is scheduled.
    let retrying = c
        .sim
        .until(|| {
            let (_, _, phase, message) = c.state("early");
            (phase == "Running" && message.contains("Retrying attempt #1")).then_some(message)
        })
        .await
        .expect("a retry is scheduled");
    assert!(retrying.starts_with("one or more synchronization tasks are not valid: failed to discover server resources for group version example.test/v1: the server could not find the requested resource"), "{retrying}");
    // The CRD arrives (another Application installs it): a retry then succeeds.
    c.deploy(
        application("crds", "crds", &[], Value::Null),
        vec![crd("example.test", "Widget", "widgets", "Namespaced", 10)],
    );
    let (_, sync, phase, message) = c.settled("early").await;
    assert_eq!(
        (sync.as_str(), phase.as_str()),
        ("Synced", "Succeeded"),
        "{message}"
    );

    // Without the CRD, the retries run out: the operation fails, and auto-sync does not try the
    // same revision again (a SyncError condition says why).
    c.deploy(
        application("never", "never", &[], json!({"limit": 2})),
        vec![json!({"apiVersion": "nowhere.test/v1", "kind": "Gadget", "metadata": {"name": "g"}})],
    );
    let (_, sync, phase, message) = c.settled("never").await;
    assert_eq!((sync.as_str(), phase.as_str()), ("OutOfSync", "Failed"));
    assert!(message.ends_with("(retried 2 times)."), "{message}");
    let app = c.sim.argocd.application("never").unwrap();
    let condition = &app["status"]["conditions"][0];
    assert_eq!(condition["type"], "SyncError");
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed last sync attempt to [1.0."),
        "{condition}"
    );
}

#[tokio::test]
async fn a_crd_over_the_last_applied_annotation_limit_needs_server_side_apply() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let big = crd("example.test", "Widget", "widgets", "Namespaced", 270_000);
    c.deploy(
        application("csa", "csa", &[], json!({"limit": 0})),
        vec![big.clone()],
    );
    let (_, _, phase, message) = c.settled("csa").await;
    assert_eq!(phase, "Failed");
    assert!(
        message.contains("metadata.annotations: Too long: must have at most 262144 bytes"),
        "{message}"
    );
    assert!(
        c.api
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.test"
            )
            .is_none()
    );

    c.deploy(
        application("ssa", "ssa", &["ServerSideApply=true"], json!({"limit": 0})),
        vec![big],
    );
    let (_, sync, phase, message) = c.settled("ssa").await;
    assert_eq!(
        (sync.as_str(), phase.as_str()),
        ("Synced", "Succeeded"),
        "{message}"
    );
}

#[tokio::test]
async fn prune_removes_what_the_source_no_longer_renders() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("pruned", "pruned", &[], Value::Null),
        vec![config_map("a"), config_map("b")],
    );
    c.settled("pruned").await;
    assert!(c.api.get("v1", "ConfigMap", Some("pruned"), "b").is_some());
    c.deploy(
        application("pruned", "pruned", &[], Value::Null),
        vec![config_map("a")],
    );
    let (_, sync, phase, _) = c.settled("pruned").await;
    assert_eq!((sync.as_str(), phase.as_str()), ("Synced", "Succeeded"));
    assert!(c.api.get("v1", "ConfigMap", Some("pruned"), "b").is_none());
}

#[tokio::test]
async fn an_app_project_refuses_resources_outside_its_destinations_and_cluster_scoped_kinds() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.api.apply(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "demo", "namespace": "argocd"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "staging"}]}})).unwrap();
    c.api.create_namespace("monitoring");
    let mut app = application("dash", "staging", &[], json!({"limit": 0}));
    app["spec"]["project"] = json!("demo");
    let mut elsewhere = config_map("dashboard");
    elsewhere["metadata"]["namespace"] = json!("monitoring");
    c.deploy(app, vec![config_map("ok"), elsewhere]);
    let (_, _, phase, message) = c.settled("dash").await;
    assert_eq!(phase, "Failed");
    assert!(
        message.contains("namespace monitoring is not permitted in project 'demo'"),
        "{message}"
    );
}

#[tokio::test]
async fn cert_manager_issues_ingress_certificates_once_its_ca_issuer_has_its_secret() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let mut objects: Vec<Value> = [
        "certificates",
        "clusterissuers",
        "issuers",
        "certificaterequests",
    ]
    .iter()
    .flat_map(|f| {
        upstream(&format!(
            "cert-manager/v1.21.1/crds/cert-manager.io_{f}.yaml"
        ))
    })
    .collect();
    let mut controller = deployment(
        "cert-manager",
        "quay.io/jetstack/cert-manager-controller:v1.21.1",
        json!({}),
    );
    controller["spec"]["template"]["spec"]["containers"][0]["args"] =
        json!(["--cluster-resource-namespace=$(POD_NAMESPACE)"]);
    objects.push(controller);
    c.deploy(
        application(
            "cert-manager",
            "cert-manager",
            &["ServerSideApply=true"],
            Value::Null,
        ),
        objects,
    );
    assert_eq!(c.settled("cert-manager").await.0, "Healthy");

    let issuer = json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "local-ca"},
        "spec": {"ca": {"secretName": "local-ca"}}});
    let mut ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "annotations": {"cert-manager.io/cluster-issuer": "local-ca",
                                                    "cert-manager.io/usages": "digital signature,key encipherment,server auth"}},
        "spec": {"tls": [{"secretName": "web-tls", "hosts": ["web.localhost"]}],
                 "rules": [{"host": "web.localhost"}]}});
    ing["spec"]["ingressClassName"] = json!("traefik");
    c.deploy(
        application("issuer", "cert-manager", &[], Value::Null),
        vec![issuer],
    );
    c.deploy(application("web", "web", &[], Value::Null), vec![ing]);
    c.settled("issuer").await;
    let h = c
        .resource_health("issuer", "ClusterIssuer", "local-ca")
        .unwrap();
    assert_eq!(h.status, Some(kind_sim::Status::Degraded));
    assert_eq!(
        h.message,
        "Error getting keypair for CA issuer: secret \"local-ca\" not found"
    );
    let cert = c
        .api
        .get("cert-manager.io/v1", "Certificate", Some("web"), "web-tls")
        .expect("ingress-shim made it");
    assert_eq!(
        cert["spec"]["usages"],
        json!(["digital signature", "key encipherment", "server auth"])
    );
    assert_eq!(
        c.sim.rules.assess(&cert).unwrap().unwrap().status,
        Some(kind_sim::Status::Progressing)
    );

    c.api.apply(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "local-ca", "namespace": "cert-manager"}, "data": {"tls.crt": "Y2E=", "tls.key": "a2V5"}})).unwrap();
    assert_eq!(c.settled("issuer").await.0, "Healthy");
    let cert = c
        .api
        .get("cert-manager.io/v1", "Certificate", Some("web"), "web-tls")
        .unwrap();
    let h = c.sim.rules.assess(&cert).unwrap().unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (
            Some(kind_sim::Status::Healthy),
            "Certificate is up to date and has not expired"
        )
    );
    assert!(c.api.get("v1", "Secret", Some("web"), "web-tls").is_some());
}

#[tokio::test]
async fn prometheus_is_healthy_only_while_the_operator_runs_its_statefulset() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let mut objects = Vec::new();
    objects.push(crd(
        "monitoring.coreos.com",
        "Prometheus",
        "prometheuses",
        "Namespaced",
        10,
    ));
    objects.push(json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "main"},
        "spec": {"replicas": 1, "version": "v3.7.0", "serviceAccountName": "prometheus"}}));
    objects.push(
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "prometheus"}}),
    );
    c.deploy(
        application("prom", "monitoring", &[], Value::Null),
        objects.clone(),
    );
    c.settled("prom").await;
    let h = c.resource_health("prom", "Prometheus", "main").unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (
            Some(kind_sim::Status::Progressing),
            "Waiting for initialization"
        )
    );

    objects.push(deployment(
        "operator",
        "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
        json!({}),
    ));
    c.deploy(application("prom", "monitoring", &[], Value::Null), objects);
    assert_eq!(c.settled("prom").await.0, "Healthy");
    assert_eq!(
        c.resource_health("prom", "Prometheus", "main")
            .unwrap()
            .message,
        "All instances are available"
    );
    assert!(
        c.api
            .get(
                "apps/v1",
                "StatefulSet",
                Some("monitoring"),
                "prometheus-main"
            )
            .is_some()
    );
}

#[tokio::test]
async fn a_new_rollout_is_healthy_and_a_change_that_pauses_is_suspended() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let crds = upstream("argo-rollouts/v1.9.1/crds/rollout-crd.yaml");
    let mut controller = deployment(
        "argo-rollouts",
        "quay.io/argoproj/argo-rollouts:v1.9.1",
        json!({}),
    );
    controller["metadata"]["namespace"] = json!("argo-rollouts");
    let rollout = |image: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "demo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "demo"}},
                 "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "demo", "image": image}]}},
                 "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}}})
    };
    c.deploy(
        application(
            "rollouts",
            "argo-rollouts",
            &["ServerSideApply=true"],
            Value::Null,
        ),
        crds.into_iter().chain([controller]).collect(),
    );
    c.settled("rollouts").await;
    c.deploy(
        application("demo", "demo", &[], Value::Null),
        vec![rollout("localhost:5001/demo-app:1")],
    );
    assert_eq!(c.settled("demo").await.0, "Healthy");
    c.deploy(
        application("demo", "demo", &[], Value::Null),
        vec![rollout("localhost:5001/demo-app:2")],
    );
    let (health, sync, ..) = c.settled("demo").await;
    assert_eq!((health.as_str(), sync.as_str()), ("Suspended", "Synced"));
    assert_eq!(
        c.resource_health("demo", "Rollout", "demo")
            .unwrap()
            .message,
        "CanaryPauseStep"
    );
}

/// The Argo Rollouts controller (chart-less: its Deployment and the Rollout CRD) in namespace
/// argo-rollouts, then `rollout` deployed by Application "demo" until Healthy.
async fn rollouts_running(c: &Cluster, rollout: Value) {
    let mut controller = deployment(
        "argo-rollouts",
        "quay.io/argoproj/argo-rollouts:v1.9.1",
        json!({}),
    );
    controller["metadata"]["namespace"] = json!("argo-rollouts");
    let crds = upstream("argo-rollouts/v1.9.1/crds/rollout-crd.yaml");
    c.deploy(
        application(
            "rollouts",
            "argo-rollouts",
            &["ServerSideApply=true"],
            Value::Null,
        ),
        crds.into_iter().chain([controller]).collect(),
    );
    c.settled("rollouts").await;
    c.deploy(application("demo", "demo", &[], Value::Null), vec![rollout]);
    assert_eq!(c.settled("demo").await.0, "Healthy");
}

fn rollout_status(c: &Cluster) -> Value {
    c.api
        .get("argoproj.io/v1alpha1", "Rollout", Some("demo"), "demo")
        .unwrap()["status"]
        .clone()
}

/// What the controller records once an AnalysisRun ended (the runs are not simulated).
fn record_verdict(c: &Cluster, field: Value) {
    c.api
        .patch_status(
            "argoproj.io/v1alpha1",
            "Rollout",
            Some("demo"),
            "demo",
            field,
        )
        .unwrap();
}

#[tokio::test]
async fn a_canary_waits_at_its_analysis_step_for_the_runs_verdict_and_a_failed_run_aborts_it() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let rollout = |image: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "demo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "demo"}},
                 "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "demo", "image": image}]}},
                 "strategy": {"canary": {"steps": [
                    {"setWeight": 20}, {"pause": {"duration": "1m"}},
                    {"analysis": {"templates": [{"templateName": "error-rate"}]}},
                    {"setWeight": 60}]}}}})
    };
    rollouts_running(&c, rollout("localhost:5001/demo-app:1")).await;
    c.deploy(
        application("demo", "demo", &[], Value::Null),
        vec![rollout("localhost:5001/demo-app:2")],
    );
    let (health, ..) = c.settled("demo").await;
    let status = rollout_status(&c);
    assert_eq!(health, "Progressing", "{status}");
    assert_eq!(status["currentStepIndex"], 2, "waits at the analysis step");
    assert_ne!(status["stableRS"], status["currentPodHash"]);

    record_verdict(
        &c,
        json!({"canary": {"currentStepAnalysisRunStatus": {"name": "demo-2-2", "status": "Successful"}}}),
    );
    let (health, ..) = c.settled("demo").await;
    assert_eq!(health, "Healthy", "{}", rollout_status(&c));
    assert_eq!(
        rollout_status(&c)["stableRS"],
        rollout_status(&c)["currentPodHash"]
    );

    c.deploy(
        application("demo", "demo", &[], Value::Null),
        vec![rollout("localhost:5001/demo-app:3")],
    );
    c.settled("demo").await;
    record_verdict(
        &c,
        json!({"canary": {"currentStepAnalysisRunStatus": {"name": "demo-3-2", "status": "Failed"}}}),
    );
    let (health, ..) = c.settled("demo").await;
    let status = rollout_status(&c);
    assert_eq!(health, "Degraded", "{status}");
    assert_eq!(status["abort"], true);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("RolloutAborted: Rollout aborted update to revision"),
        "{status}"
    );
}

#[tokio::test]
async fn a_blue_green_pauses_for_promotion_only_after_pre_promotion_analysis_and_an_abort_degrades_it()
 {
    let Some(c) = default_cluster().await else {
        return;
    };
    let rollout = |image: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "demo"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "demo"}},
                 "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "demo", "image": image}]}},
                 "strategy": {"blueGreen": {"activeService": "demo", "previewService": "demo-preview",
                    "autoPromotionEnabled": false,
                    "prePromotionAnalysis": {"templates": [{"templateName": "success-rate"}]}}}}})
    };
    rollouts_running(&c, rollout("localhost:5001/demo-app:1")).await;
    c.deploy(
        application("demo", "demo", &[], Value::Null),
        vec![rollout("localhost:5001/demo-app:2")],
    );
    assert_eq!(
        c.settled("demo").await.0,
        "Progressing",
        "pre-promotion analysis runs first: {}",
        rollout_status(&c)
    );
    record_verdict(
        &c,
        json!({"blueGreen": {"prePromotionAnalysisRunStatus": {"name": "demo-2-pre", "status": "Successful"}}}),
    );
    assert_eq!(c.settled("demo").await.0, "Suspended");
    let status = rollout_status(&c);
    assert_eq!(status["pauseConditions"][0]["reason"], "BlueGreenPause");
    assert_ne!(
        status["blueGreen"]["activeSelector"],
        status["currentPodHash"]
    );

    // `kindling rollout abort production` sends {"status":{"abort":true}}.
    record_verdict(&c, json!({"abort": true}));
    assert_eq!(c.settled("demo").await.0, "Degraded");
    let status = rollout_status(&c);
    assert!(status["pauseConditions"].is_null(), "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("RolloutAborted:"),
        "{status}"
    );
    // `kindling rollout retry` ({"status":{"abort":false}}): the gates start over.
    record_verdict(&c, json!({"abort": false}));
    assert_eq!(c.settled("demo").await.0, "Progressing");
}

#[tokio::test]
async fn cert_manager_resources_are_refused_until_its_webhook_has_a_ready_pod() {
    let Some(c) = default_cluster().await else {
        return;
    };
    for crd in upstream("cert-manager/v1.21.1/crds/cert-manager.io_clusterissuers.yaml") {
        c.api.apply(crd).unwrap();
    }
    // As cert-manager v1.21.1's chart renders it (templates/webhook-validating-webhook.yaml).
    c.api.apply(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "cert-manager-webhook"},
        "webhooks": [{"name": "webhook.cert-manager.io",
            "namespaceSelector": {"matchExpressions": [{"key": "cert-manager.io/disable-validation", "operator": "NotIn", "values": ["true"]}]},
            "rules": [{"apiGroups": ["cert-manager.io", "acme.cert-manager.io"], "apiVersions": ["v1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["*/*"]}],
            "admissionReviewVersions": ["v1"], "matchPolicy": "Equivalent", "timeoutSeconds": 30, "failurePolicy": "Fail",
            "sideEffects": "None",
            "clientConfig": {"service": {"name": "cert-manager-webhook", "namespace": "cert-manager", "path": "/validate"}}}]})).unwrap();
    let issuer = json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "local-ca"},
        "spec": {"ca": {"secretName": "local-ca"}}});
    let refused = c.api.apply(issuer.clone()).unwrap_err();
    assert_eq!(refused.code, 500);
    assert!(
        refused
            .message
            .contains("failed calling webhook \"webhook.cert-manager.io\"")
            && refused
                .message
                .contains("service \"cert-manager-webhook\" not found"),
        "{}",
        refused.message
    );

    let mut webhook = deployment(
        "cert-manager-webhook",
        "quay.io/jetstack/cert-manager-webhook:v1.21.1",
        json!({}),
    );
    webhook["spec"]["template"]["metadata"]["labels"]["app"] = json!("cert-manager-webhook");
    c.deploy(
        application("cert-manager", "cert-manager", &[], Value::Null),
        vec![webhook, service("cert-manager-webhook", "ClusterIP")],
    );
    assert_eq!(c.settled("cert-manager").await.0, "Healthy");
    c.api
        .apply(issuer)
        .expect("admitted once the webhook is ready");
}

#[tokio::test]
async fn a_later_sync_wave_waits_until_the_earlier_one_is_healthy() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let wave = |mut o: Value, w: &str| {
        o["metadata"]["annotations"] = json!({"argocd.argoproj.io/sync-wave": w});
        o
    };
    let needs_secret = json!({"volumes": [{"name": "s", "secret": {"secretName": "later"}}]});
    c.deploy(
        application("waves", "waves", &[], Value::Null),
        vec![
            wave(deployment("first", "nginx:1.27", needs_secret), "0"),
            wave(config_map("second"), "1"),
        ],
    );
    let (_, sync, phase, message) = c.settled("waves").await;
    assert_eq!((sync.as_str(), phase.as_str()), ("OutOfSync", "Running"));
    assert_eq!(
        message,
        "waiting for healthy state of apps/Deployment/first"
    );
    assert!(
        c.api
            .get("v1", "ConfigMap", Some("waves"), "second")
            .is_none()
    );

    // Once wave 0 is healthy, wave 1 is applied and the operation ends.
    c.api.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "later", "namespace": "waves"}})).unwrap();
    let (health, sync, phase, message) = c.settled("waves").await;
    assert_eq!(
        (health.as_str(), sync.as_str(), phase.as_str()),
        ("Healthy", "Synced", "Succeeded"),
        "{message}"
    );
}
