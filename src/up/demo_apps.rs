//! Step: the demo environments. The AppProject, the three Applications (pinned to the artifact
//! just published, each annotated with what it runs) and the repository Secret; then each
//! Application Synced and Healthy at that revision, each Rollout Healthy, and each
//! environment's URL answering over HTTPS with kindling's CA (straight to 127.0.0.1, so no
//! hosts file or system trust is needed).

use super::UpContext;
use crate::k8s::{self, Waiter};
use crate::pipeline::Pipeline;
use crate::platform::demo_checks::{self, application_target, rollout_target};
use crate::platform::gitops::{self, ENVIRONMENTS};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "demo-apps",
        "Demo environments (dev, staging, production)",
        &["ca-issuer", "publish"],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                let (revision, releases) = ctx
                    .published
                    .get()
                    .ok_or_else(|| crate::Error::failed("up", "the publish step has not run"))?;
                let objects = gitops::argocd_objects_for(config, revision, releases);
                let manifests = k8s::from_values(objects, "demo Applications")?;
                let report = ctx.applier()?.apply(&manifests, &step).await?;

                let waiter = Waiter::new(ctx.cluster()?.client.clone());
                let names: Vec<String> =
                    ENVIRONMENTS.iter().map(gitops::application_name).collect();
                step.progress(format!(
                    "waiting for {} to sync {revision}",
                    names.join(", ")
                ));
                let apps = ENVIRONMENTS
                    .iter()
                    .map(|env| {
                        (
                            application_target(env),
                            demo_checks::application_synced_at(revision),
                        )
                    })
                    .collect();
                waiter.wait_all(apps, config.timeouts.component).await?;

                step.progress("waiting for the Rollouts to be Healthy");
                let rollouts = ENVIRONMENTS
                    .iter()
                    .map(|env| (rollout_target(env), demo_checks::rollout_healthy()))
                    .collect();
                waiter.wait_all(rollouts, config.timeouts.rollout).await?;

                let urls: Vec<String> = ENVIRONMENTS
                    .iter()
                    .map(|env| demo_checks::url(config, env.host_prefix))
                    .collect();
                step.progress(format!("checking {} over HTTPS", urls.join(", ")));
                let client = demo_checks::https_client(config, ctx.ca()?.cert_der())?;
                let checks = urls
                    .iter()
                    .map(|url| demo_checks::wait_https(&client, url, config.timeouts.component));
                futures::future::try_join_all(checks).await?;
                Ok((
                    report.outcome(),
                    Some(format!(
                        "{}; {} answer over HTTPS",
                        report.summary(),
                        urls.len()
                    )),
                ))
            }
            .boxed()
        },
    );
}
