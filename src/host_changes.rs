//! The two changes kindling makes to the host itself, outside Docker and its own folders:
//! its CA in the system trust store and its block in the hosts file. Read without root, for
//! `up --dry-run` (what `up` would change), the end of every `up` (what is changed now, and
//! that `kindling down` undoes it) and `reset --dry-run` (what `down` would take back).

use crate::config::Settings;
use crate::env::Env;
use crate::hosts::Privilege;
use std::path::PathBuf;

/// A change `up` would make to this host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    /// "trust store" or "hosts file".
    pub part: &'static str,
    pub change: String,
    /// Whether it needs root (sudo) for this user.
    pub needs_root: bool,
}

/// The hosts file kindling edits.
fn hosts_file(env: &Env) -> PathBuf {
    crate::hosts::default_path(env)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// What `up` would change on this host that is not already as wanted.
pub fn planned(settings: &Settings, env: &Env) -> Vec<Planned> {
    let config = &settings.config;
    let mut out = Vec::new();
    if config.network.trust_ca
        && let Some(store) = crate::tls::TrustStore::detect(std::path::Path::new("/"))
    {
        let ca = crate::tls::ca::load(&crate::tls::ca_dir(settings))
            .ok()
            .flatten();
        let current = ca
            .as_ref()
            .is_some_and(|ca| store.status(&ca.cert(), &config.cluster.name).is_current());
        if !current {
            out.push(Planned {
                part: "trust store",
                change: format!("add kindling's CA to the {}", store.name()),
                needs_root: !is_root(),
            });
        }
    }
    if config.network.manage_hosts {
        let file = hosts_file(env);
        let target = crate::hosts::file::resolve(&file).unwrap_or(file.clone());
        let text = std::fs::read_to_string(&target).unwrap_or_default();
        let hosts = config.ingress_hosts();
        if crate::hosts::block::apply(&text, &config.cluster.name, &hosts) != text {
            let writable = if target.exists() {
                rustix::fs::access(&target, rustix::fs::Access::WRITE_OK).is_ok()
            } else {
                target
                    .parent()
                    .is_some_and(|d| rustix::fs::access(d, rustix::fs::Access::WRITE_OK).is_ok())
            };
            out.push(Planned {
                part: "hosts file",
                change: format!(
                    "add kindling's block to {} ({} names → 127.0.0.1)",
                    file.display(),
                    hosts.len()
                ),
                needs_root: !writable,
            });
        }
    }
    out
}

/// What kindling has on this host now for this cluster, one line each (empty: nothing).
pub fn present(settings: &Settings, env: &Env) -> Vec<String> {
    let config = &settings.config;
    let mut out = Vec::new();
    if let (Some(store), Ok(Some(ca))) = (
        crate::tls::TrustStore::detect(std::path::Path::new("/")),
        crate::tls::ca::load(&crate::tls::ca_dir(settings)),
    ) {
        let status = store.status(&ca.cert(), &config.cluster.name);
        if !status.is_clean() {
            out.push(format!(
                "kindling's CA {} is in the {}",
                ca.cert_path.display(),
                store.name()
            ));
        }
    }
    let file = hosts_file(env);
    if let Ok(Some(block)) = crate::hosts::show(config, &file) {
        let names = block
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .count();
        out.push(format!(
            "{} holds kindling's block ({names} names → 127.0.0.1)",
            file.display()
        ));
    }
    out
}

/// Asks sudo for the password once, before `up` starts, when a planned change needs root
/// and sudo is how kindling gets it (so the prompt does not come minutes into the run).
/// Returns false when sudo refused: the host changes are then left as commands to run.
pub fn ask_sudo_once(planned: &[Planned], privilege: &Privilege) -> bool {
    let Privilege::Sudo(sudo) = privilege else {
        return true;
    };
    if !planned.iter().any(|p| p.needs_root) {
        return true;
    }
    std::process::Command::new(sudo)
        .arg("-v")
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}
