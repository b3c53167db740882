//! The one place that turns results into output on stderr and an exit code.

use super::args::Cli;
use super::{Context, commands, init_logging};
use crate::env::Env;
use crate::error::{Error, ErrorReport, ExitStatus};
use crate::report::Event;
use crate::style::{self, Paint};
use clap::{CommandFactory, FromArgMatches};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// The commands that report steps: with `--output json` their stdout is a stream of events
/// ending with `finished`. The others print one document (and their errors on stderr).
const STREAMING: &[&str] = &[
    "up",
    "down",
    "reset",
    "cluster up",
    "cluster down",
    "registry up",
    "registry down",
    "tls ca",
    "tls trust",
    "tls untrust",
    "hosts apply",
    "hosts remove",
    "release",
];

pub fn main() -> ExitCode {
    let started = Instant::now();
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::Usage as u8
            } else {
                ExitStatus::Ok as u8
            });
        }
    };
    let (command, dry_run) = command_name(&matches);
    let streams = STREAMING.contains(&command.as_str()) && !dry_run;
    let env = Env::from_process();
    // Decided once, before anything is written: every stream asks the styling layer.
    style::disable_colour(cli.global.no_color || env.get("NO_COLOR").is_some());
    init_logging(cli.global.verbose, &env);
    let ctx = Context::new(cli.global, env, streams);
    let result = commands::run(&ctx, cli.command);
    let report = result.as_ref().err().map(Error::report);
    let exit_code = report
        .as_ref()
        .map_or(ExitStatus::Ok as u8, |r| r.exit_code);
    // Ends the run for every reporter: spinners are cleared (also after Ctrl-C), a failed run
    // says how long it took, and a JSON event stream gets its last line.
    ctx.reporter.report(Event::Finished {
        command: command.clone(),
        ok: report.is_none(),
        exit_code,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: report.clone().map(Box::new),
    });
    if let Some(report) = report {
        let text = if ctx.json() {
            format!(
                "{}\n",
                serde_json::to_string(&report).expect("errors serialize")
            )
        } else if streams {
            // A run's summary line, then why it failed.
            let paint = Paint::stderr();
            let ended = if report.exit_code == ExitStatus::Interrupted as u8 {
                "was interrupted"
            } else {
                "failed"
            };
            format!(
                "{} kindling {command} {ended} after {}\n{}",
                paint.paint(style::BAD, "✗"),
                crate::report::format_duration(started.elapsed()),
                render(&report, paint)
            )
        } else {
            render(&report, Paint::stderr())
        };
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
    ExitCode::from(exit_code)
}

/// The subcommand as typed ("registry up"), and whether it is a dry run.
fn command_name(matches: &clap::ArgMatches) -> (String, bool) {
    let mut names = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        names.push(name.to_string());
        current = sub;
    }
    let dry_run = matches!(current.try_get_one::<bool>("dry_run"), Ok(Some(true)));
    (names.join(" "), dry_run)
}

/// stdout could not be written. A closed pipe (the reader went away, as `head` does) ends
/// the process quietly with 128 + SIGPIPE, what shells report for a program killed by it;
/// anything else is an error.
pub(super) fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(ExitStatus::OutputClosed as i32);
    }
    let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
    std::process::exit(ExitStatus::Failure as i32);
}

/// An error as uv writes one: `error:` and the message, a `caused by:` line per cause (a
/// cause's further lines indented under it), then the `hint:` lines, each naming the step
/// it is about. Several failures (steps, configuration problems) are written one after the
/// other, under a line that counts them.
pub(super) fn render(report: &ErrorReport, paint: Paint) -> String {
    let mut out = String::new();
    if report.problems.is_empty() {
        write_chain(&mut out, report, paint, "");
        write_hints(&mut out, report, paint);
        return out;
    }
    let configuration = report.area.as_deref() == Some("configuration");
    if !configuration {
        out.push_str(&format!(
            "{} {}\n",
            paint.paint(style::ERROR, "error:"),
            report.message
        ));
    }
    for problem in &report.problems {
        if configuration {
            write_chain(&mut out, problem, paint, "");
            write_hints(&mut out, problem, paint);
        } else {
            write_chain(&mut out, problem, paint, "  ");
        }
    }
    if !configuration {
        for problem in &report.problems {
            write_hints(&mut out, problem, paint);
        }
    }
    out
}

