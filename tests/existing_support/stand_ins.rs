//! The existing-cluster test's stand-ins for Argo Rollouts and the ingress: every new Rollout
//! generation becomes Healthy, and a TLS listener on the load balancer's address answers for
//! a demo host once its Rollout is Healthy. (The kind tests use crates/kind-sim instead; the
//! existing-cluster story keeps these small stand-ins beside its own simulated controllers.)

use crate::support::https_stand_in;
use fake_apiserver::{ChangeType, Fake};
use serde_json::json;
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
    task: https_stand_in::Task,
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
            task: Default::default(),
        }
    }

    pub fn start(&self) {
        let mut task = self.task.0.lock().unwrap();
        if task.is_some() {
            return;
        }
        let ca = kindling::tls::ca::load(&kindling::tls::ca::ca_dir(&self.data_dir, &self.cluster))
            .unwrap()
            .expect("the CA exists before demo-apps");
        let hosts = ["demo", "staging-demo", "prod-demo", "prod-demo-preview"]
            .map(|p| format!("{p}.{}", self.domain));
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
        let fake = self.fake.clone();
        *task = Some(https_stand_in::serve(
            (self.ip, self.port),
            config,
            || true,
            move |host| respond(&fake, host),
        ));
    }

    /// Stops serving and frees the port.
    pub async fn stop(&self) {
        self.task.stop().await
    }
}

/// 200 when the host's environment's Rollout serves, else 503.
fn respond(fake: &Fake, host: &str) -> &'static [u8] {
    let namespace = match host.split('.').next() {
        Some("demo") => "default",
        Some("staging-demo") => "staging",
        Some("prod-demo" | "prod-demo-preview") => "production",
        _ => "",
    };
    if https_stand_in::demo_serves(fake, Some(namespace)) {
        https_stand_in::OK
    } else {
        https_stand_in::UNAVAILABLE
    }
}
