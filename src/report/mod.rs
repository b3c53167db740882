//! Progress reporting. Core code never prints: it sends events to one `Reporter`,
//! and the CLI picks how they are shown (terminal bars, plain lines, JSON lines).

mod human;
mod json;
mod plain;

pub use human::HumanReporter;
pub use json::JsonReporter;
pub use plain::PlainReporter;

use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Something was made that did not exist.
    Created,
    /// Something existing was changed.
    Changed,
    /// Already as desired: nothing was done.
    Unchanged,
    /// Done (for steps that are not about state, e.g. checks and waits).
    Done,
    /// Not needed with this configuration.
    Skipped,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Changed => "changed",
            Outcome::Unchanged => "unchanged",
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
        }
    }

    /// The mark before a finished step: ✓, or - for a step that did not run.
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Skipped => "-",
            _ => "✓",
        }
    }
}

/// One thing that happened, as reporters receive it. With `--output json` each is one line
/// on stdout: `"event"` names it (`step_started`, ...), its fields are camelCase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "event",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    StepStarted {
        step: String,
        title: String,
    },
    StepProgress {
        step: String,
        message: String,
        /// Bytes (or items) done so far, and of how many.
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        /// Bytes per second since the step's first count.
        #[serde(skip_serializing_if = "Option::is_none")]
        rate: Option<u64>,
        /// Since the step started.
        elapsed_ms: u64,
    },
    StepFinished {
        step: String,
        title: String,
        outcome: Outcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        elapsed_ms: u64,
    },
    StepFailed {
        step: String,
        title: String,
        /// The error and its first cause, on one line.
        error: String,
        /// What to do about it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        hints: Vec<String>,
        elapsed_ms: u64,
    },
    Warning {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    Info {
        message: String,
    },
    /// The last event of every run that reports steps: how the command ended.
    Finished {
        /// The command, as typed after `kindling` ("up", "registry up").
        command: String,
        ok: bool,
        exit_code: u8,
        elapsed_ms: u64,
        /// Why it failed: the same object `--output json` prints on stderr.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Box<ErrorReport>>,
    },
}

/// How a step failed, as its `step_failed` event says it: one line and the hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub hints: Vec<String>,
}

/// An error as it is shown: on a terminal as `error:`, `caused by:` and `hint:` lines; with
/// `--output json` as this object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    pub message: String,
    /// Why, outermost first; each said once.
    pub causes: Vec<String>,
    pub hints: Vec<String>,
    /// The part of kindling that failed ("cluster", "registry", ...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// The step that failed, as progress lines and events name it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Several failures at once (failed steps, configuration problems), each its own report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorReport>,
    pub exit_code: u8,
}

impl From<String> for Failure {
    fn from(error: String) -> Failure {
        Failure {
            error,
            hints: Vec::new(),
        }
    }
}

impl From<&str> for Failure {
    fn from(error: &str) -> Failure {
        Failure::from(error.to_string())
    }
}

/// Receives events. Implementations must be cheap and never fail.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// A shared reporter handle.
pub type SharedReporter = Arc<dyn Reporter>;

/// Convenience methods on any reporter handle.
pub trait ReporterExt {
    fn step(&self, id: &str, title: &str) -> Step;
    fn warn(&self, message: impl Into<String>, hint: Option<String>);
    fn info(&self, message: impl Into<String>);
}

impl ReporterExt for SharedReporter {
    fn step(&self, id: &str, title: &str) -> Step {
        Step::start(self.clone(), id, title)
    }
    fn warn(&self, message: impl Into<String>, hint: Option<String>) {
        self.report(Event::Warning {
            message: message.into(),
            hint,
        });
    }
    fn info(&self, message: impl Into<String>) {
        self.report(Event::Info {
            message: message.into(),
        });
    }
}

/// A running step. Reports failure on drop unless finished, so a step that
/// returns early with `?` (or is cancelled) never shows as done.
pub struct Step {
    reporter: SharedReporter,
    id: String,
    title: String,
    started: Instant,
    /// When the step reported its first count, and that count (for the rate).
    counting: Mutex<Option<(Instant, u64)>>,
    ended: bool,
}

