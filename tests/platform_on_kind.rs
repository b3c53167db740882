//! kindling's platform Applications, rendered by real Helm (../shared/tools/helm-render) and
//! synced by the simulated Argo CD v3.5.1 onto the simulated kind cluster (crates/kind-sim):
//! healthy only where Argo CD's own rules would say Healthy on kind.

mod support;

use kind_sim::{Helm, Rendered, Sim, Source};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How long a platform may take to settle here (the whole platform settles in seconds).
const SETTLE: Duration = Duration::from_secs(240);

/// Real Helm for chart Applications, `kustomize build` of a demo overlay for the others.
struct Sources {
    helm: Helm,
    overlays: Vec<(String, Vec<Value>)>,
}

impl Source for Sources {
    fn render(&self, app: &Value, api_versions: &[String]) -> Result<Rendered, String> {
        let name = app["metadata"]["name"].as_str().unwrap_or("");
        match self.overlays.iter().find(|(n, _)| n == name) {
            Some((_, objects)) => Ok(Rendered {
                revision: app["spec"]["source"]["targetRevision"]
                    .as_str()
                    .unwrap_or("")
                    .into(),
                objects: objects.clone(),
            }),
            None => Source::render(&self.helm, app, api_versions),
        }
    }
}

fn helm() -> Option<Helm> {
    support::shared_dir()?;
    match Helm::from_env() {
        Ok(h) => Some(h),
        Err(e) => support::skip(&e),
    }
}

/// A simulated kind cluster made from kindling's own kind config, with Argo CD, and what
/// `up`'s platform step creates before the Applications (src/up/platform.rs: the monitoring
/// namespace and Grafana's admin Secret).
async fn platform_cluster(
    overlays: Vec<(String, Vec<Value>)>,
) -> Option<(fake_apiserver::FakeApiServer, Sim)> {
    let helm = helm()?;
    let config = kindling::config::Config::builtin();
    let api = fake_apiserver::FakeApiServer::start().await;
    let options = kind_sim::Options {
        kind: kind_sim::kind::Options {
            name: config.cluster.name.clone(),
            config: Some(kindling::cluster::kind_config::render(&config)),
            ..Default::default()
        },
        ..Default::default()
    };
    let sim = Sim::start(&api, Arc::new(Sources { helm, overlays }), options).unwrap();
    api.create_namespace("monitoring");
    api.apply(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": kindling::platform::applications::GRAFANA_ADMIN_SECRET, "namespace": "monitoring"},
        "stringData": {"admin-user": "admin", "admin-password": "simulated"}}))
    .unwrap();
    Some((api, sim))
}

async fn settle(sim: &Sim) {
    tokio::time::timeout(SETTLE, sim.settled())
        .await
        .expect("the simulated cluster settles");
}

/// "health/sync/operation phase: message", and the resources that are not Healthy.
fn describe(sim: &Sim, app: &str) -> String {
    let a = sim.argocd.application(app).expect("the Application exists");
    let s = &a["status"];
    let mut text = format!(
        "{app}: {}/{}/{}: {}",
        s["health"]["status"],
        s["sync"]["status"],
        s["operationState"]["phase"],
        s["operationState"]["message"]
    );
    for n in sim.argocd.resource_tree(app) {
        if let Some(h) = n
            .health
            .filter(|h| h.status != Some(kind_sim::Status::Healthy))
        {
            text.push_str(&format!(
                "\n  {} {}/{}: {} {}",
                n.kind,
                n.namespace,
                n.name,
                h.status_str(),
                h.message
            ));
        }
    }
    text
}

fn health(sim: &Sim, app: &str) -> String {
    sim.app_status(app).map(|(h, _)| h).unwrap_or_default()
}

