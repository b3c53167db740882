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
                crate::cluster::wire(&ctx.settings, &ctx.env, &ctx.reporter, ctx.cluster()?)
                    .await?;
                Ok((Outcome::Done, None))
            }
            .boxed()
        },
    )
    .reports(|ctx| crate::cluster::planned_wiring(&ctx.settings));
}
