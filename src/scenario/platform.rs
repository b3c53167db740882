//! What a scenario needs from the platform, behind one trait so tests substitute a
//! simulation: a client for the cluster, where an environment's traffic goes, and a way to
//! release a version. The real implementation is `real::RealPlatform`.

use crate::traffic::Target;
use std::future::Future;
use std::time::Duration;

/// `--profile`: how long the rollout's pauses and analysis intervals are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Pauses and analysis intervals of 10 s: `smoke` finishes in minutes.
    #[default]
    Fast,
    /// The committed manifests' pauses (1m) and analysis intervals (20s/30s).
    Realistic,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fast => "fast",
            Profile::Realistic => "realistic",
        }
    }
}

/// Faults the released version injects (the demo app's FAULT_* settings).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Share of `/api/data` answered with HTTP 500, 0.0–1.0 (FAULT_ERROR_RATE).
    pub error_rate: Option<f64>,
    /// Added to every `/api/data` answer (FAULT_LATENCY_MS).
    pub latency: Option<Duration>,
}

impl Faults {
    pub fn is_none(&self) -> bool {
        self.error_rate.is_none() && self.latency.is_none()
    }

    /// "error-rate=0.5, latency=800ms" (the `kindling release --fault` spelling).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(rate) = self.error_rate {
            parts.push(format!("error-rate={rate}"));
        }
        if let Some(latency) = self.latency {
            parts.push(format!("latency={}ms", latency.as_millis()));
        }
        parts.join(", ")
    }
}

/// One release a scenario asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// `dev`, `staging` or `production`.
    pub environment: String,
    pub version: String,
    pub faults: Faults,
    pub profile: Profile,
}

/// The platform the scenarios run on.
pub trait Platform: Send + Sync {
    /// A client for the cluster the environments run on.
    fn client(&self) -> kube::Client;

    /// Where the environment's traffic goes (its ingress host, port and CA).
    fn target(&self, environment: &str) -> Result<Target, String>;

    /// Releases `release.version` to the environment (image, manifests, Argo CD refresh) and
    /// returns once Argo CD synced it and the Rollout started; the error says why not.
    fn release(&self, release: &Release) -> impl Future<Output = Result<(), String>> + Send;
}
