//! The command line: flags, dispatch, output. The only code that prints.

// `print!` and `println!` in this module and every module below it write through
// `output::write`: a closed pipe ends the command quietly instead of panicking, for every
// command at once (including commands added later). Defined before the `mod` lines, which
// is what makes them visible in those modules.
macro_rules! print {
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::cli::output::write(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod bundle;
mod cluster;
mod commands;
mod exit;
mod hosts;
mod lint;
mod output;
mod platform;
mod registry;
mod release;
mod render;
mod rollout;
mod scenario;
mod status;
mod tls;

pub use args::{Cli, Command, OutputFormat};
pub use exit::main;

use crate::config::{ConfigSource, Overrides, Settings};
use crate::env::Env;
use crate::report::{HumanReporter, JsonReporter, PlainReporter, ReporterExt, SharedReporter};
use crate::style::Paint;
use std::io::IsTerminal;
use std::sync::Arc;

/// What every command gets: the merged settings, the environment, and how to report.
pub struct Context {
    pub env: Env,
    pub output: OutputFormat,
    /// Colour for what the command prints on stdout (the one styling layer decides).
    pub paint: Paint,
    pub reporter: SharedReporter,
    args: args::GlobalArgs,
}

impl Context {
    /// `streams`: the command reports steps, so with `--output json` its stdout is a stream of
    /// events that ends with a `finished` event.
    fn new(global: args::GlobalArgs, env: Env, streams: bool) -> Context {
        let reporter: SharedReporter = match global.output {
            OutputFormat::Json => Arc::new(JsonReporter::new(streams)),
            _ if global.verbose > 0 || !std::io::stderr().is_terminal() => {
                Arc::new(PlainReporter::new(global.quiet, Paint::stderr()))
            }
            _ => Arc::new(HumanReporter::new(Paint::stderr(), global.quiet)),
        };
        Context {
            env,
            output: global.output,
            paint: Paint::stdout(),
            reporter,
            args: global,
        }
    }

    /// Loads the configuration (flags > env > file > built-in) and reports its warnings.
    pub fn settings(&self) -> crate::Result<Settings> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let source = ConfigSource::resolve(self.args.config.clone(), &cwd);
        let overrides = Overrides {
            sets: self.args.set.clone(),
        };
        let settings = Settings::load(&source, &self.env, &overrides)?;
        for issue in crate::config::unknown_env_vars(&self.env) {
            self.reporter.warn(issue.message, issue.hint);
        }
        for (message, hint) in settings.config.warnings() {
            self.reporter.warn(message, Some(hint));
        }
        Ok(settings)
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

fn init_logging(verbose: u8, env: &Env) {
    // Without -v only kindling's own warnings: libraries log what kindling reports itself
    // (kube-client logs every refused connection as an ERROR while kindling retries it).
    let default = match verbose {
        0 => "kindling=warn",
        1 => "kindling=info",
        2 => "kindling=debug,info",
        _ => "trace",
    };
    let filter = env.get("RUST_LOG").unwrap_or(default);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(Paint::stderr().is_on())
        .with_target(verbose > 1)
        .try_init();
}

/// A tokio runtime, made only by commands that need one (keeps `--help` fast).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime starts")
}
