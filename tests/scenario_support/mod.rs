//! A stand-in platform for the scenarios: the fake API server with a simulated Argo
//! Rollouts controller (`controller`), real demo-app processes (`demo`) behind an HTTPS
//! router that splits traffic by the simulated weights (`router`; production's preview host
//! has its own, following the preview Service), and `Sim`, which
//! implements `kindling::scenario::platform::Platform` over all of it.
#![allow(dead_code)]

pub mod controller;
pub mod demo;
pub mod router;

use controller::Misbehaviour;
use demo::DemoApp;
use fake_apiserver::{Fake, FakeApiServer};
use kindling::scenario::platform::{Platform, Release};
use kindling::traffic::Target;
use router::Router;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ROLLOUT: &str = "demo-app";
pub const FIRST_VERSION: &str = "v1.0.0";

/// How long the simulated controller's pauses and analyses take.
#[derive(Debug, Clone, Copy)]
pub struct SimTiming {
    pub pause: Duration,
    pub analysis: Duration,
    pub scale_down_delay_seconds: u64,
}

impl Default for SimTiming {
    fn default() -> SimTiming {
        SimTiming {
            pause: Duration::from_millis(1500),
            analysis: Duration::from_millis(800),
            scale_down_delay_seconds: 2,
        }
    }
}

/// One environment: its namespace, router, and what the controller knows.
pub struct EnvSim {
    pub namespace: &'static str,
    pub host: &'static str,
    pub router: Router,
    /// The preview Service's host (blue-green; the other environments have one unused).
    pub preview_host: &'static str,
    pub preview: Router,
    /// Pod template hash → backend.
    pub backends: HashMap<String, Arc<DemoApp>>,
    pub stable_hash: String,
    pub revision: u32,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Inner {
    pub fake: Fake,
    pub ca_pem: String,
    pub timing: SimTiming,
    pub misbehave: Misbehaviour,
    pub envs: Mutex<HashMap<&'static str, EnvSim>>,
}

#[derive(Clone)]
pub struct Sim {
    pub inner: Arc<Inner>,
    client: kube::Client,
    /// Keeps the fake API server and the CA's directory alive.
    _server: Arc<(FakeApiServer, tempfile::TempDir)>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if Arc::strong_count(&self.inner) == 2
            && let Ok(mut envs) = self.inner.envs.lock()
        {
            for env in envs.values_mut() {
                if let Some(task) = env.task.take() {
                    task.abort();
                }
            }
        }
    }
}

/// The pod template hash the simulated controller gives a version (and its faults).
pub fn hash_of(version: &str, error_rate: f64) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (version, error_rate.to_bits()).hash(&mut h);
    format!("{:x}", h.finish())[..10].to_string()
}

