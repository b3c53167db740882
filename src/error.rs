//! kindling's errors. Core code returns these; `cli::exit` alone turns them into output
//! (`error:`, `caused by:` and `hint:` lines, or one JSON object) and an exit code.
//!
//! A module's error enum implements [`Diagnose`] once (its area, its hints, its exit status)
//! and converts into [`Error`] with `?`: the error itself is kept, so its causes
//! (`#[source]`) are printed one per line instead of being flattened into a string.

use crate::config::ConfigError;
pub use crate::report::ErrorReport;
use std::error::Error as StdError;
use std::fmt;

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

/// What kindling needs to know about a module's error to show it: the one place that maps
/// an error to its area, what to do about it, and the exit status. One impl per error enum;
/// `?` then turns it into [`Error`] with its causes intact.
pub trait Diagnose: StdError + Send + Sync + 'static {
    /// The part of kindling that failed ("cluster", "registry", "hosts file", ...).
    fn area(&self) -> &str;

    /// What the user can do about it, most useful first.
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }

    /// `Failure` unless the error is the user's input (`Usage`) or a preflight.
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Failure
    }
}

/// A step (or part of a command) that failed, named.
#[derive(Debug)]
pub struct StepFailure {
    /// The step id, as progress lines and JSON events name it ("cluster", "registry").
    pub step: String,
    pub error: Error,
}

#[derive(Debug)]
pub enum Error {
    /// Every problem of the configuration, each with its place.
    Config(ConfigError),

    /// Bad input other than the configuration (flags, files).
    Usage {
        message: String,
        hints: Vec<String>,
    },

    /// `doctor`'s failing checks (`up` runs them first): what failed, and the checks' hints.
    Preflight {
        failed: usize,
        why: String,
        hints: Vec<String>,
    },

    /// An operation that failed: what, optionally the error that made it fail (kept as the
    /// first cause), and what to do.
    Failed {
        message: String,
        source: Option<Box<dyn StdError + Send + Sync>>,
        hints: Vec<String>,
    },

    /// A module's error ([`Diagnose`]), causes and all.
    Diagnosed {
        error: Box<dyn Diagnose>,
        /// Hints added on the way up, after the error's own.
        hints: Vec<String>,
    },

    /// Steps that failed, each with its own error (a run of `up`, the parts of `down`).
    Steps(Vec<StepFailure>),

    Interrupted,
}

