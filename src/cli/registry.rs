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
                let done = registry::up(&client, config, &ctx.reporter).await?;
                not_up(
                    done.iter()
                        .filter_map(|d| Some((d.name.clone(), d.problem.clone()?))),
                )
            }
            RegistryCommand::Down { purge } => {
                // Caches kept for other clusters are reported as it goes.
                registry::down(&client, config, &ctx.reporter, purge).await?;
                Ok(())
            }
            RegistryCommand::Status => {
                let rows = status::status(&client, config).await?;
                print_status(ctx, &rows);
                not_up(
                    rows.iter()
                        .filter_map(|r| Some((r.name.clone(), r.problem()?))),
                )
            }
        }
    })
}

/// Exit 1 naming every container that is not up (name, why): a crash-looping cache is not fine.
fn not_up(down: impl Iterator<Item = (String, String)>) -> Result<()> {
    let down: Vec<(String, String)> = down.collect();
    let Some((first, _)) = down.first() else {
        return Ok(());
    };
    let list: Vec<String> = down
        .iter()
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    Err(
        crate::Error::failed("registry", format!("not up: {}", list.join("; "))).with_hint(
            format!(
                "`docker logs {first}` says why; a cache that cannot reach its upstream when it starts crash-loops (check the network), then `kindling registry up`"
            ),
        ),
    )
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
    let volumes = rows
        .iter()
        .map(|r| r.volume.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:width$}  {:8}  {:10}  {:5}  {:7}  {:volumes$}  USED BY",
        "NAME", "ROLE", "STATE", "PORT", "ANSWERS", "VOLUME"
    );
    for r in rows {
        let port = r.port.map_or("-".to_string(), |p| p.to_string());
        let answers = match r.answers {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        let users = if r.users.is_empty() {
            "-".to_string()
        } else {
            r.users.join(",")
        };
        println!(
            "{:width$}  {:8}  {:10}  {:5}  {:7}  {:volumes$}  {users}",
            r.name,
            r.role,
            r.state,
            port,
            answers,
            r.volume.as_deref().unwrap_or("-")
        );
    }
}
