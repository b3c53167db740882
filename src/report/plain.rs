use super::{Event, Outcome, Reporter, format_elapsed};
use crate::style::{self, Paint};
use indicatif::HumanBytes;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Not a terminal (or `-v`): plain timestamped lines on stderr, one per event, in the order
/// the events happen. A download prints a line per tenth of its size, not per chunk.
pub struct PlainReporter {
    quiet: bool,
    paint: Paint,
    /// Per step, the last tenth (or 10 MiB, without a total) a count line was printed for.
    counted: Mutex<HashMap<String, u64>>,
    /// The run has ended (its `finished` event): later events are not shown.
    closed: AtomicBool,
}

impl PlainReporter {
    pub fn new(quiet: bool, paint: Paint) -> PlainReporter {
        PlainReporter {
            quiet,
            paint,
            counted: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Whether a count line is worth a line: the first, then once per tenth of the total.
    fn count_is_news(&self, step: &str, current: u64, total: Option<u64>) -> bool {
        let mark = match total {
            Some(t) if t > 0 => current.saturating_mul(10) / t,
            _ => current / (10 << 20),
        };
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        let news = counted.get(step) != Some(&mark);
        counted.insert(step.to_string(), mark);
        news
    }
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[hour]:[minute]:[second]");
    now.format(&format).unwrap_or_default()
}

/// "12.3 MiB of 45.6 MiB at 3.1 MiB/s": a count in bytes, for people.
fn bytes(current: u64, total: Option<u64>, rate: Option<u64>) -> String {
    let mut text = HumanBytes(current).to_string();
    if let Some(t) = total {
        text.push_str(&format!(" of {}", HumanBytes(t)));
    }
    if let Some(r) = rate {
        text.push_str(&format!(" at {}/s", HumanBytes(r)));
    }
    text
}

/// The line a plain or human reporter shows for an event (None: nothing to show). The human
/// reporter prints these too, above its spinners, for everything but running steps.
pub(super) fn line(event: &Event, paint: Paint) -> Option<String> {
    let time = |ms: u64| paint.paint(style::DIM, &format_elapsed(ms));
    Some(match event {
        Event::StepStarted { title, .. } => format!("  {title} ..."),
        Event::StepProgress {
            message,
            current: Some(current),
            total,
            rate,
            elapsed_ms,
            ..
        } => format!(
            "    {message}: {} {}",
            bytes(*current, *total, *rate),
            time(*elapsed_ms)
        ),
        Event::StepProgress {
            message,
            elapsed_ms,
            ..
        } => format!("    {message} {}", time(*elapsed_ms)),
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
            let mark_style = if *outcome == Outcome::Skipped {
                style::DIM
            } else {
                style::GOOD
            };
            format!(
                "{} {title} ({}{detail}) {}",
                paint.paint(mark_style, outcome.mark()),
                outcome.word(),
                time(*elapsed_ms)
            )
        }
        Event::StepFailed {
            title,
            error,
            elapsed_ms,
            ..
        } => format!(
            "{} {title}: {error} {}",
            paint.paint(style::BAD, "✗"),
            time(*elapsed_ms)
        ),
        Event::Warning { message, hint } => {
            let warning = format!("{} {message}", paint.paint(style::WARNING, "warning:"));
            match hint {
                Some(h) => format!("{warning}\n  {} {h}", paint.paint(style::HINT, "hint:")),
                None => warning,
            }
        }
        Event::Info { message } => message.clone(),
        // The CLI says how the run ended, after the reporters have closed.
        Event::Finished { .. } => return None,
    })
}

impl Reporter for PlainReporter {
    fn report(&self, event: Event) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let finished = matches!(event, Event::Finished { .. });
        if finished {
            self.closed.store(true, Ordering::SeqCst);
        }
        if self.quiet && !matches!(event, Event::Warning { .. } | Event::StepFailed { .. }) {
            return;
        }
        if let Event::StepProgress {
            step,
            current: Some(current),
            total,
            ..
        } = &event
            && !self.count_is_news(step, *current, *total)
        {
            return;
        }
        if let Some(text) = line(&event, self.paint) {
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

    fn finished(outcome: Outcome) -> String {
        line(
            &Event::StepFinished {
                step: "demo-apps".into(),
                title: "Demo environments".into(),
                outcome,
                detail: Some("why".into()),
                elapsed_ms: 0,
            },
            Paint::PLAIN,
        )
        .unwrap()
    }

    #[test]
    fn a_skipped_step_is_not_marked_done() {
        assert!(finished(Outcome::Done).starts_with("✓ Demo environments (done: why)"));
        assert!(finished(Outcome::Skipped).starts_with("- Demo environments (skipped: why)"));
    }

    #[test]
    fn a_running_step_shows_its_elapsed_time_and_a_download_its_bytes_and_rate() {
        let progress = |current, total, rate| {
            line(
                &Event::StepProgress {
                    step: "cluster.kind".into(),
                    message: "downloading kind v0.31.0".into(),
                    current,
                    total,
                    rate,
                    elapsed_ms: 12_300,
                },
                Paint::PLAIN,
            )
            .unwrap()
        };
        assert_eq!(
            progress(None, None, None),
            "    downloading kind v0.31.0 12.3s"
        );
        assert_eq!(
            progress(Some(3 << 20), Some(10 << 20), Some(1 << 20)),
            "    downloading kind v0.31.0: 3.00 MiB of 10.00 MiB at 1.00 MiB/s 12.3s"
        );
    }

    #[test]
    fn a_download_prints_a_line_per_tenth_not_per_chunk() {
        let reporter = PlainReporter::new(false, Paint::PLAIN);
        let news: Vec<bool> = (0..=100u64)
            .map(|c| reporter.count_is_news("s", c * 1000, Some(100_000)))
            .collect();
        assert_eq!(news.iter().filter(|n| **n).count(), 11);
    }
}