impl<E: Diagnose> From<E> for Error {
    fn from(error: E) -> Error {
        Error::Diagnosed {
            error: Box::new(error),
            hints: Vec::new(),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Error {
        Error::Config(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "invalid configuration:\n{e}"),
            Error::Usage { message, .. } | Error::Failed { message, .. } => f.write_str(message),
            Error::Preflight { failed, why, .. } => {
                write!(f, "{failed} preflight check(s) failed")?;
                if !why.is_empty() {
                    write!(f, ": {why}")?;
                }
                Ok(())
            }
            Error::Diagnosed { error, .. } => fmt::Display::fmt(error, f),
            Error::Steps(failures) => match failures.as_slice() {
                [one] => fmt::Display::fmt(&one.error, f),
                many => {
                    let names: Vec<&str> = many.iter().map(|s| s.step.as_str()).collect();
                    write!(f, "{} steps failed: {}", many.len(), names.join(", "))
                }
            },
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Failed {
                source: Some(source),
                ..
            } => Some(source.as_ref()),
            Error::Diagnosed { error, .. } => error.source(),
            Error::Steps(failures) => match failures.as_slice() {
                [one] => one.error.source(),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Error {
    /// An operation failed for a reason given as text ("the cluster step has not run").
    pub fn failed(what: impl Into<String>, why: impl fmt::Display) -> Error {
        Error::Failed {
            message: format!("{}: {why}", what.into()),
            source: None,
            hints: Vec::new(),
        }
    }

    /// An operation failed because of `source`, which is kept and shown as its cause.
    pub fn context(
        what: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Error {
        Error::Failed {
            message: what.into(),
            source: Some(source.into()),
            hints: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Error {
        Error::Usage {
            message: message.into(),
            hints: hint.into().into_iter().collect(),
        }
    }

    /// The failed steps of a run, named; Ok when none failed.
    pub fn steps(mut failures: Vec<StepFailure>) -> Result<()> {
        match failures.len() {
            0 => Ok(()),
            // A failure that is already about steps is not wrapped twice.
            1 if matches!(failures[0].error, Error::Steps(_) | Error::Interrupted) => {
                Err(failures.remove(0).error)
            }
            _ => Err(Error::Steps(failures)),
        }
    }

    /// Adds a `hint:` line (to every kind of error but configuration and interruption).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        match &mut self {
            Error::Usage { hints, .. }
            | Error::Preflight { hints, .. }
            | Error::Failed { hints, .. }
            | Error::Diagnosed { hints, .. } => hints.push(hint.into()),
            Error::Steps(failures) => {
                if let Some(last) = failures.pop() {
                    failures.push(StepFailure {
                        step: last.step,
                        error: last.error.with_hint(hint),
                    });
                }
            }
            Error::Config(_) | Error::Interrupted => {}
        }
        self
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(_) | Error::Usage { .. } => ExitStatus::Usage,
            Error::Preflight { .. } => ExitStatus::Preflight,
            Error::Failed { .. } => ExitStatus::Failure,
            Error::Diagnosed { error, .. } => error.exit_status(),
            // The first failure decides (a preflight failure skips every other step).
            Error::Steps(failures) => failures
                .first()
                .map_or(ExitStatus::Failure, |f| f.error.exit_status()),
            Error::Interrupted => ExitStatus::Interrupted,
        }
    }

    /// The part of kindling that failed, when a module said so.
    pub fn area(&self) -> Option<&str> {
        match self {
            Error::Config(_) => Some("configuration"),
            Error::Diagnosed { error, .. } => Some(error.area()),
            Error::Steps(failures) => match failures.as_slice() {
                [one] => one.error.area(),
                _ => None,
            },
            _ => None,
        }
    }

    /// What the user can do about it.
    pub fn hints(&self) -> Vec<String> {
        match self {
            Error::Config(e) => e.issues.iter().filter_map(|i| i.hint.clone()).collect(),
            Error::Usage { hints, .. } | Error::Failed { hints, .. } => hints.clone(),
            Error::Preflight { hints, .. } if !hints.is_empty() => hints.clone(),
            Error::Preflight { .. } => {
                vec!["fix the failing checks above, then run `kindling doctor` again".into()]
            }
            Error::Diagnosed { error, hints } => {
                let mut all = error.hints();
                all.extend(hints.iter().cloned());
                all
            }
            Error::Steps(failures) => failures.iter().flat_map(|f| f.error.hints()).collect(),
            Error::Interrupted => {
                vec!["run the same command again: every step is idempotent and converges".into()]
            }
        }
    }

    /// The error as the CLI shows it: message, causes, hints, exit code (see [`ErrorReport`]).
    pub fn report(&self) -> ErrorReport {
        let exit_code = self.exit_status() as u8;
        match self {
            Error::Config(e) => ErrorReport {
                message: format!("invalid configuration ({} problem(s))", e.issues.len()),
                causes: Vec::new(),
                hints: self.hints(),
                area: Some("configuration".into()),
                step: None,
                problems: e
                    .issues
                    .iter()
                    .map(|issue| ErrorReport {
                        message: format!("{}: {}", issue.origin, issue.message),
                        hints: issue.hint.iter().cloned().collect(),
                        exit_code,
                        ..ErrorReport::default()
                    })
                    .collect(),
                exit_code,
            },
            Error::Steps(failures) if failures.len() == 1 => {
                let mut report = failures[0].error.report();
                report.step = Some(failures[0].step.clone());
                report
            }
            Error::Steps(failures) => ErrorReport {
                message: self.to_string(),
                causes: Vec::new(),
                hints: Vec::new(),
                area: None,
                step: None,
                problems: failures
                    .iter()
                    .map(|f| {
                        let mut report = f.error.report();
                        report.step = Some(f.step.clone());
                        report
                    })
                    .collect(),
                exit_code,
            },
            _ => {
                let mut messages = chain(self);
                let message = messages.remove(0);
                ErrorReport {
                    message,
                    causes: messages,
                    hints: self.hints(),
                    area: self.area().map(str::to_string),
                    step: None,
                    problems: Vec::new(),
                    exit_code,
                }
            }
        }
    }
}

/// The messages of an error and its causes, outermost first, each said once: a message that
/// ends with its cause's (thiserror's `"{what}: {source}"`, kube's `"HyperError: {0}"`) loses
/// that ending, and a cause that repeats the message before it is left out.
pub fn chain(error: &(dyn StdError + 'static)) -> Vec<String> {
    let mut messages: Vec<String> = std::iter::successors(Some(error), |&e| e.source())
        .map(|e| e.to_string().trim().to_string())
        .collect();
    for i in 0..messages.len().saturating_sub(1) {
        let next = messages[i + 1].clone();
        if next.is_empty() {
            continue;
        }
        if let Some(head) = messages[i].strip_suffix(next.as_str()) {
            let head = head.trim_end().trim_end_matches(':').trim_end();
            messages[i] = if head.is_empty() {
                next
            } else {
                head.to_string()
            };
        }
    }
    messages.dedup();
    messages.retain(|m| !m.is_empty());
    if messages.is_empty() {
        messages.push(error.to_string());
    }
    messages
}

/// An error on one line: its message and its first cause, the first line of each ("cannot
/// download kind v0.31.0 from https://…: timed out after 20s"). What a failed step's line shows.
pub fn one_line(error: &(dyn StdError + 'static)) -> String {
    let first_line = |m: &str| m.lines().next().unwrap_or_default().trim_end().to_string();
    let messages = chain(error);
    match messages.as_slice() {
        [] => String::new(),
        [only] => first_line(only),
        [message, cause, ..] => format!("{}: {}", first_line(message), first_line(cause)),
    }
}

/// An error with all its causes on one line, joined by ": " (for records such as a traffic
/// sample's error, where there is no room for lines).
pub fn full_line(error: &(dyn StdError + 'static)) -> String {
    chain(error).join(": ")
}

/// A failed step's event carries the error on one line, with its hints.
impl<E: Diagnose> From<&E> for crate::report::Failure {
    fn from(error: &E) -> crate::report::Failure {
        crate::report::Failure {
            error: one_line(error),
            hints: error.hints(),
        }
    }
}

impl From<&Error> for crate::report::Failure {
    fn from(error: &Error) -> crate::report::Failure {
        crate::report::Failure {
            error: one_line(error),
            hints: error.hints(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;

    #[derive(Debug, thiserror::Error)]
    #[error("client error: {0}")]
    struct Repeats(#[source] Refused);

    #[derive(Debug, thiserror::Error)]
    enum Module {
        #[error("cannot download {0}")]
        Download(String, #[source] Repeats),
        #[error("bad input")]
        Input,
    }

    impl Diagnose for Module {
        fn area(&self) -> &str {
            "module"
        }
        fn hints(&self) -> Vec<String> {
            vec!["check the network".into()]
        }
        fn exit_status(&self) -> ExitStatus {
            match self {
                Module::Input => ExitStatus::Usage,
                _ => ExitStatus::Failure,
            }
        }
    }

    fn download() -> Error {
        Module::Download("kind".into(), Repeats(Refused)).into()
    }

    #[test]
    fn a_module_error_keeps_its_causes_each_said_once() {
        let report = download().report();
        assert_eq!(report.message, "cannot download kind");
        assert_eq!(report.causes, ["client error", "connection refused"]);
        assert_eq!(report.hints, ["check the network"]);
        assert_eq!(report.area.as_deref(), Some("module"));
        assert_eq!(report.exit_code, 1);
        assert_eq!(one_line(&download()), "cannot download kind: client error");
        assert_eq!(
            full_line(&download()),
            "cannot download kind: client error: connection refused"
        );
    }

    #[test]
    fn the_module_decides_the_exit_status_and_hints_added_later_follow_its_own() {
        let error = Error::from(Module::Input).with_hint("then run it again");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert_eq!(error.hints(), ["check the network", "then run it again"]);
    }

    #[test]
    fn one_failed_step_is_named_once_and_several_are_listed() {
        let one = Error::steps(vec![StepFailure {
            step: "cluster".into(),
            error: download(),
        }])
        .unwrap_err();
        assert_eq!(one.to_string(), "cannot download kind");
        let report = one.report();
        assert_eq!(report.step.as_deref(), Some("cluster"));
        assert_eq!(report.causes, ["client error", "connection refused"]);

        let two = Error::steps(vec![
            StepFailure {
                step: "a".into(),
                error: Error::failed("a", "boom"),
            },
            StepFailure {
                step: "b".into(),
                error: Error::from(Module::Input),
            },
        ])
        .unwrap_err();
        assert_eq!(two.to_string(), "2 steps failed: a, b");
        assert_eq!(two.exit_status(), ExitStatus::Failure);
        let report = two.report();
        assert_eq!(report.problems.len(), 2);
        assert_eq!(report.problems[1].step.as_deref(), Some("b"));
        assert_eq!(report.problems[1].exit_code, 2);
    }

    #[test]
    fn context_keeps_the_error_it_wraps_as_the_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Error::context("reading the CA", io);
        assert_eq!(error.to_string(), "reading the CA");
        assert_eq!(error.report().causes, ["no such file"]);
        assert!(Error::steps(Vec::new()).is_ok());
    }

    #[test]
    fn the_json_error_object_is_camel_case() {
        let value = serde_json::to_value(download().report()).unwrap();
        assert_eq!(value["exitCode"], 1);
        assert_eq!(value["causes"][1], "connection refused");
        assert!(value.get("problems").is_none());
    }
}
