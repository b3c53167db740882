//! `kindling status` (the real binary) on a simulated platform: a stand-in kind node and the
//! real local registry container on Docker, and the Kubernetes side on the fake API server
//! with the upstream Argo CD and Argo Rollouts CRDs — the platform Applications and the demo
//! Applications as kindling writes them, Rollouts as the controller reports them, and the
//! admin Secrets. Each test changes one thing and checks what status says and its exit code.

mod cluster_support;
mod support;

use cluster_support::{Containers, docker, docker_ok};
use fake_apiserver::FakeApiServer;
use kindling::docker::registry::registry_volume_name;
use kindling::report::{RecordingReporter, SharedReporter};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ARGOCD_PASSWORD: &str = "argo-Pw-7f3a9c";
/// What `up` deploys: the demo image pinned by digest, recorded as release v1.0.0.
const DIGEST: &str = "sha256:5f0c8b7de3a1c4e2b9f6a7d8e0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9";
const GRAFANA_PASSWORD: &str = "grafana-Pw-c0ffee";
const COMPONENTS: [&str; 5] = [
    "traefik",
    "cert-manager",
    "kube-prometheus-stack",
    "argo-rollouts",
    "metrics-server",
];

/// Removes volumes by name when dropped (also on panic).
struct Volumes(Vec<String>);

