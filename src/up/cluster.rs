//! Step: the kind cluster (created or reused), or the existing cluster of the config.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::Outcome;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("cluster", "Cluster", &["preflight"], |ctx, _| {
        async move {
            let handle =
                crate::cluster::ensure(&ctx.settings, &ctx.env, &ctx.reporter, ctx.options.yes)
                    .await?;
            let _ = ctx.cluster.set(handle);
            Ok((Outcome::Done, None))
        }
        .boxed()
    })
    .reports(|ctx| crate::cluster::planned_steps(&ctx.settings));
}