fn traefik_with_service(service: Value) -> Value {
    let mut app = kindling::platform::applications::traefik(&kindling::config::Config::builtin());
    app["spec"]["source"]["helm"]["valuesObject"]["service"] = service;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traefik_valued_with_service_type_renders_a_load_balancer_and_stays_progressing_on_kind() {
    let Some((api, sim)) = platform_cluster(Vec::new()).await else {
        return;
    };
    // The key kindling set before issue 13: traefik 41.3.0's schema accepts it, the chart
    // ignores it (the type lives at service.spec.type since chart 40.0.0).
    api.apply(traefik_with_service(json!({"type": "ClusterIP"})))
        .unwrap();
    settle(&sim).await;
    let svc = api
        .get("v1", "Service", Some("traefik"), "traefik")
        .expect("rendered and applied");
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert_eq!(
        health(&sim, "traefik"),
        "Progressing",
        "{}",
        describe(&sim, "traefik")
    );
    let tree = sim.argocd.resource_tree("traefik");
    let not_healthy: Vec<String> = tree
        .iter()
        .filter(|n| {
            n.health
                .as_ref()
                .is_some_and(|h| h.status != Some(kind_sim::Status::Healthy))
        })
        .map(|n| format!("{}/{}", n.kind, n.name))
        .collect();
    assert_eq!(
        not_healthy,
        ["Service/traefik"],
        "only the LoadBalancer Service holds it back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traefik_valued_with_service_spec_type_is_healthy_on_kind() {
    let Some((api, sim)) = platform_cluster(Vec::new()).await else {
        return;
    };
    api.apply(traefik_with_service(json!({"spec": {"type": "ClusterIP"}})))
        .unwrap();
    settle(&sim).await;
    let svc = api
        .get("v1", "Service", Some("traefik"), "traefik")
        .unwrap();
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(
        health(&sim, "traefik"),
        "Healthy",
        "{}",
        describe(&sim, "traefik")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_platform_application_kindling_renders_is_healthy_and_synced_on_kind() {
    let Some((api, sim)) = platform_cluster(Vec::new()).await else {
        return;
    };
    let apps = kindling::platform::applications::all(&kindling::config::Config::builtin());
    let names: Vec<String> = apps
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for app in apps {
        api.apply(app).unwrap();
    }
    settle(&sim).await;
    for name in &names {
        let (health, sync) = sim.app_status(name).unwrap();
        assert_eq!(
            (health.as_str(), sync.as_str()),
            ("Healthy", "Synced"),
            "{}",
            describe(&sim, name)
        );
    }
    let load_balancers: Vec<String> = api
        .list("v1", "Service", None)
        .iter()
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .map(|s| format!("{}/{}", s["metadata"]["namespace"], s["metadata"]["name"]))
        .collect();
    assert!(load_balancers.is_empty(), "{load_balancers:?}");
}

/// metrics-server as kindling would install it (chart 3.13.1), with `args`.
fn metrics_server(args: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "metrics-server", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": "https://kubernetes-sigs.github.io/metrics-server/", "chart": "metrics-server",
                            "targetRevision": "3.13.1", "helm": {"releaseName": "metrics-server", "valuesObject": {"args": args}}},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "kube-system"},
                 "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"]}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_platform_healthy_the_production_hpa_is_degraded_on_kind_until_metrics_server_runs_with_kubelet_insecure_tls()
 {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let production =
        kind_sim::yaml::parse_stream(&support::render_overlay(&kustomize, "production")).unwrap();
    assert!(
        production
            .iter()
            .any(|o| o["kind"] == "HorizontalPodAutoscaler")
    );
    let demo = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "demo-app-production", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": "oci://kind-registry:5000/kindling-manifests", "path": "demo-app/overlays/production", "targetRevision": "sim"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "production"},
                 "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}}});
    let Some((api, sim)) = platform_cluster(vec![("demo-app-production".into(), production)]).await
    else {
        return;
    };
    // kindling's platform without its metrics-server (applied below, as the test goes).
    for app in kindling::platform::applications::all(&kindling::config::Config::builtin()) {
        if app["metadata"]["name"] != "metrics-server" {
            api.apply(app).unwrap();
        }
    }
    api.apply(demo).unwrap();
    settle(&sim).await;
    for name in [
        "traefik",
        "cert-manager",
        "kube-prometheus-stack",
        "argo-rollouts",
    ] {
        let status = sim.app_status(name).unwrap();
        assert_eq!(
            status,
            ("Healthy".into(), "Synced".into()),
            "{}",
            describe(&sim, name)
        );
    }
    let hpa = || {
        sim.argocd
            .resource_tree("demo-app-production")
            .into_iter()
            .find(|n| n.kind == "HorizontalPodAutoscaler")
            .and_then(|n| n.health)
            .unwrap()
    };
    assert_eq!(
        health(&sim, "demo-app-production"),
        "Degraded",
        "{}",
        describe(&sim, "demo-app-production")
    );
    assert!(
        hpa()
            .message
            .contains("unable to fetch metrics from resource metrics API"),
        "{:?}",
        hpa()
    );

    // Without --kubelet-insecure-tls metrics-server never gets ready on kind.
    api.apply(metrics_server(json!([
        "--kubelet-preferred-address-types=InternalIP"
    ])))
    .unwrap();
    settle(&sim).await;
    assert_eq!(
        health(&sim, "metrics-server"),
        "Progressing",
        "{}",
        describe(&sim, "metrics-server")
    );
    assert_eq!(health(&sim, "demo-app-production"), "Degraded");

    api.apply(metrics_server(json!(["--kubelet-insecure-tls"])))
        .unwrap();
    settle(&sim).await;
    assert_eq!(
        health(&sim, "metrics-server"),
        "Healthy",
        "{}",
        describe(&sim, "metrics-server")
    );
    assert_eq!(
        health(&sim, "demo-app-production"),
        "Healthy",
        "{}",
        describe(&sim, "demo-app-production")
    );
}
