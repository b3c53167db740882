//! `kindling up`: the platform as a graph of small idempotent steps (one file each),
//! independent steps running in parallel. Adding a step = one file + one line in `pipeline`.

mod argocd;
mod ca;
mod ca_issuer;
mod cluster;
mod credentials;
mod demo_apps;
mod demo_image;
mod existing;
mod hosts;
mod ingress;
mod platform;
mod preflight;
mod publish;
mod registry;
mod trust;
mod wire;

use crate::cluster::ClusterHandle;
use crate::config::Settings;
use crate::env::Env;
use crate::environments::ENVIRONMENTS;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::platform::gitops::EnvRelease;
use crate::report::{ReporterExt, SharedReporter};
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
    /// How the host steps get root, decided once when `up` starts (after asking sudo).
    host_privilege: OnceLock<crate::hosts::Privilege>,
    push_target: tokio::sync::OnceCell<crate::docker::registry_auth::PushTarget>,
    /// What kindling installs and what it reuses (`platform::adopt`; kind: everything).
    plan: OnceLock<crate::platform::adopt::Plan>,
    /// kindling's record in an existing cluster (None on kind).
    recorder: OnceLock<crate::platform::inventory::Recorder>,
    /// Where the platform's names point (127.0.0.1 on kind).
    ingress: OnceLock<crate::platform::ingress_address::Address>,
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
            host_privilege: OnceLock::new(),
            push_target: tokio::sync::OnceCell::new(),
            plan: OnceLock::new(),
            recorder: OnceLock::new(),
            ingress: OnceLock::new(),
        }
    }

    /// How the trust and hosts steps get root: what `up` settled on at the start.
    pub fn host_privilege(&self) -> crate::hosts::Privilege {
        self.host_privilege
            .get()
            .cloned()
            .unwrap_or_else(|| crate::hosts::Privilege::detect(&self.env))
    }

    /// What kindling installs and reuses, once the `existing` step has decided.
    pub fn plan(&self) -> Result<&crate::platform::adopt::Plan> {
        self.plan
            .get()
            .ok_or_else(|| Error::failed("up", "the existing step has not run"))
    }

    /// The apply engine for this cluster: on an existing cluster it labels what it applies and
    /// refuses to take over what is not kindling's.
    pub fn new_applier(&self) -> Result<crate::k8s::Applier> {
        let existing = self.settings.config.cluster.provider == crate::config::Provider::Existing;
        Ok(crate::k8s::Applier::new(self.cluster()?.client.clone())
            .default_namespace(crate::platform::applications::ARGOCD_NAMESPACE)
            .owned_only(existing))
    }

    /// On an existing cluster: refuses `manifests` when one of them is someone else's, else
    /// records them in kindling's inventory, before they are applied. Nothing on kind.
    pub async fn record(
        &self,
        applier: &crate::k8s::Applier,
        manifests: &[crate::k8s::Manifest],
    ) -> Result<()> {
        let Some(recorder) = self.recorder.get() else {
            return Ok(());
        };
        applier.check_owned(manifests).await?;
        recorder.objects(applier.refs(manifests).await?).await
    }

    /// Where the demo image and the manifests artifact go, with its login (looked up once).
    pub async fn push_target(&self) -> Result<&crate::docker::registry_auth::PushTarget> {
        self.push_target
            .get_or_try_init(|| async {
                crate::platform::push_target::target(&self.settings.config, &self.env)
            })
            .await
    }

    /// The Docker engine, connected once.
    pub async fn docker(&self) -> Result<&bollard::Docker> {
        self.docker
            .get_or_try_init(|| {
                crate::docker::connect(&self.env, self.settings.config.timeouts.docker)
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
    existing::add(&mut p);
    wire::add(&mut p);
    trust::add(&mut p);
    hosts::add(&mut p);
    argocd::add(&mut p);
    platform::add(&mut p);
    ca_issuer::add(&mut p);
    ingress::add(&mut p);
    demo_image::add(&mut p);
    publish::add(&mut p);
    demo_apps::add(&mut p);
    p
}

/// The components `up` brings up and their pinned versions (what `--dry-run` lists).
pub fn components(config: &crate::config::Config) -> Vec<(&'static str, String)> {
    let c = &config.components;
    let mut list = vec![
        ("kind CLI", config.cluster.kind_version.clone()),
        ("node image", config.cluster.node_image.clone()),
        ("registry image", config.registry.image.clone()),
        ("Argo CD", c.argocd.clone()),
        (
            "Argo Rollouts",
            format!("{} (chart {})", c.argo_rollouts, c.argo_rollouts_chart),
        ),
        ("cert-manager", c.cert_manager.clone()),
        (
            "kube-prometheus-stack",
            format!("chart {}", c.kube_prometheus_stack),
        ),
        ("Traefik", format!("chart {}", c.traefik)),
        ("demo app", config.demo.version.clone()),
    ];
    if config.cluster.provider == crate::config::Provider::Existing {
        list.retain(|(name, _)| !matches!(*name, "kind CLI" | "node image"));
    }
    list
}

/// What `up` made, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// The Argo CD CLI login that works through the ingress.
    pub argocd_cli_login: String,
    /// kindling's changes on this host (trust store, hosts file), one line each; `down` undoes them.
    pub host: Vec<String>,
    /// Existing cluster: where the names point, and the DNS record that makes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_record: Option<String>,
    pub elapsed_ms: u64,
}

/// One URL of the platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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
    let mut urls: Vec<Url> = Vec::new();
    for env in &ENVIRONMENTS {
        urls.push(Url {
            name: format!("{} ({})", env.host_prefix, env.name),
            url: url(config, env.host_prefix),
            user: None,
        });
        if let Some(preview) = env.preview_host_prefix {
            urls.push(Url {
                name: format!("{preview} ({} preview)", env.name),
                url: url(config, preview),
                user: None,
            });
        }
    }
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

/// `argocd login` through Traefik. `--grpc-web`: Traefik speaks HTTP/1.1 to argocd-server (it
/// runs with server.insecure behind the ingress), so plain gRPC, which needs HTTP/2 end to
/// end, does not get through; gRPC-Web does (Argo CD docs, "Ingress Configuration").
pub fn argocd_cli_login(config: &crate::config::Config) -> String {
    format!("argocd login argocd.{} --grpc-web", config.network.domain)
}

/// What the end of every `up` says about the host, success or failure.
pub fn host_note(present: &[String]) -> String {
    if present.is_empty() {
        "nothing of kindling's is on this host (no trust-store entry, no hosts-file block)".into()
    } else {
        format!(
            "kindling's changes on this host: {}; `kindling down` undoes them",
            present.join("; ")
        )
    }
}

/// Decides how the host steps get root before anything runs: when they will need it and sudo
/// is the way, sudo asks for the password now, once (not minutes into the run).
fn settle_host_privilege(context: &UpContext) {
    let planned = crate::host_changes::planned(&context.settings, &context.env);
    let mut privilege = crate::hosts::Privilege::detect(&context.env);
    if !planned.is_empty() {
        let changes: Vec<&str> = planned.iter().map(|p| p.change.as_str()).collect();
        let root = match &privilege {
            crate::hosts::Privilege::Sudo(sudo) if planned.iter().any(|p| p.needs_root) => {
                format!(
                    " (as root: {} asks for your password now, once)",
                    sudo.display()
                )
            }
            _ => String::new(),
        };
        context.reporter.info(format!(
            "this run changes the host once the steps they serve succeed: {}{root}",
            changes.join("; ")
        ));
    }
    if !crate::host_changes::ask_sudo_once(&planned, &privilege) {
        context.reporter.warn(
            "sudo did not give root: the host changes will be left as commands to run",
            Some("run `sudo -v` first, or run the commands `up` prints at the end".into()),
        );
        privilege = crate::hosts::Privilege::Unprivileged;
    }
    let _ = context.host_privilege.set(privilege);
}

/// Runs `up`; Ctrl-C stops it (every step is idempotent, so running it again converges).
/// Success or failure, it ends by saying what kindling has changed on this host.
pub async fn run(context: UpContext) -> Result<Summary> {
    let started = Instant::now();
    let context = Arc::new(context);
    let reporter = context.reporter.clone();
    // Registered before any step starts: a Ctrl-C during the first step is caught too (the
    // ctrl_c() future would only register when first polled).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Error::context("cannot listen for Ctrl-C", e))?;
    settle_host_privilege(&context);
    let result = tokio::select! {
        result = pipeline().run(context.clone(), &reporter) => result,
        _ = interrupt.recv() => Err(Error::Interrupted),
    };
    let host = crate::host_changes::present(&context.settings, &context.env);
    if let Err(e) = result {
        reporter.info(host_note(&host));
        return Err(e);
    }
    let cluster = context.cluster()?;
    let config = &context.settings.config;
    let existing_address = context
        .ingress
        .get()
        .filter(|_| config.cluster.provider == crate::config::Provider::Existing);
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
        registry: match crate::platform::push_target::uses_push_host(config) {
            true => config.registry.push_host.clone(),
            false => config.registry_host(),
        },
        ca_certificate: context.ca()?.cert_path.display().to_string(),
        domain: config.network.domain.clone(),
        urls: urls(config),
        environments,
        grafana_password_file: credentials::grafana_password_file(&context.settings)
            .display()
            .to_string(),
        argocd_cli_login: argocd_cli_login(config),
        host,
        ingress_address: existing_address.as_ref().map(ToString::to_string),
        dns_record: existing_address
            .as_ref()
            .map(|a| a.record(&config.network.domain)),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_that_makes_the_cluster_pull_images_waits_for_the_registry_wiring() {
        // Before the wiring, containerd knows no hosts.toml: pulls skip the caches.
        let p = pipeline();
        for step in ["argocd", "platform", "ca-issuer", "demo-apps"] {
            assert!(p.depends_on(step, "wire"), "{step} can start before `wire`");
        }
    }

    #[test]
    fn the_demo_environments_wait_for_every_platform_component_metrics_server_included() {
        // The platform step waits for every Application of `applications::all` to be Healthy;
        // production's HPA needs metrics-server's API.
        assert!(pipeline().depends_on("demo-apps", "platform"));
        let config = crate::config::Config::builtin();
        let names: Vec<String> = crate::platform::applications::all(&config)
            .iter()
            .map(|a| {
                a["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert!(names.contains(&"metrics-server".to_string()), "{names:?}");
    }

    #[test]
    fn the_argocd_login_goes_through_traefik_with_grpc_web() {
        let mut config = crate::config::Config::builtin();
        config.network.domain = "kindling.test".into();
        assert_eq!(
            argocd_cli_login(&config),
            "argocd login argocd.kindling.test --grpc-web"
        );
    }
}
