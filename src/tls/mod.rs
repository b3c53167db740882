//! The local CA: made and kept in the data dir (`ca`), trusted by the host
//! (`trust`), handed to cert-manager in the cluster (`cluster`), and able to
//! sign leaf certificates for tests (`leaf`).
//!
//! `up` calls [`ensure_ca`] then, with `network.trust_ca`, [`trust`]; `down`
//! calls [`untrust`]. Trust changes return a [`HostChange`]: `Manual` means
//! root was not available and carries the exact commands for the user.

pub mod ca;
pub mod cluster;
mod files;
pub mod leaf;
pub mod trust;

pub use crate::hosts::elevate::{HostChange, Privilege};
pub use ca::{Ca, CaAction};
pub use leaf::issue_leaf;
pub use trust::{AnchorState, TrustStatus, TrustStore};

use crate::config::Settings;
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Certificate { what: String, source: rcgen::Error },
    #[error("the local CA at {} is damaged: {why}", path.display())]
    CorruptCa { path: PathBuf, why: String },
    #[error("the CA key {} is readable by other users (mode {mode:o})", path.display())]
    KeyExposed { path: PathBuf, mode: u32 },
    #[error(
        "the local CA at {} only covers {}, not network.domain {domain:?}",
        path.display(), permitted.join(", ")
    )]
    DomainNotCovered {
        path: PathBuf,
        permitted: Vec<String>,
        domain: String,
    },
    #[error("no known trust store on this host (Debian/Ubuntu, Fedora/RHEL, Arch, macOS)")]
    NoTrustStore,
    #[error("`{command}` failed: {output}")]
    CommandFailed { command: String, output: String },
    #[error("the trust store still {state} after `{command}`")]
    NotEffective { command: String, state: String },
}

impl TlsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            TlsError::CorruptCa { .. } => Some(
                "`kindling tls ca --rotate` makes a new CA (then `kindling tls trust` again); \
                 or restore the files from a backup"
                    .into(),
            ),
            TlsError::KeyExposed { path, .. } => Some(format!(
                "kindling writes its key with mode 0600: if you changed it, `chmod 600 {}`; \
                 if you do not know who did, `kindling tls ca --rotate`",
                path.display()
            )),
            TlsError::DomainNotCovered { .. } => Some(
                "the CA is limited to the domain it was made for: `kindling tls ca --rotate` \
                 makes one for the new domain (then `kindling tls trust`)"
                    .into(),
            ),
            TlsError::NoTrustStore => Some(
                "add the CA printed by `kindling tls ca` to your system's trust store by hand"
                    .into(),
            ),
            TlsError::Io { .. } => {
                Some("check the data dir (KINDLING_DATA_DIR) is writable".into())
            }
            _ => None,
        }
    }
}

impl From<TlsError> for crate::Error {
    fn from(e: TlsError) -> crate::Error {
        let hint = e.hint();
        let error = crate::Error::failed("local CA", &e);
        match hint {
            Some(h) => error.with_hint(h),
            None => error,
        }
    }
}

/// Where the CA of these settings lives.
pub fn ca_dir(settings: &Settings) -> PathBuf {
    ca::ca_dir(&settings.data_dir, &settings.config.cluster.name)
}