impl Sim {
    /// The fake API server with the Argo Rollouts CRDs, and staging (canary, 5 replicas) and
    /// production (blue-green, 3 replicas) each serving FIRST_VERSION, Healthy.
    pub async fn start(timing: SimTiming, misbehave: Misbehaviour) -> Option<Sim> {
        let crds = super::support::upstream("argo-rollouts/v1.9.1/crds")?;
        let server = FakeApiServer::builder()
            .namespace("staging")
            .namespace("production")
            .start()
            .await;
        let fake = server.handle();
        for file in ["rollout-crd.yaml", "analysis-run-crd.yaml"] {
            let text = std::fs::read_to_string(crds.join(file)).unwrap();
            let crd: Value = serde_saphyr::from_str(&text).unwrap();
            fake.apply(crd).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = kindling::tls::ca::ensure(dir.path(), "scenarios", "local", false).unwrap();
        let (cert, key) = kindling::tls::issue_leaf(
            &ca,
            &[
                "staging-demo.localhost",
                "prod-demo.localhost",
                "prod-demo-preview.localhost",
            ],
        )
        .unwrap();
        let mut envs = HashMap::new();
        for (env, namespace, host, preview_host) in [
            ("staging", "staging", "staging-demo.localhost", ""),
            (
                "production",
                "production",
                "prod-demo.localhost",
                "prod-demo-preview.localhost",
            ),
        ] {
            envs.insert(
                env,
                EnvSim {
                    namespace,
                    host,
                    router: Router::start(&cert, &key).await,
                    preview_host,
                    preview: Router::start(&cert, &key).await,
                    backends: HashMap::new(),
                    stable_hash: String::new(),
                    revision: 0,
                    task: None,
                },
            );
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig = kube::config::Kubeconfig::read_from(server.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let sim = Sim {
            inner: Arc::new(Inner {
                fake,
                ca_pem: ca.cert_pem.clone(),
                timing,
                misbehave,
                envs: Mutex::new(envs),
            }),
            client,
            _server: Arc::new((server, dir)),
        };
        sim.install("staging", canary_rollout(), 5);
        sim.install(
            "production",
            blue_green_rollout(timing.scale_down_delay_seconds),
            3,
        );
        Some(sim)
    }

    pub fn fake(&self) -> &Fake {
        &self.inner.fake
    }

    /// Creates the Rollout serving FIRST_VERSION, fully rolled out and Healthy.
    fn install(&self, env: &'static str, mut rollout: Value, replicas: i64) {
        let app = Arc::new(DemoApp::start(FIRST_VERSION, 0.0));
        let hash = hash_of(FIRST_VERSION, 0.0);
        let namespace = {
            let mut envs = self.inner.envs.lock().unwrap();
            let e = envs.get_mut(env).unwrap();
            e.router.set(&[(app.port, 1)]);
            e.preview.set(&[(app.port, 1)]);
            e.backends.insert(hash.clone(), app);
            e.stable_hash = hash.clone();
            e.revision = 1;
            e.namespace
        };
        rollout["metadata"]["namespace"] = json!(namespace);
        set_template(&mut rollout, FIRST_VERSION, 0.0);
        let created = self.fake().create(rollout).unwrap();
        let steps = created["spec"]["strategy"]["canary"]["steps"]
            .as_array()
            .map(|s| s.len());
        controller::put_replica_set(self.fake(), &created, &hash, 1, replicas);
        let mut status = json!({
            "observedGeneration": created["metadata"]["generation"].as_i64().unwrap_or(1).to_string(),
            "phase": "Healthy", "message": null,
            "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas,
            "stableRS": hash, "currentPodHash": hash,
            "conditions": controller::healthy_conditions(),
        });
        if let Some(steps) = steps {
            status["currentStepIndex"] = json!(steps);
        } else {
            status["blueGreen"] = json!({"activeSelector": hash, "previewSelector": hash});
        }
        self.fake()
            .set_status(
                "argoproj.io/v1alpha1",
                "Rollout",
                Some(namespace),
                ROLLOUT,
                status,
            )
            .unwrap();
    }

    /// The backend of the running version with that hash.
    pub fn backend(&self, env: &str, hash: &str) -> Option<u16> {
        let envs = self.inner.envs.lock().unwrap();
        envs.get(env)?.backends.get(hash).map(|a| a.port)
    }

    pub fn router_port(&self, env: &str) -> u16 {
        self.inner.envs.lock().unwrap()[env].router.port
    }

    pub fn kubeconfig(&self) -> std::path::PathBuf {
        self._server.0.kubeconfig().to_path_buf()
    }

    pub fn rollout(&self, namespace: &str) -> Value {
        self.fake()
            .get("argoproj.io/v1alpha1", "Rollout", Some(namespace), ROLLOUT)
            .unwrap()
    }
}

/// What a release changes in the Rollout: the image tag and the fault setting.
fn set_template(rollout: &mut Value, version: &str, error_rate: f64) {
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!(format!("localhost:5001/demo-app:{version}"));
    rollout["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
        {"name": "VERSION", "value": version},
        {"name": "FAULT_ERROR_RATE", "value": error_rate.to_string()},
    ]);
}

fn template() -> Value {
    json!({
        "metadata": {"labels": {"app.kubernetes.io/name": "demo-app"}},
        "spec": {"containers": [{"name": "demo-app", "image": "localhost:5001/demo-app:latest"}]}
    })
}

fn analysis() -> Value {
    json!({"templates": [{"templateName": "success-rate"}],
           "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]})
}

/// staging's strategy (manifests/demo-app/overlays/staging/rollout-canary.yaml), pauses shortened.
fn canary_rollout() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": ROLLOUT},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "demo-app"}},
            "template": template(),
            "strategy": {"canary": {
                "canaryService": "demo-app-canary", "stableService": "demo-app",
                "maxSurge": 1, "maxUnavailable": 0,
                "steps": [
                    {"setWeight": 20}, {"pause": {"duration": "1s"}}, {"analysis": analysis()},
                    {"setWeight": 40}, {"pause": {"duration": "1s"}}, {"analysis": analysis()},
                    {"setWeight": 60}, {"pause": {"duration": "1s"}}, {"analysis": analysis()},
                ]
            }}
        }
    })
}

