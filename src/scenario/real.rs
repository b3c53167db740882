//! The platform `kindling up` made, as the scenarios see it: the cluster from kindling's
//! kubeconfig, each environment's ingress host (and production's preview host) on
//! 127.0.0.1:`network.https_port` trusted through kindling's CA file, and releases through
//! `kindling release`.

use super::platform::{Platform, Release};
use crate::release::{ReleaseContext, ReleaseRequest};
use crate::tls::ca::CERT_FILE;
use crate::traffic::Target;

pub struct RealPlatform {
    release: ReleaseContext,
}

impl RealPlatform {
    /// The platform behind `ctx`: its settings, cluster client and Docker engine.
    pub fn new(release: ReleaseContext) -> RealPlatform {
        RealPlatform { release }
    }
}

impl RealPlatform {
    /// `<prefix>.<domain>` at the ingress (127.0.0.1:`network.https_port` on kind, the load
    /// balancer's address on an existing cluster), trusting kindling's CA when it issues the
    /// ingress certificates.
    fn host_target(&self, prefix: &str) -> Result<Target, String> {
        let config = &self.release.settings.config;
        let host = format!("{prefix}.{}", config.network.domain);
        let ca_pem = if crate::platform::applications::uses_local_ca(config) {
            let ca = crate::tls::ca_dir(&self.release.settings).join(CERT_FILE);
            Target::read_ca(&ca).map_err(|e| {
                format!(
                    "{} (run `kindling up`: it makes the CA the ingress certificates come from)",
                    crate::error::one_line(&e)
                )
            })?
        } else {
            String::new()
        };
        let mut target = Target::demo_app(&host, config.network.https_port, ca_pem);
        if let Some(address) = self.release.ingress {
            target.address = address;
        }
        Ok(target)
    }
}

impl Platform for RealPlatform {
    fn client(&self) -> kube::Client {
        self.release.client.clone()
    }

    fn target(&self, environment: &str) -> Result<Target, String> {
        let env = crate::environments::environment(environment)
            .ok_or_else(|| format!("unknown environment {environment:?}"))?;
        self.host_target(env.host_prefix)
    }

    fn preview_target(&self, environment: &str) -> Result<Target, String> {
        let env = crate::environments::environment(environment)
            .ok_or_else(|| format!("unknown environment {environment:?}"))?;
        let prefix = env
            .preview_host_prefix
            .ok_or_else(|| format!("the {environment} environment has no preview host"))?;
        self.host_target(prefix)
    }

    async fn release(&self, release: &Release) -> Result<(), String> {
        let request = ReleaseRequest {
            environment: release.environment.clone(),
            version: release.version.clone(),
            faults: release.faults,
            profile: Some(release.profile),
        };
        match crate::release::release(&self.release, &request).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut text = e.to_string();
                for hint in e.hints() {
                    text.push_str(&format!(" ({hint})"));
                }
                Err(text)
            }
        }
    }
}
