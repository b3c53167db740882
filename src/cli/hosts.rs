//! `kindling hosts apply | remove | show`.

use super::Context;
use crate::error::Result;
use crate::hosts::{self, HostsOptions, Privilege};
use crate::report::ReporterExt;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Map every ingress name to 127.0.0.1 in kindling's block of the hosts file
    Apply(HostsArgs),
    /// Take kindling's block out of the hosts file
    Remove(HostsArgs),
    /// Print kindling's block as it stands in the hosts file
    Show {
        /// The hosts file [default: KINDLING_HOSTS_FILE, else /etc/hosts]
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct HostsArgs {
    /// The hosts file [default: KINDLING_HOSTS_FILE, else /etc/hosts]
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Never ask sudo: fail with the command to run instead
    #[arg(long)]
    no_sudo: bool,
}

pub(super) fn run(ctx: &Context, command: HostsCommand) -> Result<()> {
    let settings = ctx.settings()?;
    let config = &settings.config;
    let (args, remove) = match command {
        HostsCommand::Show { file } => {
            let file = file.unwrap_or_else(|| hosts::default_path(&ctx.env));
            let current = hosts::show(config, &file)?;
            if ctx.json() {
                println!("{}", serde_json::json!({ "file": file, "block": current }));
            } else {
                match current {
                    Some(block) => println!("{block}"),
                    None => println!(
                        "no kindling block for {} in {}",
                        config.cluster.name,
                        file.display()
                    ),
                }
            }
            return Ok(());
        }
        HostsCommand::Apply(args) => (args, false),
        HostsCommand::Remove(args) => (args, true),
    };
    let mut options = HostsOptions::detect(&ctx.env, args.file);
    if args.no_sudo && options.privilege != Privilege::Root {
        options.privilege = Privilege::Unprivileged;
    }
    let (id, title) = if remove {
        (
            "hosts-remove",
            "Remove kindling's block from the hosts file",
        )
    } else {
        ("hosts-apply", "Map the ingress names in the hosts file")
    };
    let step = ctx.reporter.step(id, title);
    let change = if remove {
        hosts::remove(config, &options, &ctx.reporter)
    } else {
        hosts::apply(config, &options, &ctx.reporter)
    };
    let result = change
        .map_err(crate::Error::from)
        .and_then(|c| c.into_result("editing the hosts file"));
    match result {
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
    }
}
