//! `kindling cluster config|up|down|status`.

use super::Context;
use super::args::ClusterCommand;
use super::runtime;
use crate::cluster::{self, ClusterError};
use crate::error::Result;
use std::io::{BufRead, IsTerminal, Write};

pub(super) fn run(ctx: &Context, command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Config => config(ctx),
        ClusterCommand::Up { yes } => up(ctx, yes),
        ClusterCommand::Down { yes } => down(ctx, yes),
        ClusterCommand::Status => status(ctx),
    }
}

fn config(ctx: &Context) -> Result<()> {
    let settings = ctx.settings()?;
    print!("{}", cluster::kind_config::render(&settings.config));
    Ok(())
}

/// Runs `op`; when it stops at a cluster kindling did not create, asks on a terminal
/// (never in JSON mode or without one) and runs it again with consent.
fn with_consent<T>(
    ctx: &Context,
    yes: bool,
    op: impl Fn(bool) -> std::result::Result<T, ClusterError>,
) -> Result<T> {
    match op(yes) {
        Err(ClusterError::Foreign { name, action })
            if !ctx.json() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() =>
        {
            eprint!(
                "A kind cluster named {name:?} exists, but kindling did not create it. {} it? [y/N] ",
                capitalize(action)
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
                Ok(op(true)?)
            } else {
                Err(ClusterError::Foreign { name, action }.into())
            }
        }
        other => Ok(other?),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn up(ctx: &Context, yes: bool) -> Result<()> {
    let settings = ctx.settings()?;
    let rt = runtime();
    let handle = with_consent(ctx, yes, |yes| {
        rt.block_on(cluster::up(&settings, &ctx.env, &ctx.reporter, yes))
    })?;
    if ctx.json() {
        println!(
            "{}",
            serde_json::json!({
                "cluster": handle.name,
                "kubeconfig": handle.kubeconfig,
                "context": handle.context,
            })
        );
    } else {
        println!(
            "cluster {} is up; kubectl: KUBECONFIG={} kubectl --context {} get nodes",
            handle.name,
            handle.kubeconfig.display(),
            handle.context
        );
    }
    Ok(())
}

fn down(ctx: &Context, yes: bool) -> Result<()> {
    let settings = ctx.settings()?;
    let rt = runtime();
    with_consent(ctx, yes, |yes| {
        rt.block_on(cluster::down(&settings, &ctx.env, &ctx.reporter, yes))
    })
}

fn status(ctx: &Context) -> Result<()> {
    let settings = ctx.settings()?;
    let status = runtime().block_on(cluster::status(&settings, &ctx.env))?;
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("serializes")
        );
        return Ok(());
    }
    let provider = match status.provider {
        crate::config::Provider::Kind => "kind",
        crate::config::Provider::Existing => "existing",
    };
    if !status.exists {
        println!("cluster {} ({provider}): not found", status.name);
    } else {
        println!("cluster {} ({provider}): exists", status.name);
    }
    if let Some(version) = &status.version {
        println!("  kubernetes  {version}");
    }
    if let Some(managed) = status.managed {
        let owner = if managed {
            "kindling"
        } else {
            "someone else (kindling asks before touching it)"
        };
        println!("  created by  {owner}");
    }
    for node in &status.nodes {
        println!(
            "  node        {} ({}, {})",
            node.name, node.state, node.image
        );
    }
    if status.node_image_matches == Some(false) {
        println!(
            "  node image differs from cluster.node_image {}: `kindling reset` recreates the cluster",
            settings.config.cluster.node_image
        );
    }
    if let Some(path) = &status.kubeconfig {
        println!("  kubeconfig  {}", path.display());
    }
    if let Some(problem) = &status.problem {
        println!("  problem     {problem}");
    }
    Ok(())
}
