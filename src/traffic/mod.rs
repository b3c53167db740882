//! The traffic generator: concurrent HTTPS requests to one environment's host at a set rate,
//! resolving the platform's names to 127.0.0.1 itself and trusting only kindling's CA (no
//! hosts-file entry, no system trust: works in CI). Every request's status, latency and the
//! version that answered are recorded; `timeline` folds them into per-second
//! `TrafficSecond`s and arbitrary windows.
//!
//! Entry point: `Traffic::start(Target, rate)` → a handle with `snapshot`, `samples` and `stop`.

mod client;
mod generator;
pub mod timeline;

pub use client::Target;
pub use generator::{DEFAULT_RATE, Sample, Traffic};
pub use timeline::{TrafficSecond, Window, per_second, window};

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("cannot read the CA certificate {path}: {why}")]
    Ca {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
}

impl TrafficError {
    pub fn hint(&self) -> Option<String> {
        match self {
            TrafficError::Ca { .. } => {
                Some("run `kindling up` (it makes the local CA) or `kindling tls ca`".into())
            }
            TrafficError::Client(_) => None,
        }
    }
}

impl crate::error::Diagnose for TrafficError {
    fn area(&self) -> &str {
        "traffic"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }
}
