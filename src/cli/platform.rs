//! `up`, `down`, `reset`: the whole platform.

use super::{Context, runtime};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::ReporterExt;
use crate::up::{Summary, UpContext, UpOptions};
use clap::Args;
use std::io::IsTerminal;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Print the components, what would change on this host, and the steps, changing nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Reuse a kind cluster of that name that kindling did not create, without asking
    #[arg(long, short)]
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
    /// Also remove the registry data and the pull-through caches no other cluster uses
    #[arg(long)]
    pub purge: bool,
    /// Delete a kind cluster of that name that kindling did not create, or (existing cluster)
    /// remove what kindling made there, without asking
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Print what `down` would remove and what `up` would do, changing nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the cluster without asking (also a kind cluster kindling did not create)
    #[arg(long, short)]
    pub yes: bool,
    /// Read upstream manifests from this folder (laid out <project>/<version>/<file>), never the network
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<std::path::PathBuf>,
    /// Accept component versions that have no pinned checksum
    #[arg(long)]
    pub allow_unpinned: bool,
}

pub(super) fn up(ctx: &Context, args: UpArgs) -> Result<()> {
    let mut settings = ctx.settings()?;
    if args.dry_run {
        return dry_run(ctx, &settings);
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

/// What `up` would do: the pinned components, the changes to this host, and the steps in
/// waves with the ids and titles the real run reports (and its JSON events carry).
fn dry_run(ctx: &Context, settings: &Settings) -> Result<()> {
    let context = UpContext::new(
        settings.clone(),
        ctx.env.clone(),
        std::sync::Arc::new(crate::report::NullReporter),
        UpOptions::default(),
    );
    let waves = crate::up::pipeline().plan(&context)?;
    let components = crate::up::components(&settings.config);
    let host = crate::host_changes::planned(settings, &ctx.env);
    if ctx.json() {
        let waves: Vec<Vec<serde_json::Value>> = waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|node| {
                        let steps: Vec<serde_json::Value> = node
                            .steps
                            .iter()
                            .map(|(id, title)| serde_json::json!({ "step": id, "title": title }))
                            .collect();
                        serde_json::json!({ "group": node.id, "title": node.title, "steps": steps })
                    })
                    .collect()
            })
            .collect();
        let components: Vec<serde_json::Value> = components
            .iter()
            .map(|(name, version)| serde_json::json!({ "name": name, "version": version }))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "components": components, "hostChanges": host, "waves": waves })
        );
        return Ok(());
    }
    println!("kindling up would bring up these components (pinned versions):");
    let width = components.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, version) in &components {
        println!("  {name:width$}  {version}");
    }
    if host.is_empty() {
        println!(
            "and change nothing on this host (no trust-store entry or hosts-file block needed or missing)"
        );
    } else {
        println!("and change this host (`kindling down` undoes it):");
        for change in &host {
            let root = if change.needs_root { " (as root)" } else { "" };
            println!("  {:11}  {}{root}", change.part, change.change);
        }
    }
    println!(
        "in these steps (each wave after the one before; in a wave in parallel; [the step id]):"
    );
    for (i, wave) in waves.iter().enumerate() {
        for (j, node) in wave.iter().enumerate() {
            let number = if j == 0 {
                format!("{}.", i + 1)
            } else {
                String::new()
            };
            let steps: Vec<String> = node
                .steps
                .iter()
                .map(|(id, title)| format!("{title} [{id}]"))
                .collect();
            match node.steps.as_slice() {
                [(id, title)] if id == node.id || *title == node.title => {
                    println!("  {number:3} {}", steps[0])
                }
                _ => println!("  {number:3} {}: {}", node.title, steps.join(", ")),
            }
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
    line("host", crate::up::host_note(&summary.host));
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

/// `down` (keeping caches), then `up`. Deleting a cluster needs consent: `--yes`, or a "y"
/// on a terminal; without a terminal it refuses (exit 2) and names `--yes`.
pub(super) fn reset(ctx: &Context, args: ResetArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let plan = runtime().block_on(crate::down::plan(&settings, &ctx.env, false));
    if args.dry_run {
        if ctx.json() {
            println!("{}", serde_json::json!({ "down": plan.lines }));
        } else {
            println!("kindling reset would first run `down` (caches kept):");
            for line in &plan.lines {
                println!("  {line}");
            }
            println!("then `up`:");
        }
        return dry_run(ctx, &settings);
    }
    let mut consent = args.yes;
    if !plan.nodes.is_empty() && !consent {
        let name = &settings.config.cluster.name;
        let what = format!(
            "kind cluster {name} ({} node(s){})",
            plan.nodes.len(),
            if plan.managed {
                ""
            } else {
                ", not created by kindling"
            }
        );
        consent = confirm(
            ctx,
            &format!(
                "Reset deletes {what} and what `up` made for it, then brings it up again. Continue? [y/N] "
            ),
            &format!("reset would delete {what}"),
        )?;
    }
    let consent = consent || confirm_existing(ctx, &settings)?;
    runtime().block_on(crate::down::down(
        &settings,
        &ctx.env,
        &ctx.reporter,
        false,
        consent,
    ))?;
    up(
        ctx,
        UpArgs {
            dry_run: false,
            yes: args.yes,
            bundle: args.bundle,
            allow_unpinned: args.allow_unpinned,
        },
    )
}

/// Asks `question` on the terminal. Without one (or with --output json) it refuses: `what`
/// needs `--yes`. Ok(true) only for a yes; a no is an error that changed nothing.
fn confirm(ctx: &Context, question: &str, what: &str) -> Result<bool> {
    if ctx.json() || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(
            format!("{what}, and there is no terminal to ask on"),
            Some("pass --yes to go ahead without asking (nothing was changed)".to_string()),
        ));
    }
    if ask_yes(question) {
        Ok(true)
    } else {
        Err(Error::failed("reset", "cancelled; nothing was changed"))
    }
}

/// On an existing cluster `down` asks first, on a terminal: it shows what kindling's record
/// lists and removes it only on "y". Without a terminal (or in JSON mode) nothing is asked and
/// `down` without --yes refuses, saying what it would remove.
fn confirm_existing(ctx: &Context, settings: &crate::config::Settings) -> Result<bool> {
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
    if ask_yes("Remove them? [y/N] ") {
        Ok(true)
    } else {
        Err(crate::Error::usage(
            "down cancelled: nothing was removed",
            Some("run `kindling down --yes` to remove without asking".to_string()),
        ))
    }
}

/// Asks on stderr and reads one line from the terminal: a yes or not.
fn ask_yes(question: &str) -> bool {
    use std::io::{BufRead, Write};
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}
