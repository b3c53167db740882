//! OCI artifacts in a real local registry (stand-in distribution 2.8 on a real Docker engine).

mod registry_support;
mod support;

use kindling::docker::oci::{self, EMPTY_CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use kindling::docker::registry;
use kindling::docker::registry_api::RegistryApi;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use registry_support::Fixture;
use std::path::Path;

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn finished(recorder: &RecordingReporter, step: &str) -> Vec<Outcome> {
    recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepFinished {
                step: s, outcome, ..
            } if s == step => Some(outcome),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn publish_fetch_unpack_republish() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();

    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("overlays/dev")).unwrap();
    std::fs::write(
        src.path().join("kustomization.yaml"),
        "resources:\n- overlays/dev\n",
    )
    .unwrap();
    std::fs::write(
        src.path().join("overlays/dev/app.yaml"),
        "kind: ConfigMap\n",
    )
    .unwrap();

    let api = RegistryApi::local(fx.config.registry.host_port);
    let first = oci::publish(&api, src.path(), "manifests/demo", "v1", &reporter)
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Created);
    assert!(first.digest.starts_with("sha256:"));

    // Raw HTTP: the registry serves an OCI manifest with one tar+gzip layer and the empty config.
    let url = format!(
        "http://127.0.0.1:{}/v2/manifests/demo/manifests/v1",
        fx.config.registry.host_port
    );
    let response = reqwest::Client::new()
        .get(url)
        .header("Accept", MANIFEST_MEDIA_TYPE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["docker-content-digest"]
            .to_str()
            .unwrap(),
        first.digest
    );
    let manifest: serde_json::Value = response.json().await.unwrap();
    assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
    assert_eq!(manifest["config"]["mediaType"], EMPTY_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);

    let out = tempfile::tempdir().unwrap();
    let pulled = oci::pull_and_unpack(&api, "manifests/demo", "v1", out.path())
        .await
        .unwrap();
    assert_eq!(pulled, first.digest);
    assert_eq!(
        files(out.path()),
        files(src.path()),
        "identical files, paths relative to the root"
    );

    // Unchanged content: same digest, nothing pushed, reported unchanged.
    let again = oci::publish(&api, src.path(), "manifests/demo", "v1", &reporter)
        .await
        .unwrap();
    assert_eq!(again.digest, first.digest);
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(
        finished(&recorder, "oci:manifests/demo:v1"),
        [Outcome::Created, Outcome::Unchanged]
    );

    // One changed byte: another digest, the tag moves.
    std::fs::write(
        src.path().join("overlays/dev/app.yaml"),
        "kind: ConfigMaq\n",
    )
    .unwrap();
    let changed = oci::publish(&api, src.path(), "manifests/demo", "v1", &reporter)
        .await
        .unwrap();
    assert_ne!(changed.digest, first.digest);
    assert_eq!(changed.outcome, Outcome::Changed);
    assert_eq!(
        api.manifest_digest("manifests/demo", "v1").await.unwrap(),
        Some(changed.digest.clone())
    );
}

#[tokio::test]
async fn publish_a_missing_folder_is_bad_input() {
    let api = RegistryApi::local(1);
    let reporter: SharedReporter = RecordingReporter::new();
    let err = oci::publish(&api, Path::new("/nonexistent/folder"), "x", "v1", &reporter)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/folder"), "{err}");
    let err: kindling::Error = err.into();
    assert_eq!(err.exit_status(), kindling::ExitStatus::Usage);
}
