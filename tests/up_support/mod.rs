//! One `kindling up` on stand-ins, shared by tests/up_pipeline.rs, tests/release.rs and the
//! up-sim benchmark: the stand-in kind node, the real (stand-in) registry, the fake API server
//! with simulated controllers, and a stand-in ingress answering HTTPS for the demo hosts.
//!
//! Simulated Argo CD: platform Applications become Synced/Healthy after a delay (syncing
//! cert-manager and argo-rollouts installs their real CRDs); a demo Application is synced the
//! way Argo CD does it: the artifact at its targetRevision is pulled from the registry, the
//! environment's generated layer gives the image, the Rollout is written with it, and the
//! Application reports that revision Synced and Healthy. Simulated Argo Rollouts marks each new
//! Rollout generation Healthy. The stand-in ingress (Traefik's place on 127.0.0.1:https_port)
//! serves a certificate from kindling's CA and answers 200 for a demo host once that
//! environment's Rollout is Healthy.
#![allow(dead_code)]

use crate::cluster_support::{self, ClusterVolumes, Containers, env_with, fake_kind, settings};
use crate::support;
use fake_apiserver::{ChangeType, Fake, FakeApiServer};
use kindling::config::mirror_container_name;
use kindling::report::{Event, Outcome, RecordingReporter, Reporter, SharedReporter};
use kindling::up::{UpContext, UpOptions};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Simulated readiness delays (the benchmark sets its own).
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    pub workloads: Duration,
    pub application: Duration,
    pub rollout: Duration,
}

impl Default for Delays {
    fn default() -> Delays {
        Delays {
            workloads: Duration::from_millis(50),
            application: Duration::from_millis(100),
            rollout: Duration::from_millis(100),
        }
    }
}

pub fn finished(events: &[(Instant, Event)], id: &str) -> Option<(Instant, Outcome)> {
    events.iter().find_map(|(t, e)| match e {
        Event::StepFinished { step, outcome, .. } if step == id => Some((*t, *outcome)),
        _ => None,
    })
}

pub fn started(events: &[(Instant, Event)], id: &str) -> Instant {
    events
        .iter()
        .find_map(|(t, e)| matches!(e, Event::StepStarted { step, .. } if step == id).then_some(*t))
        .unwrap_or_else(|| panic!("step {id} never started"))
}

/// What a healthy Argo CD reports after syncing.
pub fn synced_healthy(_: &str) -> Value {
    json!({
        "sync": { "status": "Synced" },
        "health": { "status": "Healthy" },
        "operationState": { "phase": "Succeeded", "message": "successfully synced" }
    })
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

/// The platform Applications: Synced and Healthy after a delay; CRDs come with their charts.
fn simulate_argocd(
    fake: Fake,
    crds: Vec<(&'static str, Vec<Value>)>,
    status_for: fn(&str) -> Value,
    delay: Duration,
) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Application"
            || change.name.starts_with("demo-app-")
            || change.object["status"]["health"]["status"] == "Healthy"
        {
            return true;
        }
        let (fake, name) = (fake.clone(), change.name.clone());
        let crds: Vec<Value> = crds
            .iter()
            .filter(|(app, _)| *app == name)
            .flat_map(|(_, c)| c.clone())
            .collect();
        let destination = change.object["spec"]["destination"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // syncOptions CreateNamespace=true
            fake.create_namespace(&destination);
            for crd in crds {
                fake.apply(crd).unwrap();
            }
            let _ = fake.set_status(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                &name,
                status_for(&name),
            );
        });
        true
    });
}

