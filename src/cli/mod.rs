//! The command line: flags, dispatch, output. The only code that prints.

mod args;
mod bundle;
mod cluster;
mod commands;
mod exit;
mod hosts;
mod lint;
mod platform;
mod registry;
mod release;
mod rollout;
mod scenario;
mod status;
mod tls;

pub use args::{Cli, Command, OutputFormat};
pub use exit::main;

use crate::config::{ConfigSource, Overrides, Settings};
use crate::env::Env;
use crate::report::{HumanReporter, JsonReporter, PlainReporter, ReporterExt, SharedReporter};
use std::io::IsTerminal;
use std::sync::Arc;

/// What every command gets: the merged settings, the environment, and how to report.
pub struct Context {
    pub env: Env,
    pub output: OutputFormat,
    pub color: bool,
    pub reporter: SharedReporter,
    args: args::GlobalArgs,
}

impl Context {
    fn new(global: args::GlobalArgs, env: Env) -> Context {
        let color =
            !global.no_color && env.get("NO_COLOR").is_none() && std::io::stderr().is_terminal();
        let reporter: SharedReporter = match global.output {
            OutputFormat::Json => Arc::new(JsonReporter),
            _ if global.verbose > 0 || !std::io::stderr().is_terminal() => {
                Arc::new(PlainReporter {
                    quiet: global.quiet,
                })
            }
            _ => Arc::new(HumanReporter::new(color, global.quiet)),
        };
        Context {
            env,
            output: global.output,
            color,
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
    let default = match verbose {
        0 => "warn",
        1 => "kindling=info",
        2 => "kindling=debug,info",
        _ => "trace",
    };
    let filter = env.get("RUST_LOG").unwrap_or(default);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
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
