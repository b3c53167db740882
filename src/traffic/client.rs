//! The HTTPS client the generator uses: the environment's name resolved to 127.0.0.1 by the
//! client itself, and kindling's CA as the only trusted root.

use super::TrafficError;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Where traffic goes: `https://{host}:{port}{path}`, answered through 127.0.0.1.
#[derive(Debug, Clone)]
pub struct Target {
    /// e.g. `staging-demo.localhost`.
    pub host: String,
    /// The ingress HTTPS port on the host (`network.https_port`).
    pub port: u16,
    /// The endpoint that names its version (`/api/data` answers `{"version": ...}`).
    pub path: String,
    /// The CA certificate (PEM) that signed the ingress certificate.
    pub ca_pem: String,
    /// Per-request timeout: a request slower than this counts as failed.
    pub timeout: Duration,
}

impl Target {
    /// The demo app's data endpoint on `host`, trusting the CA in `ca_pem`.
    pub fn demo_app(host: &str, port: u16, ca_pem: String) -> Target {
        Target {
            host: host.to_string(),
            port,
            path: "/api/data".into(),
            ca_pem,
            timeout: Duration::from_secs(5),
        }
    }

    /// Reads the CA certificate file (kindling's `<data dir>/tls/<cluster>/ca.crt`).
    pub fn read_ca(path: &std::path::Path) -> Result<String, TrafficError> {
        std::fs::read_to_string(path).map_err(|e| TrafficError::Ca {
            path: path.to_path_buf(),
            why: e.to_string(),
        })
    }

    pub fn url(&self) -> String {
        format!("https://{}:{}{}", self.host, self.port, self.path)
    }
}

pub fn build(target: &Target) -> Result<reqwest::Client, TrafficError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(target.ca_pem.as_bytes())
        .map_err(|e| TrafficError::Client(format!("the CA certificate is not PEM: {e}")))?;
    // The port comes from the URL; reqwest ignores the one given with `resolve`.
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve(&target.host, loopback)
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .no_proxy()
        .build()
        .map_err(|e| TrafficError::Client(e.to_string()))
}