/// The image an environment's generated layer sets, read from the artifact as Argo CD would.
pub async fn image_in_artifact(registry_port: u16, revision: &str, env: &str) -> String {
    let api = kindling::docker::registry_api::RegistryApi::local(registry_port);
    let dir = tempfile::tempdir().unwrap();
    kindling::docker::oci::pull_and_unpack(
        &api,
        kindling::platform::gitops::ARTIFACT_REPO,
        revision,
        dir.path(),
    )
    .await
    .unwrap();
    let layer = std::fs::read_to_string(
        dir.path()
            .join("demo-app/generated")
            .join(env)
            .join("kustomization.yaml"),
    )
    .unwrap();
    let layer: Value = serde_saphyr::from_str(&layer).unwrap();
    let image = &layer["images"][0];
    let name = image["newName"].as_str().unwrap();
    match image["digest"].as_str() {
        Some(digest) => format!("{name}@{digest}"),
        None => format!("{name}:{}", image["newTag"].as_str().unwrap()),
    }
}

/// Argo CD syncing the demo Applications from the artifact (see the module comment).
fn simulate_demo_sync(fake: Fake, registry_port: u16, delay: Duration) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Application"
            || !change.name.starts_with("demo-app-")
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
        let (fake, name, object) = (fake.clone(), change.name.clone(), change.object.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let env = name.trim_start_matches("demo-app-").to_string();
            let namespace = object["spec"]["destination"]["namespace"]
                .as_str()
                .unwrap()
                .to_string();
            let image = image_in_artifact(registry_port, &revision, &env).await;
            fake.create_namespace(&namespace);
            fake.apply(json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": {
                    "name": "demo-app", "namespace": namespace,
                    "labels": { "app.kubernetes.io/instance": name }
                },
                "spec": {
                    "replicas": 1,
                    "selector": { "matchLabels": { "app.kubernetes.io/name": "demo-app" } },
                    "template": {
                        "metadata": { "labels": { "app.kubernetes.io/name": "demo-app" } },
                        "spec": { "containers": [{ "name": "demo-app", "image": image }] }
                    },
                    "strategy": { "canary": {} }
                }
            }))
            .unwrap();
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

/// Argo Rollouts: every new Rollout generation becomes Healthy and fully promoted.
fn simulate_rollouts(fake: Fake, delay: Duration) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted || change.kind() != "Rollout" {
            return true;
        }
        let generation = change.object["metadata"]["generation"]
            .as_i64()
            .unwrap_or(1);
        if change.object["status"]["observedGeneration"] == generation.to_string().as_str() {
            return true;
        }
        let (fake, change) = (fake.clone(), change.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let image = change.object["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default();
            let hash = &kindling::docker::oci::sha256_digest(image.as_bytes())[7..17];
            let _ = fake.set_status(
                "argoproj.io/v1alpha1",
                "Rollout",
                Some(&change.namespace),
                &change.name,
                json!({
                    "phase": "Healthy", "message": "",
                    "observedGeneration": generation.to_string(),
                    "stableRS": hash, "currentPodHash": hash,
                    "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1
                }),
            );
        });
        true
    });
}

/// Traefik's stand-in on 127.0.0.1:https_port, started when the demo-apps step starts (it
/// must not hold the port during preflight) and stopped after the run.
pub struct Ingress {
    port: u16,
    data_dir: std::path::PathBuf,
    cluster: String,
    fake: Fake,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Ingress {
    /// Starts serving (the in-process runs start it when demo-apps starts; a test running the
    /// binary starts it when it sees that step start).
    pub fn start(&self) {
        let mut task = self.task.lock().unwrap();
        if task.is_some() {
            return;
        }
        let ca = kindling::tls::ca::load(&kindling::tls::ca::ca_dir(&self.data_dir, &self.cluster))
            .unwrap()
            .expect("the CA exists before demo-apps");
        let hosts = ["demo.local", "staging-demo.local", "prod-demo.local"];
        let (cert, key) = kindling::tls::issue_leaf(&ca, &hosts).unwrap();
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls_pemfile::certs(&mut cert.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = rustls_pemfile::private_key(&mut key.as_bytes())
            .unwrap()
            .unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let fake = self.fake.clone();
        *task = Some(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, fake) = (acceptor.clone(), fake.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = answer(tls, &fake).await;
                    }
                });
            }
        }));
    }

    /// Stops serving and frees the port.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

