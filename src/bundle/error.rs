//! What can go wrong with a bundle, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a kindling bundle: {why}")]
    NotABundle { path: PathBuf, why: String },
    #[error(
        "{path} is a bundle of format {found}; this kindling reads {}",
        super::manifest::FORMAT
    )]
    Format { path: PathBuf, found: String },
    #[error("{path} is truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: entry {entry} was altered (sha256 {actual}, the manifest says {expected})")]
    Tampered {
        path: PathBuf,
        entry: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: unexpected entry {entry} ({expected})")]
    Unexpected {
        path: PathBuf,
        entry: String,
        expected: String,
    },
    #[error("{path} is incomplete: {} listed but absent ({})", missing.len(), missing.join(", "))]
    Incomplete { path: PathBuf, missing: Vec<String> },
    #[error("{path} was made for other pins: {}", differences.iter().map(|(k, b, c)| format!("{k} is {b} in the bundle, {c} in the configuration")).collect::<Vec<_>>().join("; "))]
    Pins {
        path: PathBuf,
        differences: Vec<(String, String, String)>,
    },
    #[error("{path} holds images for {} only; this Docker engine runs {engine}", platforms.join(", "))]
    Architecture {
        path: PathBuf,
        engine: String,
        platforms: Vec<String>,
    },
    #[error("{path} has no kind CLI for this machine ({host}); it has kind for {}", hosts.join(", "))]
    NoKindForHost {
        path: PathBuf,
        host: String,
        hosts: Vec<String>,
    },
    #[error("not enough disk space for {path}: {needed} needed, {free} free")]
    DiskSpace {
        path: PathBuf,
        needed: String,
        free: String,
    },
    #[error("no platform is up: {why}")]
    NoPlatform { why: String },
    #[error("cannot fetch {what}: {reason}")]
    Upstream { what: String, reason: String },
    #[error("{image} has no {platform} image (it has {})", available.join(", "))]
    MissingPlatform {
        image: String,
        platform: String,
        available: Vec<String>,
    },
    #[error("the demo app image {image} exists for {} only; this host cannot build it for {platform}", available.join(", "))]
    DemoPlatform {
        image: String,
        platform: String,
        available: Vec<String>,
    },
    #[error("loading into the local registry: {0}")]
    Registry(String),
    #[error("{0}")]
    Docker(#[from] crate::docker::DockerError),
    #[error("{what}: {why}")]
    Invalid { what: String, why: String },
    #[error("no kindling release binary for {host} in {dir}: {why}")]
    NoRelease {
        dir: PathBuf,
        host: String,
        /// The asset's name (`kindling-<os>-<arch>`).
        file: String,
        why: String,
    },
}

impl BundleError {
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BundleError {
        let path = path.into();
        move |source| BundleError::Io { what, path, source }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            BundleError::Truncated { .. } => {
                "the copy was cut short: copy the bundle again (compare `sha256sum` with the original), or run `kindling bundle create` again".into()
            }
            BundleError::Tampered { .. } | BundleError::Unexpected { .. } | BundleError::Incomplete { .. } => {
                "the file is damaged or was changed after it was made: copy it again from the machine that made it, or run `kindling bundle create` again".into()
            }
            BundleError::NotABundle { .. } => "pass a file made by `kindling bundle create` (a folder laid out <project>/<version>/<file> is the older --bundle DIR form)".into(),
            BundleError::Format { .. } => "use the kindling version that made the bundle, or make the bundle again with this one".into(),
            BundleError::Pins { .. } => {
                "use the configuration the bundle was made with (`kindling bundle inspect FILE` shows its pins), or make a bundle for this configuration: `kindling bundle create` on a machine where it is up".into()
            }
            BundleError::Architecture { engine, .. } => format!(
                "make the bundle with this machine's platform: `kindling bundle create --platform {engine}` (list several for mixed machines, e.g. linux/amd64,linux/arm64)"
            ),
            BundleError::NoKindForHost { host, .. } => format!(
                "make the bundle with `--host {host}` (several hosts: --host linux/amd64,darwin/arm64), or put kind of the pinned version on the PATH"
            ),
            BundleError::DiskSpace { .. } => "free disk space, or write the bundle elsewhere with --out".into(),
            BundleError::NoPlatform { .. } => {
                "run `kindling up` first: `bundle create` packs what the running platform uses".into()
            }
            BundleError::Upstream { .. } => "check the network (bundle create needs the upstream registries and chart repositories)".into(),
            BundleError::MissingPlatform { .. } => "drop that platform from --platform".into(),
            BundleError::DemoPlatform { image, .. } => format!(
                "build the demo app for that platform too (e.g. `docker buildx build --platform linux/amd64,linux/arm64 -f demo-app/Dockerfile --push -t {image} .`), or drop it from --platform"
            ),
            BundleError::NoRelease { host, file, .. } => format!(
                "put the release assets there ({file}, with its .sha256, from the release of kindling {}), or drop {host} from --host",
                env!("CARGO_PKG_VERSION")
            ),
            BundleError::Docker(e) => return e.hint(),
            BundleError::Io { .. }
            | BundleError::Registry(_)
            | BundleError::Invalid { .. } => return None,
        })
    }

    /// A bad bundle file is bad input (exit 2); everything else is a failed operation.
    fn is_bad_input(&self) -> bool {
        matches!(
            self,
            BundleError::NotABundle { .. }
                | BundleError::Format { .. }
                | BundleError::Truncated { .. }
                | BundleError::Tampered { .. }
                | BundleError::Unexpected { .. }
                | BundleError::Incomplete { .. }
                | BundleError::Pins { .. }
                | BundleError::Architecture { .. }
                | BundleError::NoKindForHost { .. }
                | BundleError::NoRelease { .. }
        )
    }
}

impl crate::error::Diagnose for BundleError {
    fn area(&self) -> &str {
        "bundle"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    /// A bundle that is damaged, incomplete or for another machine is bad input (exit 2):
    /// nothing was loaded.
    fn exit_status(&self) -> crate::ExitStatus {
        if self.is_bad_input() {
            crate::ExitStatus::Usage
        } else {
            crate::ExitStatus::Failure
        }
    }
}

/// Bytes as people read them: 1.5 GiB, 12.0 MiB, 512 B.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
