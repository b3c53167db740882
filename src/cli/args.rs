use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A local progressive-delivery platform (kind, Argo CD, Argo Rollouts, Prometheus), up and proven by one command.
#[derive(Debug, Parser)]
#[command(name = "kindling", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./bootstrap.toml if present, else the built-in default]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Override one setting, e.g. --set registry.host_port=5002 (beats env and file)
    #[arg(long, global = true, value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Only warnings and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log what kindling does (-vv for more); hides the progress display
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colors (also: NO_COLOR=1)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the platform up (idempotent: a second run changes nothing)
    Up(super::platform::UpArgs),
    /// Remove everything `up` made (caches are kept unless --purge)
    Down(super::platform::DownArgs),
    /// `down` (keeping caches), then `up` (asks before deleting a cluster)
    Reset(super::platform::ResetArgs),
    /// Show the whole platform at a glance (exit 1 if anything is unhealthy)
    Status(super::status::StatusArgs),
    /// Check this machine for what the platform needs
    Doctor,
    /// Check or show the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Print kindling's version and the component versions it pins
    Version,
    /// The Kubernetes cluster alone (kind, or an existing cluster)
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The local registry and its pull-through caches
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// The local CA: make it, trust it on this host, or take the trust back
    #[command(subcommand)]
    Tls(super::tls::TlsCommand),
    /// The managed block of ingress names in the hosts file
    #[command(subcommand)]
    Hosts(super::hosts::HostsCommand),
    /// The demo app's Argo Rollout: status, watch, promote, abort, retry, restart
    #[command(subcommand)]
    Rollout(super::rollout::RolloutCommand),
    /// Release a demo version to dev, staging or production (returns once it rolls out)
    Release(super::release::ReleaseArgs),
    /// Validate manifests offline: CRD schemas, core fields, Rollout rules
    Lint(LintArgs),
    /// Write every object and file `up` would create, Secrets redacted (offline)
    Render(super::render::RenderArgs),
    /// Run one delivery scenario under real traffic and prove its outcome
    Scenario(super::scenario::ScenarioArgs),
    /// Run canary, blue-green and broken-release in order; exit 1 on any failed check
    Smoke(super::scenario::RunArgs),
    /// Write the demo image's source build context (compiled into kindling) into an empty DIR
    #[command(hide = true)]
    DemoContext {
        /// An empty or new folder
        dir: PathBuf,
    },
    /// Everything the platform needs in one file, for an `up` with no network
    #[command(subcommand)]
    Bundle(super::bundle::BundleCommand),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files, folders (recursive: *.yaml, *.yml, *.json) or - for stdin
    #[arg(required = true, value_name = "PATH|-")]
    pub paths: Vec<String>,
    /// Folder of CRDs (laid out like the download cache) [env: KINDLING_SCHEMAS_DIR; default: the download cache]
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Warnings are errors: e.g. a Service or AnalysisTemplate a Rollout names that is not in the input
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Print the kind cluster configuration (exactly what kind receives)
    Config,
    /// Create or reuse the cluster and wire the registry and caches into it
    Up {
        /// Reuse a kind cluster of that name that kindling did not create, without asking
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete the kind cluster (registry and caches are kept)
    Down {
        /// Delete a kind cluster of that name that kindling did not create, without asking
        #[arg(long, short)]
        yes: bool,
    },
    /// Show whether the cluster exists, its nodes and node image
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration (file, environment, flags)
    Check,
    /// Print the effective configuration, secrets redacted
    Show,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Start (or reconcile) the local registry and the pull-through caches
    Up,
    /// Remove the registry and cache containers kindling owns (volumes are kept)
    Down {
        /// Also remove the registry data and the caches' volumes
        #[arg(long)]
        purge: bool,
    },
    /// Show each registry container: state, port, volume, whether it answers
    Status,
}
