//! Wait conditions against the fake API server: success through watches, timeouts that say
//! why (pod states, Warning events, log tails), and fast failures.

mod support;

use fake_apiserver::{FakeApiServer, sim};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kindling::k8s::{self, Condition, K8sError, Target, Waiter, wait};

use serde_json::json;
use std::time::Duration;

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
    fake.create(deployment("web", "nginx")).unwrap();
    let mut sts = deployment("db", "postgres");
    sts["kind"] = json!("StatefulSet");
    fake.create(sts).unwrap();
    let mut ds = deployment("agent", "agent");
    ds["kind"] = json!("DaemonSet");
    fake.create(ds).unwrap();

    let waiter = Waiter::new(client);
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
    let all = tokio::spawn({
        let waiter = waiter.clone();
        async move { waiter.wait_all(waits, Duration::from_secs(20)).await }
    });
    // The controllers act only once kindling watches all three: a wait that returned on the
    // objects as first listed would never open these watches (until_watch would panic).
    for (kind, plural, name) in [
        ("Deployment", "deployments", "web"),
        ("StatefulSet", "statefulsets", "db"),
        ("DaemonSet", "daemonsets", "agent"),
    ] {
        fake.until_watch(0, plural, name).await;
        assert!(!all.is_finished(), "returned before the {kind} rolled out");
        sim::roll_out(&fake, kind, "demo", name).unwrap();
    }
    all.await.unwrap().unwrap();

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
    let mark = fake.log_mark();
    let web = tokio::spawn(async move {
        waiter
            .wait(
                Target::of::<Deployment>(Some("demo"), "web"),
                wait::rolled_out(),
                Duration::from_secs(20),
            )
            .await
    });
    fake.until_watch(mark, "deployments", "web").await;
    assert!(
        !web.is_finished(),
        "returned on the old generation's status"
    );
    sim::roll_out(&fake, "Deployment", "demo", "web").unwrap();
    let object = web.await.unwrap().unwrap().unwrap();
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

fn application() -> serde_json::Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "platform", "namespace": "demo"},
        "spec": {"project": "default", "source": {"repoURL": "oci://registry/platform", "path": ".", "targetRevision": "1.0"}, "destination": {"server": "https://kubernetes.default.svc", "namespace": "demo"}},
    })
}

fn rollout() -> serde_json::Value {
    let mut rollout = deployment("canary", "app:2");
    rollout["apiVersion"] = json!("argoproj.io/v1alpha1");
    rollout["kind"] = json!("Rollout");
    rollout
}

fn certificate() -> serde_json::Value {
    json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "web-tls", "namespace": "demo"},
        "spec": {"secretName": "web-tls", "dnsNames": ["web.localtest.me"], "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}},
    })
}

const APPLICATION_CRD: &[&str] = &["argo-cd/v3.5.1/crds/application-crd.yaml"];
const ROLLOUT_CRD: &[&str] = &["argo-rollouts/v1.9.1/crds/rollout-crd.yaml"];
const CERTIFICATE_CRD: &[&str] = &["cert-manager/v1.21.1/crds/cert-manager.io_certificates.yaml"];

/// One story of a wait on one object: its status when the wait starts, the statuses a
/// simulated controller writes once kindling watches it (in order), and how the wait ends.
struct Story {
    crds: &'static [&'static str],
    object: serde_json::Value,
    condition: Condition,
    /// The object's status when the wait starts.
    first: Option<serde_json::Value>,
    /// Statuses set one after another once kindling watches the object.
    then: Vec<serde_json::Value>,
    timeout: Duration,
    ends: Ends,
}

