//! The apply engine against the fake API server, with the real upstream install manifests.

mod support;

use fake_apiserver::FakeApiServer;
use kindling::k8s::{self, Applied, Applier, K8sError, Manifest};
use kindling::report::{Event, RecordingReporter, ReporterExt, SharedReporter};
use std::time::Duration;

async fn client(fake: &FakeApiServer) -> kube::Client {
    k8s::client_from_kubeconfig(fake.kubeconfig(), None)
        .await
        .unwrap()
}

fn namespace_doc(name: &str) -> Vec<Manifest> {
    k8s::parse_str(
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"),
        "ns.yaml",
    )
    .unwrap()
}

async fn apply(applier: &Applier, manifests: &[Manifest]) -> Result<k8s::ApplyReport, K8sError> {
    let reporter: SharedReporter = RecordingReporter::new();
    let step = reporter.step("apply", "apply");
    let report = applier.apply(manifests, &step).await;
    step.finish(kindling::report::Outcome::Done, None);
    report
}

/// Applies an upstream install.yaml (after its namespace) and checks every object.
async fn install(path: &str, namespace: &str) {
    let Some(file) = support::upstream(path) else {
        return;
    };
    let fake = FakeApiServer::start().await;
    let applier = Applier::new(client(&fake).await).default_namespace(namespace);
    let mut manifests = namespace_doc(namespace);
    manifests.extend(k8s::load_file(&file).unwrap());

    let report = apply(&applier, &manifests).await.unwrap();
    assert_eq!(report.objects.len(), manifests.len());
    assert!(
        report.objects.iter().all(|o| o.result == Applied::Created),
        "{}",
        report.summary()
    );
    for (m, applied) in manifests.iter().zip(&report.objects) {
        let stored = fake
            .get(
                m.api_version(),
                m.kind(),
                applied.namespace.as_deref(),
                m.name(),
            )
            .unwrap_or_else(|| panic!("{} not stored", m.describe()));
        let scoped = fake
            .resources()
            .into_iter()
            .find(|r| r.api_version() == m.api_version() && r.kind == m.kind())
            .unwrap();
        if scoped.namespaced {
            assert_eq!(
                stored["metadata"]["namespace"],
                namespace,
                "{}",
                m.describe()
            );
        } else {
            assert!(
                stored["metadata"]["namespace"].is_null(),
                "{}",
                m.describe()
            );
        }
    }
    let crds = manifests.iter().filter(|m| m.is_crd()).count();
    assert!(crds >= 3);

    let again = apply(&applier, &manifests).await.unwrap();
    assert_eq!(
        again.count(Applied::Unchanged),
        manifests.len(),
        "{}",
        again.summary()
    );
}

#[tokio::test]
async fn applies_argo_cd_install_yaml_and_reapplies_unchanged() {
    install("argo-cd/v3.5.1/install.yaml", "argocd").await;
}

#[tokio::test]
async fn applies_argo_rollouts_install_yaml_and_reapplies_unchanged() {
    install("argo-rollouts/v1.9.1/install.yaml", "argo-rollouts").await;
}

#[tokio::test]
async fn a_changed_object_is_reported_configured() {
    let fake = FakeApiServer::start().await;
    let applier = Applier::new(client(&fake).await);
    let v1 = k8s::parse_str(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n",
        "c.yaml",
    )
    .unwrap();
    let v2 = k8s::parse_str(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n",
        "c.yaml",
    )
    .unwrap();
    assert_eq!(
        apply(&applier, &v1).await.unwrap().objects[0].result,
        Applied::Created
    );
    assert_eq!(
        apply(&applier, &v2).await.unwrap().objects[0].result,
        Applied::Configured
    );
    assert_eq!(
        apply(&applier, &v2).await.unwrap().objects[0].result,
        Applied::Unchanged
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", Some("default"), "c").unwrap()["data"]["a"],
        "2"
    );
}

