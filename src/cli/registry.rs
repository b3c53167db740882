//! `kindling registry up | down [--purge] | status`.

use super::args::RegistryCommand;
use super::{Context, runtime};
use crate::docker::{self, registry, status};
use crate::error::Result;

pub(super) fn run(ctx: &Context, command: RegistryCommand) -> Result<()> {
    let settings = ctx.settings()?;
    let config = &settings.config;
    runtime().block_on(async {
        let client = docker::connect(&ctx.env, config.timeouts.docker)
            .await
            .map_err(docker::RegistryError::from)?;
        match command {
            RegistryCommand::Up => {
                registry::up(&client, config, &ctx.reporter).await?;
            }
            RegistryCommand::Down { purge } => {
                registry::down(&client, config, &ctx.reporter, purge).await?;
            }
            RegistryCommand::Status => {
                let rows = status::status(&client, config).await?;
                print_status(ctx, &rows);
            }
        }
        Ok(())
    })
}

fn print_status(ctx: &Context, rows: &[status::ContainerStatus]) {
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(rows).expect("serializes")
        );
        return;
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:width$}  {:8}  {:10}  {:5}  {:7}  VOLUME",
        "NAME", "ROLE", "STATE", "PORT", "ANSWERS"
    );
    for r in rows {
        let port = r.port.map_or("-".to_string(), |p| p.to_string());
        let answers = match r.answers {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        println!(
            "{:width$}  {:8}  {:10}  {:5}  {:7}  {}",
            r.name,
            r.role,
            r.state,
            port,
            answers,
            r.volume.as_deref().unwrap_or("-")
        );
    }
}
