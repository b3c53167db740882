//! `kindling bundle create | load | inspect`.

use super::{Context, runtime};
use crate::bundle::{self, Platform, human_bytes};
use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Pack everything the running platform needs into one file, for `up --bundle FILE` offline
    Create(CreateArgs),
    /// Verify a bundle and make every pull local (what `up --bundle FILE` does first)
    Load {
        /// The bundle file
        file: PathBuf,
    },
    /// Show what a bundle holds: images, charts, files, sizes, pins, platforms
    Inspect {
        /// The bundle file
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Where to write the bundle
    #[arg(long, value_name = "FILE", default_value = "kindling-bundle.tar")]
    pub out: PathBuf,
    /// Image platforms, comma-separated [default: the Docker engine's]
    #[arg(long, value_name = "OS/ARCH,...")]
    pub platform: Option<String>,
    /// Hosts to include the kind CLI for, comma-separated [default: this machine's]
    #[arg(long, value_name = "OS/ARCH,...")]
    pub host: Option<String>,
    /// Also pack kindling for each --host: a folder of its release assets (kindling-<os>-<arch>
    /// and .sha256, from the release of this version)
    #[arg(long, value_name = "DIR")]
    pub release_dir: Option<PathBuf>,
    /// Also pack an image no pod runs right now (e.g. a Helm hook Job's); repeatable
    #[arg(long, value_name = "REF")]
    pub image: Vec<String>,
    /// Accept component versions that have no pinned checksum
    #[arg(long)]
    pub allow_unpinned: bool,
}

pub(super) fn run(ctx: &Context, command: BundleCommand) -> Result<()> {
    match command {
        BundleCommand::Inspect { file } => inspect(ctx, file),
        BundleCommand::Create(args) => create(ctx, args),
        BundleCommand::Load { file } => load(ctx, file),
    }
}

/// Runs `work`; Ctrl-C drops it (a bundle being written is removed, a load re-runs and converges).
async fn interruptible<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Error::failed("listening for Ctrl-C", e))?;
    tokio::select! {
        result = work => result,
        _ = interrupt.recv() => Err(Error::Interrupted),
    }
}

fn platforms(flag: &str, text: &str) -> Result<Vec<Platform>> {
    Platform::parse_list(text).map_err(|e| Error::usage(format!("--{flag}: {e}"), None))
}

fn create(ctx: &Context, args: CreateArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let hosts = match &args.host {
        Some(text) => platforms("host", text)?,
        None => vec![Platform::this_host()],
    };
    let requested = args
        .platform
        .as_deref()
        .map(|t| platforms("platform", t))
        .transpose()?;
    let created = runtime().block_on(interruptible(async {
        let platforms = match requested {
            Some(list) => list,
            None => {
                let docker = crate::docker::connect(&ctx.env, settings.config.timeouts.docker)
                    .await
                    .map_err(bundle::BundleError::from)?;
                vec![bundle::engine_platform(&docker).await?]
            }
        };
        let options = bundle::create::CreateOptions {
            out: args.out.clone(),
            platforms,
            hosts,
            extra_images: args.image.clone(),
            allow_unpinned: args.allow_unpinned,
            release_dir: args.release_dir.clone(),
        };
        Ok(bundle::create::create(&settings, &ctx.env, &ctx.reporter, &options).await?)
    }))?;
    let summary = bundle::inspect::summarize(&created.path, created.file_bytes, &created.manifest);
    if ctx.json() {
        println!(
            "{}",
            serde_json::json!({ "event": "summary", "bundle": summary, "preloaded": created.preloaded })
        );
        return Ok(());
    }
    println!(
        "✓ wrote {} ({}): {} images, {} charts, {} files for {}",
        created.path.display(),
        human_bytes(created.file_bytes),
        summary.images.len(),
        summary.charts.len(),
        summary.files.len(),
        join(&summary.platforms)
    );
    if !created.preloaded.is_empty() {
        println!(
            "  {} images kind preloads into the node image were left to it",
            created.preloaded.len()
        );
    }
    println!(
        "  next: copy it to each machine and run `kindling up --bundle {}`",
        created.path.display()
    );
    Ok(())
}

fn load(ctx: &Context, file: PathBuf) -> Result<()> {
    let settings = ctx.settings()?;
    let offline = runtime().block_on(interruptible(async {
        Ok(bundle::load::load(&settings, &ctx.env, &ctx.reporter, &file).await?)
    }))?;
    if ctx.json() {
        println!(
            "{}",
            serde_json::json!({ "event": "summary", "bundle": file, "node_image": offline.node_image, "upstreams": offline.upstreams, "demo_binary": offline.demo_binary })
        );
    } else {
        println!(
            "✓ {} is loaded: images and charts in the local registry, the node image in Docker",
            file.display()
        );
        if let Some(binary) = &offline.demo_binary {
            println!(
                "  demo-app binary {} (offline `kindling release`: KINDLING_DEMO_BINARY={})",
                binary.display(),
                binary.display()
            );
        }
        println!(
            "  next: `kindling up --bundle {}` (no network needed)",
            file.display()
        );
    }
    Ok(())
}

/// `up --bundle FILE`'s first part: the same load, interruptible.
pub(super) fn load_for_up(
    ctx: &Context,
    settings: &crate::config::Settings,
    file: &std::path::Path,
) -> Result<bundle::offline::Offline> {
    runtime().block_on(interruptible(async {
        Ok(bundle::load::load(settings, &ctx.env, &ctx.reporter, file).await?)
    }))
}

fn join(list: &[Platform]) -> String {
    list.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn inspect(ctx: &Context, file: PathBuf) -> Result<()> {
    let summary = runtime().block_on(bundle::inspect::inspect(&file))?;
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("serializes")
        );
        return Ok(());
    }
    println!(
        "bundle {} ({}; distinct blobs {})",
        summary.path,
        human_bytes(summary.file_bytes),
        human_bytes(summary.unique_blob_bytes)
    );
    println!(
        "  made by kindling {} at {} ({})",
        summary.kindling_version, summary.created, summary.format
    );
    println!("  platforms  {}", join(&summary.platforms));
    println!("  kind for   {}", join(&summary.hosts));
    let width = summary.pins.keys().map(String::len).max().unwrap_or(0);
    for (i, (key, value)) in summary.pins.iter().enumerate() {
        let label = if i == 0 { "pins" } else { "" };
        println!("  {label:9}  {key:width$}  {value}");
    }
    println!("  images ({}):", summary.images.len());
    let width = summary
        .images
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(0);
    for image in &summary.images {
        let reduced = image
            .upstream_digest
            .as_ref()
            .map(|u| format!("  (index reduced to these platforms; upstream {u})"))
            .unwrap_or_default();
        println!(
            "    {:width$}  {:9}  {:>10}  {}{reduced}",
            image.name,
            format!("{:?}", image.role).to_lowercase(),
            human_bytes(image.bytes),
            join(&image.platforms)
        );
    }
    println!("  charts ({}):", summary.charts.len());
    for chart in &summary.charts {
        println!(
            "    {} {}  {:>10}  from {}",
            chart.name,
            chart.version,
            human_bytes(chart.bytes),
            chart.source
        );
    }
    println!("  files ({}):", summary.files.len());
    for file in &summary.files {
        println!("    {}  {:>10}", file.path, human_bytes(file.bytes));
    }
    Ok(())
}
