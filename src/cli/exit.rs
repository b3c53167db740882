//! The one place that turns results into output on stderr and an exit code.

use super::args::Cli;
use super::{Context, commands, init_logging};
use crate::config::ConfigError;
use crate::env::Env;
use crate::error::{Error, ExitStatus};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::Usage as u8
            } else {
                ExitStatus::Ok as u8
            });
        }
    };
    let env = Env::from_process();
    init_logging(cli.global.verbose, &env);
    let ctx = Context::new(cli.global, env);
    match commands::run(&ctx, cli.command) {
        Ok(()) => ExitCode::from(ExitStatus::Ok as u8),
        Err(error) => {
            render(&error, ctx.color);
            ExitCode::from(error.exit_status() as u8)
        }
    }
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

fn render(error: &Error, color: bool) {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut err = std::io::stderr().lock();
    let label = paint("1;31", "error:");
    let hint = paint("1;36", "hint:");
    match error {
        Error::Config(ConfigError { issues }) => {
            for issue in issues {
                let _ = writeln!(err, "{label} {}: {}", issue.origin, issue.message);
                if let Some(h) = &issue.hint {
                    let _ = writeln!(err, "  {hint} {h}");
                }
            }
        }
        other => {
            let _ = writeln!(err, "{label} {other}");
            for h in other.hints() {
                let _ = writeln!(err, "  {hint} {h}");
            }
        }
    }
}
