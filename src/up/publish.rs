//! Step: the manifests artifact with one generated layer per environment (image, domain,
//! timing profile). Each environment keeps what its Application records it runs (a release
//! stays released); the others get the demo image just built. Same content, same digest:
//! a second `up` publishes nothing.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::platform::demo_publish;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group(
        "publish",
        "Manifests artifact",
        &["demo-image", "cluster"],
        |ctx, _| {
            async move {
                let config = &ctx.settings.config;
                let fallback = ctx
                    .demo_release
                    .get()
                    .ok_or_else(|| crate::Error::failed("up", "the demo-image step has not run"))?;
                let registry = ctx.push_target().await?;
                let client = &ctx.cluster()?.client;
                let releases =
                    demo_publish::current_releases(client, registry, fallback, &ctx.reporter)
                        .await?;
                let published =
                    demo_publish::publish(config, registry, &releases, &ctx.reporter).await?;
                let outcome = published.outcome;
                let detail = format!(
                    "{} ({})",
                    published.digest,
                    demo_publish::describe(&releases)
                );
                let _ = ctx.published.set((published.digest, releases));
                Ok((outcome, Some(detail)))
            }
            .boxed()
        },
    )
    .reports(|_| {
        let artifact = format!(
            "{}:{}",
            crate::platform::gitops::ARTIFACT_REPO,
            demo_publish::ARTIFACT_TAG
        );
        vec![(format!("oci:{artifact}"), format!("Publish {artifact}"))]
    });
}
