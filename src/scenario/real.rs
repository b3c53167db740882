//! The platform `kindling up` made, as the scenarios see it: the cluster from kindling's
//! kubeconfig, each environment's ingress host on 127.0.0.1:`network.https_port` trusted
//! through kindling's CA file, and releases through `kindling release`.

use super::platform::{Platform, Release};
use crate::config::Settings;
use crate::platform::gitops::ENVIRONMENTS;
use crate::tls::ca::CERT_FILE;
use crate::traffic::Target;

pub struct RealPlatform {
    settings: Settings,
    client: kube::Client,
}

impl RealPlatform {
    pub fn new(settings: Settings, client: kube::Client) -> RealPlatform {
        RealPlatform { settings, client }
    }
}

impl Platform for RealPlatform {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    fn target(&self, environment: &str) -> Result<Target, String> {
        let env = ENVIRONMENTS
            .iter()
            .find(|e| e.name == environment)
            .ok_or_else(|| format!("unknown environment {environment:?}"))?;
        let host = format!(
            "{}.{}",
            env.host_prefix, self.settings.config.network.domain
        );
        let ca = crate::tls::ca_dir(&self.settings).join(CERT_FILE);
        let ca_pem = Target::read_ca(&ca).map_err(|e| {
            format!("{e} (run `kindling up`: it makes the CA the ingress certificates come from)")
        })?;
        Ok(Target::demo_app(
            &host,
            self.settings.config.network.https_port,
            ca_pem,
        ))
    }

    // INTEGRATOR: the one place to wire `kindling release`. Call the release library
    // function with (settings, client, release.environment, release.version,
    // release.faults, release.profile) and map its error to a String (what failed, why,
    // and the hint). `Release::profile` is `fast` (pauses and analysis intervals of 10 s) or
    // `realistic` (the committed manifests' values).
    async fn release(&self, release: &Release) -> Result<(), String> {
        let _ = (&self.settings, release);
        Err(format!(
            "`kindling release` is not available in this build, so {} cannot be released to {}",
            release.version, release.environment
        ))
    }
}
