//! The hosts file: one managed block per cluster mapping every ingress name to
//! 127.0.0.1 (`block`), written safely (`file`), with root when needed (`elevate`).
//!
//! `up` calls [`apply`] (with `network.manage_hosts`), `down` calls [`remove`].
//! Both return a [`HostChange`]: `Manual` means root was not available and
//! carries the exact command for the user; the file is then untouched.

pub mod block;
pub mod elevate;
pub mod file;

pub use elevate::{HostChange, Privilege};
pub use file::Written;

use crate::config::Config;
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter};
use elevate::HostCommand;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    #[error("{what} {}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a text file (not UTF-8)", path.display())]
    NotText { path: PathBuf },
    #[error("{}{} is not a regular file (a folder or a device)", path.display(), target.as_ref().map(|t| format!(" (a link to {})", t.display())).unwrap_or_default())]
    NotAFile {
        path: PathBuf,
        target: Option<PathBuf>,
    },
    #[error("`{command}` failed: {output}")]
    Elevated { command: String, output: String },
}

impl HostsError {
    pub(crate) fn io(what: &str, path: &Path, source: std::io::Error) -> HostsError {
        HostsError::Io {
            what: what.into(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// Not allowed to write (as opposed to broken): root may help.
    pub fn is_permission(&self) -> bool {
        match self {
            HostsError::Io { source, .. } => {
                // Not EROFS: on a read-only filesystem root cannot write either.
                source.kind() == ErrorKind::PermissionDenied
                    || source.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error())
            }
            _ => false,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            HostsError::Io { source, path, .. }
                if source.kind() == ErrorKind::ReadOnlyFilesystem =>
            {
                Some(format!(
                    "{} is on a read-only filesystem: add the names by hand elsewhere, or set network.manage_hosts = false (Chrome, Firefox and curl resolve *.localhost without it)",
                    path.display()
                ))
            }
            HostsError::NotText { .. } => {
                Some("fix the file's encoding, or pass another file with --file".into())
            }
            HostsError::NotAFile { .. } => Some(
                "give the hosts file itself with --file (or KINDLING_HOSTS_FILE), e.g. /etc/hosts"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl crate::error::Diagnose for HostsError {
    fn area(&self) -> &str {
        "hosts file"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        match self {
            HostsError::NotAFile { .. } => crate::ExitStatus::Usage,
            _ => crate::ExitStatus::Failure,
        }
    }
}

/// The system hosts file: KINDLING_HOSTS_FILE, else /etc/hosts. kindling builds for Linux
/// and macOS (WSL2 is Linux; the Windows side gets printed steps, see `tls::wsl`).
pub fn default_path(env: &Env) -> PathBuf {
    env.path("KINDLING_HOSTS_FILE")
        .unwrap_or_else(|| PathBuf::from("/etc/hosts"))
}

/// Which file, and how to get root for it.
#[derive(Debug, Clone)]
pub struct HostsOptions {
    pub file: PathBuf,
    pub privilege: Privilege,
    /// The kindling binary sudo re-runs for the write (the current executable).
    pub exe: PathBuf,
}

impl HostsOptions {
    pub fn detect(env: &Env, file: Option<PathBuf>) -> HostsOptions {
        HostsOptions {
            file: file.unwrap_or_else(|| default_path(env)),
            privilege: Privilege::detect(env),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("kindling")),
        }
    }

    /// The same change as one root command: kindling itself, told the two
    /// settings that decide the block (sudo drops the environment).
    fn elevated_command(&self, config: &Config, action: &str) -> HostCommand {
        HostCommand {
            program: self.exe.display().to_string(),
            args: vec![
                "--set".into(),
                format!("cluster.name={}", config.cluster.name),
                "--set".into(),
                format!("network.domain={}", config.network.domain),
                "hosts".into(),
                action.into(),
                "--file".into(),
                self.file.display().to_string(),
                "--no-sudo".into(),
            ],
        }
    }
}

/// Puts the cluster's block into the hosts file (or repairs it). Also for the `localhost`
/// domain: browsers resolve `*.localhost` themselves, but Safari and macOS command-line tools
/// (and glibc without nss-myhostname) read only the hosts file.
pub fn apply(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
) -> Result<HostChange, HostsError> {
    let cluster = config.cluster.name.clone();
    let hosts = config.ingress_hosts();
    warn_foreign(&options.file, &cluster, &hosts, reporter);
    let change = move |text: &str| block::apply(text, &cluster, &hosts);
    run(config, options, reporter, "apply", &change)
}

/// Takes the cluster's block out of the hosts file (everything else stays as it was).
pub fn remove(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
) -> Result<HostChange, HostsError> {
    let cluster = config.cluster.name.clone();
    let hosts = config.ingress_hosts();
    let change = move |text: &str| block::remove(text, &cluster, &hosts);
    run(config, options, reporter, "remove", &change)
}

/// The cluster's block as it stands in the file (None: there is none).
pub fn show(config: &Config, file: &Path) -> Result<Option<String>, HostsError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(HostsError::io("reading", file, e)),
    };
    Ok(block::current(
        &text,
        &config.cluster.name,
        &config.ingress_hosts(),
    ))
}

fn warn_foreign(file: &Path, cluster: &str, hosts: &[String], reporter: &SharedReporter) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    for (line, name, address) in block::foreign_mappings(&text, cluster, hosts) {
        reporter.warn(
            format!("{} already maps {name} to {address} outside kindling's block: {line:?}", file.display()),
            Some(format!(
                "the first matching line wins: remove that line if {name} should reach the local cluster"
            )),
        );
    }
}

fn run(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
    action: &str,
    change: &dyn Fn(&str) -> String,
) -> Result<HostChange, HostsError> {
    let file = &options.file;
    // Decide without root first: an unchanged file needs no sudo prompt.
    if let Ok(text) = std::fs::read_to_string(file)
        && change(&text) == text
    {
        return Ok(HostChange::done(
            Outcome::Unchanged,
            format!("{} is up to date", file.display()),
        ));
    }
    let error = match file::update(file, change, &file::rename) {
        Ok((written, _)) => return Ok(done(written, file)),
        Err(e) if e.is_permission() && options.privilege != Privilege::Root => e,
        Err(e) => return Err(e),
    };
    let command = options.elevated_command(config, action);
    let why = format!("{} is not writable by this user ({error})", file.display());
    match &options.privilege {
        Privilege::Sudo(_) => {
            let line = command.render(&options.privilege.prefix());
            reporter.info(format!("{why}; editing it as root with: {line}"));
            match command.run(&options.privilege) {
                Ok(r) if r.success => Ok(HostChange::done(
                    Outcome::Changed,
                    format!("{} updated as root", file.display()),
                )),
                Ok(r) => Ok(HostChange::Manual {
                    why: format!("{why}; `{line}` failed: {}", r.output),
                    commands: vec![command.render(&["sudo".into()])],
                }),
                Err(e) => Ok(HostChange::Manual {
                    why: format!("{why}; `{line}` could not start: {e}"),
                    commands: vec![command.render(&["sudo".into()])],
                }),
            }
        }
        _ => Ok(HostChange::Manual {
            why: format!("{why} and sudo is not available"),
            commands: vec![command.render(&["sudo".into()])],
        }),
    }
}

fn done(written: Written, file: &Path) -> HostChange {
    match written {
        Written::Unchanged => HostChange::done(
            Outcome::Unchanged,
            format!("{} is up to date", file.display()),
        ),
        Written::Renamed => {
            HostChange::done(Outcome::Changed, format!("{} updated", file.display()))
        }
        Written::InPlace => HostChange::done(
            Outcome::Changed,
            format!(
                "{} updated in place (it cannot be replaced: a bind mount?)",
                file.display()
            ),
        ),
    }
}

/// `apply` as one reported step, for `up`: a missing root degrades to a warning.
pub fn apply_step(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    step(
        config,
        options,
        reporter,
        "hosts",
        "Hosts file entries",
        apply,
    )
}

/// `remove` as one reported step, for `down`.
pub fn remove_step(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
) -> crate::Result<()> {
    step(
        config,
        options,
        reporter,
        "hosts",
        "Hosts file entries removed",
        remove,
    )
}

type Action = fn(&Config, &HostsOptions, &SharedReporter) -> Result<HostChange, HostsError>;

fn step(
    config: &Config,
    options: &HostsOptions,
    reporter: &SharedReporter,
    id: &str,
    title: &str,
    action: Action,
) -> crate::Result<()> {
    let step = reporter.step(id, title);
    elevate::finish_step(step, reporter, action(config, options, reporter))
}
