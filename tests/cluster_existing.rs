//! `cluster.provider = "existing"`: reachability and version checks against a small HTTP
//! API server (/version, /api), through the real kube client; and the doctor check.

mod cluster_support;
mod support;

use cluster_support::{FakeApi, settings};
use kindling::cluster::{self, ClusterError};
use kindling::config::Provider;
use kindling::env::Env;
use kindling::report::{Outcome, RecordingReporter, SharedReporter};

fn existing(dir: &std::path::Path, kubeconfig: &str, context: &str) -> kindling::config::Settings {
    let file = dir.join("kubeconfig");
    std::fs::write(&file, kubeconfig).unwrap();
    let mut settings = settings(dir);
    settings.config.cluster.provider = Provider::Existing;
    settings.config.cluster.kubeconfig = file.display().to_string();
    settings.config.cluster.context = context.into();
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supported_cluster_is_used_without_kind() {
    let api = FakeApi::start("1", "36+").await;
    let dir = tempfile::tempdir().unwrap();
    let settings = existing(dir.path(), &api.kubeconfig("team"), "team");
    // No PATH: proof that neither kind nor docker is needed.
    let env = Env::from_pairs([("HOME", dir.path().display().to_string())]);
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let handle = cluster::up(&settings, &env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(handle.provider, Provider::Existing);
    assert!(handle.kind.is_none());
    assert_eq!(handle.context, "team");
    assert!(
        api.requests().is_empty(),
        "no ConfigMap, no node wiring on an existing cluster"
    );
    let wiring = recording.events().into_iter().any(|e| {
        matches!(e, kindling::report::Event::StepFinished { step, outcome: Outcome::Skipped, .. } if step == "cluster.wiring")
    });
    assert!(wiring);
    // down leaves it alone.
    cluster::down(&settings, &env, &reporter, false)
        .await
        .unwrap();
    let status = cluster::status(&settings, &env).await.unwrap();
    assert!(status.exists);
    assert_eq!(status.version.as_deref(), Some("v1.36.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_cluster_is_refused() {
    let api = FakeApi::start("1", "31").await;
    let dir = tempfile::tempdir().unwrap();
    let settings = existing(dir.path(), &api.kubeconfig("old"), "old");
    let err = cluster::existing::connect(&settings, &Env::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClusterError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("1.33 or newer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_and_a_missing_context_are_errors_with_hints() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         contexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u\ncurrent-context: gone\nusers:\n- name: u\n  user: {{}}\n"
    );
    let settings = existing(dir.path(), &kubeconfig, "gone");
    let err = cluster::existing::connect(&settings, &Env::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.hint().is_some());

    let settings = existing(dir.path(), &kubeconfig, "prod");
    let err = cluster::existing::connect(&settings, &Env::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClusterError::Kubeconfig { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no context \"prod\" (contexts: gone)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_comes_from_the_kubeconfig_variable_when_not_configured() {
    let api = FakeApi::start("1", "34").await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = existing(dir.path(), &api.kubeconfig("a"), "a");
    let file = std::mem::take(&mut settings.config.cluster.kubeconfig);
    let other = dir.path().join("other");
    std::fs::write(&other, api.kubeconfig("b")).unwrap();
    let env = Env::from_pairs([("KUBECONFIG", format!("{}:{file}", other.display()))]);
    settings.config.cluster.context = "a".into();
    let found = cluster::existing::connect(&settings, &env).await.unwrap();
    assert_eq!(found.version, "v1.34.0");
}

#[test]
fn doctor_checks_the_existing_cluster() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(FakeApi::start("1", "35"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubeconfig");
    std::fs::write(&file, api.kubeconfig("team")).unwrap();
    let doctor = |kubeconfig: &std::path::Path| {
        let out = support::kindling()
            .current_dir(dir.path())
            .env("KINDLING_DATA_DIR", dir.path().join("data"))
            .env("KINDLING_CACHE_DIR", dir.path().join("cache"))
            .args([
                "--output",
                "json",
                "--set",
                "cluster.provider=existing",
                "--set",
                "cluster.context=team",
            ])
            .arg("--set")
            .arg(format!("cluster.kubeconfig={}", kubeconfig.display()))
            .arg("doctor")
            .output()
            .unwrap();
        let results: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        results["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["check"] == "existing cluster")
            .cloned()
            .unwrap()
    };
    let ok = doctor(&file);
    assert_eq!(ok["status"], "ok", "{ok}");
    assert!(ok["detail"].as_str().unwrap().contains("v1.35.0"), "{ok}");
    drop(api);
    let failed = doctor(&file);
    assert_eq!(failed["status"], "fail", "{failed}");
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("does not answer"),
        "{failed}"
    );
}