#[tokio::test]
async fn a_custom_resource_applied_with_its_crd_waits_for_it() {
    let Some(crd) = support::upstream("argo-cd/v3.5.1/crds/appproject-crd.yaml") else {
        return;
    };
    // The CRD becomes Established only when the test says so, once kindling waits for it (its
    // watch on the CRD is open): applying the AppProject before that fails.
    let fake = FakeApiServer::builder()
        .crd_established_after(Duration::from_secs(3600))
        .namespace("argocd")
        .start()
        .await;
    let applier = Applier::new(client(&fake).await).default_namespace("argocd");
    // The custom resource comes first in the input: order must come from the engine.
    let mut manifests = k8s::parse_str(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: platform}\nspec:\n  sourceRepos: ['*']\n",
        "project.yaml",
    )
    .unwrap();
    manifests.extend(k8s::load_file(&crd).unwrap());

    let mut changes = fake.subscribe();
    let reporter = RecordingReporter::new();
    let shared: SharedReporter = reporter.clone();
    let step = shared.step("apply", "apply");
    let applying = tokio::spawn(async move {
        let report = applier.apply(&manifests, &step).await;
        (report, step)
    });
    fake.until_watch(0, "customresourcedefinitions", "appprojects.argoproj.io")
        .await;
    assert!(
        !applying.is_finished(),
        "applied before the CRD was Established"
    );
    fake.establish("appprojects.argoproj.io");
    let (report, step) = applying.await.unwrap();
    let report = report.unwrap();
    report.finish(step);
    assert_eq!(report.count(Applied::Created), 2);
    let project = fake
        .get(
            "argoproj.io/v1alpha1",
            "AppProject",
            Some("argocd"),
            "platform",
        )
        .unwrap();
    assert_eq!(project["spec"]["sourceRepos"][0], "*");

    // The CRD was Established before the AppProject was created.
    let mut order = Vec::new();
    while let Ok(c) = changes.try_recv() {
        let established = c.object["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Established"));
        order.push(format!(
            "{}{}",
            c.kind(),
            if established { "+Established" } else { "" }
        ));
    }
    let established = order
        .iter()
        .position(|o| o == "CustomResourceDefinition+Established")
        .unwrap();
    let project = order.iter().position(|o| o == "AppProject").unwrap();
    assert!(established < project, "{order:?}");
    let events = reporter.events();
    assert!(events.iter().any(|e| matches!(e, Event::StepProgress { message, .. } if message.contains("AppProject argocd/platform created"))), "{events:?}");
}

#[tokio::test]
async fn an_unknown_kind_names_it_and_suggests_the_crd() {
    let fake = FakeApiServer::start().await;
    let applier = Applier::new(client(&fake).await);
    let manifests = k8s::parse_str(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n",
        "r.yaml",
    )
    .unwrap();
    let err = apply(&applier, &manifests).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "no kind Rollout in argoproj.io/v1alpha1: is the CRD rollouts.argoproj.io installed?"
        ),
        "{err}"
    );
    assert!(err.contains("r.yaml, document 1"), "{err}");

    let manifests = k8s::parse_str(
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n",
        "d.yaml",
    )
    .unwrap();
    let err = apply(&applier, &manifests).await.unwrap_err().to_string();
    assert!(err.contains("no kind Deploymnet in apps/v1"), "{err}");
}

#[tokio::test]
async fn a_cluster_scoped_object_with_a_namespace_is_an_error() {
    let fake = FakeApiServer::start().await;
    let applier = Applier::new(client(&fake).await);
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader, namespace: argocd}\nrules: []\n";
    let manifests = k8s::parse_str(text, "roles.yaml").unwrap();
    let err = apply(&applier, &manifests).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("ClusterRole reader in roles.yaml, document 2 is cluster-scoped but has metadata.namespace \"argocd\""), "{message}");
    assert!(
        fake.get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "reader"
        )
        .is_none()
    );
    let error: kindling::Error = err.into();
    assert_eq!(error.exit_status(), kindling::ExitStatus::Usage);
}

#[tokio::test]
async fn a_missing_namespace_is_the_servers_404() {
    let fake = FakeApiServer::start().await;
    let applier = Applier::new(client(&fake).await).default_namespace("nowhere");
    let manifests = k8s::parse_str(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "c.yaml",
    )
    .unwrap();
    let err = apply(&applier, &manifests).await.unwrap_err();
    assert_eq!(err.code(), Some(404));
    assert!(
        err.to_string().contains("namespaces \"nowhere\" not found"),
        "{err}"
    );
}

#[test]
fn bad_files_name_file_document_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: {a: [}\n").unwrap();
    let err = k8s::load_file(&path).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("broken.yaml, document 2, line 9"),
        "{message}"
    );
    let error: kindling::Error = err.into();
    assert_eq!(error.exit_status(), kindling::ExitStatus::Usage);

    std::fs::write(
        &path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n",
    )
    .unwrap();
    let message = k8s::load_file(&path).unwrap_err().to_string();
    assert!(
        message.contains("broken.yaml, document 1: metadata.name is missing"),
        "{message}"
    );

    let missing = k8s::load_file(&dir.path().join("nope.yaml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.yaml"), "{missing}");
}