impl Step {
    pub fn start(reporter: SharedReporter, id: &str, title: &str) -> Step {
        reporter.report(Event::StepStarted {
            step: id.into(),
            title: title.into(),
        });
        Step {
            reporter,
            id: id.into(),
            title: title.into(),
            started: Instant::now(),
            counting: Mutex::new(None),
            ended: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn reporter(&self) -> &SharedReporter {
        &self.reporter
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn progress(&self, message: impl Into<String>) {
        self.reporter.report(Event::StepProgress {
            step: self.id.clone(),
            message: message.into(),
            current: None,
            total: None,
            rate: None,
            elapsed_ms: self.elapsed_ms(),
        });
    }

    /// Progress with a count of bytes (e.g. pulled), shown as a bar with the rate on a terminal.
    pub fn progress_count(&self, message: impl Into<String>, current: u64, total: Option<u64>) {
        let rate = {
            let mut counting = self.counting.lock().unwrap_or_else(|e| e.into_inner());
            let (since, first) = *counting.get_or_insert((Instant::now(), current));
            let secs = since.elapsed().as_secs_f64();
            (secs >= 0.5).then(|| (current.saturating_sub(first) as f64 / secs) as u64)
        };
        self.reporter.report(Event::StepProgress {
            step: self.id.clone(),
            message: message.into(),
            current: Some(current),
            total,
            rate,
            elapsed_ms: self.elapsed_ms(),
        });
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn finish(mut self, outcome: Outcome, detail: impl Into<Option<String>>) {
        self.ended = true;
        self.reporter.report(Event::StepFinished {
            step: self.id.clone(),
            title: self.title.clone(),
            outcome,
            detail: detail.into(),
            elapsed_ms: self.elapsed_ms(),
        });
    }

    /// Ends the step as failed: a typed error gives its first cause and its hints.
    pub fn fail(mut self, failure: impl Into<Failure>) {
        self.ended = true;
        self.send_failed(failure.into());
    }

    fn send_failed(&self, failure: Failure) {
        self.reporter.report(Event::StepFailed {
            step: self.id.clone(),
            title: self.title.clone(),
            error: failure.error,
            hints: failure.hints,
            elapsed_ms: self.elapsed_ms(),
        });
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.ended {
            self.send_failed(Failure::from("did not finish"));
        }
    }
}

/// Keeps every event; for tests, and for commands that summarise at the end.
#[derive(Default)]
pub struct RecordingReporter {
    events: Mutex<Vec<(Instant, Event)>>,
}

impl RecordingReporter {
    pub fn new() -> Arc<RecordingReporter> {
        Arc::new(RecordingReporter::default())
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn timed_events(&self) -> Vec<(Instant, Event)> {
        self.events.lock().unwrap().clone()
    }
}

impl Reporter for RecordingReporter {
    fn report(&self, event: Event) {
        self.events.lock().unwrap().push((Instant::now(), event));
    }
}

/// Reports nothing.
pub struct NullReporter;

impl Reporter for NullReporter {
    fn report(&self, _: Event) {}
}

/// A duration for people, the one format kindling uses everywhere: "350ms", "1.2s", "20s",
/// "2m05s", "5m", "1h02m".
pub fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let s = ms / 1000;
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => match (ms / 100) % 10 {
            0 => format!("{s}s"),
            tenth => format!("{s}.{tenth}s"),
        },
        60_000..3_600_000 => match s % 60 {
            0 => format!("{}m", s / 60),
            rest => format!("{}m{rest:02}s", s / 60),
        },
        _ => match (s / 60) % 60 {
            0 => format!("{}h", s / 3600),
            rest => format!("{}h{rest:02}m", s / 3600),
        },
    }
}

/// [`format_duration`] of milliseconds (events carry elapsed times in ms).
pub fn format_elapsed(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_the_same_everywhere() {
        let f = |ms| format_elapsed(ms);
        assert_eq!(f(350), "350ms");
        assert_eq!(f(1_234), "1.2s");
        assert_eq!(f(20_000), "20s");
        assert_eq!(f(20_049), "20s");
        assert_eq!(f(125_000), "2m05s");
        assert_eq!(f(300_000), "5m");
        assert_eq!(f(3_600_000), "1h");
        assert_eq!(f(3_720_000), "1h02m");
        assert!(format_duration(Duration::MAX).contains('h'));
    }
}
