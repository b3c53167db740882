//! What `kindling status` reports, as one serializable object. The JSON keys are a contract
//! (docs/status.md): every key is always present (null when unknown), except `secrets`, which
//! appears only with `--show-secrets`.

use super::problems::{self, Problem};
use crate::config::{Config, Provider};
use crate::docker::status::ContainerStatus;
use crate::rollout::{Phase, StrategyKind};
use serde::{Serialize, Serializer};
use std::path::PathBuf;

/// The whole platform.
#[derive(Debug, Clone)]
pub struct PlatformStatus {
    pub cluster: ClusterPart,
    pub registry: RegistryPart,
    /// The platform components' Argo CD Applications, in `platform::applications::all` order.
    pub components: Vec<ApplicationStatus>,
    /// dev, staging, production.
    pub environments: Vec<EnvironmentStatus>,
    pub urls: Vec<Url>,
    /// Only when asked for (`--show-secrets`).
    pub secrets: Option<Secrets>,
}

impl PlatformStatus {
    /// Everything that keeps the platform from being healthy, most fundamental first.
    pub fn problems(&self) -> Vec<Problem> {
        problems::of(self)
    }

    /// True when nothing is unhealthy or unknown.
    pub fn healthy(&self) -> bool {
        self.problems().is_empty()
    }
}

impl Serialize for PlatformStatus {
    /// `healthy` and `problems` first (what a script checks), then the parts.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out<'a> {
            healthy: bool,
            problems: Vec<Problem>,
            cluster: &'a ClusterPart,
            registry: &'a RegistryPart,
            components: &'a [ApplicationStatus],
            environments: &'a [EnvironmentStatus],
            #[serde(serialize_with = "urls_as_map")]
            urls: &'a [Url],
            #[serde(skip_serializing_if = "Option::is_none")]
            secrets: &'a Option<Secrets>,
        }
        let problems = self.problems();
        Out {
            healthy: problems.is_empty(),
            problems,
            cluster: &self.cluster,
            registry: &self.registry,
            components: &self.components,
            environments: &self.environments,
            urls: &self.urls,
            secrets: &self.secrets,
        }
        .serialize(serializer)
    }
}

/// `{"demo": "https://demo.localhost", ...}` in the order of `Config::ingress_hosts`.
fn urls_as_map<S: Serializer>(urls: &&[Url], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(urls.len()))?;
    for u in urls.iter() {
        map.serialize_entry(&u.name, &u.url)?;
    }
    map.end()
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPart {
    pub name: String,
    pub provider: Provider,
    /// None: could not be told (why in `problem`).
    pub exists: Option<bool>,
    /// Every node container running (kind), or the API server answering (existing).
    pub running: Option<bool>,
    /// Whether the API server answered.
    pub reachable: Option<bool>,
    /// The kube context kindling uses (`kind-<name>` for kind).
    pub context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    /// The API server's Kubernetes version, when it answered.
    pub version: Option<String>,
    /// kind only: each node container and its Docker state.
    pub nodes: Vec<crate::cluster::status::NodeStatus>,
    /// Why the cluster is missing, stopped, unreachable or unknown.
    pub problem: Option<String>,
}

impl ClusterPart {
    /// Whether the cluster exists, runs and answers.
    pub fn healthy(&self) -> bool {
        self.exists == Some(true)
            && self.running == Some(true)
            && self.reachable == Some(true)
            && self.problem.is_none()
    }