enum Ends {
    /// The wait returns the object with the last status of `then`.
    Done,
    /// The wait fails at once (not by timing out), saying this.
    Fails(&'static str),
    /// The wait times out, saying this about what it saw last.
    TimesOut(&'static str),
}

/// Tells a story against a fresh fake (skipped when the upstream CRDs are absent).
async fn tell(story: Story) {
    let (fake, client) = start().await;
    if with_crds(&client, story.crds).await.is_none() {
        return;
    }
    let object = fake.create(story.object).unwrap();
    let (api_version, kind) = (
        object["apiVersion"].as_str().unwrap(),
        object["kind"].as_str().unwrap(),
    );
    let name = object["metadata"]["name"].as_str().unwrap();
    if let Some(status) = story.first {
        fake.set_status(api_version, kind, Some("demo"), name, status)
            .unwrap();
    }
    let resolved = k8s::Discovery::new(client.clone())
        .resolve(api_version, kind, None)
        .await
        .unwrap();
    let plural = resolved.resource.plural.clone();
    let target = Target::namespaced(resolved.resource, "demo", name);
    let waiter = Waiter::new(client);
    let (condition, timeout) = (story.condition, story.timeout);
    let wait = tokio::spawn(async move { waiter.wait(target, condition, timeout).await });
    let last = story.then.last().cloned();
    if !story.then.is_empty() {
        // The controller acts only once kindling watches: a wait that ended on the object as
        // first listed would never open this watch (until_watch would panic).
        fake.until_watch(0, &plural, name).await;
        for status in story.then {
            assert!(!wait.is_finished(), "the wait ended before {status}");
            fake.set_status(api_version, kind, Some("demo"), name, status)
                .unwrap();
        }
    }
    let result = wait.await.unwrap();
    match (story.ends, result) {
        (Ends::Done, Ok(object)) => {
            let object = object.expect("the object");
            if let Some(last) = last {
                assert_eq!(object.data["status"], last, "ended on an earlier status");
            }
        }
        (Ends::Fails(says), Err(err @ K8sError::WaitFailed { .. })) => {
            assert!(err.to_string().contains(says), "{err}");
        }
        (Ends::TimesOut(says), Err(err @ K8sError::Timeout { .. })) => {
            assert!(err.to_string().contains(says), "{err}");
        }
        (_, Ok(object)) => panic!("the wait succeeded on {object:?}"),
        (_, Err(err)) => panic!("the wait ended another way: {err:?}\n{err}"),
    }
}

/// Applies upstream CRDs into the fake so custom resources can be served; None = skipped.
async fn with_crds(client: &kube::Client, files: &[&str]) -> Option<()> {
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
    Some(())
}

/// One test per story, named by it, so a failure names the story.
macro_rules! stories {
    ($($name:ident => $story:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                tell($story).await
            }
        )*
    };
}

/// Long enough never to be reached by a wait that fails at once; one that does not would
/// time out instead and the story says so (Ends::Fails expects WaitFailed, not Timeout).
const NOT_REACHED: Duration = Duration::from_secs(20);
/// A wait expected to time out: short, the message is what is checked.
const SHORT: Duration = Duration::from_millis(500);

stories! {
    a_job_is_done_once_it_completes => Story {
        crds: &[],
        object: job(),
        condition: wait::job_complete(),
        first: None,
        then: vec![json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})],
        timeout: NOT_REACHED,
        ends: Ends::Done,
    };
    a_failed_job_fails_at_once_with_the_reason => Story {
        crds: &[],
        object: job(),
        condition: wait::job_complete(),
        first: Some(json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})),
        then: vec![],
        timeout: NOT_REACHED,
        ends: Ends::Fails("BackoffLimitExceeded"),
    };
    an_application_is_done_once_synced_and_healthy_not_while_progressing => Story {
        crds: APPLICATION_CRD,
        object: application(),
        condition: wait::application_synced_healthy(),
        first: None,
        then: vec![
            json!({"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}),
            json!({"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}),
        ],
        timeout: NOT_REACHED,
        ends: Ends::Done,
    };
    a_progressing_application_times_out_saying_what_was_last_seen => Story {
        crds: APPLICATION_CRD,
        object: application(),
        condition: wait::application_synced_healthy(),
        first: Some(json!({"sync": {"status": "Synced"}, "health": {"status": "Progressing", "message": "waiting for rollout"}})),
        then: vec![],
        timeout: SHORT,
        ends: Ends::TimesOut("last seen: sync Synced, health Progressing (waiting for rollout)"),
    };
    a_failed_application_sync_fails_at_once_through_the_watch => Story {
        crds: APPLICATION_CRD,
        object: application(),
        condition: wait::application_synced_healthy(),
        first: None,
        then: vec![json!({
            "sync": {"status": "OutOfSync"}, "health": {"status": "Missing"},
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply, reason: Deployment.apps \"web\" is invalid"},
        })],
        timeout: NOT_REACHED,
        ends: Ends::Fails("sync Failed: one or more objects failed to apply"),
    };
    an_application_comparison_error_fails_at_once => Story {
        crds: APPLICATION_CRD,
        object: application(),
        condition: wait::application_synced_healthy(),
        first: Some(json!({
            "sync": {"status": "Unknown"}, "health": {"status": "Unknown"},
            "conditions": [{"type": "ComparisonError", "message": "failed to load target state: repository not found"}],
        })),
        then: vec![],
        timeout: NOT_REACHED,
        ends: Ends::Fails("ComparisonError: failed to load target state: repository not found"),
    };
    a_paused_rollout_times_out_naming_the_pause => Story {
        crds: ROLLOUT_CRD,
        object: rollout(),
        condition: wait::rollout_done(),
        first: Some(json!({"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep", "stableRS": "abc", "currentPodHash": "def"})),
        then: vec![],
        timeout: SHORT,
        ends: Ends::TimesOut("Paused CanaryPauseStep"),
    };
    a_rollout_is_done_once_healthy_on_the_new_pods => Story {
        crds: ROLLOUT_CRD,
        object: rollout(),
        condition: wait::rollout_done(),
        first: Some(json!({"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep", "stableRS": "abc", "currentPodHash": "def"})),
        then: vec![json!({"observedGeneration": "1", "phase": "Healthy", "stableRS": "def", "currentPodHash": "def"})],
        timeout: NOT_REACHED,
        ends: Ends::Done,
    };
    an_aborted_rollout_fails_at_once_with_the_reason => Story {
        crds: ROLLOUT_CRD,
        object: rollout(),
        condition: wait::rollout_done(),
        first: Some(json!({"observedGeneration": "1", "phase": "Degraded", "message": "RolloutAborted: metric error-rate assessed Failed"})),
        then: vec![],
        timeout: NOT_REACHED,
        ends: Ends::Fails("Degraded: RolloutAborted"),
    };
    a_certificate_being_issued_times_out_with_cert_managers_reason => Story {
        crds: CERTIFICATE_CRD,
        object: certificate(),
        condition: wait::certificate_ready(),
        first: Some(json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Issuing", "message": "Issuing certificate as Secret does not exist"}]})),
        then: vec![],
        timeout: Duration::from_millis(400),
        ends: Ends::TimesOut("Ready=False (Issuing): Issuing certificate as Secret does not exist"),
    };
    a_certificate_is_ready_once_issued => Story {
        crds: CERTIFICATE_CRD,
        object: certificate(),
        condition: wait::certificate_ready(),
        first: Some(json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Issuing", "message": "Issuing certificate as Secret does not exist"}]})),
        then: vec![json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]})],
        timeout: NOT_REACHED,
        ends: Ends::Done,
    };
    the_generic_conditions_compose => Story {
        crds: CERTIFICATE_CRD,
        object: certificate(),
        condition: wait::exists().and(wait::condition_true("Ready")),
        first: None,
        then: vec![json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]})],
        timeout: NOT_REACHED,
        ends: Ends::Done,
    };
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
    let held = Target::of::<Deployment>(Some("demo"), "held");
    let mark = fake.log_mark();
    let deleting = tokio::spawn({
        let (client, held) = (client.clone(), held.clone());
        async move { k8s::delete::delete(&client, &held, Some(Duration::from_secs(20))).await }
    });
    // The finalizer goes only once kindling watches the object being deleted.
    fake.until_watch(mark, "deployments", "held").await;
    let being_deleted = fake
        .get("apps/v1", "Deployment", Some("demo"), "held")
        .expect("held by its finalizer");
    assert!(being_deleted["metadata"]["deletionTimestamp"].is_string());
    assert!(
        !deleting.is_finished(),
        "returned while the object was held"
    );
    fake.patch(
        "apps/v1",
        "Deployment",
        Some("demo"),
        "held",
        json!({"metadata": {"finalizers": null}}),
    )
    .unwrap();
    assert!(deleting.await.unwrap().unwrap());
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
