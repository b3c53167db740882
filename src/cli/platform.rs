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
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the registry data and the pull-through caches
    #[arg(long)]
    pub purge: bool,
    /// Delete a kind cluster of that name that kindling did not create, without asking
    #[arg(long)]
    pub yes: bool,
}

pub(super) fn up(ctx: &Context, args: UpArgs) -> Result<()> {
    let settings = ctx.settings()?;
    if args.dry_run {
        return dry_run(ctx);
    }
    let context = UpContext::new(
        settings,
        ctx.env.clone(),
        ctx.reporter.clone(),
        UpOptions { yes: args.yes },
    );
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
    println!(
        "  cluster      {} (kube context {})",
        summary.cluster, summary.kube_context
    );
    println!("  kubeconfig   {}", summary.kubeconfig);
    println!(
        "  registry     {} (push images as {}/<name>:<tag>)",
        summary.registry, summary.registry
    );
    println!("  local CA     {}", summary.ca_certificate);
    println!("  not yet: Argo CD, the platform components and the demo environments (see README)");
}

pub(super) fn down(ctx: &Context, args: DownArgs) -> Result<()> {
    let settings = ctx.settings()?;
    runtime().block_on(crate::down::down(
        &settings,
        &ctx.env,
        &ctx.reporter,
        args.purge,
        args.yes,
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
    runtime().block_on(crate::down::down(
        &settings,
        &ctx.env,
        &ctx.reporter,
        false,
        args.yes,
    ))?;
    up(
        ctx,
        UpArgs {
            dry_run: false,
            yes: args.yes,
        },
    )
}
