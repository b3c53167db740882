//! `kindling release` on the platform of tests/up_support (real Docker build and registry, the
//! simulated kind cluster with Argo CD and Argo Rollouts): the faulty v1.1.0 image is in the
//! registry with its fault in the image config and the v1.0.0 binary layer reused; the
//! artifact's staging layer runs it while dev and production keep theirs; the staging
//! Application got the new revision, its record and the refresh annotation; the Rollout took
//! the new template and its canary stops at the first analysis. That analysis fails (the
//! simulation runs no AnalysisRuns: the test records the verdict as the controller would) and
//! the canary is aborted; a later `up` keeps the release and fails naming staging's Rollout.

mod cluster_support;
mod support;
mod up_support;

use kindling::config::Profile;
use kindling::docker::registry_api::RegistryApi;
use kindling::platform::demo_image::Faults;
use kindling::release::{ReleaseContext, ReleaseRequest};
use kindling::report::{RecordingReporter, SharedReporter};
use serde_json::Value;
use up_support::{image_in_artifact, setup};

/// The image config (Env, Labels) and layer digests of `<repo>:<tag>` in the registry.
async fn image_in_registry(api: &RegistryApi, repo: &str, tag: &str) -> (Value, Vec<String>) {
    let manifest = api.get_manifest(repo, tag).await.unwrap();
    let manifest: Value = serde_json::from_slice(&manifest.body).unwrap();
    let config = api
        .get_blob(repo, manifest["config"]["digest"].as_str().unwrap())
        .await
        .unwrap();
    let config: Value = serde_json::from_slice(&config).unwrap();
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    (config["config"].clone(), layers)
}

fn application(api: &fake_apiserver::FakeApiServer, env: &str) -> Value {
    api.get(
        "argoproj.io/v1alpha1",
        "Application",
        Some("argocd"),
        &format!("demo-app-{env}"),
    )
    .unwrap()
}

