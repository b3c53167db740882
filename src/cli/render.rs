//! `kindling render`: what `up` would create, written to a folder (no Docker, no cluster).

use super::Context;
use crate::error::Result;
use crate::report::ReporterExt;
use clap::Args;
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Folder to write into (replaced when an earlier render made it)
    #[arg(long, value_name = "DIR", default_value = "kindling-render")]
    pub out: std::path::PathBuf,
}

pub(super) fn run(ctx: &Context, args: RenderArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let render = crate::render::render(&settings.config, &ctx.env)?;
    crate::render::write(&render, &args.out)?;
    if ctx.json() {
        let mut index = crate::render::output::index(&render);
        index["out"] = args.out.display().to_string().into();
        println!(
            "{}",
            serde_json::to_string_pretty(&index).expect("serializes")
        );
        return Ok(());
    }
    if render.kustomize.is_none() {
        ctx.reporter.warn(
            "no kustomize or kubectl on PATH: demo-environments/ not rendered (artifact/ holds the kustomize tree)",
            Some("install kustomize or kubectl, or set KINDLING_KUSTOMIZE_BIN, and render again".into()),
        );
    }
    let mut areas: BTreeMap<&str, usize> = BTreeMap::new();
    for file in &render.files {
        *areas.entry(file.area.as_str()).or_default() += 1;
    }
    println!(
        "✓ rendered {} files into {} (Secrets redacted; index.json lists them)",
        render.files.len(),
        args.out.display()
    );
    for (area, count) in areas {
        println!("  {area:20} {count}");
    }
    Ok(())
}
