//! The existing-cluster test's stand-ins for Argo Rollouts and the ingress: every new Rollout
//! generation becomes Healthy, and a TLS listener on the load balancer's address answers for
//! a demo host once its Rollout is Healthy. (The kind tests use crates/kind-sim instead; the
//! existing-cluster story keeps these small stand-ins beside its own simulated controllers.)

use fake_apiserver::{ChangeType, Fake};
use kindling::report::{Event, Reporter, SharedReporter};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Argo Rollouts: every new Rollout generation becomes Healthy and fully promoted.
pub fn simulate_rollouts(fake: Fake, delay: Duration) {
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
    ip: std::net::IpAddr,
    port: u16,
    domain: String,
    data_dir: std::path::PathBuf,
    cluster: String,
    fake: Fake,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Ingress {
    /// The stand-in for the ingress at `ip:port`, serving `<demo host>.<domain>` with a
    /// certificate from the CA in `data_dir` (made by `up` before demo-apps starts).
    pub fn new(
        ip: std::net::IpAddr,
        port: u16,
        domain: &str,
        data_dir: &std::path::Path,
        cluster: &str,
        fake: Fake,
    ) -> Ingress {
        Ingress {
            ip,
            port,
            domain: domain.into(),
            data_dir: data_dir.to_path_buf(),
            cluster: cluster.into(),
            fake,
            task: Mutex::new(None),
        }
    }

    fn start(&self) {
        let mut task = self.task.lock().unwrap();
        if task.is_some() {
            return;
        }
        let ca = kindling::tls::ca::load(&kindling::tls::ca::ca_dir(&self.data_dir, &self.cluster))
            .unwrap()
            .expect("the CA exists before demo-apps");
        let hosts = ["demo", "staging-demo", "prod-demo"].map(|p| format!("{p}.{}", self.domain));
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
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
        let listener = std::net::TcpListener::bind((self.ip, self.port)).unwrap();
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

/// One HTTP/1.1 exchange: 200 when the host's environment has a Healthy (or paused) Rollout,
/// else 503.
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
    // A paused Rollout (awaiting promotion) still serves: the active Service keeps the
    // stable pods.
    let healthy = fake
        .get(
            "argoproj.io/v1alpha1",
            "Rollout",
            Some(namespace),
            "demo-app",
        )
        .is_some_and(|r| matches!(r["status"]["phase"].as_str(), Some("Healthy" | "Paused")));
    let response: &[u8] = if healthy {
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    } else {
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    };
    tls.write_all(response).await?;
    tls.shutdown().await
}

/// Forwards to the recording and starts the ingress when the demo-apps step starts.
pub struct IngressHook {
    pub inner: SharedReporter,
    pub ingress: Arc<Ingress>,
}

impl Reporter for IngressHook {
    fn report(&self, event: Event) {
        if matches!(&event, Event::StepStarted { step, .. } if step == "demo-apps") {
            self.ingress.start();
        }
        self.inner.report(event);
    }
}
