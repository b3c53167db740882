use std::fmt;
use std::path::PathBuf;

/// Where a configuration value (or a problem with it) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// The built-in default (no file given).
    Builtin {
        line: usize,
        column: usize,
    },
    Env {
        var: String,
    },
    Flag {
        arg: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::Builtin { line, column } => {
                write!(f, "<built-in bootstrap.toml>:{line}:{column}")
            }
            Origin::Env { var } => write!(f, "environment variable {var}"),
            Origin::Flag { arg } => write!(f, "flag --set {arg}"),
        }
    }
}

/// One problem in the configuration: where, what, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub origin: Origin,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found while loading a configuration (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl ConfigError {
    pub fn single(origin: Origin, message: impl Into<String>, hint: Option<String>) -> Self {
        ConfigError {
            issues: vec![ConfigIssue {
                origin,
                message: message.into(),
                hint,
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", issue.origin, issue.message)?;
        }
        Ok(())
    }
}

/// A user's value as an error message shows it: quoted, and cut short when long, so a
/// 1 MB value is not echoed back whole.
pub(super) fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    match value.char_indices().nth(MAX_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}
