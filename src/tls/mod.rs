//! The local CA: made and kept in the data dir (`ca`), trusted by the host
//! (`trust`), handed to cert-manager in the cluster (`cluster`), and able to
//! sign leaf certificates for tests (`leaf`).
//!
//! `up` calls [`ensure_ca`] then, with `network.trust_ca`, [`trust_step`] (the system
//! store, the browsers' NSS databases on Linux, the Windows steps on WSL); `down` calls
//! [`untrust_step`], which needs only the cluster name when the data dir is gone. Trust
//! changes return a [`HostChange`]: `Manual` means root (or a tool) was not available and
//! carries the exact commands for the user.

pub mod ca;
pub mod cluster;
mod files;
pub mod leaf;
pub mod nss;
pub mod trust;
pub mod wsl;

pub use crate::hosts::elevate::{HostChange, Privilege};
pub use ca::{Ca, CaAction, CaCert};
pub use leaf::issue_leaf;
pub use nss::NssStores;
pub use trust::{AnchorState, TrustStatus, TrustStore};

use crate::config::Settings;
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} {}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}")]
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
            TlsError::Io { .. } => {
                Some("check the data dir (KINDLING_DATA_DIR) is writable".into())
            }
            _ => None,
        }
    }
}

impl crate::error::Diagnose for TlsError {
    fn area(&self) -> &str {
        "local CA"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
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

/// For `up` (with `network.trust_ca`): the host trusts `ca`, and so do the browsers'
/// databases; without root (or certutil) a step is skipped with a warning that gives the
/// commands. On WSL the Windows side's steps follow.
pub fn trust_step(
    ca: &Ca,
    settings: &Settings,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    let cluster = &settings.config.cluster.name;
    let step = reporter.step("tls-trust", "Host trusts the local CA");
    let change = trust(ca, cluster, access, reporter);
    crate::hosts::elevate::finish_step(step, reporter, change)?;
    if let Some(nss) = &access.nss {
        let step = reporter.step("tls-browsers", "Browsers trust the local CA");
        let change = browsers_trust(nss, access.store.as_ref(), &ca.cert_path, cluster);
        crate::hosts::elevate::finish_step::<TlsError>(step, reporter, Ok(change))?;
    }
    if access.wsl {
        reporter.info(wsl_message(settings, &ca.cert_path));
    }
    Ok(())
}

/// What to paste into PowerShell on the Windows side of WSL.
pub fn wsl_message(settings: &Settings, ca_path: &std::path::Path) -> String {
    let config = &settings.config;
    let distro = std::env::var("WSL_DISTRO_NAME").unwrap_or_else(|_| "<distro>".into());
    let steps = wsl::windows_steps(
        &distro,
        ca_path,
        &config.network.domain,
        &config.ingress_hosts(),
    );
    format!(
        "WSL: the Windows browser trusts only the Windows certificate store; in PowerShell: {}  \
         (undo: {})",
        steps.join(" ; "),
        wsl::windows_undo(&config.cluster.name)
    )
}

/// For `down` and `tls untrust`: the host and the browsers no longer trust the cluster's CA.
/// Without a CA in the data dir (deleted, or another machine's data dir), its trust is
/// found by the cluster's name and removed all the same.
pub fn untrust_step(
    settings: &Settings,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    let cluster = &settings.config.cluster.name;
    let step = reporter.step("tls-untrust", "Host no longer trusts the local CA");
    let change = match ca::load(&ca_dir(settings)) {
        Ok(Some(ca)) => untrust(&ca.cert(), cluster, access, reporter),
        Ok(None) => untrust_named(cluster, access, reporter),
        Err(e) => Err(e),
    };
    let result = crate::hosts::elevate::finish_step(step, reporter, change);
    if let Some(nss) = &access.nss {
        let step = reporter.step("tls-browsers", "Browsers no longer trust the local CA");
        let change = browsers_untrust(nss, cluster);
        crate::hosts::elevate::finish_step::<TlsError>(step, reporter, Ok(change))?;
    }
    result
}

/// How trust changes reach the host: which store, how to get root, the browsers' databases,
/// and whether this is WSL. Injectable for tests.
#[derive(Debug, Clone)]
pub struct HostAccess {
    pub store: Option<TrustStore>,
    pub privilege: Privilege,
    /// The invoking user's NSS databases (Linux; macOS browsers read the keychain).
    pub nss: Option<NssStores>,
    /// WSL: the Windows side needs its own steps.
    pub wsl: bool,
}

impl HostAccess {
    pub fn detect(env: &Env) -> HostAccess {
        HostAccess {
            store: TrustStore::detect(std::path::Path::new("/")),
            privilege: Privilege::detect(env),
            nss: cfg!(target_os = "linux").then(|| NssStores::detect(env)),
            wsl: wsl::detect(),
        }
    }

    /// Only the system store (tests of the store alone).
    pub fn system_only(store: Option<TrustStore>, privilege: Privilege) -> HostAccess {
        HostAccess {
            store,
            privilege,
            nss: None,
            wsl: false,
        }
    }
}

/// An unknown trust store: what the user does by hand. `up` warns with it and goes on.
fn unknown_store(cert: &std::path::Path) -> HostChange {
    let os = std::fs::read_to_string("/etc/os-release")
        .map(|t| trust::os_release_ids(&t).join(" "))
        .unwrap_or_default();
    HostChange::Manual {
        why: format!(
            "no known trust store on this host (os-release: {}); kindling knows Debian/Ubuntu, \
             Fedora/RHEL, openSUSE, Arch and macOS",
            if os.is_empty() { "none" } else { &os }
        ),
        commands: vec![format!(
            "add {} to your distribution's CA anchors and run its update tool \
             (see docs/laptops.md)",
            cert.display()
        )],
    }
}

/// Adds the CA to the host trust store (nothing to do when it is already there).
pub fn trust(
    ca: &Ca,
    cluster: &str,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> Result<HostChange, TlsError> {
    let Some(store) = access.store.as_ref() else {
        return Ok(unknown_store(&ca.cert_path));
    };
    let cert = ca.cert();
    let status = store.status(&cert, cluster);
    if status.is_current() {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!("already trusted ({})", store.name()),
        ));
    }
    let commands = store.trust_commands(&cert, cluster);
    let why = format!("adding kindling's CA to the {} needs root", store.name());
    if let Some(manual) = elevate_or_manual(&commands, access, &why, reporter) {
        return Ok(manual);
    }
    if let Err((command, output)) = trust::run_all(&commands, &access.privilege) {
        return fail_or_manual(command, output, &commands, access, why);
    }
    let after = store.status(&cert, cluster);
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
    ca: &CaCert,
    cluster: &str,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> Result<HostChange, TlsError> {
    let Some(store) = access.store.as_ref() else {
        return Ok(HostChange::done(
            Outcome::Skipped,
            "no known trust store on this host: nothing kindling added",
        ));
    };
    let status = store.status(ca, cluster);
    if status.is_clean() {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!("not in the {}", store.name()),
        ));
    }
    let commands = store.untrust_commands(ca, cluster, &status);
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

/// `untrust` for a cluster whose CA files are gone: the certificates the store holds under
/// the cluster's name (anchor file, keychain item, p11-kit anchor) are removed.
pub fn untrust_named(
    cluster: &str,
    access: &HostAccess,
    reporter: &SharedReporter,
) -> Result<HostChange, TlsError> {
    let Some(store) = access.store.as_ref() else {
        return Ok(HostChange::done(
            Outcome::Skipped,
            "no local CA and no known trust store",
        ));
    };
    let found = store.installed(cluster);
    if found.is_empty() {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!(
                "no local CA, and none of {cluster:?} in the {}",
                store.name()
            ),
        ));
    }
    let mut last = HostChange::done(Outcome::Unchanged, String::new());
    for pem in found {
        let cert = recovered_cert(cluster, &pem)?;
        last = untrust(&cert, cluster, access, reporter)?;
        if matches!(last, HostChange::Manual { .. }) {
            return Ok(last);
        }
    }
    Ok(match last {
        HostChange::Done { outcome, detail } => HostChange::done(
            outcome,
            format!("{detail} (found by the cluster's name: the data dir has no CA)"),
        ),
        manual => manual,
    })
}

