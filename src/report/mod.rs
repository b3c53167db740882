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

/// One thing that happened, as reporters receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: String,
        title: String,
    },
    StepProgress {
        step: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
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
        error: String,
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
            ended: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn reporter(&self) -> &SharedReporter {
        &self.reporter
    }

    pub fn progress(&self, message: impl Into<String>) {
        self.reporter.report(Event::StepProgress {
            step: self.id.clone(),
            message: message.into(),
            current: None,
            total: None,
        });
    }

    /// Progress with a count (e.g. bytes pulled), shown as a bar on a terminal.
    pub fn progress_count(&self, message: impl Into<String>, current: u64, total: Option<u64>) {
        self.reporter.report(Event::StepProgress {
            step: self.id.clone(),
            message: message.into(),
            current: Some(current),
            total,
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
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        });
    }

    pub fn fail(mut self, error: impl std::fmt::Display) {
        self.ended = true;
        self.send_failed(error.to_string());
    }

    fn send_failed(&self, error: String) {
        self.reporter.report(Event::StepFailed {
            step: self.id.clone(),
            title: self.title.clone(),
            error,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        });
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.ended {
            self.send_failed("did not finish".into());
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

/// "1.2s", "350ms", "2m05s".
pub fn format_elapsed(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}
