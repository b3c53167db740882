//! `kindling up`: the platform as a graph of small idempotent steps (one file each),
//! independent steps running in parallel. Adding a step = one file + one line in `pipeline`.

mod argocd;
mod ca;
mod ca_issuer;
mod cluster;
mod credentials;
mod demo_apps;
mod demo_image;
mod hosts;
mod platform;
mod preflight;
mod publish;
mod registry;
mod trust;
mod wire;

use crate::cluster::ClusterHandle;
use crate::config::Settings;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::platform::gitops::{ENVIRONMENTS, EnvRelease};
use crate::report::SharedReporter;
use crate::tls::Ca;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Choices made on the command line.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Reuse (or delete) a kind cluster of that name that kindling did not create.
    pub yes: bool,
    /// Read upstream manifests from this folder (`<project>/<version>/<file>`), never the network.
    pub bundle: Option<std::path::PathBuf>,
    /// A loaded bundle file: every pull stays on this machine (`crate::bundle::offline`).
    pub offline: Option<Arc<crate::bundle::offline::Offline>>,
    /// Accept component versions that have no pinned checksum.
    pub allow_unpinned: bool,
}

/// What every step of `up` shares: settings, and what earlier steps produced.
pub struct UpContext {
    pub settings: Settings,
    pub env: Env,
    pub reporter: SharedReporter,
    pub options: UpOptions,
    docker: tokio::sync::OnceCell<bollard::Docker>,
    cluster: OnceLock<ClusterHandle>,
    ca: OnceLock<Ca>,
    applier: OnceLock<crate::k8s::Applier>,
    /// The demo image `up` built (what environments without a recorded release run).
    demo_release: OnceLock<EnvRelease>,
    /// The published artifact's digest and what it deploys to each environment.
    published: OnceLock<(String, BTreeMap<String, EnvRelease>)>,
}

impl UpContext {
    pub fn new(
        settings: Settings,
        env: Env,
        reporter: SharedReporter,
        options: UpOptions,
    ) -> UpContext {
        UpContext {
            settings,
            env,
            reporter,
            options,
            docker: tokio::sync::OnceCell::new(),
            cluster: OnceLock::new(),
            ca: OnceLock::new(),
            applier: OnceLock::new(),
            demo_release: OnceLock::new(),
            published: OnceLock::new(),
        }
    }

    /// The Docker engine, connected once.
    pub async fn docker(&self) -> Result<&bollard::Docker> {
        self.docker
            .get_or_try_init(|| {
                crate::docker::connect(&self.env, self.settings.config.timeouts.docker())
            })
            .await
            .map_err(Error::from)
    }

    /// The cluster, once the `cluster` step has made it.
    pub fn cluster(&self) -> Result<&ClusterHandle> {
        self.cluster
            .get()
            .ok_or_else(|| Error::failed("up", "the cluster step has not run"))
    }

    /// The apply engine for the cluster (discovery cached), once Argo CD is installed.
    pub fn applier(&self) -> Result<&crate::k8s::Applier> {
        self.applier
            .get()
            .ok_or_else(|| Error::failed("up", "the Argo CD step has not run"))
    }

    /// The local CA, once the `ca` step has made it.
    pub fn ca(&self) -> Result<&Ca> {
        self.ca
            .get()
            .ok_or_else(|| Error::failed("up", "the CA step has not run"))
    }
}

/// The steps of `up` and what each depends on.
pub fn pipeline() -> Pipeline<UpContext> {
    let mut p = Pipeline::new();
    preflight::add(&mut p);
    ca::add(&mut p);
    registry::add(&mut p);
    cluster::add(&mut p);
    wire::add(&mut p);
    trust::add(&mut p);
    hosts::add(&mut p);
    argocd::add(&mut p);
    platform::add(&mut p);
    ca_issuer::add(&mut p);
    demo_image::add(&mut p);
    publish::add(&mut p);
    demo_apps::add(&mut p);
    p
}

/// What `up` made, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub cluster: String,
    pub kube_context: String,
    pub kubeconfig: String,
    pub registry: String,
    pub ca_certificate: String,
    pub domain: String,
    /// Every URL of the platform, with how to log in where there is a login.
    pub urls: Vec<Url>,
    /// What each demo environment runs.
    pub environments: Vec<EnvironmentSummary>,
    /// Where the generated Grafana admin password is kept (mode 0600).
    pub grafana_password_file: String,
    pub elapsed_ms: u64,
}

/// One URL of the platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Url {
    /// "demo (dev)", "argocd", ...
    pub name: String,
    pub url: String,
    /// The user name to log in with (passwords: `kindling status --show-secrets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// One demo environment in the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvironmentSummary {
    pub name: String,
    pub namespace: String,
    pub version: String,
    pub image: String,
    pub profile: String,
    pub url: String,
}

/// Every URL `up` makes, in the order the summary shows them.
pub fn urls(config: &crate::config::Config) -> Vec<Url> {
    let url = crate::platform::demo_checks::url;
    let mut urls: Vec<Url> = ENVIRONMENTS
        .iter()
        .map(|env| Url {
            name: format!("{} ({})", env.host_prefix, env.name),
            url: url(config, env.host_prefix),
            user: None,
        })
        .collect();
    for (name, user) in [
        ("argocd", Some("admin")),
        ("grafana", Some("admin")),
        ("prometheus", None),
        ("rollouts", None),
    ] {
        urls.push(Url {
            name: name.into(),
            url: url(config, name),
            user: user.map(str::to_string),
        });
    }
    urls
}

/// Runs `up`; Ctrl-C stops it (every step is idempotent, so running it again converges).
pub async fn run(context: UpContext) -> Result<Summary> {
    let started = Instant::now();
    let context = Arc::new(context);
    let reporter = context.reporter.clone();
    // Registered before any step starts: a Ctrl-C during the first step is caught too (the
    // ctrl_c() future would only register when first polled).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Error::failed("listening for Ctrl-C", e))?;
    tokio::select! {
        result = pipeline().run(context.clone(), &reporter) => result?,
        _ = interrupt.recv() => return Err(Error::Interrupted),
    }
    let cluster = context.cluster()?;
    let config = &context.settings.config;
    let environments = match context.published.get() {
        Some((_, releases)) => ENVIRONMENTS
            .iter()
            .filter_map(|env| {
                let r = releases.get(env.name)?;
                Some(EnvironmentSummary {
                    name: env.name.into(),
                    namespace: env.namespace.into(),
                    version: r.version.clone(),
                    image: format!("{}@{}", r.image.repository, r.image.tag),
                    profile: r.profile.to_string(),
                    url: crate::platform::demo_checks::url(config, env.host_prefix),
                })
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Summary {
        cluster: cluster.name.clone(),
        kube_context: cluster.context.clone(),
        kubeconfig: cluster.kubeconfig.display().to_string(),
        registry: config.registry_host(),
        ca_certificate: context.ca()?.cert_path.display().to_string(),
        domain: config.network.domain.clone(),
        urls: urls(config),
        environments,
        grafana_password_file: credentials::grafana_password_file(&context.settings)
            .display()
            .to_string(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
