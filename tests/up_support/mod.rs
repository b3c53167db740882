//! One `kindling up` against a simulated kind cluster, shared by tests/up_pipeline.rs,
//! tests/release.rs, tests/up_promotion.rs and the up-sim benchmark.
//!
//! Real: the Docker side (preflight, the registry and a cache, the demo image build and push,
//! the manifests artifact, a stand-in node container that kindling wires), the real `kind`
//! CLI for everything but `create cluster`, and every object kindling applies. The Kubernetes
//! side is crates/kind-sim on the fake API server: a kind cluster made from kindling's own
//! kind config, with Argo CD v3.5.1 coming from the install.yaml that `up` applies (the
//! simulated application controller acts only while that install's controller and
//! repo-server pods run). Argo CD renders each Application as it would: the platform charts
//! with real Helm v4 (`kind_sim::Helm`, renders cached on disk), the demo environments by
//! pulling the OCI artifact at the Application's targetRevision from the local registry —
//! only with the repository Secret that declares it plain HTTP, as Argo CD needs — and
//! `kustomize build` of its path with the real kustomize. Health is Argo CD's own rules (its
//! Lua checks run in place), and the cluster is no more generous than kind: pods that cannot
//! pull or mount do not start, nothing assigns load-balancer addresses, Ingresses get
//! Traefik's address only while Traefik runs, HPAs have metrics only with metrics-server.
//!
//! The stand-in ingress (Traefik's place on 127.0.0.1:https_port; kind-sim serves no
//! traffic) answers for a host only when the simulated Traefik runs, the host's Ingress has
//! the address Traefik publishes, its TLS Secret exists (else Traefik's default certificate,
//! which kindling's CA does not sign) and its environment's Rollout is Healthy or paused.
#![allow(dead_code)]

use crate::cluster_support::{self, ClusterVolumes, Containers, env_with, fake_kind, settings};
use crate::support::{self, https_stand_in};
use fake_apiserver::{Fake, FakeApiServer};
use kind_sim::{Helm, Rendered, Sim, Source};
use kindling::config::{Config, mirror_container_name};
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use kindling::up::{UpContext, UpOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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

/// The summary of an `up` that must succeed; else a panic with its error and the steps that
/// failed (the error names the unhealthy resources and why).
pub fn expect_up(
    result: kindling::Result<kindling::up::Summary>,
    recording: &RecordingReporter,
) -> kindling::up::Summary {
    result.unwrap_or_else(|e| {
        let failed: Vec<String> = recording
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::StepFailed { step, error, .. } => Some(format!("  {step}: {error}")),
                _ => None,
            })
            .collect();
        panic!("up failed: {e}\nfailed steps:\n{}", failed.join("\n"))
    })
}