impl Drop for Volumes {
    fn drop(&mut self) {
        for v in &self.0 {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// One simulated platform. Field order is drop order: containers go before volumes.
struct Platform {
    dir: tempfile::TempDir,
    api: Option<FakeApiServer>,
    config: kindling::config::Config,
    _containers: Containers,
    _volumes: Volumes,
}

/// What one run of the binary gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn read_docs(path: PathBuf) -> Vec<Value> {
    kindling::lint::input::parse_documents(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Applies (the fake establishes a CRD as it is written: its kinds are served at once).
async fn apply(api: &FakeApiServer, object: Value) -> Value {
    api.apply(object.clone())
        .unwrap_or_else(|e| panic!("apply {}: {e:?}", object["metadata"]["name"]))
}

/// Sets the demo-app Rollout's status in `namespace`, observed at its current generation (as
/// its controller writes it).
fn set_rollout_status(api: &FakeApiServer, namespace: &str, mut status: Value) {
    let api_version = "argoproj.io/v1alpha1";
    let ro = api
        .get(api_version, "Rollout", Some(namespace), "demo-app")
        .unwrap();
    let generation = ro["metadata"]["generation"].as_i64().unwrap_or(1);
    status["observedGeneration"] = json!(generation.to_string());
    api.set_status(api_version, "Rollout", Some(namespace), "demo-app", status)
        .unwrap();
}

fn app_status(sync: &str, health: &str, message: Option<&str>) -> Value {
    let mut health = json!({ "status": health });
    if let Some(m) = message {
        health["message"] = json!(m);
    }
    json!({
        "sync": { "status": sync },
        "health": health,
        "operationState": { "phase": "Succeeded", "message": "successfully synced" }
    })
}

fn rollout(namespace: &str, strategy: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": { "name": "demo-app", "namespace": namespace },
        "spec": {
            "replicas": 3,
            "selector": { "matchLabels": { "app.kubernetes.io/name": "demo-app" } },
            "template": {
                "metadata": { "labels": { "app.kubernetes.io/name": "demo-app" } },
                "spec": { "containers": [
                    { "name": "demo-app", "image": format!("localhost:5001/demo-app@{DIGEST}") }
                ] }
            },
            "strategy": strategy
        }
    })
}

/// What a settled controller writes: Healthy, generation observed, stable = current.
fn healthy_rollout_status(generation: i64) -> Value {
    json!({
        "observedGeneration": generation.to_string(),
        "phase": "Healthy", "message": "",
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "stableRS": "6d4f8c", "currentPodHash": "6d4f8c",
        "blueGreen": { "activeSelector": "6d4f8c" }
    })
}

fn strategies() -> [(&'static str, Value); 3] {
    [
        (
            "default",
            json!({ "canary": { "canaryService": "demo-app-canary", "stableService": "demo-app" } }),
        ),
        (
            "staging",
            json!({ "canary": { "canaryService": "demo-app-canary", "stableService": "demo-app", "steps": [
                { "setWeight": 20 }, { "pause": {} }, { "setWeight": 60 }, { "pause": { "duration": "30s" } }
            ] } }),
        ),
        (
            "production",
            json!({ "blueGreen": { "activeService": "demo-app", "previewService": "demo-app-preview",
                "autoPromotionEnabled": false } }),
        ),
    ]
}

impl Platform {
    /// A healthy platform: cluster node, registry and cache, every Application Synced and
    /// Healthy, every Rollout Healthy, the admin Secrets.
    async fn healthy() -> Option<Platform> {
        let mut p = Platform::bare(true).await?;
        p.start_registry().await;
        let shared = support::shared_dir()?;
        let api = FakeApiServer::builder()
            .namespace("argocd")
            .namespace("staging")
            .namespace("production")
            .namespace("monitoring")
            .start()
            .await;
        for crd in ["argo-cd/v3.5.1/crds", "argo-rollouts/v1.9.1/crds"] {
            for file in
                kindling::lint::input::files_below(&shared.join("upstream").join(crd)).unwrap()
            {
                for doc in read_docs(file) {
                    api.apply(doc).unwrap();
                }
            }
        }
        // The Applications exactly as kindling writes them, then Argo CD's verdict.
        let mut apps = kindling::platform::applications::all(&p.config);
        let release = kindling::platform::gitops::EnvRelease {
            version: "v1.0.0".into(),
            image: kindling::platform::gitops::DemoImage {
                repository: "localhost:5001/demo-app".into(),
                tag: DIGEST.into(),
            },
            profile: kindling::config::Profile::Realistic,
        };
        apps.extend(
            kindling::platform::gitops::argocd_objects_for(
                &p.config,
                "v1",
                &kindling::platform::gitops::same_everywhere(&release),
            )
            .into_iter()
            .filter(|o| o["kind"] != "Secret"),
        );
        for app in apps {
            let applied = apply(&api, app).await;
            if applied["kind"] == "Application" {
                let name = applied["metadata"]["name"].as_str().unwrap();
                api.set_status(
                    "argoproj.io/v1alpha1",
                    "Application",
                    Some("argocd"),
                    name,
                    app_status("Synced", "Healthy", None),
                )
                .unwrap();
            }
        }
        for (namespace, strategy) in strategies() {
            let applied = apply(&api, rollout(namespace, strategy)).await;
            let generation = applied["metadata"]["generation"].as_i64().unwrap_or(1);
            api.set_status(
                "argoproj.io/v1alpha1",
                "Rollout",
                Some(namespace),
                "demo-app",
                healthy_rollout_status(generation),
            )
            .unwrap();
        }
        let bytes =
            |s: &str| serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec())).unwrap();
        apply(
            &api,
            json!({ "apiVersion": "v1", "kind": "Secret",
            "metadata": { "name": "argocd-initial-admin-secret", "namespace": "argocd" },
            "data": { "password": bytes(ARGOCD_PASSWORD) } }),
        )
        .await;
        apply(
            &api,
            json!({ "apiVersion": "v1", "kind": "Secret",
            "metadata": { "name": "grafana-admin", "namespace": "monitoring" },
            "data": { "admin-user": bytes("admin"), "admin-password": bytes(GRAFANA_PASSWORD) } }),
        )
        .await;
        p.write_kubeconfig(&api);
        p.api = Some(api);
        Some(p)
    }

    /// Names, directories and (with `node`) the stand-in kind node; nothing else.
    async fn bare(node: bool) -> Option<Platform> {
        support::docker_available()?;
        let image = cluster_support::node_image()?;
        let dir = tempfile::tempdir().unwrap();
        let name = support::unique("kst");
        let mut config = kindling::config::Config::builtin();
        config.cluster.name = name.clone();
        config.registry.name = format!("{name}-registry");
        config.registry.host_port = support::free_port();
        config.registry.image = support::registry_image();
        // No pull-through caches: distribution 2.8 (the stand-in) in proxy mode exits when its
        // upstream cannot be reached, and nothing upstream can be reached here.
        config.registry.mirrors = Vec::new();
        let containers = Containers(vec![
            format!("{name}-control-plane"),
            config.registry.name.clone(),
        ]);
        let volumes = Volumes(vec![registry_volume_name(&config)]);
        if node {
            docker_ok(&[
                "run",
                "-d",
                "--name",
                &format!("{name}-control-plane"),
                "--label",
                &format!("io.x-k8s.kind.cluster={name}"),
                "--label",
                "io.x-k8s.kind.role=control-plane",
                &image,
            ]);
        }
        Some(Platform {
            dir,
            api: None,
            config,
            _containers: containers,
            _volumes: volumes,
        })
    }

    async fn start_registry(&self) {
        let client =
            kindling::docker::connect(&kindling::env::Env::from_process(), Duration::from_secs(15))
                .await
                .unwrap();
        let reporter: SharedReporter = RecordingReporter::new();
        kindling::docker::registry::up(&client, &self.config, &reporter)
            .await
            .unwrap();
    }

    /// kindling's kubeconfig copy for the cluster, pointing at the fake (context kind-<name>).
    fn write_kubeconfig(&self, api: &FakeApiServer) {
        let name = &self.config.cluster.name;
        let text = api.kubeconfig_with_context(&format!("kind-{name}"));
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join(format!("kubeconfig-{name}")), text).unwrap();
    }

