//! `kindling tls ca | trust | untrust | status`.

use super::Context;
use crate::error::Result;
use crate::report::ReporterExt;
use crate::tls::{self, HostAccess, HostChange};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Make sure the local CA exists and print the path of its certificate (PEM)
    Ca {
        /// Replace the CA with a new one (the host must trust the new one again)
        #[arg(long)]
        rotate: bool,
    },
    /// Add the local CA to this host's trust store (asks sudo when not root)
    Trust,
    /// Take the local CA out of this host's trust store
    Untrust,
    /// Say whether this host trusts the local CA
    Status,
}

pub(super) fn run(ctx: &Context, command: TlsCommand) -> Result<()> {
    let settings = ctx.settings()?;
    let cluster = settings.config.cluster.name.clone();
    match command {
        TlsCommand::Ca { rotate } => {
            let ca = tls::ensure_ca(&settings, &ctx.reporter, rotate)?;
            if rotate {
                ctx.reporter.info(
                    "a new CA replaces the old one: run `kindling tls trust` so this host trusts it",
                );
            }
            if ctx.json() {
                println!(
                    "{}",
                    serde_json::json!({
                        "certificate": ca.cert_path, "sha256": ca.fingerprint(),
                        "permittedDns": ca.permitted_dns,
                    })
                );
            } else {
                println!("{}", ca.cert_path.display());
            }
            Ok(())
        }
        TlsCommand::Trust => {
            let ca = tls::ensure_ca(&settings, &ctx.reporter, false)?;
            let access = HostAccess::detect(&ctx.env);
            let step = ctx.reporter.step("tls-trust", "Host trusts the local CA");
            let change = tls::trust(&ca, &cluster, &access, &ctx.reporter);
            finish(ctx, step, change, "trusting the local CA")?;
            if let Some(nss) = &access.nss {
                let step = ctx
                    .reporter
                    .step("tls-browsers", "Browsers trust the local CA");
                let change =
                    tls::browsers_trust(nss, access.store.as_ref(), &ca.cert_path, &cluster);
                crate::hosts::elevate::finish_step::<tls::TlsError>(
                    step,
                    &ctx.reporter,
                    Ok(change),
                )?;
            }
            if access.wsl {
                ctx.reporter
                    .info(tls::wsl_message(&settings, &ca.cert_path));
            }
            if let Some(store) = &access.store {
                print_tool_env(ctx, store.tool_env(&ca.cert()));
            }
            Ok(())
        }
        TlsCommand::Untrust => {
            // Also without a CA in the data dir: its trust is found by the cluster's name.
            let access = HostAccess::detect(&ctx.env);
            let step = ctx
                .reporter
                .step("tls-untrust", "Host no longer trusts the local CA");
            let change = match tls::ca::load(&tls::ca_dir(&settings))? {
                Some(ca) => tls::untrust(&ca.cert(), &cluster, &access, &ctx.reporter),
                None => tls::untrust_named(&cluster, &access, &ctx.reporter),
            };
            finish(ctx, step, change, "untrusting the local CA")?;
            if let Some(nss) = &access.nss {
                let step = ctx
                    .reporter
                    .step("tls-browsers", "Browsers no longer trust the local CA");
                let change = tls::browsers_untrust(nss, &cluster);
                crate::hosts::elevate::finish_step::<tls::TlsError>(
                    step,
                    &ctx.reporter,
                    Ok(change),
                )?;
            }
            Ok(())
        }
        TlsCommand::Status => status(ctx, &settings),
    }
}

fn finish(
    ctx: &Context,
    step: crate::report::Step,
    change: Result<HostChange, tls::TlsError>,
    what: &str,
) -> Result<()> {
    match change {
        Ok(change) => match change.into_result(what) {
            Ok((outcome, detail)) => {
                step.finish(outcome, detail.clone());
                if !ctx.json() {
                    println!("{detail}");
                }
                Ok(())
            }
            Err(e) => {
                step.fail(&e);
                Err(e)
            }
        },
        Err(e) => {
            step.fail(&e);
            Err(e.into())
        }
    }
}

fn print_tool_env(ctx: &Context, lines: Vec<String>) {
    if ctx.json() {
        return;
    }
    println!("tools that ignore the system trust store can be pointed at it:");
    for line in lines {
        println!("  export {line}");
    }
}

fn status(ctx: &Context, settings: &crate::config::Settings) -> Result<()> {
    let cluster = &settings.config.cluster.name;
    let dir = tls::ca_dir(settings);
    let Some(ca) = tls::ca::load(&dir)? else {
        if ctx.json() {
            println!("{}", serde_json::json!({ "ca": null, "trusted": false }));
        } else {
            println!(
                "no local CA yet ({}): `kindling tls ca` makes one",
                dir.display()
            );
        }
        return Ok(());
    };
    let access = HostAccess::detect(&ctx.env);
    let cert = ca.cert();
    let browsers: Vec<(tls::nss::NssDb, bool)> = match &access.nss {
        Some(nss) if nss.certutil.is_some() => nss
            .databases()
            .into_iter()
            .map(|db| {
                let has = nss.contains(&db, cluster);
                (db, has)
            })
            .collect(),
        _ => Vec::new(),
    };
    let Some(store) = access.store.as_ref() else {
        if ctx.json() {
            println!(
                "{}",
                serde_json::json!({ "ca": ca.cert_path, "sha256": ca.fingerprint(), "store": null, "trusted": false })
            );
        } else {
            println!(
                "CA:      {} (sha256 {})",
                ca.cert_path.display(),
                ca.fingerprint()
            );
            println!("store:   none known on this host (add the CA by hand: docs/laptops.md)");
        }
        return Ok(());
    };
    // macOS: the keychain item and its admin trust setting are read, not just the item.
    let status = store.status(&cert, cluster);
    if ctx.json() {
        let browsers: Vec<serde_json::Value> = browsers
            .iter()
            .map(|(db, has)| serde_json::json!({ "browser": db.browser, "database": db.dir, "trusted": has }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "ca": ca.cert_path, "sha256": ca.fingerprint(), "store": store.name(),
                "trusted": status.trusted, "anchor": status.anchor,
                "anchorState": status.anchor_state.map(|s| format!("{s:?}").to_lowercase()),
                "browsers": browsers,
            })
        );
        return Ok(());
    }
    println!(
        "CA:      {} (sha256 {})",
        ca.cert_path.display(),
        ca.fingerprint()
    );
    println!("limited: {}, 127.0.0.1, ::1", ca.permitted_dns.join(", "));
    println!("store:   {}", store.name());
    let verdict = if status.is_current() {
        "yes"
    } else if status.trusted {
        "yes, but kindling's anchor file holds another certificate (`kindling tls trust` fixes it)"
    } else if status.anchor_state == Some(tls::AnchorState::Current) {
        "no: the certificate is there but not trusted (`kindling tls trust` adds the trust setting)"
    } else {
        "no (`kindling tls trust` adds it)"
    };
    println!("trusted: {verdict}");
    if let (Some(anchor), Some(state)) = (&status.anchor, status.anchor_state) {
        println!(
            "anchor:  {} ({})",
            anchor.display(),
            format!("{state:?}").to_lowercase()
        );
    }
    for (db, has) in &browsers {
        println!(
            "browser: {} {}: {}",
            db.browser,
            db.dir.display(),
            if *has { "trusted" } else { "not trusted" }
        );
    }
    print_tool_env(ctx, store.tool_env(&cert));
    Ok(())
}
