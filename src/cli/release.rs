//! `kindling release <env> <version>`: build, publish and roll out a demo version.

use super::{Context, runtime};
use crate::config::Profile;
use crate::error::{Error, Result};
use crate::platform::demo_image::Faults;
use crate::release::{ReleaseContext, ReleaseRequest};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// dev, staging or production
    #[arg(value_parser = ["dev", "staging", "production"])]
    pub environment: String,
    /// The version to release, e.g. v1.1.0 (image tag and what the app reports)
    #[arg(id = "release_version", value_name = "VERSION")]
    pub version: String,
    /// Bake a fault into this release: error-rate=<0..1> (share of /api/data answered 500)
    /// or latency=<duration> (e.g. 800ms); repeatable
    #[arg(long = "fault", value_name = "KEY=VALUE")]
    pub faults: Vec<String>,
    /// Timing of pauses and analysis intervals [default: the environment's current one]
    #[arg(long, value_parser = ["fast", "realistic"])]
    pub profile: Option<String>,
    /// A kubeconfig holding kindling's context (kind-<cluster.name>) [default: kindling's own]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

pub(super) fn run(ctx: &Context, args: ReleaseArgs) -> Result<()> {
    let settings = ctx.settings()?;
    if !crate::config::is_image_tag(&args.version) {
        return Err(Error::usage(
            format!("{:?} is not a valid version (image tag)", args.version),
            Some("use letters, digits, '.', '_' and '-', e.g. v1.1.0".to_string()),
        ));
    }
    let mut faults = Faults::default();
    for fault in &args.faults {
        faults.add(fault).map_err(|e| {
            Error::usage(
                e,
                Some("e.g. --fault error-rate=0.5 --fault latency=800ms".to_string()),
            )
        })?;
    }
    let profile = args
        .profile
        .as_deref()
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(|e| Error::usage(e, None))?;
    let request = ReleaseRequest {
        environment: args.environment,
        version: args.version,
        faults,
        profile,
    };
    let released = runtime().block_on(async {
        let context = ReleaseContext::connect(
            settings,
            &ctx.env,
            args.kubeconfig.as_deref(),
            ctx.reporter.clone(),
        )
        .await?;
        crate::release::release(&context, &request).await
    })?;
    if ctx.json() {
        println!(
            "{}",
            serde_json::json!({ "event": "released", "released": released })
        );
    } else {
        println!(
            "✓ {} is rolling out {} ({}, {} profile)",
            released.environment, released.version, released.image, released.profile
        );
        println!("  manifests revision {}", released.revision);
        if let Some(preview) = &released.preview_url {
            // manifests/demo-app/base/analysistemplate-user-traffic.yaml: no requests, no promotion.
            println!(
                "  its pre-promotion analysis needs requests to {preview} from now on, or the \
                 release is aborted and {} keeps its version: e.g. \
                 `while sleep 0.2; do curl -s {preview}/api/data >/dev/null; done`",
                released.environment
            );
        }
        println!(
            "  follow it: kindling rollout watch {}",
            released.environment
        );
    }
    Ok(())
}
