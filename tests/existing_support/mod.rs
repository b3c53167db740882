//! A simulated existing multi-node cluster for `up` and `down` with `cluster.provider =
//! "existing"`: the fake API server with several nodes (none labelled ingress-ready) and what a
//! team's cluster already runs (cert-manager, metrics-server, Prometheus operator CRDs, an
//! IngressClass), plus small simulated controllers that behave as the real ones do:
//!
//! - a load-balancer controller: a Service of type LoadBalancer gets `status.loadBalancer.
//!   ingress[0].ip` = `LB_ADDRESS` (cloud controllers, MetalLB, k3s's servicelb); Traefik's
//!   only once `up` watches the traefik Application, so `up` is seen to wait for it;
//! - Traefik's `publishedService`: every Ingress of class traefik gets the Service's load-balancer
//!   status, only once it has one (traefik v3.7 pkg/provider/kubernetes/ingress
//!   `updateIngressStatus`: a Service without one is skipped);
//! - Argo CD: a platform Application's chart is "synced" by creating the objects that matter here
//!   (Traefik's Service and IngressClass, the charts' Ingresses, the CRDs a chart installs, the
//!   metrics APIService); its health follows gitops-engine's rules (argo-cd v3.5.1
//!   health_service.go: a LoadBalancer Service without an address is Progressing;
//!   health_ingress.go: an Ingress without `status.loadBalancer.ingress` is Progressing), and a
//!   pod whose nodeSelector no node matches never runs (Progressing). A demo Application syncs
//!   the Rollout from the artifact in the push_host registry (read with the login). Deleting an
//!   Application with `resources-finalizer.argocd.argoproj.io` deletes what it made first;
//! - Argo Rollouts (`stand_ins::simulate_rollouts`) and a stand-in ingress on `LB_ADDRESS`.
#![allow(dead_code)]

use crate::push_host_support::AuthRegistry;
use crate::support;
mod stand_ins;

use fake_apiserver::{ChangeType, Fake, FakeApiServer};
use kindling::report::{RecordingReporter, SharedReporter};
use kindling::up::{UpContext, UpOptions};
use serde_json::{Value, json};
use stand_ins::{Ingress, simulate_rollouts};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The address the simulated load balancer gives: not 127.0.0.1, so a check that went to
/// 127.0.0.1 out of habit finds nothing there.
pub const LB_ADDRESS: &str = "127.0.0.2";
pub const DOMAIN: &str = "platform.example.test";
pub const CONTEXT: &str = "team-cluster";

/// What the cluster runs before kindling comes.
#[derive(Debug, Clone)]
pub struct Preinstalled {
    pub nodes: usize,
    pub cert_manager: bool,
    pub metrics_server: bool,
    pub prometheus_crds: bool,
    /// IngressClasses (name, controller).
    pub ingress_classes: Vec<(&'static str, &'static str)>,
    /// Anything else (namespaces, foreign objects).
    pub objects: Vec<Value>,
    /// An ingress controller of the cluster's own that publishes `LB_ADDRESS` into the status
    /// of every Ingress of this class (as ingress-nginx with `--publish-service` does).
    pub publishing_class: Option<&'static str>,
}

impl Default for Preinstalled {
    fn default() -> Preinstalled {
        Preinstalled {
            nodes: 3,
            cert_manager: true,
            metrics_server: true,
            prometheus_crds: true,
            ingress_classes: vec![("nginx", "k8s.io/ingress-nginx")],
            objects: Vec::new(),
            publishing_class: None,
        }
    }
}

fn crds_below(dir: &std::path::Path) -> Vec<Value> {
    kindling::lint::input::files_below(dir)
        .unwrap()
        .iter()
        .flat_map(|f| {
            kindling::lint::input::parse_documents(&std::fs::read_to_string(f).unwrap()).unwrap()
        })
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect()
}

/// The whole set of Prometheus operator CRDs, as kube-prometheus-stack 88.5.3 ships them (its
/// `crds` subchart, operator 0.93.1), read from the pinned chart.
fn prometheus_operator_crds(upstream: &std::path::Path) -> Vec<Value> {
    let tgz = upstream.join("charts/kube-prometheus-stack-88.5.3.tgz");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&tgz).unwrap(),
    ));
    let mut crds = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if path.contains("charts/crds/crds/crd-") && path.ends_with(".yaml") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            crds.extend(kindling::lint::input::parse_documents(&text).unwrap());
        }
    }
    assert_eq!(crds.len(), 10, "the chart's CRDs");
    crds
}

