//! `kindling up`: the platform as a graph of small idempotent steps (one file each),
//! independent steps running in parallel. Adding a step = one file + one line in `pipeline`.

mod argocd;
mod ca;
mod ca_issuer;
mod cluster;
mod credentials;
mod hosts;
mod platform;
mod preflight;
mod registry;
mod trust;
mod wire;

use crate::cluster::ClusterHandle;
use crate::config::Settings;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::report::SharedReporter;
use crate::tls::Ca;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Choices made on the command line.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Reuse (or delete) a kind cluster of that name that kindling did not create.
    pub yes: bool,
    /// Read upstream manifests from this folder (`<project>/<version>/<file>`), never the network.
    pub bundle: Option<std::path::PathBuf>,
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
        }
    }

    /// The Docker engine, connected once.
    pub async fn docker(&self) -> Result<&bollard::Docker> {
        self.docker
            .get_or_try_init(|| {
                crate::docker::connect(&self.env, self.settings.config.timeouts.docker())
            })
            .await
            .map_err(|e| {
                let hint = e.hint();
                let err = Error::failed("connecting to Docker", &e);
                match hint {
                    Some(h) => err.with_hint(h),
                    None => err,
                }
            })
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
    /// Where the generated Grafana admin password is kept (mode 0600).
    pub grafana_password_file: String,
    pub elapsed_ms: u64,
}

/// Runs `up`; Ctrl-C stops it (every step is idempotent, so running it again converges).
pub async fn run(context: UpContext) -> Result<Summary> {
    let started = Instant::now();
    let context = Arc::new(context);
    let reporter = context.reporter.clone();
    tokio::select! {
        result = pipeline().run(context.clone(), &reporter) => result?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
    }
    let cluster = context.cluster()?;
    Ok(Summary {
        cluster: cluster.name.clone(),
        kube_context: cluster.context.clone(),
        kubeconfig: cluster.kubeconfig.display().to_string(),
        registry: context.settings.config.registry_host(),
        ca_certificate: context.ca()?.cert_path.display().to_string(),
        domain: context.settings.config.network.domain.clone(),
        grafana_password_file: credentials::grafana_password_file(&context.settings)
            .display()
            .to_string(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