fn rollout_image(api: &fake_apiserver::FakeApiServer, namespace: &str) -> String {
    api.get(
        "argoproj.io/v1alpha1",
        "Rollout",
        Some(namespace),
        "demo-app",
    )
    .unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_release_reaches_staging_only_its_failed_canary_is_aborted_and_up_keeps_it_and_says_why()
 {
    let Some(mut f) = setup("90s").await else {
        return;
    };
    let (result, recording) = f.up().await;
    up_support::expect_up(result, &recording);
    let port = f.settings.config.registry.host_port;
    let registry = RegistryApi::local(port);
    let before = application(&f.api, "dev")["spec"]["source"]["targetRevision"]
        .as_str()
        .unwrap()
        .to_string();
    let production_image = rollout_image(&f.api, "production");

    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    // Everything written from here on (Argo CD consumes the refresh annotation: it is gone
    // from the object once the refresh happened).
    let mut changes = f.api.subscribe();
    let context = ReleaseContext::connect(
        f.settings.clone(),
        &f.env,
        Some(&f.dir.path().join("fake-kubeconfig")),
        reporter,
    )
    .await
    .unwrap();
    let mut faults = Faults::default();
    faults.add("error-rate=0.5").unwrap();
    let request = ReleaseRequest {
        environment: "staging".into(),
        version: "v1.1.0".into(),
        faults,
        profile: Some(Profile::Fast),
    };
    let released = kindling::release::release(&context, &request)
        .await
        .unwrap_or_else(|e| panic!("release failed: {e}: {:?}", recording.events()));
    assert_eq!(
        released.image_tag,
        format!("localhost:{port}/demo-app:v1.1.0-e0.5")
    );
    assert_eq!(released.previous_revision.as_deref(), Some(before.as_str()));
    assert_ne!(released.revision, before);
    assert_eq!(released.preview_url, None, "a canary has no preview");

    // The image: in the registry, the fault and version in its config, the binary layer reused.
    let (config, layers) = image_in_registry(&registry, "demo-app", "v1.1.0-e0.5").await;
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for want in [
        "VERSION=v1.1.0",
        "FAULT_ERROR_RATE=0.5",
        "FAULT_LATENCY_MS=0",
    ] {
        assert!(env.contains(&want), "{want} not in {env:?}");
    }
    let (good, good_layers) = image_in_registry(&registry, "demo-app", "v1.0.0").await;
    assert!(
        good["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "FAULT_ERROR_RATE=0")
    );
    assert_eq!(layers, good_layers, "the binary layer is the same blob");

    // The artifact: staging runs the new image, the others keep theirs.
    assert_eq!(
        image_in_artifact(port, &released.revision, "staging").await,
        released.image
    );
    assert_eq!(
        image_in_artifact(port, &released.revision, "production").await,
        production_image
    );

    // The Applications: staging moved (with its record and the refresh), dev did not.
    let staging = application(&f.api, "staging");
    assert_eq!(
        staging["spec"]["source"]["targetRevision"],
        released.revision.as_str()
    );
    let annotations = &staging["metadata"]["annotations"];
    let mut refreshed = false;
    loop {
        match changes.try_recv() {
            Ok(change) => {
                refreshed |= change.kind() == "Application"
                    && change.name == "demo-app-staging"
                    && change.object["metadata"]["annotations"]["argocd.argoproj.io/refresh"]
                        == "normal";
            }
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                panic!("{n} changes missed: the fake's change channel is too small for this test")
            }
            Err(_) => break,
        }
    }
    assert!(refreshed, "release asked Argo CD for a refresh");
    assert_eq!(annotations["kindling.dev/demo-version"], "v1.1.0");
    assert_eq!(annotations["kindling.dev/demo-profile"], "fast");
    assert_eq!(
        staging["status"]["sync"]["revision"],
        released.revision.as_str()
    );
    assert_eq!(
        application(&f.api, "dev")["spec"]["source"]["targetRevision"],
        before.as_str()
    );
    assert_eq!(rollout_image(&f.api, "staging"), released.image);
    assert_eq!(rollout_image(&f.api, "production"), production_image);

    // The canary walked to its first analysis step (20 %, the 10 s pause of the fast profile)
    // and waits for its run.
    f.settled().await;
    let ro = f
        .api
        .get(
            "argoproj.io/v1alpha1",
            "Rollout",
            Some("staging"),
            "demo-app",
        )
        .unwrap();
    assert_eq!(ro["status"]["currentStepIndex"], 2, "{}", ro["status"]);
    assert_eq!(
        f.sim.app_status("demo-app-staging").unwrap().0,
        "Progressing"
    );
    // A 50 % error rate fails the error-rate gate: the controller records the run Failed and
    // aborts the update.
    f.api
        .patch_status(
            "argoproj.io/v1alpha1",
            "Rollout",
            Some("staging"),
            "demo-app",
            serde_json::json!({"canary": {"currentStepAnalysisRunStatus":
                {"name": "demo-app-2-2", "status": "Failed", "message": "Metric \"error-rate\" assessed Failed"}}}),
        )
        .unwrap();
    f.settled().await;
    assert_eq!(f.sim.app_status("demo-app-staging").unwrap().0, "Degraded");

    // up after the release keeps it (and the others as they were), and fails naming why
    // staging is not settled, within its timeout.
    f.settings.config.timeouts.component = std::time::Duration::from_secs(20);
    f.settings.config.timeouts.rollout = std::time::Duration::from_secs(20);
    let (result, _) = f.up().await;
    let err = result.expect_err("up succeeded with staging's canary aborted");
    let message = err.to_string();
    assert!(
        message.contains("Application argocd/demo-app-staging"),
        "{message}"
    );
    assert!(
        message.contains(
            "Rollout staging/demo-app: Degraded: RolloutAborted: Rollout aborted update to revision"
        ),
        "{message}"
    );
    assert_eq!(rollout_image(&f.api, "staging"), released.image);
    assert_eq!(rollout_image(&f.api, "production"), production_image);
    let staging = application(&f.api, "staging");
    assert_eq!(
        staging["metadata"]["annotations"]["kindling.dev/demo-version"],
        "v1.1.0"
    );
    assert_eq!(
        staging["metadata"]["annotations"]["kindling.dev/demo-profile"],
        "fast"
    );
    assert_eq!(
        application(&f.api, "dev")["spec"]["source"]["targetRevision"],
        released.revision.as_str(),
        "up pins every environment to the one artifact that has them all"
    );

    // Bad requests are refused before anything is built.
    let err = kindling::release::release(
        &context,
        &ReleaseRequest {
            environment: "qa".into(),
            version: "v2".into(),
            faults: Faults::default(),
            profile: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_status(), kindling::ExitStatus::Usage);
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}

/// Bad flags are usage errors (exit 2) naming the fix, before anything is built or contacted.
#[test]
fn bad_release_flags_are_usage_errors() {
    for (args, says) in [
        (vec!["release", "qa", "v1.1.0"], "invalid value 'qa'"),
        (
            vec!["release", "staging", "v1.1.0", "--fault", "cpu=1"],
            "unknown fault",
        ),
        (
            vec!["release", "staging", "v1.1.0", "--fault", "error-rate=2"],
            "from 0 to 1",
        ),
        (
            vec!["release", "staging", "v1.1.0", "--profile", "slow"],
            "invalid value 'slow'",
        ),
        (vec!["release", "staging", "v/1"], "not a valid version"),
    ] {
        let out = support::kindling()
            .args(&args)
            .env("KINDLING_DATA_DIR", "/nonexistent/kindling-data")
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