/// Objects a simulated controller made, by owner (an Application's name).
type Made = Arc<Mutex<HashMap<String, Vec<(String, String, Option<String>, String)>>>>;

fn remember(made: &Made, owner: &str, object: &Value) {
    let id = (
        object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        object["kind"].as_str().unwrap_or_default().to_string(),
        object["metadata"]["namespace"].as_str().map(str::to_string),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    made.lock()
        .unwrap()
        .entry(owner.to_string())
        .or_default()
        .push(id);
}

/// Writes the cluster's pre-installed state.
fn preinstall(fake: &Fake, what: &Preinstalled, upstream: &std::path::Path) {
    for i in 0..what.nodes {
        let role = if i == 0 { "control-plane" } else { "worker" };
        fake.create(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": { "name": format!("node-{i}"), "labels": {
                "kubernetes.io/hostname": format!("node-{i}"),
                "kubernetes.io/os": "linux",
                format!("node-role.kubernetes.io/{role}"): ""
            } }
        }))
        .unwrap();
    }
    if what.cert_manager {
        fake.create_namespace("cert-manager");
        for crd in crds_below(&upstream.join("cert-manager/v1.21.1/crds")) {
            fake.apply(crd).unwrap();
        }
        // As the cert-manager chart labels its webhook (templates/webhook-deployment.yaml).
        fake.create(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "cert-manager-webhook", "namespace": "cert-manager",
                "labels": { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook",
                            "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/version": "v1.19.2" } },
            "spec": {
                "selector": { "matchLabels": { "app.kubernetes.io/name": "webhook" } },
                "template": { "metadata": { "labels": { "app.kubernetes.io/name": "webhook" } },
                    "spec": { "containers": [{ "name": "cert-manager-webhook",
                        "image": "quay.io/jetstack/cert-manager-webhook:v1.19.2" }] } }
            }
        }))
        .unwrap();
    }
    if what.metrics_server {
        fake.create(json!({
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": { "name": "v1beta1.metrics.k8s.io" },
            "spec": { "group": "metrics.k8s.io", "version": "v1beta1",
                      "service": { "name": "metrics-server", "namespace": "kube-system" },
                      "groupPriorityMinimum": 100, "versionPriority": 100 }
        }))
        .unwrap();
        fake.set_status(
            "apiregistration.k8s.io/v1",
            "APIService",
            None,
            "v1beta1.metrics.k8s.io",
            json!({ "conditions": [{ "type": "Available", "status": "True", "reason": "Passed" }] }),
        )
        .unwrap();
    }
    if what.prometheus_crds {
        for crd in prometheus_operator_crds(upstream) {
            fake.apply(crd).unwrap();
        }
    }
    for (name, controller) in &what.ingress_classes {
        fake.create(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": { "name": name },
            "spec": { "controller": controller }
        }))
        .unwrap();
    }
    for object in &what.objects {
        if object["kind"] == "Namespace" {
            fake.create_namespace(object["metadata"]["name"].as_str().unwrap());
        } else {
            fake.create(object.clone()).unwrap();
        }
    }
}

/// When the load balancer gave its address.
#[derive(Default)]
pub struct LbLog(pub Mutex<Vec<(Instant, String)>>);

fn simulate_load_balancer(fake: Fake, log: Arc<LbLog>) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Service"
            || change.object["spec"]["type"] != "LoadBalancer"
            || !change.object["status"]["loadBalancer"]["ingress"].is_null()
        {
            return true;
        }
        let (fake, change, log) = (fake.clone(), change.clone(), log.clone());
        tokio::spawn(async move {
            // Traefik's address comes only once up waits on the traefik Application (its
            // watch is open): up is seen to wait for it by construction, not by a delay.
            if change.namespace == "traefik" && change.name == "traefik" {
                fake.until_watch(0, "applications", "traefik").await;
            }
            let status =
                json!({ "loadBalancer": { "ingress": [{ "ip": LB_ADDRESS, "ipMode": "VIP" }] } });
            if fake
                .set_status(
                    "v1",
                    "Service",
                    Some(&change.namespace),
                    &change.name,
                    status,
                )
                .is_ok()
            {
                log.0.lock().unwrap().push((
                    Instant::now(),
                    format!("{}/{}", change.namespace, change.name),
                ));
            }
        });
        true
    });
}

