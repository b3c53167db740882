use super::plain::line;
use super::{Event, Reporter, format_duration};
use crate::style::{self, Paint};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// On a terminal: one spinner line per running step with its elapsed time, in the order the
/// steps started (several at once when steps run in parallel); a download shows a bar with
/// bytes and rate. A step that ends is replaced by the plain reporter's line for it (✓, - when
/// skipped, ✗), printed above the spinners in the order the steps ended. The run's `finished`
/// event (also after Ctrl-C) clears every spinner left: nothing stale stays on the screen.
pub struct HumanReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    paint: Paint,
    quiet: bool,
    closed: Mutex<bool>,
}

/// `{elapsed}` in kindling's one duration format.
fn elapsed(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{}", format_duration(state.elapsed()));
}

impl HumanReporter {
    pub fn new(paint: Paint, quiet: bool) -> HumanReporter {
        HumanReporter::with_target(ProgressDrawTarget::stderr(), paint, quiet)
    }

    pub fn with_target(target: ProgressDrawTarget, paint: Paint, quiet: bool) -> HumanReporter {
        HumanReporter {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            paint,
            quiet,
            closed: Mutex::new(false),
        }
    }

    fn style(&self, template: &str) -> ProgressStyle {
        let dim = |key: &str| {
            if self.paint.is_on() {
                format!("{{{key}:.dim}}")
            } else {
                format!("{{{key}}}")
            }
        };
        ProgressStyle::with_template(&template.replace("{elapsed}", &dim("elapsed")))
            .expect("a valid template")
            .with_key("elapsed", elapsed)
            .progress_chars("=> ")
    }

    fn print(&self, text: String) {
        let _ = self.multi.println(text);
    }

    fn end(&self, bars: &mut HashMap<String, ProgressBar>, step: &str) {
        if let Some(bar) = bars.remove(step) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    /// How many spinners are on the screen.
    pub fn running(&self) -> usize {
        self.bars.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Reporter for HumanReporter {
    fn report(&self, event: Event) {
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        if *closed {
            return;
        }
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        match &event {
            Event::StepStarted { step, title } => {
                if self.quiet {
                    return;
                }
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(self.style("{spinner} {prefix} {elapsed} {wide_msg}"));
                bar.set_prefix(title.clone());
                bar.enable_steady_tick(Duration::from_millis(100));
                bars.insert(step.clone(), bar);
                return;
            }
            Event::StepProgress {
                step,
                message,
                current,
                total,
                ..
            } => {
                if let Some(bar) = bars.get(step) {
                    if let (Some(c), Some(t)) = (current, total) {
                        if bar.length() != Some(*t) {
                            bar.set_style(self.style(
                                "{spinner} {prefix} {elapsed} [{bar:20}] {bytes}/{total_bytes} {binary_bytes_per_sec} {wide_msg}",
                            ));
                            bar.set_length(*t);
                        }
                        bar.set_position(*c);
                    }
                    bar.set_message(self.paint.paint(style::DIM, message));
                }
                return;
            }
            Event::StepFinished { step, .. } | Event::StepFailed { step, .. } => {
                self.end(&mut bars, step);
                if self.quiet && matches!(event, Event::StepFinished { .. }) {
                    return;
                }
            }
            Event::Finished { .. } => {
                for step in bars.keys().cloned().collect::<Vec<_>>() {
                    self.end(&mut bars, &step);
                }
                let _ = self.multi.clear();
                *closed = true;
            }
            Event::Info { .. } if self.quiet => return,
            Event::Warning { .. } | Event::Info { .. } => {}
        }
        if let Some(text) = line(&event, self.paint) {
            self.print(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::Arc;

    /// A terminal that records what is written to it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl Screen {
        fn written(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
        fn log(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.log(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.log(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn started(step: &str) -> Event {
        Event::StepStarted {
            step: step.into(),
            title: step.into(),
        }
    }

    #[test]
    fn the_end_of_a_run_clears_every_spinner_and_nothing_is_drawn_after_it() {
        let screen = Screen::default();
        let reporter = HumanReporter::with_target(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            Paint::PLAIN,
            false,
        );
        reporter.report(started("argocd"));
        reporter.report(started("registry"));
        assert_eq!(reporter.running(), 2);
        // Ctrl-C: the CLI ends the run while both steps still run.
        reporter.report(Event::Finished {
            command: "up".into(),
            ok: false,
            exit_code: 130,
            elapsed_ms: 61_000,
            error: None,
        });
        assert_eq!(reporter.running(), 0);
        let written = screen.written();
        // The cancelled steps drop afterwards: nothing more reaches the screen.
        reporter.report(Event::StepFailed {
            step: "argocd".into(),
            title: "Argo CD".into(),
            error: "did not finish".into(),
            hints: Vec::new(),
            elapsed_ms: 1,
        });
        reporter.report(started("late"));
        assert_eq!(reporter.running(), 0);
        assert_eq!(screen.written(), written);
    }

    #[test]
    fn the_human_reporter_prints_the_plain_line_of_a_finished_step() {
        let screen = Screen::default();
        let reporter = HumanReporter::with_target(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            Paint::PLAIN,
            false,
        );
        reporter.report(started("tls-ca"));
        let finished = Event::StepFinished {
            step: "tls-ca".into(),
            title: "Local CA".into(),
            outcome: crate::report::Outcome::Created,
            detail: None,
            elapsed_ms: 1_500,
        };
        let expected = line(&finished, Paint::PLAIN).unwrap();
        reporter.report(finished);
        assert_eq!(expected, "✓ Local CA (created) 1.5s");
        assert!(
            screen.written().iter().any(|l| l.contains(&expected)),
            "{:?}",
            screen.written()
        );
    }
}
