//! Step: the local registry and the pull-through caches.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::Outcome;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group(
        "registry",
        "Registry and caches",
        &["preflight"],
        |ctx, _| {
            async move {
                let docker = ctx.docker().await?;
                crate::docker::registry::up(docker, &ctx.settings.config, &ctx.reporter).await?;
                Ok((Outcome::Done, None))
            }
            .boxed()
        },
    );
}