/// Traefik's publishedService: copies traefik/traefik's load-balancer status into every Ingress
/// of class traefik; nothing while the Service has none.
fn simulate_traefik_publishing(fake: Fake) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted || !matches!(change.kind(), "Ingress" | "Service") {
            return true;
        }
        let Some(service) = fake.get("v1", "Service", Some("traefik"), "traefik") else {
            return true;
        };
        let status = service["status"]["loadBalancer"].clone();
        if status["ingress"].is_null() {
            return true;
        }
        for ingress in fake.list("networking.k8s.io/v1", "Ingress", None) {
            if ingress["spec"]["ingressClassName"] != "traefik"
                || ingress["status"]["loadBalancer"] == status
            {
                continue;
            }
            let _ = fake.set_status(
                "networking.k8s.io/v1",
                "Ingress",
                ingress["metadata"]["namespace"].as_str(),
                ingress["metadata"]["name"].as_str().unwrap(),
                json!({ "loadBalancer": status }),
            );
        }
        true
    });
}

/// The cluster's own ingress controller: every Ingress of `class` gets `LB_ADDRESS`.
fn simulate_own_ingress_controller(fake: Fake, class: &'static str) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Ingress"
            || change.object["spec"]["ingressClassName"] != class
            || !change.object["status"]["loadBalancer"]["ingress"].is_null()
        {
            return true;
        }
        let _ = fake.set_status(
            "networking.k8s.io/v1",
            "Ingress",
            Some(&change.namespace),
            &change.name,
            json!({ "loadBalancer": { "ingress": [{ "ip": LB_ADDRESS }] } }),
        );
        true
    });
}

/// An Ingress as a chart renders it from kindling's values (class, host, TLS).
fn chart_ingress(namespace: &str, name: &str, values: &Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": { "name": name, "namespace": namespace,
                      "annotations": values["annotations"].clone() },
        "spec": {
            "ingressClassName": values["ingressClassName"].clone(),
            "rules": [{ "host": values["hosts"][0].clone() }],
            "tls": values["tls"].clone()
        }
    })
}

/// What syncing each platform chart makes that matters here.
fn chart_objects(app: &Value, upstream: &std::path::Path) -> Vec<Value> {
    let values = &app["spec"]["source"]["helm"]["valuesObject"];
    match app["metadata"]["name"].as_str().unwrap_or_default() {
        "traefik" => {
            let kind = values["service"]["spec"]["type"]
                .as_str()
                .unwrap_or("LoadBalancer");
            let port = |name: &str, default: u64| {
                let p = &values["ports"][name];
                let mut port =
                    json!({ "name": name, "port": p["exposedPort"].as_u64().unwrap_or(default) });
                if let Some(node_port) = p["nodePort"].as_u64() {
                    port["nodePort"] = node_port.into();
                }
                port
            };
            vec![
                json!({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": { "name": "traefik", "namespace": "traefik" },
                    "spec": { "type": kind, "ports": [port("web", 80), port("websecure", 443)] }
                }),
                json!({
                    "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                    "metadata": { "name": values["ingressClass"]["name"].clone() },
                    "spec": { "controller": "traefik.io/ingress-controller" }
                }),
            ]
        }
        "cert-manager" => crds_below(&upstream.join("cert-manager/v1.21.1/crds")),
        "metrics-server" => vec![json!({
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": { "name": "v1beta1.metrics.k8s.io" },
            "spec": { "group": "metrics.k8s.io", "version": "v1beta1" }
        })],
        "kube-prometheus-stack" => {
            let mut objects = vec![
                chart_ingress(
                    "monitoring",
                    "kube-prometheus-stack-grafana",
                    &values["grafana"]["ingress"],
                ),
                chart_ingress(
                    "monitoring",
                    "kube-prometheus-stack-prometheus",
                    &values["prometheus"]["ingress"],
                ),
            ];
            if values["crds"]["enabled"] != false {
                objects.extend(prometheus_operator_crds(upstream));
            }
            objects
        }
        "argo-rollouts" => {
            let mut objects = crds_below(&upstream.join("argo-rollouts/v1.9.1/crds"));
            objects.push(chart_ingress(
                "argo-rollouts",
                "argo-rollouts-dashboard",
                &values["dashboard"]["ingress"],
            ));
            objects
        }
        _ => Vec::new(),
    }
}