/// A certificate recovered from a store, as a file the store's commands can name. It is
/// public and stays in the temp dir, so a printed command still works later.
fn recovered_cert(cluster: &str, pem: &str) -> Result<CaCert, TlsError> {
    let der = ca::pem_certificate(pem).unwrap_or_default();
    let mut cert = CaCert {
        path: std::path::PathBuf::new(),
        der,
    };
    let path = std::env::temp_dir().join(format!(
        "kindling-{cluster}-ca-{}.crt",
        &cert.sha1_hash()[..12]
    ));
    std::fs::write(&path, pem).map_err(|e| TlsError::Io {
        what: "writing the recovered CA certificate".into(),
        path: path.clone(),
        source: e,
    })?;
    cert.path = path;
    Ok(cert)
}

/// The browsers' NSS databases trust the CA (Linux). Never fails `up`: without certutil, or
/// where certutil fails, the user gets what to run.
pub fn browsers_trust(
    nss: &NssStores,
    store: Option<&TrustStore>,
    cert: &std::path::Path,
    cluster: &str,
) -> HostChange {
    if store.is_some_and(TrustStore::browsers_use_it) {
        return HostChange::done(
            Outcome::Skipped,
            "Fedora's browsers read the system store through p11-kit",
        );
    }
    let databases = nss.databases();
    if databases.is_empty() {
        return HostChange::done(
            Outcome::Skipped,
            format!(
                "no Chrome or Firefox database under {} (a browser makes one on its first start; \
                 then `kindling tls trust`)",
                nss.home.display()
            ),
        );
    }
    if nss.certutil.is_none() {
        return HostChange::Manual {
            why: format!(
                "certutil is not installed: Chrome and Firefox ({} database(s)) will not trust the \
                 local CA",
                databases.len()
            ),
            commands: vec![
                "install it (Debian/Ubuntu: sudo apt install libnss3-tools; Arch: sudo pacman -S nss; \
                 openSUSE: sudo zypper install mozilla-nss-tools), then kindling tls trust"
                    .into(),
            ],
        };
    }
    nss_change(nss.trust(cert, cluster), "added to", |db| {
        format!(
            "certutil {}",
            NssStores::add_args(db, cert, cluster)
                .iter()
                .map(|a| crate::hosts::elevate::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )
    })
}

/// The CA leaves every NSS database (by name: needs no CA file).
pub fn browsers_untrust(nss: &NssStores, cluster: &str) -> HostChange {
    if nss.certutil.is_none() {
        return HostChange::done(
            Outcome::Skipped,
            "certutil is not installed: kindling added nothing to browser databases",
        );
    }
    nss_change(nss.untrust(cluster), "removed from", |db| {
        format!(
            "certutil {}",
            NssStores::delete_args(db, cluster)
                .iter()
                .map(|a| crate::hosts::elevate::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )
    })
}

fn nss_change(
    outcome: nss::NssOutcome,
    verb: &str,
    command: impl Fn(&nss::NssDb) -> String,
) -> HostChange {
    let list = |dbs: &[nss::NssDb]| {
        dbs.iter()
            .map(|d| format!("{} {}", d.browser, d.dir.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !outcome.failed.is_empty() {
        return HostChange::Manual {
            why: outcome
                .failed
                .iter()
                .map(|(db, e)| format!("{} {}: {e}", db.browser, db.dir.display()))
                .collect::<Vec<_>>()
                .join("; "),
            commands: outcome.failed.iter().map(|(db, _)| command(db)).collect(),
        };
    }
    if outcome.changed.is_empty() {
        let state = if verb == "added to" {
            "already in"
        } else {
            "not in"
        };
        return HostChange::done(
            Outcome::Unchanged,
            format!("{state} {}", list(&outcome.unchanged)),
        );
    }
    HostChange::done(
        if verb == "added to" {
            Outcome::Created
        } else {
            Outcome::Changed
        },
        format!("{verb} {}", list(&outcome.changed)),
    )
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
