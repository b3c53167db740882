//! The human summary: per scenario a header and one line per check, totals, then what
//! explains each failed scenario.

use super::escape::terminal;
use super::format::verdict;
use crate::report::format_elapsed as duration;
use crate::scenario::model::{RunReport, ScenarioReport};
use crate::style::{self, Paint};
use std::fmt::Write;

/// The summary printed at the end of `kindling scenario` / `kindling smoke` (`--output human`).
/// `paint` adds colours (the CLI decides: terminal, `--no-color`, `NO_COLOR`).
pub fn table(report: &RunReport, paint: Paint) -> String {
    let mut out = String::new();
    for scenario in &report.scenarios {
        scenario_block(&mut out, scenario, paint);
        out.push('\n');
    }

    let checks = report.checks().count();
    let failed = report.checks().filter(|c| !c.passed).count();
    let scenarios_failed = report.scenarios.iter().filter(|s| !s.passed()).count();
    let overall = verdict(report.passed());
    let _ = writeln!(
        out,
        "{} {} scenario{} ({} failed), {} check{}: {} passed, {} failed — profile {}, {}",
        paint.paint(verdict_style(report.passed()), overall),
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
                paint.paint(
                    style::BOLD,
                    &format!("── why {} failed ──", terminal(&scenario.name, false))
                )
            );
            out.push_str(terminal(diagnostics, true).trim_end());
            out.push('\n');
        }
    }
    out
}

fn scenario_block(out: &mut String, s: &ScenarioReport, paint: Paint) {
    let _ = writeln!(
        out,
        "{}  {}  {} → {}  {}  {}",
        paint.paint(style::BOLD, &terminal(&s.name, false)),
        terminal(&s.environment, false),
        terminal(&s.from_version, false),
        terminal(&s.to_version, false),
        duration(s.duration_ms),
        paint.paint(verdict_style(s.passed()), verdict(s.passed())),
    );
    if s.checks.is_empty() {
        let _ = writeln!(
            out,
            "  {} no check was decided",
            paint.paint(style::BAD, "✗")
        );
        return;
    }
    let names: Vec<String> = s.checks.iter().map(|c| terminal(&c.name, false)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (check, name) in s.checks.iter().zip(&names) {
        let mark = if check.passed {
            paint.paint(style::GOOD, "✓")
        } else {
            paint.paint(style::BAD, "✗")
        };
        let pad = " ".repeat(width - name.chars().count());
        let detail = terminal(&check.detail, false);
        let line = format!("  {mark} {name}{pad}  {}", paint.paint(style::DIM, &detail));
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn verdict_style(passed: bool) -> anstyle::Style {
    if passed {
        style::GOOD_BOLD
    } else {
        style::BAD_BOLD
    }
}
