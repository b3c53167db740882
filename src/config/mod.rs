//! `bootstrap.toml`: the typed configuration, and where each value came from.
//!
//! Loading is strict (unknown keys, wrong types and invalid values are errors
//! with a location); see `load` for the precedence of file, environment and flags.

mod error;
mod load;
mod schema;
pub mod timeouts;
mod validate;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use error::{ConfigError, ConfigIssue, Origin};
pub use load::{
    ConfigSource, MAX_CONFIG_BYTES, Overrides, is_non_config_var, load, unknown_env_vars,
};
pub use timeouts::Timeouts;
pub use validate::{is_image_tag, is_release_version};

/// The repository's bootstrap.toml, compiled in: the documented default.
pub const BUILTIN: &str = include_str!("../../bootstrap.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub cluster: Cluster,
    pub registry: Registry,
    pub network: Network,
    pub components: Components,
    pub credentials: Credentials,
    pub demo: Demo,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    pub provider: Provider,
    pub kind_version: String,
    pub node_image: String,
    pub workers: u32,
    pub kubeconfig: String,
    pub context: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Kind,
    Existing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub name: String,
    pub image: String,
    pub host_port: u16,
    pub mirrors: Vec<String>,
    pub cluster_host: String,
    /// provider = "existing": where the demo image and manifests are pushed ("" = the local registry).
    pub push_host: String,
    /// push_host / cluster_host speak plain HTTP.
    pub plain_http: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub domain: String,
    pub http_port: u16,
    pub https_port: u16,
    pub manage_hosts: bool,
    pub trust_ca: bool,
    /// provider = "existing": how kindling's Traefik is exposed.
    pub ingress_service: IngressService,
    /// provider = "existing" with NodePort: the address DNS points at.
    pub ingress_address: String,
    /// provider = "existing": an existing IngressClass to use instead of kindling's Traefik.
    pub ingress_class: String,
    /// An existing ClusterIssuer to use instead of kindling's local CA ("" = kindling-ca).
    pub cluster_issuer: String,
}

/// How the ingress controller's Service is exposed on an existing cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IngressService {
    LoadBalancer,
    NodePort,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    pub argocd: String,
    pub argo_rollouts: String,
    pub argo_rollouts_chart: String,
    pub cert_manager: String,
    pub kube_prometheus_stack: String,
    pub traefik: String,
    pub metrics_server: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub grafana_admin_password: String,
    /// registry.push_host's login ("" = from the Docker config).
    pub registry_username: String,
    pub registry_password: String,
}

/// The demo app `up` deploys to dev, staging and production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    /// The version `up` builds and deploys (the image tag and the app's VERSION).
    pub version: String,
    /// Workspace to build demo-app/Dockerfile from ("" = the sources compiled into kindling).
    pub source_dir: String,
    /// A static demo-app binary to package instead of building from source ("" = none).
    pub binary: String,
    /// Pauses and analysis intervals: "realistic" (the committed values) or "fast" (10 s).
    pub profile: Profile,
}

/// Keys whose values are secrets: `config show` prints them redacted.
pub const SECRET_KEYS: &[&str] = &[
    "credentials.grafana_admin_password",
    "credentials.registry_password",
];

/// A loaded configuration plus the directories kindling keeps its state in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// Which file the configuration came from (None: the built-in default).
    pub source: Option<PathBuf>,
    /// CA, state, kubeconfig (KINDLING_DATA_DIR).
    pub data_dir: PathBuf,
    /// Downloads: kind, install manifests, schemas (KINDLING_CACHE_DIR).
    pub cache_dir: PathBuf,
}

impl Config {
    /// The built-in default configuration.
    pub fn builtin() -> Config {
        toml::from_str(BUILTIN).expect("the embedded bootstrap.toml is valid")
    }

    /// The effective configuration as TOML, secrets replaced by "<redacted>".
    pub fn to_redacted_toml(&self) -> String {
        let mut table = toml::Table::try_from(self).expect("Config serializes to TOML");
        for key in SECRET_KEYS {
            let (section, name) = key.split_once('.').expect("section.key");
            if let Some(toml::Value::Table(t)) = table.get_mut(section)
                && let Some(toml::Value::String(s)) = t.get_mut(name)
                && !s.is_empty()
            {
                *s = "<redacted>".into();
            }
        }
        toml::to_string_pretty(&table).expect("TOML table renders")
    }

    /// The same, as JSON.
    pub fn to_redacted_json(&self) -> serde_json::Value {
        let text = self.to_redacted_toml();
        let table: toml::Table = toml::from_str(&text).expect("round trip");
        serde_json::to_value(table).expect("TOML is JSON-representable")
    }

    /// The registry's address on the host, as image references use it.
    pub fn registry_host(&self) -> String {
        format!("localhost:{}", self.registry.host_port)
    }

    /// Every ingress host name of the platform.
    pub fn ingress_hosts(&self) -> Vec<String> {
        [
            "demo",
            "staging-demo",
            "prod-demo",
            "prod-demo-preview",
            "argocd",
            "grafana",
            "prometheus",
            "rollouts",
        ]
        .iter()
        .map(|app| format!("{app}.{}", self.network.domain))
        .collect()
    }
}

/// The container name of the pull-through cache for an upstream registry.
pub fn mirror_container_name(upstream: &str) -> String {
    format!("kindling-mirror-{}", upstream.replace('.', "-"))
}

/// The URL a pull-through cache proxies for an upstream (docker.io's API lives elsewhere).
pub fn mirror_remote_url(upstream: &str) -> String {
    match upstream {
        "docker.io" => "https://registry-1.docker.io".to_string(),
        other => format!("https://{other}"),
    }
}

impl Settings {
    /// Loads the configuration and resolves kindling's directories.
    pub fn load(
        source: &ConfigSource,
        env: &crate::env::Env,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let config = load(source, env, overrides)?;
        Ok(Settings {
            config,
            source: match source {
                ConfigSource::File(path) => Some(path.clone()),
                ConfigSource::Builtin => None,
            },
            data_dir: crate::paths::data_dir(env),
            cache_dir: crate::paths::cache_dir(env),
        })
    }
}

impl Config {
    /// Things that are allowed but probably not what the user wants.
    pub fn warnings(&self) -> Vec<(String, String)> {
        let mut warnings = Vec::new();
        if self.cluster.provider == Provider::Kind && !self.cluster.node_image.contains("@sha256:")
        {
            warnings.push((
                format!("cluster.node_image {:?} is not pinned by digest", self.cluster.node_image),
                "add @sha256:<digest> from kind's release notes so every machine runs the same image".into(),
            ));
        }
        warnings
    }
}

/// How long the demo's pauses and analysis intervals are (manifests/README.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The committed values: 1m canary pauses, 20–30 s analysis intervals, a 15 s scrape and
    /// 40 s before each analysis's first measurement.
    #[default]
    Realistic,
    /// Pauses and analysis intervals of 10 s, a 5 s scrape and 20 s before the first
    /// measurement, so a whole smoke run takes minutes.
    Fast,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Realistic => "realistic",
            Profile::Fast => "fast",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "realistic" => Ok(Profile::Realistic),
            "fast" => Ok(Profile::Fast),
            other => Err(format!(
                "unknown timing profile {other:?}: use \"fast\" or \"realistic\""
            )),
        }
    }
}
