//! The human summary: per scenario a header and one line per check, totals, then what
//! explains each failed scenario.

use super::escape::terminal;
use super::format::{duration, verdict};
use crate::scenario::model::{RunReport, ScenarioReport};
use std::fmt::Write;

/// The summary printed at the end of `kindling scenario` / `kindling smoke` (`--output human`).
/// `color` adds ANSI colours (the CLI decides: terminal, `--no-color`, `NO_COLOR`).
pub fn table(report: &RunReport, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    for scenario in &report.scenarios {
        scenario_block(&mut out, scenario, &paint);
        out.push('\n');
    }

    let checks = report.checks().count();
    let failed = report.checks().filter(|c| !c.passed).count();
    let scenarios_failed = report.scenarios.iter().filter(|s| !s.passed()).count();
    let overall = verdict(report.passed());
    let _ = writeln!(
        out,
        "{} {} scenario{} ({} failed), {} check{}: {} passed, {} failed — profile {}, {}",
        paint.verdict(report.passed(), overall),
        report.scenarios.len(),
        plural(report.scenarios.len()),
        scenarios_failed,
        checks,
        plural(checks),
        checks - failed,
        failed,
        terminal(&report.profile, false),
        duration(report.duration_ms),
    );

    // Diagnostics after the table, so the verdicts stay together on one screen.
    for scenario in report.scenarios.iter().filter(|s| !s.passed()) {
        if let Some(diagnostics) = scenario
            .diagnostics
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            let _ = writeln!(
                out,
                "\n{}",
                paint.bold(&format!(
                    "── why {} failed ──",
                    terminal(&scenario.name, false)
                ))
            );
            out.push_str(terminal(diagnostics, true).trim_end());
            out.push('\n');
        }
    }
    out
}

fn scenario_block(out: &mut String, s: &ScenarioReport, paint: &Paint) {
    let _ = writeln!(
        out,
        "{}  {}  {} → {}  {}  {}",
        paint.bold(&terminal(&s.name, false)),
        terminal(&s.environment, false),
        terminal(&s.from_version, false),
        terminal(&s.to_version, false),
        duration(s.duration_ms),
        paint.verdict(s.passed(), verdict(s.passed())),
    );
    if s.checks.is_empty() {
        let _ = writeln!(out, "  {} no check was decided", paint.red("✗"));
        return;
    }
    let names: Vec<String> = s.checks.iter().map(|c| terminal(&c.name, false)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (check, name) in s.checks.iter().zip(&names) {
        let mark = if check.passed {
            paint.green("✓")
        } else {
            paint.red("✗")
        };
        let pad = " ".repeat(width - name.chars().count());
        let detail = terminal(&check.detail, false);
        let line = format!("  {mark} {name}{pad}  {}", paint.dim(&detail));
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.0 && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.code("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.code("2", t)
    }
    fn green(&self, t: &str) -> String {
        self.code("32", t)
    }
    fn red(&self, t: &str) -> String {
        self.code("31", t)
    }
    fn verdict(&self, passed: bool, t: &str) -> String {
        self.code(if passed { "1;32" } else { "1;31" }, t)
    }
}
