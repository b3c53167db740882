//! The GitOps source: the compiled-in manifests staged with a generated layer per
//! environment render with the real kustomize to this platform's image and hosts, lint clean,
//! publish to the real (stand-in) registry as an OCI artifact and come back identical; the Argo
//! CD objects that sync it are accepted by the real Application/AppProject CRDs.

mod registry_support;
mod support;

use kindling::config::Config;
use kindling::platform::gitops::{self, DemoImage, ENVIRONMENTS};
use kindling::report::{RecordingReporter, SharedReporter};
use std::path::Path;

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in kindling::lint::input::files_below(root).unwrap_or_default() {
        out.push((
            entry.strip_prefix(root).unwrap().display().to_string(),
            std::fs::read(&entry).unwrap(),
        ));
    }
    out.sort();
    out
}

#[test]
fn generated_layers_render_to_this_platforms_image_and_hosts() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let mut config = Config::builtin();
    config.network.domain = "kindling.test".into();
    config.registry.host_port = 5002;
    let image = DemoImage::for_release(&config, "v1.2.3");
    let dir = tempfile::tempdir().unwrap();
    gitops::stage(dir.path(), &config, &image).unwrap();
    let store = kindling::lint::SchemaStore::load(&shared.join("upstream")).unwrap();
    for env in &ENVIRONMENTS {
        let rendered = support::kustomize_build(
            &kustomize,
            &dir.path().join("demo-app/generated").join(env.name),
        );
        let objects = kindling::lint::input::parse_documents(&rendered).unwrap();
        let rollout = objects
            .iter()
            .find(|o| o["kind"] == "Rollout")
            .expect("a Rollout");
        assert_eq!(rollout["metadata"]["namespace"], env.namespace);
        assert_eq!(
            rollout["spec"]["template"]["spec"]["containers"][0]["image"],
            "localhost:5002/demo-app:v1.2.3"
        );
        let ingress = objects
            .iter()
            .find(|o| o["kind"] == "Ingress")
            .expect("an Ingress");
        let host = format!("{}.kindling.test", env.host_prefix);
        assert_eq!(ingress["spec"]["rules"][0]["host"], host.as_str());
        assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], host.as_str());
        for object in &objects {
            let violations = kindling::lint::schema_violations(object, &store);
            assert!(
                violations.as_ref().is_none_or(Vec::is_empty),
                "{}: {violations:?}",
                object["kind"]
            );
        }
    }
}

#[test]
fn the_default_domain_keeps_the_committed_hosts_and_digests_pin_the_image() {
    let config = Config::builtin();
    let image = DemoImage {
        repository: "localhost:5001/demo-app".into(),
        tag: "sha256:abc".into(),
    };
    let layer = gitops::generated_layer(&ENVIRONMENTS[1], &config, &image);
    assert!(
        layer.contains("resources:\n  - ../../overlays/staging\n"),
        "{layer}"
    );
    assert!(layer.contains("    digest: sha256:abc\n"), "{layer}");
    assert!(
        !layer.contains("patches:"),
        "no host patch for the committed domain: {layer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_manifests_publish_and_come_back_identical() {
    let Some(fixture) = registry_support::Fixture::new(0).await else {
        return;
    };
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    kindling::docker::registry::up(&fixture.docker, &fixture.config, &reporter)
        .await
        .unwrap();
    let staged = tempfile::tempdir().unwrap();
    let image = DemoImage::for_release(&fixture.config, "v1.0.0");
    gitops::stage(staged.path(), &fixture.config, &image).unwrap();
    let api = kindling::docker::registry_api::RegistryApi::local(fixture.config.registry.host_port);
    let published = kindling::docker::oci::publish(
        &api,
        staged.path(),
        gitops::ARTIFACT_REPO,
        "v1.0.0",
        &reporter,
    )
    .await
    .unwrap();
    let back = tempfile::tempdir().unwrap();
    kindling::docker::oci::pull_and_unpack(
        &api,
        gitops::ARTIFACT_REPO,
        &published.digest,
        back.path(),
    )
    .await
    .unwrap();
    let sent = files(staged.path());
    assert!(
        sent.iter()
            .any(|(p, _)| p == "demo-app/generated/production/kustomization.yaml"),
        "{sent:?}"
    );
    assert!(sent.iter().any(|(p, _)| p == "demo-app/base/rollout.yaml"));
    assert_eq!(files(back.path()), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_objects_are_filled_in_and_accepted_by_the_real_crds() {
    let config = Config::builtin();
    let objects = gitops::argocd_objects(&config, "sha256:0123");
    let text = serde_json::to_string(&objects).unwrap();
    assert!(!text.contains("${"), "a placeholder was left: {text}");
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Application").count(), 3);
    assert!(kinds.contains(&"AppProject"));
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(
        secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
        "repository"
    );
    assert_eq!(
        secret["stringData"]["url"],
        "oci://kind-registry:5000/kindling-manifests"
    );
    assert_eq!(secret["stringData"]["insecureOCIForceHttp"], "true");
    assert!(
        secret["stringData"].get("insecure").is_none(),
        "insecure: true would drop plain HTTP"
    );
    for app in objects.iter().filter(|o| o["kind"] == "Application") {
        assert_eq!(
            app["spec"]["source"]["repoURL"],
            secret["stringData"]["url"]
        );
        assert_eq!(app["spec"]["source"]["targetRevision"], "sha256:0123");
    }

    let Some(shared) = support::shared_dir() else {
        return;
    };
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let client = server.client().await;
    let crds = support::crds::install_crds(&client, &shared.join("upstream")).await;
    for object in objects.iter().filter(|o| o["kind"] != "Secret") {
        support::crds::apply(&client, &crds, object)
            .await
            .unwrap_or_else(|e| panic!("{} rejected: {e}", object["metadata"]["name"]));
    }
}