/// One HTTP/1.1 exchange: 200 when the host's environment has a Healthy Rollout, else 503.
async fn answer(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    fake: &Fake,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request).to_lowercase();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host:"))
        .map(|h| h.trim().split(':').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let namespace = match host.split('.').next() {
        Some("demo") => "default",
        Some("staging-demo") => "staging",
        Some("prod-demo") => "production",
        _ => "",
    };
    let healthy = fake
        .get(
            "argoproj.io/v1alpha1",
            "Rollout",
            Some(namespace),
            "demo-app",
        )
        .is_some_and(|r| r["status"]["phase"] == "Healthy");
    let response: &[u8] = if healthy {
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    } else {
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    };
    tls.write_all(response).await?;
    tls.shutdown().await
}

/// Forwards to the recording and starts the ingress when the demo-apps step starts.
struct IngressHook {
    inner: SharedReporter,
    ingress: Arc<Ingress>,
}

impl Reporter for IngressHook {
    fn report(&self, event: Event) {
        if matches!(&event, Event::StepStarted { step, .. } if step == "demo-apps") {
            self.ingress.start();
        }
        self.inner.report(event);
    }
}

/// Everything one `up` on stand-ins needs; containers and volumes go when it is dropped.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub shared: std::path::PathBuf,
    pub settings: kindling::config::Settings,
    pub env: kindling::env::Env,
    pub api: FakeApiServer,
    pub name: String,
    pub node: String,
    pub hosts: std::path::PathBuf,
    pub ingress: Arc<Ingress>,
    pub containers: Containers,
    pub _volumes: ClusterVolumes,
    pub images: Images,
}

/// Removes the demo images the runs built into the local engine (also on panic).
pub struct Images(pub String);

impl Drop for Images {
    fn drop(&mut self) {
        let list = cluster_support::docker(&["images", "-q", &self.0]);
        for id in String::from_utf8_lossy(&list.stdout).split_whitespace() {
            let _ = cluster_support::docker(&["rmi", "-f", id]);
        }
    }
}

impl Setup {
    pub fn options(&self) -> UpOptions {
        UpOptions {
            bundle: Some(self.shared.join("upstream")),
            ..UpOptions::default()
        }
    }

    /// One `up` in process; returns the summary (or error) and the recorded events.
    pub async fn up(
        &self,
    ) -> (
        kindling::Result<kindling::up::Summary>,
        Arc<RecordingReporter>,
    ) {
        let recording = RecordingReporter::new();
        let reporter: SharedReporter = Arc::new(IngressHook {
            inner: recording.clone(),
            ingress: self.ingress.clone(),
        });
        let context = UpContext::new(
            self.settings.clone(),
            self.env.clone(),
            reporter,
            self.options(),
        );
        let result = kindling::up::run(context).await;
        self.ingress.stop().await;
        (result, recording)
    }
}

/// A file standing in for the static demo-app binary: the image build packages it with
/// Dockerfile.prebuilt (no container runs it here). Its content names the setup, so each
/// setup's image has its own ID: `Images` removes by ID, which would otherwise also remove a
/// concurrent setup's identical image (and make that setup's next `up` rebuild it).
fn stand_in_binary(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join("demo-app-binary");
    std::fs::write(
        &path,
        format!("#!/bin/false\n# stand-in for the static demo-app binary ({name})\n"),
    )
    .unwrap();
    path
}

pub async fn setup(status_for: fn(&str) -> Value, component_timeout: &str) -> Option<Setup> {
    setup_with(status_for, component_timeout, Delays::default()).await
}

