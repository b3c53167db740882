//! Step: the local registry and the pull-through caches. A cache that does not answer is a
//! warning, not a failure: containerd then pulls from the upstream itself.

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
                let done =
                    crate::docker::registry::up(docker, &ctx.settings.config, &ctx.reporter)
                        .await?;
                for d in &done {
                    if let Some(problem) = &d.problem {
                        ctx.reporter.warn(
                            format!(
                                "cache {} does not answer ({problem}): the cluster pulls those images from the upstream directly",
                                d.name
                            ),
                            Some(format!(
                                "`docker logs {}` says why; a cache must reach its upstream when it starts, then `kindling registry up`",
                                d.name
                            )),
                        );
                    }
                }
                Ok((Outcome::Done, None))
            }
            .boxed()
        },
    )
    .reports(|ctx| crate::docker::registry::planned_steps(&ctx.settings.config));
}
