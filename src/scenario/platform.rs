//! What a scenario needs from the platform, behind one trait so tests substitute a
//! simulation: a client for the cluster, where an environment's traffic (and its preview's)
//! goes, and a way to release a version. The real implementation is `real::RealPlatform`.

use crate::traffic::Target;
use std::future::Future;

pub use crate::config::Profile;
pub use crate::platform::demo_image::Faults;

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

    /// Where traffic to the environment's preview goes (blue-green: the preview Service's
    /// host), for the requests pre-promotion analysis judges.
    fn preview_target(&self, environment: &str) -> Result<Target, String>;

    /// Releases `release.version` to the environment (image, manifests, Argo CD refresh) and
    /// returns once Argo CD synced it and the Rollout started; the error says why not.
    fn release(&self, release: &Release) -> impl Future<Output = Result<(), String>> + Send;
}