pub async fn setup_with(
    status_for: fn(&str) -> Value,
    component_timeout: &str,
    delays: Delays,
) -> Option<Setup> {
    let shared = support::shared_dir()?;
    let real = cluster_support::real_kind()?;
    support::docker_available()?;
    let image = cluster_support::node_image()?;
    cluster_support::kind_network();

    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    let name = support::unique("kup");
    let config = &mut settings.config;
    config.cluster.name = name.clone();
    config.cluster.node_image = image.clone();
    config.network.http_port = support::free_port();
    config.network.https_port = support::free_port();
    config.timeouts.component = component_timeout.into();
    config.timeouts.rollout = component_timeout.into();
    config.network.trust_ca = false; // the system trust store is tested in tls_trust.rs
    config.registry.name = format!("{name}-registry");
    config.registry.host_port = support::free_port();
    config.registry.image = support::registry_image();
    config.registry.mirrors = vec![format!("{name}.example.test")];
    config.demo.binary = stand_in_binary(dir.path(), &name).display().to_string();
    let node = format!("{name}-control-plane");
    let mirror = mirror_container_name(&config.registry.mirrors[0]);
    let containers = Containers(vec![
        node.clone(),
        config.registry.name.clone(),
        mirror.clone(),
    ]);
    let volumes = ClusterVolumes(name.clone());

    let api = FakeApiServer::start().await;
    fake_apiserver::sim::spawn_workload_controller(api.handle(), delays.workloads);
    let upstream = shared.join("upstream");
    simulate_argocd(
        api.handle(),
        vec![
            (
                "cert-manager",
                crds_below(&upstream.join("cert-manager/v1.21.1/crds")),
            ),
            (
                "argo-rollouts",
                crds_below(&upstream.join("argo-rollouts/v1.9.1/crds")),
            ),
        ],
        status_for,
        delays.application,
    );
    simulate_demo_sync(api.handle(), config.registry.host_port, delays.application);
    simulate_rollouts(api.handle(), delays.rollout);
    // The fake's kubeconfig, with kind's context name for this cluster.
    let kubeconfig = api.kubeconfig_with_context(&format!("kind-{name}"));
    std::fs::write(dir.path().join("fake-kubeconfig"), kubeconfig).unwrap();
    let bin = fake_kind(dir.path(), &real, &image, config.network.http_port);
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let env = env_with(
        Some(&bin),
        &dir.path().join("kubeconfig"),
        &[
            ("KINDLING_HOSTS_FILE", hosts.display().to_string()),
            ("KINDLING_SUDO", "none".into()),
        ],
    );
    let ingress = Arc::new(Ingress {
        port: config.network.https_port,
        data_dir: settings.data_dir.clone(),
        cluster: name.clone(),
        fake: api.handle(),
        task: Mutex::new(None),
    });
    let images = Images(format!(
        "localhost:{}/demo-app",
        settings.config.registry.host_port
    ));
    Some(Setup {
        dir,
        shared,
        settings,
        env,
        api,
        name,
        node,
        hosts,
        ingress,
        containers,
        _volumes: volumes,
        images,
    })
}

impl Setup {
    /// The kindling binary set up like the in-process runs: this setup's configuration file,
    /// data and cache dirs, the fake kind first on PATH, the private hosts file, and TMPDIR
    /// in the test's folder (so leaked temporary folders show).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let config = self.dir.path().join("bootstrap.toml");
        std::fs::write(&config, toml::to_string(&self.settings.config).unwrap()).unwrap();
        let tmp = self.tmp_dir();
        std::fs::create_dir_all(&tmp).unwrap();
        let mut command = std::process::Command::new(support::kindling_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
            command.env_remove(key);
        }
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("PATH", path)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("KINDLING_HOSTS_FILE", &self.hosts)
            .env("KINDLING_SUDO", "none")
            .env("KINDLING_DATA_DIR", &self.settings.data_dir)
            .env("KINDLING_CACHE_DIR", &self.settings.cache_dir)
            .env("TMPDIR", tmp)
            .env("NO_COLOR", "1");
        command
    }

    /// TMPDIR of the binary runs.
    pub fn tmp_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("tmp")
    }
}
