//! Subcommands: each loads what it needs, calls the core, and prints the result.

use super::args::{Cli, Command, ConfigCommand};
use super::{Context, runtime};
use crate::doctor::{self, Status};
use crate::error::{Error, Result};
use crate::style;
use clap::CommandFactory;

pub(super) fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Up(args) => super::platform::up(ctx, args),
        Command::Down(args) => super::platform::down(ctx, args),
        Command::Reset(args) => super::platform::reset(ctx, args),
        Command::Doctor => doctor(ctx),
        Command::Config(ConfigCommand::Check) => config_check(ctx),
        Command::Config(ConfigCommand::Show) => config_show(ctx),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a write error.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kindling", &mut script);
            print!("{}", String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Version => version(ctx),
        Command::Cluster(command) => super::cluster::run(ctx, command),
        Command::Registry(command) => super::registry::run(ctx, command),
        Command::Tls(command) => super::tls::run(ctx, command),
        Command::Hosts(command) => super::hosts::run(ctx, command),
        Command::Rollout(command) => super::rollout::run(ctx, command),
        Command::Lint(args) => super::lint::run(ctx, args),
        Command::Scenario(args) => super::scenario::scenario(ctx, args),
        Command::Smoke(args) => super::scenario::smoke(ctx, args),
        Command::Status(args) => super::status::run(ctx, args),
        Command::Release(args) => super::release::run(ctx, args),
        Command::Render(args) => super::render::run(ctx, args),
        Command::DemoContext { dir } => demo_context(&dir),
        Command::Bundle(command) => super::bundle::run(ctx, command),
    }
}

/// What `up` builds the demo image from when neither demo.binary nor demo.source_dir is set.
fn demo_context(dir: &std::path::Path) -> Result<()> {
    let not_empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if not_empty {
        return Err(Error::usage(
            format!("{} is not empty", dir.display()),
            Some("give a new or empty folder: kindling writes the context there".into()),
        ));
    }
    crate::platform::demo_context::write(dir)
        .map_err(|e| Error::context("cannot write the demo build context", e))?;
    println!(
        "{}: build it with docker build -f {}/{} --build-arg RUST_TARGET=<x86_64|aarch64>-unknown-linux-gnu {}",
        dir.display(),
        dir.display(),
        crate::platform::demo_context::DOCKERFILE_PATH,
        dir.display()
    );
    Ok(())
}

fn doctor(ctx: &Context) -> Result<()> {
    let settings = ctx.settings()?;
    let verdict = doctor::Verdict::of(runtime().block_on(doctor::run(&settings, &ctx.env)));
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict).expect("serializes")
        );
    } else {
        let results = &verdict.checks;
        let width = results.iter().map(|r| r.check.len()).max().unwrap_or(0);
        for r in results {
            let mark = match r.status {
                Status::Ok => ctx.paint.paint(style::GOOD, "✓"),
                Status::Warn => ctx.paint.paint(style::PENDING, "!"),
                Status::Fail => ctx.paint.paint(style::BAD, "✗"),
            };
            println!("{mark} {:width$}  {}", r.check, r.detail);
            if let Some(hint) = &r.hint {
                println!("  {:width$}  hint: {hint}", "");
            }
        }
        if verdict.failed == 0 {
            println!(
                "ready: {} checks passed{}",
                results.len() - verdict.warned,
                match verdict.warned {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            );
        }
    }
    if verdict.failed > 0 {
        Err(Error::Preflight {
            failed: verdict.failed,
            why: String::new(),
            hints: Vec::new(),
        })
    } else {
        Ok(())
    }
}

fn config_check(ctx: &Context) -> Result<()> {
    let settings = ctx.settings()?;
    let source = settings
        .source
        .as_ref()
        .map_or("built-in default".to_string(), |p| p.display().to_string());
    if ctx.json() {
        println!("{}", serde_json::json!({ "valid": true, "source": source }));
    } else {
        println!("✓ configuration is valid ({source})");
    }
    Ok(())
}

fn config_show(ctx: &Context) -> Result<()> {
    let settings = ctx.settings()?;
    if ctx.json() {
        let mut value = settings.config.to_redacted_json();
        value["paths"] = serde_json::json!({
            "dataDir": settings.data_dir, "cacheDir": settings.cache_dir,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("serializes")
        );
    } else {
        let source = settings
            .source
            .as_ref()
            .map_or("built-in default".to_string(), |p| p.display().to_string());
        println!("# effective configuration (source: {source}; environment and --set applied)");
        println!("# data dir: {}", settings.data_dir.display());
        println!("# cache dir: {}\n", settings.cache_dir.display());
        print!("{}", settings.config.to_redacted_toml());
    }
    Ok(())
}

fn version(ctx: &Context) -> Result<()> {
    let c = crate::config::Config::builtin();
    let version = env!("CARGO_PKG_VERSION");
    let components = [
        ("kind", c.cluster.kind_version.as_str()),
        ("argocd", c.components.argocd.as_str()),
        ("argo_rollouts", c.components.argo_rollouts.as_str()),
        ("cert_manager", c.components.cert_manager.as_str()),
        (
            "kube_prometheus_stack",
            c.components.kube_prometheus_stack.as_str(),
        ),
        ("traefik", c.components.traefik.as_str()),
        ("metrics_server", c.components.metrics_server.as_str()),
    ];
    if ctx.json() {
        let pinned: serde_json::Map<String, serde_json::Value> = components
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "version": version, "pinned": pinned })
        );
    } else {
        println!("kindling {version}");
        for (name, v) in components {
            println!("  {name:22} {v}");
        }
    }
    Ok(())
}
