//! The GitOps source: the compiled-in manifests staged with a generated layer per
//! environment render with the real kustomize to this platform's image and hosts, lint clean,
//! publish to the real (stand-in) registry as an OCI artifact and come back identical; the Argo
//! CD objects that sync it are accepted by the real Application/AppProject CRDs.

mod registry_support;
mod support;

use kindling::config::Config;
use kindling::config::Profile;
use kindling::environments::ENVIRONMENTS;
use kindling::platform::gitops::{self, DemoImage, EnvRelease};
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

fn everywhere(
    image: DemoImage,
    profile: Profile,
) -> std::collections::BTreeMap<String, EnvRelease> {
    gitops::same_everywhere(&EnvRelease {
        version: image.tag.clone(),
        image,
        profile,
    })
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
    gitops::stage(dir.path(), &config, &everywhere(image, Profile::Realistic)).unwrap();
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
    let layer = gitops::generated_layer(&ENVIRONMENTS[1], &config, &image, Profile::Realistic);
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
    gitops::stage(
        staged.path(),
        &fixture.config,
        &everywhere(image, Profile::Realistic),
    )
    .unwrap();
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

/// The fast profile shortens exactly the pauses and analysis intervals manifests/README.md
/// lists, per environment; realistic keeps the committed values; other environments' layers
/// are untouched by one environment's profile.
#[test]
fn the_fast_profile_renders_10s_pauses_and_intervals_only_where_asked() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let config = Config::builtin();
    let image = DemoImage::for_release(&config, "v1.0.0");
    let mut releases = everywhere(image.clone(), Profile::Realistic);
    releases.get_mut("staging").unwrap().profile = Profile::Fast;
    releases.get_mut("staging").unwrap().image.tag = "v1.1.0".into();
    let dir = tempfile::tempdir().unwrap();
    gitops::stage(dir.path(), &config, &releases).unwrap();
    let render = |env: &str| {
        let text =
            support::kustomize_build(&kustomize, &dir.path().join("demo-app/generated").join(env));
        kindling::lint::input::parse_documents(&text).unwrap()
    };
    let find = |objects: &[serde_json::Value], kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
            .clone()
    };

    let staging = render("staging");
    let rollout = find(&staging, "Rollout", "demo-app");
    let steps = rollout["spec"]["strategy"]["canary"]["steps"]
        .as_array()
        .unwrap();
    let pauses: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["pause"]["duration"].as_str())
        .collect();
    assert_eq!(pauses, ["10s", "10s", "10s"]);
    assert_eq!(
        rollout["spec"]["template"]["spec"]["containers"][0]["image"],
        "localhost:5001/demo-app:v1.1.0"
    );
    let success = find(&staging, "AnalysisTemplate", "success-rate");
    for metric in success["spec"]["metrics"].as_array().unwrap() {
        assert_eq!(metric["interval"], "10s", "{metric}");
    }
    let errors = find(&staging, "AnalysisTemplate", "error-rate-only");
    assert_eq!(errors["spec"]["metrics"][0]["interval"], "10s");

    // Production stays realistic and on its own image.
    let production = render("production");
    let success = find(&production, "AnalysisTemplate", "success-rate");
    assert_eq!(success["spec"]["metrics"][0]["interval"], "30s");
    assert_eq!(
        find(&production, "Rollout", "demo-app")["spec"]["template"]["spec"]["containers"][0]["image"],
        "localhost:5001/demo-app:v1.0.0"
    );
    let errors = find(&production, "AnalysisTemplate", "error-rate-only");
    assert_eq!(errors["spec"]["metrics"][0]["interval"], "20s");
}

#[test]
fn what_an_environment_runs_round_trips_through_its_application() {
    let config = Config::builtin();
    let release = EnvRelease {
        version: "v1.1.0".into(),
        image: DemoImage {
            repository: "localhost:5001/demo-app".into(),
            tag: "sha256:0123".into(),
        },
        profile: Profile::Fast,
    };
    let mut releases = everywhere(release.image.clone(), Profile::Realistic);
    releases.insert("staging".into(), release.clone());
    let objects = gitops::argocd_objects_for(&config, "sha256:abcd", &releases);
    let staging = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "demo-app-staging")
        .unwrap();
    assert_eq!(gitops::recorded_release(staging), Some(release));
    let dev = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "demo-app-dev")
        .unwrap();
    assert_eq!(
        gitops::recorded_release(dev).unwrap().profile,
        Profile::Realistic
    );
    let tagged = EnvRelease {
        version: "v2".into(),
        image: DemoImage {
            repository: "localhost:5001/demo-app".into(),
            tag: "v2".into(),
        },
        profile: Profile::Realistic,
    };
    let mut app = serde_json::json!({ "metadata": {} });
    gitops::record_release(&mut app, &tagged);
    assert_eq!(gitops::recorded_release(&app), Some(tagged));
    assert_eq!(gitops::recorded_release(&serde_json::json!({})), None);
}

#[test]
fn the_repository_secret_and_project_come_before_the_applications() {
    let objects = gitops::argocd_objects(&Config::builtin(), "v1");
    let (first, then) = gitops::apply_phases(objects);
    let kinds = |objects: &[serde_json::Value]| -> Vec<String> {
        let mut kinds: Vec<String> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(kinds(&first), ["AppProject", "Secret"]);
    assert_eq!(kinds(&then), ["Application"; 3]);
}
