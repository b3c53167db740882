use super::{Event, Reporter};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--output json`: one JSON object per event on stdout. A run that reports steps ends with
/// its `finished` event; nothing is written after it.
pub struct JsonReporter {
    /// Whether this command's stdout is an event stream (else it prints one document, and
    /// the `finished` event is left out).
    streams: bool,
    closed: AtomicBool,
}

impl JsonReporter {
    pub fn new(streams: bool) -> JsonReporter {
        JsonReporter {
            streams,
            closed: AtomicBool::new(false),
        }
    }
}

impl Reporter for JsonReporter {
    fn report(&self, event: Event) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if matches!(event, Event::Finished { .. }) {
            self.closed.store(true, Ordering::SeqCst);
            if !self.streams {
                return;
            }
        }
        let line = serde_json::to_string(&event).expect("events serialize");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}
