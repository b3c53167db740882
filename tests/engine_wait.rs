//! Wait conditions against the fake API server: success through watches, timeouts that say
//! why (pod states, Warning events, log tails), and fast failures.

mod support;

use fake_apiserver::{FakeApiServer, sim};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use kindling::k8s::{self, K8sError, Target, Waiter, wait};
use serde_json::json;
use std::time::{Duration, Instant};

async fn start() -> (FakeApiServer, kube::Client) {
    let fake = FakeApiServer::builder().namespace("demo").start().await;
    let client = k8s::client_from_kubeconfig(fake.kubeconfig(), None)
        .await
        .unwrap();
    (fake, client)
}

fn deployment(name: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "demo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    })
}

#[tokio::test]
async fn workloads_roll_out_through_watch() {
    let (fake, client) = start().await;
    let _controller = sim::spawn_workload_controller(fake.handle(), Duration::from_millis(300));
    fake.create(deployment("web", "nginx")).unwrap();
    let mut sts = deployment("db", "postgres");
    sts["kind"] = json!("StatefulSet");
    fake.create(sts).unwrap();
    let mut ds = deployment("agent", "agent");
    ds["kind"] = json!("DaemonSet");
    fake.create(ds).unwrap();

    let waiter = Waiter::new(client);
    let started = Instant::now();
    let waits = vec![
        (
            Target::of::<Deployment>(Some("demo"), "web"),
            wait::rolled_out(),
        ),
        (
            Target::of::<StatefulSet>(Some("demo"), "db"),
            wait::rolled_out(),
        ),
        (
            Target::of::<DaemonSet>(Some("demo"), "agent"),
            wait::rolled_out(),
        ),
    ];
    waiter
        .wait_all(waits, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "returned before the controller acted"
    );

    // A spec change makes it not rolled out until the controller observes the new generation.
    fake.patch(
        "apps/v1",
        "Deployment",
        Some("demo"),
        "web",
        json!({"spec": {"replicas": 3}}),
    )
    .unwrap();
    let d = fake
        .get("apps/v1", "Deployment", Some("demo"), "web")
        .unwrap();
    assert_eq!(d["metadata"]["generation"], 2);
    let object = waiter
        .wait(
            Target::of::<Deployment>(Some("demo"), "web"),
            wait::rolled_out(),
            Duration::from_secs(20),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(object.data["status"]["availableReplicas"], 3);
}

#[tokio::test]
async fn a_rollout_timeout_shows_image_pull_backoff_and_the_warning_event() {
    let (fake, client) = start().await;
    fake.create(deployment("web", "registry.local/web:missing"))
        .unwrap();
    sim::image_pull_backoff(&fake, "demo", "web", "registry.local/web:missing").unwrap();

    let err = Waiter::new(client)
        .wait(
            Target::of::<Deployment>(Some("demo"), "web"),
            wait::rolled_out(),
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(matches!(err, K8sError::Timeout { .. }), "{message}");
    assert!(
        message.contains("Deployment demo/web to be rolled out"),
        "{message}"
    );
    assert!(
        message.contains("last seen: 1/2 replicas updated"),
        "{message}"
    );
    assert!(
        message.contains(
            "ImagePullBackOff: Back-off pulling image \"registry.local/web:missing\": not found"
        ),
        "{message}"
    );
    assert!(message.contains("Warning events in demo"), "{message}");
    assert!(
        message.contains("Failed to pull image \"registry.local/web:missing\""),
        "{message}"
    );
}

#[tokio::test]
async fn a_crash_loop_timeout_shows_the_last_log_lines() {
    let (fake, client) = start().await;
    fake.create(deployment("api", "api:1")).unwrap();
    sim::crash_loop(
        &fake,
        "demo",
        "api",
        "starting\nconnecting to db\npanic: DATABASE_URL not set\n",
    )
    .unwrap();
    let message = Waiter::new(client)
        .wait(
            Target::of::<Deployment>(Some("demo"), "api"),
            wait::rolled_out(),
            Duration::from_millis(800),
        )
        .await
        .unwrap_err()
        .to_string();
    eprintln!("{message}");
    assert!(message.contains("CrashLoopBackOff"), "{message}");
    assert!(message.contains("last exit code 1: Error"), "{message}");
    assert!(message.contains("panic: DATABASE_URL not set"), "{message}");
    assert!(
        message.contains("Back-off restarting failed container"),
        "{message}"
    );
}

fn job() -> serde_json::Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "demo"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "m"}]}}},
    })
}

