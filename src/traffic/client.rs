//! The HTTPS client the generator uses: the environment's name resolved by the client itself
//! (to 127.0.0.1 on kind, to the ingress address on an existing cluster), and kindling's CA as
//! the only trusted root (or the system's roots when an existing ClusterIssuer signs).

use super::TrafficError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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
    /// Where the host name is answered: 127.0.0.1 on kind, the ingress address elsewhere.
    pub address: IpAddr,
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
            address: Ipv4Addr::LOCALHOST.into(),
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
    // The port comes from the URL; reqwest ignores the one given with `resolve`.
    let address = SocketAddr::new(target.address, 0);
    let mut builder = reqwest::Client::builder();
    // No CA given: an existing ClusterIssuer (e.g. ACME) signed, the system's roots decide.
    if !target.ca_pem.is_empty() {
        let ca = reqwest::Certificate::from_pem(target.ca_pem.as_bytes())
            .map_err(|e| TrafficError::Client(format!("the CA certificate is not PEM: {e}")))?;
        builder = builder.tls_certs_only([ca]);
    }
    builder
        .resolve(&target.host, address)
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .no_proxy()
        .build()
        .map_err(|e| TrafficError::Client(e.to_string()))
}
