//! Step: the local registry and the pull-through caches.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group(
        "registry",
        "Registry and caches",
        &["preflight"],
        |ctx, _| {
            async move {
                let config = &ctx.settings.config;
                if crate::platform::push_target::uses_push_host(config) {
                    ctx.reporter.step("registry", "Registry and caches").finish(
                        Outcome::Skipped,
                        format!(
                            "existing cluster: images and manifests go to registry.push_host {}",
                            config.registry.push_host
                        ),
                    );
                    return Ok((Outcome::Skipped, None));
                }
                let docker = ctx.docker().await?;
                crate::docker::registry::up(docker, &ctx.settings.config, &ctx.reporter).await?;
                Ok((Outcome::Done, None))
            }
            .boxed()
        },
    );
}
