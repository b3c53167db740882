use super::{Event, Reporter};
use std::io::Write;

/// `--output json`: one JSON object per event on stdout.
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn report(&self, event: Event) {
        let line = serde_json::to_string(&event).expect("events serialize");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}
