//! Step: the demo image of `demo.version`, built and pushed to the local registry. Needs only
//! the registry, so it runs while the cluster is being created. Rebuilding is cached and a
//! push of the same image leaves the registry unchanged.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::platform::demo_image::{self, Faults};
use crate::platform::gitops::{DemoImage, EnvRelease};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("demo-image", "Demo image", &["registry"], |ctx, _| {
        async move {
            let config = &ctx.settings.config;
            let docker = ctx.docker().await?;
            let target = ctx.push_target().await?;
            if crate::platform::push_target::uses_push_host(config) {
                crate::platform::push_target::check_login(target).await?;
            }
            let version = &config.demo.version;
            let built = demo_image::build_and_push(
                docker,
                config,
                target,
                version,
                &Faults::default(),
                &ctx.reporter,
            )
            .await?;
            let _ = ctx.demo_release.set(EnvRelease {
                version: version.clone(),
                // Pinned by digest: what runs is exactly what was built.
                image: DemoImage::for_release(config, &built.digest),
                profile: config.demo.profile,
            });
            Ok((built.outcome, Some(built.digest)))
        }
        .boxed()
    })
    .reports(|ctx| {
        let config = &ctx.settings.config;
        let name = demo_image::IMAGE_NAME;
        let reference = format!("{}/{name}:{}", config.registry_host(), config.demo.version);
        vec![(
            format!("image:{name}"),
            format!("Build and push {reference}"),
        )]
    });
}
