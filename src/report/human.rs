use super::{Event, Outcome, Reporter, format_elapsed};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// On a terminal: one spinner line per running step (several at once when steps
/// run in parallel), replaced by ✓ (- when skipped) or ✗ with the elapsed time.
pub struct HumanReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    color: bool,
    quiet: bool,
}

impl HumanReporter {
    pub fn new(color: bool, quiet: bool) -> HumanReporter {
        HumanReporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            color,
            quiet,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn print(&self, line: String) {
        let _ = self.multi.println(line);
    }
}

impl Reporter for HumanReporter {
    fn report(&self, event: Event) {
        let mut bars = self.bars.lock().unwrap();
        match event {
            Event::StepStarted { step, title } => {
                if self.quiet {
                    return;
                }
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {wide_msg}").unwrap(),
                );
                bar.set_prefix(title);
                bar.enable_steady_tick(Duration::from_millis(100));
                bars.insert(step, bar);
            }
            Event::StepProgress {
                step,
                message,
                current,
                total,
            } => {
                if let Some(bar) = bars.get(&step) {
                    if let (Some(c), Some(t)) = (current, total) {
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{spinner} {prefix} [{bar:20}] {bytes}/{total_bytes} {wide_msg}",
                            )
                            .unwrap()
                            .progress_chars("=> "),
                        );
                        bar.set_length(t);
                        bar.set_position(c);
                    }
                    bar.set_message(self.paint("2", &message));
                }
            }
            Event::StepFinished {
                step,
                title,
                outcome,
                detail,
                elapsed_ms,
            } => {
                if let Some(bar) = bars.remove(&step) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if self.quiet {
                    return;
                }
                let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
                let time = self.paint("2", &format_elapsed(elapsed_ms));
                self.print(format!(
                    "{} {title} ({}{detail}) {time}",
                    self.paint(
                        if outcome == Outcome::Skipped {
                            "2"
                        } else {
                            "32"
                        },
                        outcome.mark()
                    ),
                    outcome.word()
                ));
            }
            Event::StepFailed {
                step,
                title,
                error,
                elapsed_ms,
            } => {
                if let Some(bar) = bars.remove(&step) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let time = self.paint("2", &format_elapsed(elapsed_ms));
                self.print(format!("{} {title}: {error} {time}", self.paint("31", "✗")));
            }
            Event::Warning { message, hint } => {
                self.print(format!("{} {message}", self.paint("33", "warning:")));
                if let Some(h) = hint {
                    self.print(format!("  {} {h}", self.paint("36", "hint:")));
                }
            }
            Event::Info { message } => {
                if !self.quiet {
                    self.print(message);
                }
            }
        }
    }
}