fn write_chain(out: &mut String, report: &ErrorReport, paint: Paint, indent: &str) {
    let label = if indent.is_empty() {
        format!("{} ", paint.paint(style::ERROR, "error:"))
    } else {
        match &report.step {
            Some(step) => format!("{}: ", paint.paint(style::BOLD, step)),
            None => String::new(),
        }
    };
    write_lines(out, &format!("{indent}{label}"), &report.message, indent);
    let cause = paint.paint(style::CAUSE, "caused by:");
    for c in &report.causes {
        write_lines(
            out,
            &format!("{indent}  {cause} "),
            c,
            &format!("{indent}             "),
        );
    }
}

fn write_hints(out: &mut String, report: &ErrorReport, paint: Paint) {
    let hint = match &report.step {
        Some(step) => format!("hint ({step}):"),
        None => "hint:".to_string(),
    };
    let hint = paint.paint(style::HINT, &hint);
    for h in &report.hints {
        out.push_str(&format!("  {hint} {h}\n"));
    }
}

/// The first line after `first`, the others after `rest` (blank lines stay blank).
fn write_lines(out: &mut String, first: &str, text: &str, rest: &str) {
    for (i, line) in text.trim_end().lines().enumerate() {
        let line = line.trim_end();
        match (i, line.is_empty()) {
            (0, _) => out.push_str(&format!("{first}{line}\n")),
            (_, true) => out.push('\n'),
            _ => out.push_str(&format!("{rest}{line}\n")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(message: &str, causes: &[&str], hints: &[&str]) -> ErrorReport {
        ErrorReport {
            message: message.into(),
            causes: causes.iter().map(|c| c.to_string()).collect(),
            hints: hints.iter().map(|h| h.to_string()).collect(),
            exit_code: 1,
            ..ErrorReport::default()
        }
    }

    #[test]
    fn causes_follow_the_message_one_per_line_and_hints_name_the_step() {
        let mut failed = report(
            "cannot download kind v0.31.0 from https://kind.sigs.k8s.io/dl/v0.31.0/kind-linux-amd64",
            &[
                "timed out after 20s",
                "error sending request\noperation timed out",
            ],
            &["check the network"],
        );
        failed.step = Some("cluster".into());
        assert_eq!(
            render(&failed, Paint::PLAIN),
            "error: cannot download kind v0.31.0 from https://kind.sigs.k8s.io/dl/v0.31.0/kind-linux-amd64
  caused by: timed out after 20s
  caused by: error sending request
             operation timed out
  hint (cluster): check the network
"
        );
    }

    #[test]
    fn several_failed_steps_are_listed_under_one_error_line() {
        let mut a = report("boom", &[], &[]);
        a.step = Some("a".into());
        let mut b = report("bang", &["the cause"], &["do x"]);
        b.step = Some("b".into());
        let both = ErrorReport {
            message: "2 steps failed: a, b".into(),
            problems: vec![a, b],
            exit_code: 1,
            ..ErrorReport::default()
        };
        assert_eq!(
            render(&both, Paint::PLAIN),
            "error: 2 steps failed: a, b
  a: boom
  b: bang
    caused by: the cause
  hint (b): do x
"
        );
    }

    #[test]
    fn the_command_path_is_what_the_user_typed() {
        let matches = Cli::command()
            .try_get_matches_from(["kindling", "--output", "json", "registry", "up"])
            .unwrap();
        assert_eq!(command_name(&matches), ("registry up".to_string(), false));
        let matches = Cli::command()
            .try_get_matches_from(["kindling", "up", "--dry-run"])
            .unwrap();
        assert_eq!(command_name(&matches), ("up".to_string(), true));
    }
}
