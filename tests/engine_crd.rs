//! Custom resources against the real apiextensions-apiserver (support::CrdApiserver): real
//! server-side apply, structural-schema validation, the status subresource and watches.

mod support;

use kindling::k8s::{self, Applied, Applier, K8sError, Manifest, Target, Waiter, wait};
use kindling::report::{NullReporter, ReporterExt, SharedReporter};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const CRD_FILES: &[&str] = &[
    "argo-cd/v3.5.1/crds/application-crd.yaml",
    "argo-cd/v3.5.1/crds/appproject-crd.yaml",
    "argo-cd/v3.5.1/crds/applicationset-crd.yaml",
    "argo-rollouts/v1.9.1/crds/rollout-crd.yaml",
    "argo-rollouts/v1.9.1/crds/analysis-template-crd.yaml",
    "argo-rollouts/v1.9.1/crds/cluster-analysis-template-crd.yaml",
    "argo-rollouts/v1.9.1/crds/analysis-run-crd.yaml",
    "argo-rollouts/v1.9.1/crds/experiment-crd.yaml",
    "cert-manager/v1.21.1/crds/cert-manager.io_certificates.yaml",
    "cert-manager/v1.21.1/crds/cert-manager.io_clusterissuers.yaml",
    "cert-manager/v1.21.1/crds/cert-manager.io_issuers.yaml",
    "cert-manager/v1.21.1/crds/cert-manager.io_certificaterequests.yaml",
    "prometheus-operator/v0.93.0/crds/servicemonitors.yaml",
    "prometheus-operator/v0.93.0/crds/podmonitors.yaml",
    "prometheus-operator/v0.93.0/crds/prometheusrules.yaml",
];

const RESOURCES: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: platform}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "https://kubernetes.default.svc", namespace: "*"}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: demo-app}
spec:
  project: platform
  source: {repoURL: "oci://kindling-registry:5000/demo-app", path: ".", targetRevision: "1.0.0"}
  destination: {server: "https://kubernetes.default.svc", namespace: demo}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo-app}
spec:
  replicas: 5
  selector: {matchLabels: {app: demo-app}}
  template:
    metadata: {labels: {app: demo-app}}
    spec:
      containers: [{name: app, image: "localhost:5001/demo-app:1.0.0"}]
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {duration: 10s}}]
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: error-rate}
spec:
  metrics:
  - name: error-rate
    count: 3
    interval: 10s
    successCondition: "result[0] < 0.05"
    provider:
      prometheus:
        address: "http://prometheus-operated.monitoring.svc:9090"
        query: "sum(rate(http_requests_total{code=~\"5..\"}[1m]))"
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: kindling-ca}
spec:
  ca: {secretName: kindling-ca}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: demo-tls}
spec:
  secretName: demo-tls
  dnsNames: [demo.localtest.me]
  issuerRef: {name: kindling-ca, kind: ClusterIssuer}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: demo-app}
spec:
  selector: {matchLabels: {app: demo-app}}
  endpoints: [{port: http, interval: 15s}]
  podTargetLabels: [rollouts-pod-template-hash]
"#;

fn crds() -> Option<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for f in CRD_FILES {
        manifests.extend(k8s::load_file(&support::upstream(f)?).unwrap());
    }
    Some(manifests)
}

async fn apply(
    applier: &Applier,
    manifests: &[Manifest],
) -> Result<k8s::ApplyReport, k8s::K8sError> {
    let reporter: SharedReporter = Arc::new(NullReporter);
    let step = reporter.step("apply", "apply");
    let result = applier.apply(manifests, &step).await;
    step.finish(kindling::report::Outcome::Done, None);
    result
}