#[tokio::test]
async fn jobs_complete_or_fail_fast() {
    let (fake, client) = start().await;
    fake.create(job()).unwrap();
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle
            .set_status(
                "batch/v1",
                "Job",
                Some("demo"),
                "migrate",
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
            )
            .unwrap();
    });
    let waiter = Waiter::new(client);
    let target = Target::of::<Job>(Some("demo"), "migrate");
    waiter
        .wait(
            target.clone(),
            wait::job_complete(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    fake.set_status("batch/v1", "Job", Some("demo"), "migrate", json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})).unwrap();
    let started = Instant::now();
    let err = waiter
        .wait(target, wait::job_complete(), Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("BackoffLimitExceeded"), "{err}");
}

/// Applies upstream CRDs into the fake so custom resources can be served.
async fn with_crds(fake: &FakeApiServer, client: &kube::Client, files: &[&str]) -> Option<()> {
    let mut manifests = Vec::new();
    for f in files {
        manifests.extend(k8s::load_file(&support::upstream(f)?).unwrap());
    }
    let reporter: kindling::report::SharedReporter =
        std::sync::Arc::new(kindling::report::NullReporter);
    let step = kindling::report::ReporterExt::step(&reporter, "crds", "crds");
    k8s::Applier::new(client.clone())
        .apply(&manifests, &step)
        .await
        .unwrap()
        .finish(step);
    let _ = fake;
    Some(())
}

async fn application_target(client: &kube::Client) -> Target {
    let discovery = k8s::Discovery::new(client.clone());
    let resolved = discovery
        .resolve("argoproj.io/v1alpha1", "Application", None)
        .await
        .unwrap();
    Target::namespaced(resolved.resource, "demo", "platform")
}

fn application() -> serde_json::Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "platform", "namespace": "demo"},
        "spec": {"project": "default", "source": {"repoURL": "oci://registry/platform", "path": ".", "targetRevision": "1.0"}, "destination": {"server": "https://kubernetes.default.svc", "namespace": "demo"}},
    })
}

