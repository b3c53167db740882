//! Running one command as root on this host, for the two host changes kindling
//! makes (hosts file, trust store). Root runs it directly; otherwise `sudo` runs
//! just that command; without sudo the caller gets the exact command to give the user.

use crate::env::Env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How this process can get root for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privilege {
    /// Already root: run commands directly.
    Root,
    /// Not root; this sudo-like program (KINDLING_SUDO, else `sudo` on PATH) runs one command as root.
    Sudo(PathBuf),
    /// Not root and no way to become root: print the command for the user.
    Unprivileged,
}

impl Privilege {
    /// Root, else KINDLING_SUDO (a path or name; "none" disables elevation), else sudo on PATH.
    pub fn detect(env: &Env) -> Privilege {
        if rustix::process::geteuid().is_root() {
            return Privilege::Root;
        }
        Privilege::detect_unprivileged(env)
    }

    /// As `detect` for a process that is not root (tests use it to simulate a user).
    pub fn detect_unprivileged(env: &Env) -> Privilege {
        let wanted = env.get("KINDLING_SUDO").unwrap_or("sudo");
        if wanted == "none" {
            return Privilege::Unprivileged;
        }
        match find_program(env, wanted) {
            Some(path) => Privilege::Sudo(path),
            None => Privilege::Unprivileged,
        }
    }

    /// The words to put before a command so that it runs as root ("sudo", or nothing for root).
    pub fn prefix(&self) -> Vec<String> {
        match self {
            Privilege::Root => Vec::new(),
            Privilege::Sudo(path) => vec![path.display().to_string()],
            // What the user should type: plain sudo is the common way.
            Privilege::Unprivileged => vec!["sudo".into()],
        }
    }
}

/// A program on PATH (or a path), if it exists.
pub fn find_program(env: &Env, name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return path.is_file().then_some(path);
    }
    env.get("PATH")
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// One command that changes the host, shown to the user exactly as it would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCommand {
    pub program: String,
    pub args: Vec<String>,
}

impl HostCommand {
    pub fn new(program: impl Into<String>, args: &[&str]) -> HostCommand {
        HostCommand {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The command as a shell line, with `prefix` (e.g. sudo) in front.
    pub fn render(&self, prefix: &[String]) -> String {
        prefix
            .iter()
            .chain(std::iter::once(&self.program))
            .chain(&self.args)
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs it (through `privilege`), output captured; the terminal stays attached
    /// to stdin so sudo can ask for a password.
    pub fn run(&self, privilege: &Privilege) -> Result<CommandResult, std::io::Error> {
        let prefix = privilege.prefix();
        let mut words = prefix
            .iter()
            .chain(std::iter::once(&self.program))
            .chain(&self.args);
        let first = words.next().expect("a program");
        let output = Command::new(first)
            .args(words)
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()?;
        Ok(CommandResult {
            success: output.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct CommandResult {
    pub success: bool,
    /// stdout then stderr, trimmed.
    pub output: String,
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What became of a change to the host that needs root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChange {
    /// Done (or nothing to do), with what happened.
    Done {
        outcome: crate::report::Outcome,
        detail: String,
    },
    /// Could not get root: the user must run these commands. `up` shows them as a
    /// warning; the `tls`/`hosts` commands fail with them as hints.
    Manual { why: String, commands: Vec<String> },
}

impl HostChange {
    pub fn done(outcome: crate::report::Outcome, detail: impl Into<String>) -> HostChange {
        HostChange::Done {
            outcome,
            detail: detail.into(),
        }
    }

    /// For commands: `Manual` becomes an error whose hints are the commands to run.
    pub fn into_result(self, what: &str) -> crate::Result<(crate::report::Outcome, String)> {
        match self {
            HostChange::Done { outcome, detail } => Ok((outcome, detail)),
            HostChange::Manual { why, commands } => Err(crate::Error::failed(what, why)
                .with_hint(format!("run it yourself: {}", commands.join(" && ")))),
        }
    }
}

/// Finishes a step of `up`/`down` with a host change: a missing root becomes a
/// warning carrying the commands (the step is skipped, the run goes on).
pub fn finish_step<E>(
    step: crate::report::Step,
    reporter: &crate::report::SharedReporter,
    change: Result<HostChange, E>,
) -> crate::Result<()>
where
    E: Into<crate::Error>,
{
    use crate::report::ReporterExt;
    match change {
        Ok(HostChange::Done { outcome, detail }) => {
            step.finish(outcome, detail);
            Ok(())
        }
        Ok(HostChange::Manual { why, commands }) => {
            step.finish(crate::report::Outcome::Skipped, "needs root".to_string());
            reporter.warn(why, Some(format!("run: {}", commands.join(" && "))));
            Ok(())
        }
        Err(e) => {
            let e = e.into();
            step.fail(&e);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("/etc/hosts"), "/etc/hosts");
        assert_eq!(shell_quote("cluster.name=a b"), "'cluster.name=a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn kindling_sudo_none_disables_elevation() {
        let env = Env::from_pairs([("KINDLING_SUDO", "none")]);
        assert_eq!(
            Privilege::detect_unprivileged(&env),
            Privilege::Unprivileged
        );
        let env = Env::from_pairs([("PATH", "/nonexistent")]);
        assert_eq!(
            Privilege::detect_unprivileged(&env),
            Privilege::Unprivileged
        );
        let env = Env::from_pairs([("PATH", "/nonexistent"), ("KINDLING_SUDO", "/bin/sh")]);
        assert_eq!(
            Privilege::detect_unprivileged(&env),
            Privilege::Sudo("/bin/sh".into())
        );
    }

    #[test]
    fn renders_with_prefix() {
        let c = HostCommand::new("update-ca-certificates", &[]);
        assert_eq!(
            c.render(&Privilege::Unprivileged.prefix()),
            "sudo update-ca-certificates"
        );
        assert_eq!(
            c.render(&Privilege::Root.prefix()),
            "update-ca-certificates"
        );
    }
}