    fn api(&self) -> &FakeApiServer {
        self.api.as_ref().expect("a platform with an API server")
    }

    fn set_app(&self, name: &str, status: Value) {
        self.api()
            .set_status(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                name,
                status,
            )
            .unwrap();
    }

    /// Runs `kindling status ARGS` with this platform's settings (environment only: no file).
    async fn status(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let c = &self.config;
        let mut cmd = support::kindling();
        cmd.arg("status")
            .args(args)
            .current_dir(self.dir.path())
            .env("KINDLING_DATA_DIR", self.dir.path().join("data"))
            .env("KINDLING_CACHE_DIR", self.dir.path().join("cache"))
            .env("KINDLING_CLUSTER_NAME", &c.cluster.name)
            .env("KINDLING_REGISTRY_NAME", &c.registry.name)
            .env(
                "KINDLING_REGISTRY_HOST_PORT",
                c.registry.host_port.to_string(),
            )
            .env("KINDLING_REGISTRY_IMAGE", &c.registry.image)
            .env("KINDLING_REGISTRY_MIRRORS", c.registry.mirrors.join(","))
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_platform_reports_every_part_and_exits_0() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    let run = p.status(&["--output", "json"], &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = run.json();
    assert_eq!(
        keys(&s),
        [
            "cluster",
            "components",
            "environments",
            "healthy",
            "problems",
            "registry",
            "urls"
        ],
        "no secrets key without --show-secrets"
    );
    assert_eq!(s["healthy"], true);
    assert_eq!(s["problems"], json!([]));

    let name = &p.config.cluster.name;
    let cluster = &s["cluster"];
    assert_eq!(
        keys(cluster),
        [
            "context",
            "exists",
            "kubeconfig",
            "name",
            "nodes",
            "problem",
            "provider",
            "reachable",
            "running",
            "version"
        ]
    );
    assert_eq!(cluster["name"], json!(name));
    assert_eq!(
        (
            cluster["exists"].clone(),
            cluster["running"].clone(),
            cluster["reachable"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(cluster["context"], json!(format!("kind-{name}")));
    assert_eq!(
        cluster["nodes"][0]["name"],
        json!(format!("{name}-control-plane"))
    );
    assert_eq!(cluster["nodes"][0]["state"], "running");
    assert!(cluster["version"].is_string(), "{cluster}");

    let containers = s["registry"]["containers"].as_array().unwrap();
    assert_eq!(s["registry"]["problem"], Value::Null);
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], json!(p.config.registry.name));
    assert_eq!(containers[0]["port"], json!(p.config.registry.host_port));
    for c in containers {
        assert_eq!(c["state"], "running", "{c}");
        assert_ne!(c["answers"], false, "{c}");
    }

    let components = s["components"].as_array().unwrap();
    let names: Vec<&str> = components
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, COMPONENTS);
    for c in components {
        assert_eq!(keys(c), ["health", "message", "name", "problem", "sync"]);
        assert_eq!(
            (c["sync"].as_str(), c["health"].as_str()),
            (Some("Synced"), Some("Healthy"))
        );
    }

    let envs = s["environments"].as_array().unwrap();
    let expected = [
        ("dev", "default", "https://demo.localhost", "Canary"),
        (
            "staging",
            "staging",
            "https://staging-demo.localhost",
            "Canary",
        ),
        (
            "production",
            "production",
            "https://prod-demo.localhost",
            "BlueGreen",
        ),
    ];
    assert_eq!(envs.len(), 3);
    for (e, (env, ns, url, strategy)) in envs.iter().zip(expected) {
        assert_eq!(
            keys(e),
            ["application", "name", "namespace", "rollout", "url"]
        );
        assert_eq!(
            (
                e["name"].as_str(),
                e["namespace"].as_str(),
                e["url"].as_str()
            ),
            (Some(env), Some(ns), Some(url))
        );
        assert_eq!(e["application"]["name"], json!(format!("demo-app-{env}")));
        assert_eq!(e["application"]["health"], "Healthy");
        let ro = &e["rollout"];
        assert_eq!(
            keys(ro),
            [
                "awaitingPromotion",
                "image",
                "message",
                "name",
                "phase",
                "problem",
                "setWeight",
                "step",
                "strategy",
                "version"
            ]
        );
        assert_eq!(ro["phase"], "Healthy", "{ro}");
        assert_eq!(ro["strategy"], strategy);
        assert_eq!(ro["awaitingPromotion"], false);
        assert_eq!(
            ro["image"],
            format!("localhost:5001/demo-app@{DIGEST}"),
            "what runs, pinned by digest"
        );
        assert_eq!(
            ro["version"], "v1.0.0",
            "the release version kindling published, not the digest"
        );
    }

    let urls = s["urls"].as_object().unwrap();
    let order = [
        "demo",
        "staging-demo",
        "prod-demo",
        "prod-demo-preview",
        "argocd",
        "grafana",
        "prometheus",
        "rollouts",
    ];
    let mut hosts: Vec<&str> = urls.keys().map(String::as_str).collect();
    hosts.sort();
    let mut expected = order;
    expected.sort();
    assert_eq!(hosts, expected);
    // Printed in the order of Config::ingress_hosts (serde_json's Value sorts, the text does not).
    let at = |key: &str| run.stdout.find(&format!("\"{key}\": \"https://")).unwrap();
    assert!(
        order.windows(2).all(|w| at(w[0]) < at(w[1])),
        "{}",
        run.stdout
    );
    assert_eq!(urls["grafana"], "https://grafana.localhost");

    // The same platform, as a person reads it.
    let human = p.status(&[], &[]).await;
    assert_eq!(human.code, 0, "{}\n{}", human.stdout, human.stderr);
    for needle in [
        "kube-prometheus-stack",
        "Synced/Healthy",
        "v1.0.0",
        "https://argocd.localhost",
        "✓ the platform is healthy",
    ] {
        assert!(
            human.stdout.contains(needle),
            "{needle} missing:\n{}",
            human.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_degraded_application_fails_status_naming_it() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    p.set_app(
        "kube-prometheus-stack",
        app_status(
            "Synced",
            "Degraded",
            Some("Deployment kube-prometheus-stack-grafana: ImagePullBackOff"),
        ),
    );
    let run = p.status(&[], &[]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("Application kube-prometheus-stack is Degraded")
            && run.stderr.contains("ImagePullBackOff"),
        "stderr names the Application and why:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    for other in ["traefik", "cert-manager", "argo-rollouts"] {
        assert!(
            !run.stderr.contains(&format!("Application {other}")),
            "{}",
            run.stderr
        );
    }
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("kube-prometheus-stack"))
        .unwrap();
    assert!(row.contains("Degraded"), "{row}");

    let json = p.status(&["--output", "json"], &[]).await;
    assert_eq!(json.code, 1);
    let s = json.json();
    assert_eq!(s["healthy"], false);
    let problems = s["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["part"], "component/kube-prometheus-stack");
    assert_eq!(s["components"][2]["health"], "Degraded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_staging_rollout_shows_its_step() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    let api = p.api();
    // The controller's view after the first step of a new version: paused at step 1 of 4.
    set_rollout_status(
        api,
        "staging",
        json!({
        "phase": "Paused", "message": "CanaryPauseStep",
        "currentStepIndex": 1,
        "pauseConditions": [{ "reason": "CanaryPauseStep", "startTime": "2026-11-26T07:00:00Z" }],
        "controllerPause": true,
        "replicas": 4, "updatedReplicas": 1, "readyReplicas": 4, "availableReplicas": 4,
        "stableRS": "6d4f8c", "currentPodHash": "7b9e21"
        }),
    );
    // Argo CD's built-in Rollout health check: Paused → Suspended.
    p.set_app("demo-app-staging", app_status("Synced", "Suspended", None));

    let run = p.status(&["--output", "json"], &[]).await;
    let s = run.json();
    let staging = &s["environments"][1];
    assert_eq!(staging["name"], "staging");
    assert_eq!(staging["rollout"]["phase"], "Paused");
    assert_eq!(staging["rollout"]["step"], "1/4");
    assert_eq!(staging["rollout"]["setWeight"], 20);
    assert_eq!(staging["rollout"]["message"], "CanaryPauseStep");
    assert_eq!(staging["application"]["health"], "Suspended");
    // Waiting for a promote is part of progressive delivery, not a fault.
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(s["healthy"], true);

    let human = p.status(&[], &[]).await;
    let row = human
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("staging"))
        .unwrap();
    assert!(
        row.contains("Paused") && row.contains("1/4") && row.contains("v1.0.0"),
        "{row}"
    );

    // A Degraded Rollout is a fault.
    api.patch_status("argoproj.io/v1alpha1", "Rollout", Some("staging"), "demo-app",
        json!({ "phase": "Degraded", "message": "RolloutAborted: metric \"error-rate\" assessed Failed" })).unwrap();
    let run = p.status(&[], &[]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Rollout staging/demo-app is Degraded"),
        "{}",
        run.stderr
    );
}

/// Production after a release: pre-promotion analysis passed, the controller paused the
/// Rollout (BlueGreenPause, autoPromotionEnabled false) and Argo CD rates it Suspended
/// (resource_customizations/argoproj.io/Rollout/health.lua, v3.5.1). That is settled: status
/// exits 0 and says how to go on; a Degraded one exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_awaiting_promotion_is_settled_and_says_how_to_promote() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    let api = p.api();
    set_rollout_status(
        api,
        "production",
        json!({
        "phase": "Paused", "message": "BlueGreenPause",
        "pauseConditions": [{ "reason": "BlueGreenPause", "startTime": "2026-11-26T07:00:00Z" }],
        "controllerPause": true,
        "replicas": 4, "updatedReplicas": 1, "readyReplicas": 4, "availableReplicas": 4,
        "stableRS": "6d4f8c", "currentPodHash": "7b9e21",
        "blueGreen": { "activeSelector": "6d4f8c", "previewSelector": "7b9e21" }
        }),
    );
    p.set_app(
        "demo-app-production",
        app_status("Synced", "Suspended", Some("BlueGreenPause")),
    );

    let run = p.status(&["--output", "json"], &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = run.json();
    assert_eq!(s["healthy"], true, "{}", s["problems"]);
    let production = &s["environments"][2];
    assert_eq!(production["application"]["health"], "Suspended");
    assert_eq!(production["rollout"]["phase"], "Paused");
    assert_eq!(production["rollout"]["awaitingPromotion"], true);
    assert_eq!(s["environments"][1]["rollout"]["awaitingPromotion"], false);

    let human = p.status(&[], &[]).await;
    assert_eq!(human.code, 0, "{}\n{}", human.stdout, human.stderr);
    let row = human
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("production"))
        .unwrap();
    assert!(
        row.contains("awaiting promotion — `kindling rollout promote production`"),
        "{row}"
    );

    // Aborted by its analysis: Degraded, a problem.
    set_rollout_status(
        api,
        "production",
        json!({
            "phase": "Degraded", "message": "RolloutAborted: metric \"error-rate\" assessed Failed",
            "abort": true,
            "replicas": 3, "updatedReplicas": 0, "readyReplicas": 3, "availableReplicas": 3,
            "stableRS": "6d4f8c", "currentPodHash": "7b9e21",
            "blueGreen": { "activeSelector": "6d4f8c", "previewSelector": "7b9e21" }
        }),
    );
    p.set_app(
        "demo-app-production",
        app_status("Synced", "Degraded", Some("RolloutAborted")),
    );
    let run = p.status(&[], &[]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("Rollout production/demo-app is Degraded"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("awaiting promotion"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_show_only_when_asked() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    for args in [&["--output", "json"][..], &[][..], &["-v"][..]] {
        let run = p.status(args, &[]).await;
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        for secret in [ARGOCD_PASSWORD, GRAFANA_PASSWORD] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{args:?} shows a password"
            );
        }
    }
    assert!(
        p.status(&["--output", "json"], &[])
            .await
            .json()
            .get("secrets")
            .is_none()
    );

    let run = p
        .status(
            &["--output", "json", "--show-secrets"],
            &[("RUST_LOG", "trace")],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = run.json();
    assert_eq!(s["secrets"]["argocd"]["user"], "admin");
    assert_eq!(s["secrets"]["argocd"]["password"], ARGOCD_PASSWORD);
    assert_eq!(
        s["secrets"]["argocd"]["source"],
        "Secret argocd/argocd-initial-admin-secret key password"
    );
    assert_eq!(s["secrets"]["grafana"]["password"], GRAFANA_PASSWORD);
    assert_eq!(
        s["secrets"]["grafana"]["source"],
        "Secret monitoring/grafana-admin key admin-password"
    );
    // Even the most verbose log never carries them.
    for secret in [ARGOCD_PASSWORD, GRAFANA_PASSWORD] {
        assert!(!run.stderr.contains(secret), "a password reached the log");
    }

    let human = p.status(&["--show-secrets"], &[]).await;
    assert!(
        human.stdout.contains(ARGOCD_PASSWORD) && human.stdout.contains(GRAFANA_PASSWORD),
        "{}",
        human.stdout
    );

    // Without its Secret, Argo CD's password is unknown with why; status still answers.
    p.api()
        .delete(
            "v1",
            "Secret",
            Some("argocd"),
            "argocd-initial-admin-secret",
        )
        .unwrap();
    let s = p
        .status(&["--output", "json", "--show-secrets"], &[])
        .await
        .json();
    assert_eq!(s["secrets"]["argocd"]["password"], Value::Null);
    assert_eq!(
        s["secrets"]["argocd"]["problem"],
        "Secret argocd/argocd-initial-admin-secret not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cluster_status_says_so_and_how_to_fix_it() {
    let Some(p) = Platform::bare(false).await else {
        return;
    };
    let run = p.status(&[], &[]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let name = &p.config.cluster.name;
    assert!(
        run.stderr
            .contains(&format!("cluster {name} does not exist")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`kindling up`"), "{}", run.stderr);

    let s = p.status(&["--output", "json"], &[]).await.json();
    assert_eq!(s["cluster"]["exists"], false);
    assert_eq!(s["healthy"], false);
    // Nothing is up: one problem, not one per missing container.
    assert_eq!(
        s["problems"].as_array().unwrap().len(),
        1,
        "{}",
        s["problems"]
    );
    assert_eq!(s["problems"][0]["part"], "cluster");
    assert_eq!(
        s["problems"][0]["hint"],
        "`kindling up` creates the platform"
    );
    for c in s["components"].as_array().unwrap() {
        assert_eq!(c["health"], "Unknown");
        assert_eq!(
            c["problem"],
            json!(format!("not checked: cluster {name} does not exist"))
        );
    }
    assert_eq!(s["environments"][2]["rollout"]["phase"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_parts_are_unknown_with_why_not_a_crash() {
    let Some(mut p) = Platform::healthy().await else {
        return;
    };
    // Docker down: the registry is unknown; the API server still answers for the cluster.
    let run = p
        .status(
            &["--output", "json"],
            &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = run.json();
    let why = s["registry"]["problem"].as_str().unwrap();
    assert!(why.contains("cannot reach the Docker engine"), "{why}");
    assert_eq!(s["cluster"]["reachable"], true);
    assert_eq!(s["components"][0]["health"], "Healthy");
    assert_eq!(
        s["problems"].as_array().unwrap().len(),
        1,
        "{}",
        s["problems"]
    );

    // A stopped registry is named.
    docker_ok(&["stop", "-t", "1", &p.config.registry.name]);
    let run = p.status(&[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{} is exited", p.config.registry.name)),
        "{}",
        run.stderr
    );

    // The API server gone: everything inside the cluster is unknown, said once.
    let fake_url = p.api().url().to_string();
    drop(p.api.take());
    let address = fake_url.trim_start_matches("http://").to_string();
    support::until(
        "the stopped API server to refuse connections",
        Duration::from_secs(10),
        || std::net::TcpStream::connect(&address).is_err(),
    )
    .await;
    let started = Instant::now();
    let run = p.status(&[], &[]).await;
    // An upper bound on purpose: it proves status does not hang on a dead API server (its
    // own timeouts are a few seconds; 30 s leaves room for a busy machine).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded by timeouts"
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("the API server does not answer"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("not checked: the API server does not answer"),
        "{}",
        run.stdout
    );
    let s = p.status(&["--output", "json"], &[]).await.json();
    assert_eq!(s["cluster"]["reachable"], false);
    assert_eq!(s["components"][0]["health"], "Unknown");
    assert_eq!(s["environments"][1]["rollout"]["phase"], Value::Null);

    // An API server that accepts connections and never answers: bounded by the read timeout.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = hung.incoming().collect();
        drop(held);
    });
    let copy = p
        .dir
        .path()
        .join(format!("data/kubeconfig-{}", p.config.cluster.name));
    let text = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, text.replace(&fake_url, &hung_url)).unwrap();
    let started = Instant::now();
    let run = p.status(&["--output", "json"], &[]).await;
    // An upper bound on purpose: it proves status does not hang on a server that never
    // answers (bounded by the client's read timeout, with room for a busy machine).
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1);
    let s = run.json();
    assert_eq!(s["cluster"]["reachable"], false);
    assert_eq!(
        s["cluster"]["problem"],
        "the API server gave no answer within 10s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_cluster_is_read_through_its_context() {
    let Some(p) = Platform::healthy().await else {
        return;
    };
    let kubeconfig = p.api().kubeconfig().display().to_string();
    let run = p
        .status(
            &["--output", "json"],
            &[
                ("KINDLING_CLUSTER_PROVIDER", "existing"),
                ("KINDLING_CLUSTER_KUBECONFIG", &kubeconfig),
                ("KINDLING_CLUSTER_CONTEXT", "fake"),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = run.json();
    assert_eq!(s["cluster"]["provider"], "existing");
    assert_eq!(s["cluster"]["context"], "fake");
    assert_eq!(s["cluster"]["kubeconfig"], json!(kubeconfig));
    assert_eq!(s["cluster"]["exists"], true);
    assert_eq!(s["cluster"]["nodes"], json!([]));
    assert_eq!(s["components"][3]["health"], "Healthy");
    assert_eq!(s["environments"][2]["rollout"]["strategy"], "BlueGreen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_argo_cd_says_so() {
    let Some(mut p) = Platform::bare(true).await else {
        return;
    };
    p.start_registry().await;
    let api = FakeApiServer::start().await;
    p.write_kubeconfig(&api);
    p.api = Some(api);
    let run = p.status(&["--output", "json"], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = run.json();
    assert_eq!(s["cluster"]["reachable"], true);
    assert_eq!(
        s["components"][0]["problem"],
        "Argo CD is not installed (the cluster has no Application resource)"
    );
    assert_eq!(s["environments"][0]["rollout"]["problem"], "not found");
    // Every component and environment is named.
    let parts: Vec<&str> = s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    assert_eq!(parts.len(), COMPONENTS.len() + 3 * 2, "{parts:?}");
    assert!(
        parts.contains(&"component/argo-rollouts") && parts.contains(&"environment/production")
    );
}
