//! `up`, `down`, `reset`: the whole platform.

use super::{Context, runtime};
use crate::error::Result;
use crate::report::ReporterExt;
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
    /// Run offline from a file made by `kindling bundle create` (verified, then every pull is
    /// local); a folder laid out <project>/<version>/<file> still serves install.yaml alone
    #[arg(long, value_name = "FILE|DIR")]
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
    /// Delete a kind cluster of that name that kindling did not create, without asking
    #[arg(long)]
    pub yes: bool,
}

pub(super) fn up(ctx: &Context, args: UpArgs) -> Result<()> {
    let mut settings = ctx.settings()?;
    if args.dry_run {
        return dry_run(ctx);
    }
    let mut options = UpOptions {
        yes: args.yes,
        bundle: args.bundle.clone(),
        allow_unpinned: args.allow_unpinned,
        offline: None,
    };
    match &args.bundle {
        Some(bundle) if bundle.is_file() => {
            // A bundle file: load it (verify, then make every pull local), then run offline.
            let offline = super::bundle::load_for_up(ctx, &settings, bundle)?;
            offline.apply(&mut settings);
            options.bundle = Some(offline.files_dir.clone());
            options.offline = Some(std::sync::Arc::new(offline));
        }
        Some(bundle) if bundle.is_dir() => ctx.reporter.warn(
            format!("--bundle {}: a folder provides Argo CD's install.yaml only; images and charts still come from the network", bundle.display()),
            Some("`kindling bundle create` on a connected machine makes a file that holds everything (`up --bundle FILE` then needs no network)".into()),
        ),
        Some(bundle) => {
            return Err(crate::Error::usage(
                format!("--bundle {}: no such file or folder", bundle.display()),
                Some("give a file made by `kindling bundle create`, or a folder laid out as <project>/<version>/<file>".into()),
            ));
        }
        None => {}
    }
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
            ..args
        },
    )
}