/// Makes sure the CA exists (reuses it; `rotate` replaces it), reporting one step.
pub fn ensure_ca(
    settings: &Settings,
    reporter: &SharedReporter,
    rotate: bool,
) -> Result<Ca, TlsError> {
    let step = reporter.step("tls-ca", "Local CA");
    let result = ca::ensure(
        &ca_dir(settings),
        &settings.config.cluster.name,
        &settings.config.network.domain,
        rotate,
    );
    match result {
        Ok((ca, action)) => {
            let outcome = match action {
                CaAction::Created => Outcome::Created,
                CaAction::Reused => Outcome::Unchanged,
                CaAction::Rotated => Outcome::Changed,
            };
            step.finish(
                outcome,
                format!(
                    "{} (sha256 {})",
                    ca.cert_path.display(),
                    &ca.fingerprint()[..16]
                ),
            );
            Ok(ca)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

/// For `up` (with `network.trust_ca`): the host trusts `ca`; without root the
/// step is skipped with a warning that gives the commands.
pub fn trust_step(
    ca: &Ca,
    settings: &Settings,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    let step = reporter.step("tls-trust", "Host trusts the local CA");
    let change = trust(ca, &settings.config.cluster.name, access, reporter);
    crate::hosts::elevate::finish_step(step, reporter, change)
}

/// For `down`: the host no longer trusts the CA (nothing to do without a CA).
pub fn untrust_step(
    settings: &Settings,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    let step = reporter.step("tls-untrust", "Host no longer trusts the local CA");
    let change = match ca::load(&ca_dir(settings)) {
        Ok(Some(ca)) => untrust(&ca, &settings.config.cluster.name, access, reporter),
        Ok(None) => Ok(HostChange::done(Outcome::Skipped, "no local CA")),
        Err(e) => Err(e),
    };
    crate::hosts::elevate::finish_step(step, reporter, change)
}

/// How trust changes reach the host: which store, and how to get root. Injectable for tests.
#[derive(Debug, Clone)]
pub struct HostAccess {
    pub store: Option<TrustStore>,
    pub privilege: Privilege,
}

impl HostAccess {
    pub fn detect(env: &Env) -> HostAccess {
        HostAccess {
            store: TrustStore::detect(std::path::Path::new("/")),
            privilege: Privilege::detect(env),
        }
    }
}

/// Adds the CA to the host trust store (nothing to do when it is already there).
pub fn trust(
    ca: &Ca,
    cluster: &str,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> Result<HostChange, TlsError> {
    let store = access.store.as_ref().ok_or(TlsError::NoTrustStore)?;
    let status = store.status(ca, cluster);
    if status.is_current() {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!("already trusted ({})", store.name()),
        ));
    }
    let commands = store.trust_commands(ca, cluster);
    let why = format!("adding kindling's CA to the {} needs root", store.name());
    if let Some(manual) = elevate_or_manual(&commands, access, &why, reporter) {
        return Ok(manual);
    }
    if let Err((command, output)) = trust::run_all(&commands, &access.privilege) {
        return fail_or_manual(command, output, &commands, access, why);
    }
    let after = store.status(ca, cluster);
    if !after.trusted {
        return Err(TlsError::NotEffective {
            command: commands.last().map(|c| c.render(&[])).unwrap_or_default(),
            state: "does not hold the CA".into(),
        });
    }
    // An anchor of an older CA (before --rotate) was replaced rather than added.
    let outcome = match status.anchor_state {
        Some(AnchorState::Other) => Outcome::Changed,
        _ => Outcome::Created,
    };
    Ok(HostChange::done(
        outcome,
        format!("trusted by the {}", store.name()),
    ))
}

/// Takes the CA out of the host trust store (nothing to do when it is not there).
pub fn untrust(
    ca: &Ca,
    cluster: &str,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> Result<HostChange, TlsError> {
    let store = access.store.as_ref().ok_or(TlsError::NoTrustStore)?;
    if store.status(ca, cluster).is_clean() {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!("not in the {}", store.name()),
        ));
    }
    let commands = store.untrust_commands(ca, cluster);
    let why = format!(
        "removing kindling's CA from the {} needs root",
        store.name()
    );
    if let Some(manual) = elevate_or_manual(&commands, access, &why, reporter) {
        return Ok(manual);
    }
    if let Err((command, output)) = trust::run_all(&commands, &access.privilege) {
        return fail_or_manual(command, output, &commands, access, why);
    }
    if store.status(ca, cluster).trusted {
        return Err(TlsError::NotEffective {
            command: commands.last().map(|c| c.render(&[])).unwrap_or_default(),
            state: "holds the CA".into(),
        });
    }
    Ok(HostChange::done(
        Outcome::Changed,
        format!("removed from the {}", store.name()),
    ))
}

/// Says why root is needed before sudo asks; without sudo, the commands for the user.
fn elevate_or_manual(
    commands: &[crate::hosts::elevate::HostCommand],
    access: &HostAccess,
    why: &str,
    reporter: &SharedReporter,
) -> Option<HostChange> {
    match &access.privilege {
        Privilege::Root => None,
        Privilege::Sudo(_) => {
            let lines: Vec<String> = commands
                .iter()
                .map(|c| c.render(&access.privilege.prefix()))
                .collect();
            reporter.info(format!("{why}; running: {}", lines.join(" && ")));
            None
        }
        Privilege::Unprivileged => Some(HostChange::Manual {
            why: format!("{why} and there is no sudo"),
            commands: commands
                .iter()
                .map(|c| c.render(&["sudo".into()]))
                .collect(),
        }),
    }
}

/// A failed command as root is an error; through sudo it may be a refused
/// password, so the user gets the commands to run instead.
fn fail_or_manual(
    command: String,
    output: String,
    commands: &[crate::hosts::elevate::HostCommand],
    access: &HostAccess,
    why: String,
) -> Result<HostChange, TlsError> {
    match access.privilege {
        Privilege::Sudo(_) => Ok(HostChange::Manual {
            why: format!("{why}; `{command}` failed: {output}"),
            commands: commands
                .iter()
                .map(|c| c.render(&["sudo".into()]))
                .collect(),
        }),
        _ => Err(TlsError::CommandFailed { command, output }),
    }
}