/// The registry hosts the simulated node's containerd pulls from: the `certs.d/<host>`
/// folders kindling's wiring writes (`cluster::wiring::node_files`, the same function) for
/// the test's registry and the upstreams kindling mirrors by default.
///
/// Why the default mirrors and not the test configuration's: the Docker side of a cache is
/// shared by name by every kindling cluster on the machine (`kindling-mirror-docker-io`...),
/// so a test that configured the real upstreams would start, share and `down --purge` a
/// developer's own caches. The tests' configuration mirrors one upstream named after the test
/// instead (one stand-in cache container, which crash-loops: it cannot reach an upstream),
/// and the node is given what a default installation's node has. Dropping an upstream from
/// the defaults then leaves the images it serves unpullable here too (public.ecr.aws: Argo
/// CD's redis), as on an offline machine.
pub fn node_registries(config: &Config) -> Vec<String> {
    let mut default_mirrors = config.clone();
    default_mirrors.registry.mirrors = Config::builtin().registry.mirrors;
    kindling::cluster::wiring::node_files(&default_mirrors)
        .iter()
        .filter_map(|f| {
            let dir = f.path.strip_prefix(kindling::cluster::wiring::CERTS_D)?;
            Some(dir.trim_start_matches('/').split('/').next()?.to_string())
        })
        .collect()
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

/// Argo CD's repo-server: charts through real Helm, OCI artifacts from the test's registry
/// through `kustomize build`.
struct RepoServer {
    helm: Helm,
    kustomize: PathBuf,
    fake: Fake,
    /// The registry as the cluster reaches it ("<name>:5000") and its port on the host.
    cluster_host: String,
    host_port: u16,
}

impl RepoServer {
    /// A repository Secret (label `argocd.argoproj.io/secret-type: repository`) in argocd for
    /// exactly `repo`: the key's value, from stringData or data.
    fn repository_setting(&self, repo: &str, key: &str) -> Option<String> {
        let value = |secret: &Value, key: &str| -> Option<String> {
            if let Some(v) = secret["stringData"][key].as_str() {
                return Some(v.to_string());
            }
            let data = secret["data"][key].as_str()?;
            let bytes = base64_decode(data)?;
            String::from_utf8(bytes).ok()
        };
        self.fake
            .list("v1", "Secret", Some("argocd"))
            .into_iter()
            .filter(|s| {
                s["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
                    && value(s, "url").as_deref() == Some(repo)
            })
            .find_map(|s| value(&s, key))
    }

    fn oci(&self, repo: &str, source: &Value) -> Result<Rendered, String> {
        let (host, name) = repo
            .strip_prefix("oci://")
            .and_then(|r| r.split_once('/'))
            .ok_or_else(|| format!("{repo}: not an OCI repository URL"))?;
        // Argo CD 3.5 talks HTTPS to an OCI registry unless a repository Secret for this URL
        // says `insecureOCIForceHttp: "true"`; the local registry speaks plain HTTP.
        if self.repository_setting(repo, "type").as_deref() != Some("oci")
            || self
                .repository_setting(repo, "insecureOCIForceHttp")
                .as_deref()
                != Some("true")
        {
            return Err(format!(
                "failed to get index: Get \"https://{host}/v2/\": http: server gave HTTP response to HTTPS client"
            ));
        }
        if host != self.cluster_host {
            return Err(format!("dial tcp: lookup {host}: no such host"));
        }
        let revision = source["targetRevision"].as_str().unwrap_or("");
        let path = source["path"].as_str().unwrap_or(".");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let api = kindling::docker::registry_api::RegistryApi::local(self.host_port);
        let handle = tokio::runtime::Handle::current();
        let digest = handle
            .block_on(kindling::docker::oci::pull_and_unpack(
                &api,
                name,
                revision,
                dir.path(),
            ))
            .map_err(|e| e.to_string())?;
        let out = std::process::Command::new(&self.kustomize)
            .arg("build")
            .arg(dir.path().join(path))
            .output()
            .map_err(|e| format!("{}: {e}", self.kustomize.display()))?;
        if !out.status.success() {
            return Err(format!(
                "`kustomize build {path}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let objects = kind_sim::yaml::parse_stream(&String::from_utf8_lossy(&out.stdout))?;
        Ok(Rendered {
            revision: digest,
            objects,
        })
    }
}

impl Source for RepoServer {
    fn render(&self, app: &Value, api_versions: &[String]) -> Result<Rendered, String> {
        // A chart (Helm repository, or an OCI chart with Helm settings) goes to Helm; a plain
        // OCI artifact is a folder of manifests (kustomize).
        let source = &app["spec"]["source"];
        let repo = source["repoURL"].as_str().unwrap_or("");
        if source["chart"].is_string() || source["helm"].is_object() {
            Source::render(&self.helm, app, api_versions)
        } else if repo.starts_with("oci://") {
            self.oci(repo, source)
        } else {
            Err(format!(
                "{repo}: not a source this test's repo-server serves"
            ))
        }
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        buffer = buffer << 6 | ALPHABET.iter().position(|a| *a == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// Traefik's stand-in on 127.0.0.1:https_port, started when the demo-apps step starts (it
/// must not hold the port during preflight) and stopped after the run.
pub struct Ingress {
    port: u16,
    data_dir: PathBuf,
    cluster: String,
    domain: String,
    fake: Fake,
    task: https_stand_in::Task,
}

/// The certificate Traefik serves for a host: the one cert-manager issued (its Secret exists)
/// or Traefik's self-signed default, which no client trusting kindling's CA accepts.
struct Certificates {
    fake: Fake,
    issued: Arc<rustls::sign::CertifiedKey>,
    default: Arc<rustls::sign::CertifiedKey>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Certificates")
    }
}

impl rustls::server::ResolvesServerCert for Certificates {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let issued = hello
            .server_name()
            .and_then(|host| ingress_for(&self.fake, host))
            .is_some_and(|(ingress, host)| tls_secret_exists(&self.fake, &ingress, &host));
        Some(if issued {
            self.issued.clone()
        } else {
            self.default.clone()
        })
    }
}

fn certified_key(cert_pem: &str, key_pem: &str) -> Arc<rustls::sign::CertifiedKey> {
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let key = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    Arc::new(rustls::sign::CertifiedKey::new(certs, key))
}

/// The Ingress (any namespace) with a rule for `host`, if the ingress controller published
/// 127.0.0.1 (Traefik's `ingressEndpoint.ip` as kindling sets it) into its status.
fn ingress_for(fake: &Fake, host: &str) -> Option<(Value, String)> {
    let host = host.to_lowercase();
    fake.list("networking.k8s.io/v1", "Ingress", None)
        .into_iter()
        .find(|ing| {
            let rules = ing["spec"]["rules"].as_array().cloned().unwrap_or_default();
            rules.iter().any(|r| r["host"] == host.as_str())
                && ing["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|i| i["ip"] == "127.0.0.1"))
        })
        .map(|ing| (ing, host))
}

fn tls_secret_exists(fake: &Fake, ingress: &Value, host: &str) -> bool {
    let namespace = ingress["metadata"]["namespace"].as_str();
    ingress["spec"]["tls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["hosts"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h == host))
        })
        .filter_map(|t| t["secretName"].as_str())
        .any(|secret| fake.get("v1", "Secret", namespace, secret).is_some())
}

/// A ready Traefik pod holding host port 443 on a node (what kind maps https_port to).
fn traefik_runs(fake: &Fake) -> bool {
    fake.list("v1", "Pod", Some("traefik")).iter().any(|p| {
        let ready = p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        let port_443 = p["spec"]["containers"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["ports"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["hostPort"] == 443))
            })
        });
        p["status"]["phase"] == "Running" && ready && port_443
    })
}

impl Ingress {
    /// Starts serving (the in-process runs start it when demo-apps starts; a test running the
    /// binary starts it when it sees that step start).
    pub fn start(&self) {
        let mut task = self.task.0.lock().unwrap();
        if task.is_some() {
            return;
        }
        // A demo-apps step skipped because an earlier step failed may come before the CA.
        let Ok(Some(ca)) =
            kindling::tls::ca::load(&kindling::tls::ca::ca_dir(&self.data_dir, &self.cluster))
        else {
            return;
        };
        let hosts: Vec<String> = ["demo", "staging-demo", "prod-demo", "prod-demo-preview"]
            .iter()
            .map(|h| format!("{h}.{}", self.domain))
            .collect();
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let (cert, key) = kindling::tls::issue_leaf(&ca, &hosts).unwrap();
        let default =
            rcgen::generate_simple_self_signed(vec!["TRAEFIK DEFAULT CERT".into()]).unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let resolver = Certificates {
            fake: self.fake.clone(),
            issued: certified_key(&cert, &key),
            default: certified_key(&default.cert.pem(), &default.signing_key.serialize_pem()),
        };
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        let (running, answering) = (self.fake.clone(), self.fake.clone());
        *task = Some(https_stand_in::serve(
            (std::net::Ipv4Addr::LOCALHOST.into(), self.port),
            config,
            // Nothing listens on the node's 443 until Traefik runs.
            move || traefik_runs(&running),
            move |host| respond(&answering, host),
        ));
    }

    /// Stops serving and frees the port.
    pub async fn stop(&self) {
        self.task.stop().await
    }
}

/// What Traefik would answer: 404 for a host no published Ingress routes, 503 while its
/// environment's Rollout is neither Healthy nor paused (a paused Rollout still serves its
/// stable pods), else 200.
fn respond(fake: &Fake, host: &str) -> &'static [u8] {
    match ingress_for(fake, host) {
        None => https_stand_in::NOT_FOUND,
        Some((ingress, _))
            if https_stand_in::demo_serves(fake, ingress["metadata"]["namespace"].as_str()) =>
        {
            https_stand_in::OK
        }
        Some(_) => https_stand_in::UNAVAILABLE,
    }
}

/// Everything one `up` on the simulated cluster needs; containers and volumes go when it is
/// dropped.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub shared: PathBuf,
    pub settings: kindling::config::Settings,
    pub env: kindling::env::Env,
    pub api: FakeApiServer,
    pub sim: Sim,
    pub name: String,
    pub node: String,
    pub hosts: PathBuf,
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
        let ingress = self.ingress.clone();
        let reporter: SharedReporter = Arc::new(https_stand_in::StartOnDemoApps {
            inner: recording.clone(),
            start: Box::new(move || ingress.start()),
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
    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// Waits until the simulated cluster has nothing more to do by itself.
    pub async fn settled(&self) {
        self.sim.settled().await
    }
}

/// A file standing in for the static demo-app binary: the image build packages it with
/// Dockerfile.prebuilt (no container runs it here). Its content names the setup, so each
/// setup's image has its own ID: `Images` removes by ID, which would otherwise also remove a
/// concurrent setup's identical image (and make that setup's next `up` rebuild it).
fn stand_in_binary(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join("demo-app-binary");
    std::fs::write(
        &path,
        format!("#!/bin/false\n# stand-in for the static demo-app binary ({name})\n"),
    )
    .unwrap();
    path
}

/// How a setup differs from the plain one.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// `timeouts.component` and `timeouts.rollout`.
    pub timeout: String,
    /// Upstreams the node's containerd cannot pull from (as if no mirror served them on an
    /// offline machine).
    pub unmirrored: Vec<String>,
    /// Argo CD's own delays (sync-wave pauses, retry backoff) × this; 1.0 is real time.
    pub argocd_time_scale: f64,
}

impl Default for SetupOptions {
    fn default() -> SetupOptions {
        SetupOptions {
            timeout: "120s".into(),
            unmirrored: Vec::new(),
            argocd_time_scale: kind_sim::argocd::Options::default().time_scale,
        }
    }
}

pub async fn setup(timeout: &str) -> Option<Setup> {
    setup_with(SetupOptions {
        timeout: timeout.into(),
        ..SetupOptions::default()
    })
    .await
}

pub async fn setup_with(options: SetupOptions) -> Option<Setup> {
    let shared = support::shared_dir()?;
    let real = cluster_support::real_kind()?;
    let kustomize = support::sid_tool("KINDLING_TEST_KUSTOMIZE")?;
    let helm = match Helm::from_env() {
        Ok(h) => h,
        Err(e) => return support::skip(&e),
    };
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
    config.timeouts.component =
        humantime::parse_duration(&options.timeout).expect("a test timeout like \"30s\"");
    config.timeouts.rollout =
        humantime::parse_duration(&options.timeout).expect("a test timeout like \"30s\"");
    config.network.trust_ca = false; // the system trust store is tested in tls_trust.rs
    config.registry.name = format!("{name}-registry");
    config.registry.host_port = support::free_port();
    config.registry.image = support::registry_image();
    // One stand-in cache named after the test (see `node_registries`).
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
    let repo_server = RepoServer {
        helm,
        kustomize,
        fake: api.handle(),
        cluster_host: format!("{}:5000", config.registry.name),
        host_port: config.registry.host_port,
    };
    let registries = node_registries(config)
        .into_iter()
        .filter(|r| !options.unmirrored.contains(r))
        .collect();
    let sim_options = kind_sim::Options {
        kind: kind_sim::kind::Options {
            name: name.clone(),
            config: Some(kindling::cluster::kind_config::render(config)),
            registries,
        },
        argocd: kind_sim::argocd::Options {
            from_install_manifest: true,
            time_scale: options.argocd_time_scale,
            ..Default::default()
        },
    };
    let sim = Sim::start(&api, Arc::new(repo_server), sim_options).unwrap();
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
        domain: settings.config.network.domain.clone(),
        fake: api.handle(),
        task: Default::default(),
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
        sim,
        name,
        node,
        hosts,
        ingress,
        containers,
        _volumes: volumes,
        images,
    })
}

/// Runs `command` (a `kindling --output json ...`), handing each JSON event it prints to
/// `on_event` as it comes, with the process id (to signal it mid-run); the exit code and
/// everything it printed, its stderr last.
pub async fn run_streaming(
    mut command: tokio::process::Command,
    mut on_event: impl FnMut(&serde_json::Value, u32),
) -> (Option<i32>, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
        if let Ok(event) = serde_json::from_str(&line) {
            on_event(&event, pid);
        }
    }
    let status = child.wait().await.unwrap();
    printed.push_str(&errors.await.unwrap());
    (status.code(), printed)
}
