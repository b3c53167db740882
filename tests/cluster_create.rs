//! kindling's create with the real kind 0.33, which fails here at "Ensuring node image"
//! (no network): the error carries kind's output and the network hint, and nothing is left.

mod cluster_support;
mod support;

use cluster_support::{containers_with_label, env_with, settings};
use kindling::cluster::{self, ClusterError};
use kindling::report::{Event, RecordingReporter, SharedReporter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_reports_kinds_output_and_the_network_hint() {
    let Some(kind) = cluster_support::real_kind() else {
        return;
    };
    if support::docker_available().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    let name = support::unique("kcreate");
    settings.config.cluster.name = name.clone();
    settings.config.network.http_port = support::free_port();
    settings.config.network.https_port = support::free_port();
    let env = env_with(
        None,
        &dir.path().join("kubeconfig"),
        &[("KINDLING_KIND_BIN", kind.display().to_string())],
    );
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();

    let err = match cluster::up(&settings, &env, &reporter, false).await {
        Ok(_) => panic!("kind cannot create a cluster here"),
        Err(e) => e,
    };
    let leftovers = containers_with_label(&format!("io.x-k8s.kind.cluster={name}"));
    for node in &leftovers {
        let _ = cluster_support::docker(&["rm", "-f", "-v", node]);
    }

    let ClusterError::Kind {
        command,
        output,
        hint,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        command,
        &format!("kind create cluster --name {name} --config -")
    );
    assert!(output.contains("failed to pull image"), "{output}");
    let hint = hint.as_deref().unwrap();
    assert!(hint.contains("network access"), "{hint}");
    assert!(hint.contains(&settings.config.cluster.node_image), "{hint}");
    // kind's status lines arrived as sub-steps of the create step.
    let progress: Vec<String> = recording
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepProgress { step, message, .. } if step == "cluster.create" => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        progress
            .iter()
            .any(|m| m.starts_with("Ensuring node image (kindest/node:v1.36.4) ...")),
        "{progress:?}"
    );
    assert!(
        progress
            .iter()
            .any(|m| m.starts_with("✗ Ensuring node image")),
        "{progress:?}"
    );
    assert!(
        leftovers.is_empty(),
        "kind left nodes behind: {leftovers:?}"
    );
    assert!(
        !cluster::state::path(&settings).exists(),
        "no state for a cluster that was not made"
    );

    let error: kindling::Error = err.into();
    let rendered = error.to_string();
    assert!(rendered.contains("failed to pull image"), "{rendered}");
    assert!(error.hints().iter().any(|h| h.contains("network access")));
}
