//! kindling's errors. Core code returns these; `main` alone turns them into
//! `error:`/`hint:` lines and an exit code (see `ExitStatus`).

use crate::config::ConfigError;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Ok = 0,
    /// The operation failed (a step, a check, an unhealthy platform).
    Failure = 1,
    /// Bad flags, bad configuration, bad input files.
    Usage = 2,
    /// `doctor` (or a command's preflight) found a failing check.
    Preflight = 3,
    /// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
    Interrupted = 130,
    /// stdout was closed by its reader (128 + SIGPIPE, as shells report it): ends quietly.
    OutputClosed = 141,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration:\n{0}")]
    Config(#[from] ConfigError),

    /// Bad input other than the configuration (flags, files).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    /// `doctor`'s failing checks (`up` runs them first): what failed, and the checks' hints.
    #[error("{failed} preflight check(s) failed{}", if why.is_empty() { String::new() } else { format!(": {why}") })]
    Preflight {
        failed: usize,
        why: String,
        hints: Vec<String>,
    },

    /// An operation that failed: what failed, why, and what to do.
    #[error("{what}: {why}")]
    Failed {
        what: String,
        why: String,
        hints: Vec<String>,
    },

    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn failed(what: impl Into<String>, why: impl std::fmt::Display) -> Error {
        Error::Failed {
            what: what.into(),
            why: why.to_string(),
            hints: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Adds a `hint:` line (for `Failed` and `Preflight` errors).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        if let Error::Failed { hints, .. } | Error::Preflight { hints, .. } = &mut self {
            hints.push(hint.into());
        }
        self
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(_) | Error::Usage { .. } => ExitStatus::Usage,
            Error::Preflight { .. } => ExitStatus::Preflight,
            Error::Failed { .. } => ExitStatus::Failure,
            Error::Interrupted => ExitStatus::Interrupted,
        }
    }

    /// What the user can do about it.
    pub fn hints(&self) -> Vec<String> {
        match self {
            Error::Config(e) => e.issues.iter().filter_map(|i| i.hint.clone()).collect(),
            Error::Usage { hint, .. } => hint.iter().cloned().collect(),
            Error::Preflight { hints, .. } if !hints.is_empty() => hints.clone(),
            Error::Preflight { .. } => {
                vec!["fix the failing checks above, then run `kindling doctor` again".into()]
            }
            Error::Failed { hints, .. } => hints.clone(),
            Error::Interrupted => {
                vec!["run the same command again: every step is idempotent and converges".into()]
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