    /// Why nothing in the cluster could be read (for the parts that depend on it).
    pub fn unreachable_reason(&self) -> String {
        match (self.exists, &self.problem) {
            (Some(false), _) => format!("not checked: cluster {} does not exist", self.name),
            (_, Some(problem)) => format!("not checked: {problem}"),
            _ => format!("not checked: cluster {} cannot be reached", self.name),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryPart {
    /// The local registry and each pull-through cache (`kindling registry status` rows).
    pub containers: Vec<ContainerStatus>,
    /// Why the containers could not be listed (Docker unreachable...).
    pub problem: Option<String>,
}

impl RegistryPart {
    /// Why one container is not healthy, if it is not.
    pub fn container_problem(c: &ContainerStatus) -> Option<String> {
        match (c.state.as_str(), c.answers) {
            ("running", Some(false)) => {
                Some(format!("{} is running but does not answer /v2/", c.name))
            }
            ("running", _) => None,
            ("missing", _) => Some(format!("{} does not exist", c.name)),
            ("foreign", _) => Some(format!("{} exists but kindling does not own it", c.name)),
            (state, _) => Some(format!("{} is {state}", c.name)),
        }
    }
}

/// An Argo CD Application's sync and health as Argo CD reports them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    pub name: String,
    /// Synced / OutOfSync / Unknown (also Unknown when the Application could not be read).
    pub sync: String,
    /// Healthy / Progressing / Suspended / Missing / Degraded / Unknown.
    pub health: String,
    /// Argo CD's explanation (health message, error condition, failed operation).
    pub message: Option<String>,
    /// Why the Application could not be read (not found, API error, timeout).
    pub problem: Option<String>,
}

impl ApplicationStatus {
    pub fn unknown(name: &str, why: impl Into<String>) -> ApplicationStatus {
        ApplicationStatus {
            name: name.into(),
            sync: "Unknown".into(),
            health: "Unknown".into(),
            message: None,
            problem: Some(why.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStatus {
    /// dev, staging, production.
    pub name: String,
    pub namespace: String,
    pub url: String,
    /// The Application `demo-app-<env>`.
    pub application: ApplicationStatus,
    pub rollout: RolloutPart,
}

/// The environment's Rollout, through the status interpreter of `crate::rollout`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPart {
    pub name: String,
    /// Healthy / Progressing / Paused / Degraded; null when it could not be read.
    pub phase: Option<Phase>,
    pub message: Option<String>,
    pub strategy: Option<StrategyKind>,
    /// "N/M" for a canary with steps.
    pub step: Option<String>,
    /// The weight the current canary step asks for.
    pub set_weight: Option<i32>,
    /// The image of the pod template (what is being rolled out).
    pub image: Option<String>,
    /// The demo app's version: the release kindling published (when the Rollout runs its
    /// image), else the image's tag (or digest).
    pub version: Option<String>,
    /// Paused until a person promotes it (`kindling rollout promote <env>`): settled, not a
    /// problem.
    pub awaiting_promotion: bool,
    pub problem: Option<String>,
}

impl RolloutPart {
    pub fn unknown(name: &str, why: impl Into<String>) -> RolloutPart {
        RolloutPart {
            name: name.into(),
            phase: None,
            message: None,
            strategy: None,
            step: None,
            set_weight: None,
            image: None,
            version: None,
            awaiting_promotion: false,
            problem: Some(why.into()),
        }
    }
}

/// One ingress URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host prefix: demo, staging-demo, prod-demo, prod-demo-preview, argocd, grafana,
    /// prometheus, rollouts.
    pub name: String,
    pub url: String,
}

/// Every URL the platform serves (`Config::ingress_hosts`), with the port when not 443.
pub fn urls(config: &Config) -> Vec<Url> {
    let port = match config.network.https_port {
        443 => String::new(),
        other => format!(":{other}"),
    };
    config
        .ingress_hosts()
        .into_iter()
        .map(|host| Url {
            name: host
                .strip_suffix(&format!(".{}", config.network.domain))
                .unwrap_or(&host)
                .to_string(),
            url: format!("https://{host}{port}"),
        })
        .collect()
}

/// The admin logins, read only with `--show-secrets`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secrets {
    pub argocd: SecretStatus,
    pub grafana: SecretStatus,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretStatus {
    pub user: String,
    pub password: Option<Secret>,
    /// Where the password was read from (a Secret or a file).
    pub source: Option<String>,
    /// Why it could not be read.
    pub problem: Option<String>,
}

/// A password: serialized as itself (only ever under `--show-secrets`), but never shown by
/// `Debug`, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_domain_and_carry_a_non_default_port() {
        let mut config = Config::builtin();
        config.network.domain = "example.test".into();
        config.network.https_port = 443;
        let all = urls(&config);
        assert_eq!(all.len(), 8);
        assert_eq!(
            all[0],
            Url {
                name: "demo".into(),
                url: "https://demo.example.test".into()
            }
        );
        config.network.https_port = 8443;
        assert_eq!(
            urls(&config)[3].url,
            "https://prod-demo-preview.example.test:8443"
        );
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
    }
}
