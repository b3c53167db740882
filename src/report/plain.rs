use super::{Event, Reporter, format_elapsed};
use std::io::Write;

/// Not a terminal: plain timestamped lines on stderr.
pub struct PlainReporter {
    pub quiet: bool,
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[hour]:[minute]:[second]");
    now.format(&format).unwrap_or_default()
}

/// The line a plain or human reporter shows for an event (None: nothing to show).
pub(super) fn line(event: &Event) -> Option<String> {
    Some(match event {
        Event::StepStarted { title, .. } => format!("  {title} ..."),
        Event::StepProgress {
            message,
            current,
            total,
            ..
        } => match (current, total) {
            (Some(c), Some(t)) => format!("    {message} ({c}/{t})"),
            _ => format!("    {message}"),
        },
        Event::StepFinished {
            title,
            outcome,
            detail,
            elapsed_ms,
            ..
        } => {
            let detail = detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            format!(
                "{} {title} ({}{detail}) {}",
                outcome.mark(),
                outcome.word(),
                format_elapsed(*elapsed_ms)
            )
        }
        Event::StepFailed {
            title,
            error,
            elapsed_ms,
            ..
        } => {
            format!("✗ {title}: {error} {}", format_elapsed(*elapsed_ms))
        }
        Event::Warning { message, hint } => match hint {
            Some(h) => format!("warning: {message}\n  hint: {h}"),
            None => format!("warning: {message}"),
        },
        Event::Info { message } => message.clone(),
    })
}

impl Reporter for PlainReporter {
    fn report(&self, event: Event) {
        if self.quiet && !matches!(event, Event::Warning { .. } | Event::StepFailed { .. }) {
            return;
        }
        if let Some(text) = line(&event) {
            let mut err = std::io::stderr().lock();
            for l in text.lines() {
                let _ = writeln!(err, "{} {l}", timestamp());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    fn finished(outcome: Outcome) -> String {
        line(&Event::StepFinished {
            step: "demo-apps".into(),
            title: "Demo environments".into(),
            outcome,
            detail: Some("why".into()),
            elapsed_ms: 0,
        })
        .unwrap()
    }

    #[test]
    fn a_skipped_step_is_not_marked_done() {
        assert!(finished(Outcome::Done).starts_with("✓ Demo environments (done: why)"));
        assert!(finished(Outcome::Skipped).starts_with("- Demo environments (skipped: why)"));
    }
}