#[tokio::test]
async fn upstream_crds_then_custom_resources_then_unchanged() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let Some(mut manifests) = crds() else { return };
    let client = k8s::client_from_kubeconfig(&server.kubeconfig(), None)
        .await
        .unwrap();
    let applier = Applier::new(client.clone()).default_namespace("demo");
    // Custom resources first in the input: the engine orders CRDs first and waits for them.
    let mut all = k8s::parse_str(RESOURCES, "resources.yaml").unwrap();
    let resources = all.len();
    all.append(&mut manifests);

    let report = apply(&applier, &all).await.unwrap();
    assert_eq!(
        report.count(Applied::Created),
        all.len(),
        "{}",
        report.summary()
    );
    let issuer = report
        .objects
        .iter()
        .find(|o| o.kind == "ClusterIssuer")
        .unwrap();
    assert_eq!(issuer.namespace, None);
    let rollout = report.objects.iter().find(|o| o.kind == "Rollout").unwrap();
    assert_eq!(rollout.namespace.as_deref(), Some("demo"));

    // The real server stored them, with kindling as the field manager.
    let discovery = applier.discovery();
    let resolved = discovery
        .resolve("argoproj.io/v1alpha1", "Rollout", None)
        .await
        .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "demo", &resolved.resource);
    let stored = api.get("demo-app").await.unwrap();
    assert_eq!(stored.data["spec"]["replicas"], 5);
    let managers: Vec<_> = stored
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["kindling".to_string()]);

    let again = apply(&applier, &all).await.unwrap();
    assert_eq!(
        again.count(Applied::Unchanged),
        all.len(),
        "{}",
        again.summary()
    );
    assert!(resources >= 7);
}

#[tokio::test]
async fn an_unknown_field_fails_with_the_servers_verdict() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let Some(crd) = support::upstream("argo-rollouts/v1.9.1/crds/rollout-crd.yaml") else {
        return;
    };
    let client = k8s::client_from_kubeconfig(&server.kubeconfig(), None)
        .await
        .unwrap();
    let applier = Applier::new(client).default_namespace("demo");
    let mut manifests = k8s::load_file(&crd).unwrap();
    manifests.extend(
        k8s::parse_str(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: typo}\nspec:\n  replicas: 1\n  replica_count: 3\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec: {containers: [{name: x, image: x}]}\n",
            "rollout.yaml",
        )
        .unwrap(),
    );
    let err = apply(&applier, &manifests).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("apply Rollout demo/typo (rollout.yaml, document 1) failed"),
        "{message}"
    );
    assert!(
        message.contains(".spec.replica_count: field not declared in schema"),
        "{message}"
    );
    // The real server answers this with 500 (it fails building the typed patch).
    assert!(
        err.hint().unwrap().contains("replica_count"),
        "{:?}",
        err.hint()
    );
}

#[tokio::test]
async fn waits_on_custom_resource_status_through_watch() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let Some(crd) =
        support::upstream("cert-manager/v1.21.1/crds/cert-manager.io_certificates.yaml")
    else {
        return;
    };
    let client = k8s::client_from_kubeconfig(&server.kubeconfig(), None)
        .await
        .unwrap();
    let applier = Applier::new(client.clone()).default_namespace("demo");
    let mut manifests = k8s::load_file(&crd).unwrap();
    manifests.extend(
        k8s::parse_str(
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web}\nspec:\n  secretName: web-tls\n  dnsNames: [web.localtest.me]\n  issuerRef: {name: ca, kind: ClusterIssuer}\n",
            "cert.yaml",
        )
        .unwrap(),
    );
    apply(&applier, &manifests).await.unwrap();
    let resolved = applier
        .discovery()
        .resolve("cert-manager.io/v1", "Certificate", None)
        .await
        .unwrap();
    let target = Target::namespaced(resolved.resource.clone(), "demo", "web");
    let waiter = Waiter::new(client.clone());

    // Not ready: the timeout says what was last seen.
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "demo", &resolved.resource);
    let status = |ready: &str, reason: &str| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "status": {"conditions": [
            {"type": "Ready", "status": ready, "reason": reason, "message": format!("certificate is {reason}"), "lastTransitionTime": "2026-01-01T00:00:00Z"}
        ]}})
    };
    let params = PatchParams::apply("test-cert-manager").force();
    api.patch_status("web", &params, &Patch::Apply(status("False", "Issuing")))
        .await
        .unwrap();
    let err = waiter
        .wait(
            target.clone(),
            wait::certificate_ready(),
            Duration::from_millis(800),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("last seen: Ready=False (Issuing): certificate is Issuing"),
        "{err}"
    );

    // A status change made while kindling waits arrives through the watch: it is written only
    // once kindling's watch is open, and a wait that had ended on the first listing would
    // never open it (until_watch would panic).
    let (watching, log) = support::recording_client(&server.kubeconfig()).await;
    let wait = tokio::spawn(async move {
        Waiter::new(watching)
            .wait(target, wait::certificate_ready(), Duration::from_secs(20))
            .await
    });
    log.until_watch(0, "certificates", "web").await;
    assert!(!wait.is_finished(), "returned before the status changed");
    api.patch_status("web", &params, &Patch::Apply(status("True", "Ready")))
        .await
        .unwrap();
    let object = wait.await.unwrap().unwrap().unwrap();
    assert_eq!(object.data["status"]["conditions"][0]["status"], "True");
    // Status changes do not bump the generation.
    assert_eq!(object.metadata.generation, Some(1));
}

