//! Step: the registry and caches wired into the cluster's nodes (needs both).

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::Outcome;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group(
        "wire",
        "Registry wiring",
        &["registry", "cluster"],
        |ctx, _| {
            async move {
                // A loaded bundle replaces the caches' hosts.toml with its offline ones.
                let offline = ctx.options.offline.as_ref();
                let files = offline
                    .map(|o| o.node_files(&ctx.settings.config))
                    .unwrap_or_default();
                crate::cluster::wire_with(
                    &ctx.settings,
                    &ctx.env,
                    &ctx.reporter,
                    ctx.cluster()?,
                    &files,
                )
                .await?;
                Ok((Outcome::Done, None))
            }
            .boxed()
        },
    )
    .reports(|ctx| crate::cluster::planned_wiring(&ctx.settings));
}