/// gitops-engine's verdict on what an Application made (see the module comment).
fn health(
    fake: &Fake,
    app: &Value,
    made: &[(String, String, Option<String>, String)],
) -> (String, String) {
    let selector = &app["spec"]["source"]["helm"]["valuesObject"]["nodeSelector"];
    if let Some(wanted) = selector.as_object() {
        let fits = fake.list("v1", "Node", None).iter().any(|n| {
            wanted
                .iter()
                .all(|(k, v)| n["metadata"]["labels"][k.as_str()] == *v)
        });
        if !fits {
            return (
                "Progressing".into(),
                format!("pod Pending: no node matches nodeSelector {selector}"),
            );
        }
    }
    for (api_version, kind, namespace, name) in made {
        let Some(o) = fake.get(api_version, kind, namespace.as_deref(), name) else {
            continue;
        };
        let waiting = match kind.as_str() {
            "Service" => {
                o["spec"]["type"] == "LoadBalancer"
                    && o["status"]["loadBalancer"]["ingress"].is_null()
            }
            "Ingress" => o["status"]["loadBalancer"]["ingress"].is_null(),
            _ => false,
        };
        if waiting {
            return (
                "Progressing".into(),
                format!("{kind} {name}: waiting for the load balancer"),
            );
        }
    }
    ("Healthy".into(), String::new())
}

fn simulate_platform_argocd(fake: Fake, upstream: std::path::PathBuf, delay: Duration, made: Made) {
    let synced: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted {
            return true;
        }
        // Deleting: the resources finalizer removes what the Application made, then itself.
        if change.kind() == "Application"
            && !change.object["metadata"]["deletionTimestamp"].is_null()
        {
            let finalizers = change.object["metadata"]["finalizers"].clone();
            if finalizers.as_array().is_some_and(|f| {
                f.iter()
                    .any(|f| f == "resources-finalizer.argocd.argoproj.io")
            }) {
                let objects = made
                    .lock()
                    .unwrap()
                    .remove(&change.name)
                    .unwrap_or_default();
                for (api_version, kind, namespace, name) in objects {
                    let _ = fake.delete(&api_version, &kind, namespace.as_deref(), &name);
                }
                synced.lock().unwrap().remove(&change.name);
                let _ = fake.patch(
                    "argoproj.io/v1alpha1",
                    "Application",
                    Some(&change.namespace),
                    &change.name,
                    json!({ "metadata": { "finalizers": [] } }),
                );
            }
            return true;
        }
        // A platform Application to sync.
        if change.kind() == "Application" && !change.name.starts_with("demo-app-") {
            let first = synced.lock().unwrap().insert(change.name.clone());
            if first {
                let (fake, app, upstream, made) = (
                    fake.clone(),
                    change.object.clone(),
                    upstream.clone(),
                    made.clone(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let name = app["metadata"]["name"].as_str().unwrap().to_string();
                    if let Some(ns) = app["spec"]["destination"]["namespace"].as_str() {
                        fake.create_namespace(ns); // CreateNamespace=true
                    }
                    for object in chart_objects(&app, &upstream) {
                        remember(&made, &name, &object);
                        fake.apply(object).unwrap();
                    }
                    // A no-op write: makes the health below be evaluated now.
                    let _ = fake.patch_status(
                        "argoproj.io/v1alpha1",
                        "Application",
                        Some("argocd"),
                        &name,
                        json!({ "sync": { "status": "Synced" } }),
                    );
                });
            }
        }
        // Health of every synced platform Application, on every relevant change.
        if !matches!(change.kind(), "Application" | "Service" | "Ingress") {
            return true;
        }
        for app in fake.list("argoproj.io/v1alpha1", "Application", Some("argocd")) {
            let name = app["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if name.starts_with("demo-app-")
                || app["status"]["sync"]["status"] != "Synced"
                || !app["metadata"]["deletionTimestamp"].is_null()
            {
                continue;
            }
            let objects = made.lock().unwrap().get(&name).cloned().unwrap_or_default();
            let (health, message) = health(fake, &app, &objects);
            if app["status"]["health"]["status"] == health.as_str() {
                continue;
            }
            let _ = fake.set_status(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                &name,
                json!({
                    "sync": { "status": "Synced" },
                    "health": { "status": health, "message": message },
                    "operationState": { "phase": "Succeeded", "message": "successfully synced" }
                }),
            );
        }
        true
    });
}