#[tokio::test]
async fn application_and_rollout_waits_on_the_real_server() {
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let Some(app_crd) = support::upstream("argo-cd/v3.5.1/crds/application-crd.yaml") else {
        return;
    };
    let Some(rollout_crd) = support::upstream("argo-rollouts/v1.9.1/crds/rollout-crd.yaml") else {
        return;
    };
    let client = k8s::client_from_kubeconfig(&server.kubeconfig(), None)
        .await
        .unwrap();
    let applier = Applier::new(client.clone()).default_namespace("demo");
    let mut manifests = k8s::load_file(&app_crd).unwrap();
    manifests.extend(k8s::load_file(&rollout_crd).unwrap());
    manifests.extend(
        k8s::parse_str(RESOURCES, "resources.yaml")
            .unwrap()
            .into_iter()
            .filter(|m| matches!(m.kind(), "Application" | "Rollout")),
    );
    apply(&applier, &manifests).await.unwrap();

    // Application: no status subresource; Argo CD writes status on the main resource.
    let app = applier
        .discovery()
        .resolve("argoproj.io/v1alpha1", "Application", None)
        .await
        .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "demo", &app.resource);
    let failed = json!({"status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"},
        "operationState": {"phase": "Failed", "message": "one or more synchronization tasks are not valid", "startedAt": "2026-01-01T00:00:00Z",
            "operation": {"sync": {"revision": "1.0.0"}}}}});
    // Each status is written once kindling's watch is open: it arrives as a watch event.
    let (watching, log) = support::recording_client(&server.kubeconfig()).await;
    let waiter = Waiter::new(watching);
    let target = Target::namespaced(app.resource.clone(), "demo", "demo-app");
    let wait = tokio::spawn({
        let waiter = waiter.clone();
        // Never reached: a failed sync ends the wait at once (WaitFailed, not Timeout).
        async move {
            waiter
                .wait(
                    target,
                    wait::application_synced_healthy(),
                    Duration::from_secs(60),
                )
                .await
        }
    });
    log.until_watch(0, "applications", "demo-app").await;
    api.patch("demo-app", &PatchParams::default(), &Patch::Merge(failed))
        .await
        .unwrap();
    let err = wait.await.unwrap().unwrap_err();
    assert!(matches!(err, K8sError::WaitFailed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("sync Failed: one or more synchronization tasks are not valid"),
        "{err}"
    );

    // Rollout: status through the status subresource, observedGeneration as a string.
    let rollout = applier
        .discovery()
        .resolve("argoproj.io/v1alpha1", "Rollout", None)
        .await
        .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "demo", &rollout.resource);
    let target = Target::namespaced(rollout.resource, "demo", "demo-app");
    let mark = log.mark();
    let wait = tokio::spawn(async move {
        waiter
            .wait(target, wait::rollout_done(), Duration::from_secs(20))
            .await
    });
    log.until_watch(mark, "rollouts", "demo-app").await;
    assert!(
        !wait.is_finished(),
        "done before the controller wrote status"
    );
    let status = json!({"status": {"observedGeneration": "1", "phase": "Healthy", "stableRS": "5d8f9c", "currentPodHash": "5d8f9c"}});
    api.patch_status("demo-app", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    let object = wait.await.unwrap().unwrap().unwrap();
    assert_eq!(object.data["status"]["phase"], "Healthy");
}