#[tokio::test]
async fn an_application_becomes_synced_and_healthy() {
    let (fake, client) = start().await;
    if with_crds(
        &fake,
        &client,
        &["argo-cd/v3.5.1/crds/application-crd.yaml"],
    )
    .await
    .is_none()
    {
        return;
    }
    fake.create(application()).unwrap();
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        handle.patch("argoproj.io/v1alpha1", "Application", Some("demo"), "platform", json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}})).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        handle
            .patch(
                "argoproj.io/v1alpha1",
                "Application",
                Some("demo"),
                "platform",
                json!({"status": {"health": {"status": "Healthy"}}}),
            )
            .unwrap();
    });
    let target = application_target(&client).await;
    let waiter = Waiter::new(client);
    let started = Instant::now();
    waiter
        .wait(
            target.clone(),
            wait::application_synced_healthy(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));

    // Progressing is reported as what was last seen when time runs out.
    fake.patch(
        "argoproj.io/v1alpha1",
        "Application",
        Some("demo"),
        "platform",
        json!({"status": {"health": {"status": "Progressing", "message": "waiting for rollout"}}}),
    )
    .unwrap();
    let err = waiter
        .wait(
            target,
            wait::application_synced_healthy(),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("last seen: sync Synced, health Progressing (waiting for rollout)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failed_application_sync_fails_well_before_the_timeout() {
    let (fake, client) = start().await;
    if with_crds(
        &fake,
        &client,
        &["argo-cd/v3.5.1/crds/application-crd.yaml"],
    )
    .await
    .is_none()
    {
        return;
    }
    fake.create(application()).unwrap();
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.patch("argoproj.io/v1alpha1", "Application", Some("demo"), "platform", json!({"status": {
            "sync": {"status": "OutOfSync"}, "health": {"status": "Missing"},
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply, reason: Deployment.apps \"web\" is invalid"},
        }})).unwrap();
    });
    let target = application_target(&client).await;
    let started = Instant::now();
    let err = Waiter::new(client.clone())
        .wait(
            target.clone(),
            wait::application_synced_healthy(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(matches!(err, K8sError::WaitFailed { .. }), "{message}");
    assert!(
        message.contains("sync Failed: one or more objects failed to apply"),
        "{message}"
    );

    // A ComparisonError condition fails at once too.
    fake.set_status("argoproj.io/v1alpha1", "Application", Some("demo"), "platform", json!({
        "sync": {"status": "Unknown"}, "health": {"status": "Unknown"},
        "conditions": [{"type": "ComparisonError", "message": "failed to load target state: repository not found"}],
    })).unwrap();
    let err = Waiter::new(client)
        .wait(
            target,
            wait::application_synced_healthy(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ComparisonError: failed to load target state: repository not found"),
        "{err}"
    );
}

#[tokio::test]
async fn rollouts_certificates_and_generic_conditions() {
    let (fake, client) = start().await;
    let files = [
        "argo-rollouts/v1.9.1/crds/rollout-crd.yaml",
        "cert-manager/v1.21.1/crds/cert-manager.io_certificates.yaml",
    ];
    if with_crds(&fake, &client, &files).await.is_none() {
        return;
    }
    let discovery = k8s::Discovery::new(client.clone());
    let waiter = Waiter::new(client.clone());

    let mut rollout = deployment("canary", "app:2");
    rollout["apiVersion"] = json!("argoproj.io/v1alpha1");
    rollout["kind"] = json!("Rollout");
    fake.create(rollout).unwrap();
    let resolved = discovery
        .resolve("argoproj.io/v1alpha1", "Rollout", None)
        .await
        .unwrap();
    let target = Target::namespaced(resolved.resource, "demo", "canary");
    fake.set_status("argoproj.io/v1alpha1", "Rollout", Some("demo"), "canary", json!({"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep", "stableRS": "abc", "currentPodHash": "def"})).unwrap();
    let err = waiter
        .wait(
            target.clone(),
            wait::rollout_done(),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Paused CanaryPauseStep"), "{err}");
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle.set_status("argoproj.io/v1alpha1", "Rollout", Some("demo"), "canary", json!({"observedGeneration": "1", "phase": "Healthy", "stableRS": "def", "currentPodHash": "def"})).unwrap();
    });
    waiter
        .wait(
            target.clone(),
            wait::rollout_done(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    fake.set_status("argoproj.io/v1alpha1", "Rollout", Some("demo"), "canary", json!({"observedGeneration": "1", "phase": "Degraded", "message": "RolloutAborted: metric error-rate assessed Failed"})).unwrap();
    let err = waiter
        .wait(target, wait::rollout_done(), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Degraded: RolloutAborted"),
        "{err}"
    );

    fake.create(json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "web-tls", "namespace": "demo"},
        "spec": {"secretName": "web-tls", "dnsNames": ["web.localtest.me"], "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}},
    })).unwrap();
    let resolved = discovery
        .resolve("cert-manager.io/v1", "Certificate", None)
        .await
        .unwrap();
    let target = Target::namespaced(resolved.resource, "demo", "web-tls");
    fake.set_status("cert-manager.io/v1", "Certificate", Some("demo"), "web-tls", json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Issuing", "message": "Issuing certificate as Secret does not exist"}]})).unwrap();
    let err = waiter
        .wait(
            target.clone(),
            wait::certificate_ready(),
            Duration::from_millis(400),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Ready=False (Issuing): Issuing certificate as Secret does not exist"),
        "{err}"
    );
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle
            .set_status(
                "cert-manager.io/v1",
                "Certificate",
                Some("demo"),
                "web-tls",
                json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]}),
            )
            .unwrap();
    });
    waiter
        .wait(
            target.clone(),
            wait::certificate_ready(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    // The generic form, composed with another condition.
    waiter
        .wait(
            target,
            wait::exists().and(wait::condition_true("Ready")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_is_foreground_and_existence_is_checked() {
    let (fake, client) = start().await;
    fake.create(deployment("web", "nginx")).unwrap();
    let target = Target::of::<Deployment>(Some("demo"), "web");
    assert!(k8s::delete::exists(&client, &target).await.unwrap());
    assert!(
        k8s::delete::delete(&client, &target, Some(Duration::from_secs(5)))
            .await
            .unwrap()
    );
    assert!(!k8s::delete::exists(&client, &target).await.unwrap());
    assert!(
        !k8s::delete::delete(&client, &target, None).await.unwrap(),
        "already gone"
    );

    // An object with a finalizer stays until the finalizer is removed; the wait sees it go.
    let mut d = deployment("held", "nginx");
    d["metadata"]["finalizers"] = json!(["example.com/hold"]);
    fake.create(d).unwrap();
    let handle = fake.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle
            .patch(
                "apps/v1",
                "Deployment",
                Some("demo"),
                "held",
                json!({"metadata": {"finalizers": null}}),
            )
            .unwrap();
    });
    let held = Target::of::<Deployment>(Some("demo"), "held");
    assert!(
        k8s::delete::delete(&client, &held, Some(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    assert!(
        fake.get("apps/v1", "Deployment", Some("demo"), "held")
            .is_none()
    );
    let discovery = k8s::Discovery::new(client.clone());
    assert!(
        !k8s::delete::exists_kind(
            &discovery,
            &client,
            "argoproj.io/v1alpha1",
            "Rollout",
            Some("demo"),
            "x"
        )
        .await
        .unwrap()
    );
}