/// Argo CD syncing a demo Application: the Rollout with the image the artifact's generated layer
/// names, read from the push_host registry with its login.
fn simulate_demo_sync(
    fake: Fake,
    api: kindling::docker::registry_api::RegistryApi,
    delay: Duration,
    made: Made,
) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Application"
            || !change.name.starts_with("demo-app-")
            || !change.object["metadata"]["deletionTimestamp"].is_null()
        {
            return true;
        }
        let revision = change.object["spec"]["source"]["targetRevision"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if change.object["status"]["sync"]["revision"] == revision.as_str() {
            return true;
        }
        let (fake, name, object, api, made) = (
            fake.clone(),
            change.name.clone(),
            change.object.clone(),
            api.clone(),
            made.clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let env = name.trim_start_matches("demo-app-").to_string();
            let namespace = object["spec"]["destination"]["namespace"]
                .as_str()
                .unwrap()
                .to_string();
            let dir = tempfile::tempdir().unwrap();
            kindling::docker::oci::pull_and_unpack(
                &api,
                kindling::platform::gitops::ARTIFACT_REPO,
                &revision,
                dir.path(),
            )
            .await
            .unwrap();
            let layer = std::fs::read_to_string(
                dir.path()
                    .join("demo-app/generated")
                    .join(&env)
                    .join("kustomization.yaml"),
            )
            .unwrap();
            let layer: Value = serde_saphyr::from_str(&layer).unwrap();
            let image = format!(
                "{}@{}",
                layer["images"][0]["newName"].as_str().unwrap(),
                layer["images"][0]["digest"].as_str().unwrap()
            );
            fake.create_namespace(&namespace);
            let rollout = json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": { "name": "demo-app", "namespace": namespace },
                "spec": {
                    "replicas": 1,
                    "selector": { "matchLabels": { "app.kubernetes.io/name": "demo-app" } },
                    "template": {
                        "metadata": { "labels": { "app.kubernetes.io/name": "demo-app" } },
                        "spec": { "containers": [{ "name": "demo-app", "image": image }] }
                    },
                    "strategy": { "canary": {} }
                }
            });
            remember(&made, &name, &rollout);
            fake.apply(rollout).unwrap();
            let _ = fake.set_status(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                &name,
                json!({
                    "sync": { "status": "Synced", "revision": revision },
                    "health": { "status": "Healthy" },
                    "operationState": {
                        "phase": "Succeeded", "message": "successfully synced",
                        "syncResult": { "revision": revision }
                    }
                }),
            );
        });
        true
    });
}

