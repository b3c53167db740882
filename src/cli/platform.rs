//! `up`, `down`, `reset`: the whole platform.

use super::{Context, runtime};
use crate::error::Result;
use crate::up::{Summary, UpContext, UpOptions};
use clap::Args;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Print the steps and their order without touching anything
    #[arg(long)]
    pub dry_run: bool,
    /// Reuse a kind cluster of that name that kindling did not create, without asking
    #[arg(long)]
    pub yes: bool,
    /// Read upstream manifests from this folder (laid out <project>/<version>/<file>), never the network
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<std::path::PathBuf>,
    /// Accept component versions that have no pinned checksum
    #[arg(long)]
    pub allow_unpinned: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the registry data and the pull-through caches
    #[arg(long)]
    pub purge: bool,
    /// Delete a kind cluster of that name that kindling did not create, or (existing cluster)
    /// remove what kindling made there, without asking
    #[arg(long)]
    pub yes: bool,
}

pub(super) fn up(ctx: &Context, args: UpArgs) -> Result<()> {
    let settings = ctx.settings()?;
    if args.dry_run {
        return dry_run(ctx);
    }
    if let Some(bundle) = &args.bundle
        && !bundle.is_dir()
    {
        return Err(crate::Error::usage(
            format!("--bundle {}: not a folder", bundle.display()),
            Some("give a folder laid out as <project>/<version>/<file>, e.g. argo-cd/v3.5.1/install.yaml".into()),
        ));
    }
    let options = UpOptions {
        yes: args.yes,
        bundle: args.bundle,
        allow_unpinned: args.allow_unpinned,
    };
    let context = UpContext::new(settings, ctx.env.clone(), ctx.reporter.clone(), options);
    let summary = runtime().block_on(crate::up::run(context))?;
    print_summary(ctx, &summary);
    Ok(())
}

fn dry_run(ctx: &Context) -> Result<()> {
    let waves = crate::up::pipeline().waves()?;
    if ctx.json() {
        let waves: Vec<Vec<serde_json::Value>> = waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|(id, title)| serde_json::json!({ "step": id, "title": title }))
                    .collect()
            })
            .collect();
        println!("{}", serde_json::json!({ "waves": waves }));
    } else {
        println!(
            "kindling up would run these steps (each wave after the one before; steps in a wave run in parallel):"
        );
        for (i, wave) in waves.iter().enumerate() {
            let steps: Vec<String> = wave
                .iter()
                .map(|(id, title)| format!("{title} [{id}]"))
                .collect();
            println!("  {}. {}", i + 1, steps.join(", "));
        }
    }
    Ok(())
}

fn print_summary(ctx: &Context, summary: &Summary) {
    if ctx.json() {
        println!(
            "{}",
            serde_json::json!({ "event": "summary", "summary": summary })
        );
        return;
    }
    println!();
    println!(
        "✓ kindling is up in {}",
        crate::report::format_elapsed(summary.elapsed_ms)
    );
    let width = summary
        .urls
        .iter()
        .map(|u| u.name.len())
        .chain([10])
        .max()
        .unwrap_or(10);
    let line = |label: &str, text: String| println!("  {label:width$}  {text}");
    for url in &summary.urls {
        let login = match &url.user {
            Some(user) => format!("  (user {user})"),
            None => String::new(),
        };
        line(&url.name, format!("{}{login}", url.url));
    }
    for env in &summary.environments {
        line(
            &env.name,
            format!("runs {} ({} profile)", env.version, env.profile),
        );
    }
    line("argocd CLI", summary.argocd_cli_login.clone());
    if let (Some(address), Some(record)) = (&summary.ingress_address, &summary.dns_record) {
        line("ingress", format!("{address} (DNS record: {record})"));
    }
    line(
        "passwords",
        "`kindling status --show-secrets` (Argo CD and Grafana admin)".into(),
    );
    line(
        "cluster",
        format!(
            "{} (kube context {}, kubeconfig {})",
            summary.cluster, summary.kube_context, summary.kubeconfig
        ),
    );
    line(
        "registry",
        format!(
            "{} (push images as {}/<name>:<tag>)",
            summary.registry, summary.registry
        ),
    );
    line("local CA", summary.ca_certificate.clone());
    line(
        "next",
        "`kindling release staging v1.1.0` starts a canary; `kindling rollout watch staging`"
            .into(),
    );
}

pub(super) fn down(ctx: &Context, args: DownArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let yes = args.yes || confirm_existing(ctx, &settings)?;
    runtime().block_on(crate::down::down(
        &settings,
        &ctx.env,
        &ctx.reporter,
        args.purge,
        yes,
    ))?;
    if !ctx.json() {
        println!(
            "✓ kindling is down{}",
            if args.purge {
                " (caches purged)"
            } else {
                " (caches kept)"
            }
        );
    }
    Ok(())
}

pub(super) fn reset(ctx: &Context, args: UpArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let yes = args.yes || confirm_existing(ctx, &settings)?;
    runtime().block_on(crate::down::down(
        &settings,
        &ctx.env,
        &ctx.reporter,
        false,
        yes,
    ))?;
    up(
        ctx,
        UpArgs {
            dry_run: false,
            ..args
        },
    )
}

/// On an existing cluster `down` asks first, on a terminal: it shows what kindling's record
/// lists and removes it only on "y". Without a terminal (or in JSON mode) nothing is asked and
/// `down` without --yes refuses, saying what it would remove.
fn confirm_existing(ctx: &Context, settings: &crate::config::Settings) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if settings.config.cluster.provider != crate::config::Provider::Existing
        || ctx.json()
        || !std::io::stdin().is_terminal()
        || !std::io::stderr().is_terminal()
    {
        return Ok(false);
    }
    let Some(removal) = runtime().block_on(crate::down::existing_plan(settings, &ctx.env))? else {
        return Ok(false);
    };
    eprintln!(
        "kindling will remove from the cluster of context {} (the cluster itself stays):",
        settings.config.cluster.context
    );
    for line in removal.describe() {
        eprintln!("  - {line}");
    }
    eprint!("Remove them? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(true)
    } else {
        Err(crate::Error::usage(
            "down cancelled: nothing was removed",
            Some("run `kindling down --yes` to remove without asking".to_string()),
        ))
    }
}