/// production's strategy (manifests/demo-app/overlays/production/rollout-bluegreen.yaml).
fn blue_green_rollout(scale_down_delay_seconds: u64) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": ROLLOUT},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "demo-app"}},
            "template": template(),
            "strategy": {"blueGreen": {
                "activeService": "demo-app", "previewService": "demo-app-canary",
                "autoPromotionEnabled": false, "previewReplicaCount": 1,
                "scaleDownDelaySeconds": scale_down_delay_seconds,
                "prePromotionAnalysis": analysis(), "postPromotionAnalysis": analysis(),
            }}
        }
    })
}

impl Platform for Sim {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    fn target(&self, environment: &str) -> Result<Target, String> {
        let envs = self.inner.envs.lock().unwrap();
        let e = envs.get(environment).ok_or("no such environment")?;
        let mut target = Target::demo_app(e.host, e.router.port, self.inner.ca_pem.clone());
        target.timeout = Duration::from_secs(3);
        Ok(target)
    }

    fn preview_target(&self, environment: &str) -> Result<Target, String> {
        let envs = self.inner.envs.lock().unwrap();
        let e = envs.get(environment).ok_or("no such environment")?;
        if e.preview_host.is_empty() {
            return Err(format!("the {environment} environment has no preview host"));
        }
        let mut target =
            Target::demo_app(e.preview_host, e.preview.port, self.inner.ca_pem.clone());
        target.timeout = Duration::from_secs(3);
        Ok(target)
    }

    async fn release(&self, release: &Release) -> Result<(), String> {
        let error_rate = release.faults.error_rate.unwrap_or(0.0);
        let hash = hash_of(&release.version, error_rate);
        let env: &'static str = match release.environment.as_str() {
            "staging" => "staging",
            "production" => "production",
            other => return Err(format!("no environment {other} in the simulation")),
        };
        let namespace = {
            let mut envs = self.inner.envs.lock().unwrap();
            let e = envs.get_mut(env).unwrap();
            if !e.backends.contains_key(&hash) {
                let app = DemoApp::start(&release.version, error_rate);
                e.backends.insert(hash.clone(), Arc::new(app));
            }
            if let Some(task) = e.task.take() {
                task.abort();
            }
            e.namespace
        };
        let mut patch = json!({"spec": {"template": template()}});
        set_template(&mut patch, &release.version, error_rate);
        self.fake()
            .patch(
                "argoproj.io/v1alpha1",
                "Rollout",
                Some(namespace),
                ROLLOUT,
                patch,
            )
            .map_err(|e| format!("{e:?}"))?;
        let task = tokio::spawn(controller::reconcile(self.inner.clone(), env, hash.clone()));
        self.inner.envs.lock().unwrap().get_mut(env).unwrap().task = Some(task);
        // Like `kindling release`: return once the Rollout started on the new template.
        let started = until_change(&self.inner.fake, Duration::from_secs(5), || {
            self.rollout(namespace)["status"]["currentPodHash"] == json!(hash)
        })
        .await;
        if started {
            return Ok(());
        }
        Err("the simulated controller never started the rollout".into())
    }
}

/// Whether `holds()` became true within `within`: looked at now and after each change to the
/// fake (its watch feed), never on a timer.
pub async fn until_change(fake: &Fake, within: Duration, mut holds: impl FnMut() -> bool) -> bool {
    let mut changes = fake.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if holds() {
            return true;
        }
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            _ => return holds(),
        }
    }
}