/// Every object in the cluster (Events left out), as (apiVersion, kind, namespace, name).
pub fn objects(fake: &Fake) -> BTreeSet<(String, String, String, String)> {
    let mut all = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for def in fake.resources() {
        if def.kind == "Event" || !kinds.insert((def.api_version(), def.kind.clone())) {
            continue;
        }
        for o in fake.list(&def.api_version(), &def.kind, None) {
            all.insert((
                def.api_version(),
                def.kind.clone(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    all
}

/// Everything one `up`/`down` on the simulated existing cluster needs.
pub struct ExistingSetup {
    pub dir: tempfile::TempDir,
    pub shared: std::path::PathBuf,
    pub settings: kindling::config::Settings,
    pub env: kindling::env::Env,
    pub api: FakeApiServer,
    pub registry: AuthRegistry,
    pub ingress: Arc<Ingress>,
    pub lb: Arc<LbLog>,
}

pub async fn setup(what: Preinstalled) -> Option<ExistingSetup> {
    let shared = support::shared_dir()?;
    let registry = AuthRegistry::start()?;
    let upstream = shared.join("upstream");
    let dir = tempfile::tempdir().unwrap();
    let name = support::unique("kex");

    let api = FakeApiServer::start().await;
    preinstall(&api.handle(), &what, &upstream);
    let delay = Duration::from_millis(100);
    fake_apiserver::sim::spawn_workload_controller(api.handle(), Duration::from_millis(50));
    let lb = Arc::new(LbLog::default());
    simulate_load_balancer(api.handle(), lb.clone());
    simulate_traefik_publishing(api.handle());
    if let Some(class) = what.publishing_class {
        simulate_own_ingress_controller(api.handle(), class);
    }
    let made: Made = Arc::default();
    simulate_platform_argocd(api.handle(), upstream.clone(), delay, made.clone());
    simulate_demo_sync(api.handle(), registry.api(), delay, made);
    simulate_rollouts(api.handle(), delay);

    let kubeconfig = dir.path().join("team-kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig_with_context(CONTEXT)).unwrap();
    let mut settings = crate::cluster_support::settings(dir.path());
    let config = &mut settings.config;
    config.cluster.name = name.clone();
    config.cluster.provider = kindling::config::Provider::Existing;
    config.cluster.kubeconfig = kubeconfig.display().to_string();
    config.cluster.context = CONTEXT.into();
    config.network.domain = DOMAIN.into();
    config.network.http_port = support::free_port();
    config.network.https_port = support::free_port();
    // As loading does for provider = "existing" (config::load::HOST_SIDE_KEYS).
    config.network.manage_hosts = false;
    config.network.trust_ca = false;
    config.registry.host_port = support::free_port();
    config.registry.push_host = registry.host();
    config.registry.plain_http = true;
    config.timeouts.component = std::time::Duration::from_secs(60);
    config.timeouts.rollout = std::time::Duration::from_secs(60);
    let binary = dir.path().join("demo-app-binary");
    std::fs::write(
        &binary,
        format!("#!/bin/false\n# stand-in demo-app ({name})\n"),
    )
    .unwrap();
    config.demo.binary = binary.display().to_string();

    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let env = crate::cluster_support::env_with(
        None,
        &kubeconfig,
        &[
            ("KINDLING_HOSTS_FILE", hosts.display().to_string()),
            ("KINDLING_SUDO", "none".into()),
            (
                "DOCKER_CONFIG",
                registry.docker_config(dir.path()).display().to_string(),
            ),
            // The team's DNS record *.<domain> → the load balancer, as curl's --resolve would.
            ("KINDLING_RESOLVE", format!("*.{DOMAIN}={LB_ADDRESS}")),
        ],
    );
    let ingress = Arc::new(Ingress::new(
        LB_ADDRESS.parse().unwrap(),
        settings.config.network.https_port,
        DOMAIN,
        &settings.data_dir,
        &name,
        api.handle(),
    ));
    Some(ExistingSetup {
        dir,
        shared,
        settings,
        env,
        api,
        registry,
        ingress,
        lb,
    })
}

impl ExistingSetup {
    /// One `up` in process; the summary (or error) and the recorded events.
    pub async fn up(
        &self,
    ) -> (
        kindling::Result<kindling::up::Summary>,
        Arc<RecordingReporter>,
    ) {
        let recording = RecordingReporter::new();
        let ingress = self.ingress.clone();
        let reporter: SharedReporter = Arc::new(support::https_stand_in::StartOnDemoApps {
            inner: recording.clone(),
            start: Box::new(move || ingress.start()),
        });
        let options = UpOptions {
            bundle: Some(self.shared.join("upstream")),
            ..UpOptions::default()
        };
        let context = UpContext::new(self.settings.clone(), self.env.clone(), reporter, options);
        let result = kindling::up::run(context).await;
        self.ingress.stop().await;
        (result, recording)
    }

    /// `down` in process (`yes`: without asking).
    pub async fn down(&self, yes: bool) -> (kindling::Result<()>, Arc<RecordingReporter>) {
        let recording = RecordingReporter::new();
        let reporter: SharedReporter = recording.clone();
        let result = kindling::down::down(&self.settings, &self.env, &reporter, false, yes).await;
        (result, recording)
    }
}
