//! Step: the platform Applications (Traefik, cert-manager, kube-prometheus-stack, Argo
//! Rollouts, metrics-server), Grafana's admin Secret and dashboards
//! (`applications::platform_objects`); then every Application Synced and Healthy (a failed sync
//! or a comparison error fails at once, naming the Application; one left Progressing or
//! Degraded fails at the timeout naming its resources that are not Healthy and why,
//! `app_health`). After the registry wiring, so the charts' images come through the caches.

use super::UpContext;
use crate::k8s::{self, Target, Waiter};
use crate::pipeline::Pipeline;
use crate::platform::app_health;
use crate::platform::applications::{self, ARGOCD_NAMESPACE};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "platform",
        "Platform components (Argo CD Applications)",
        &["argocd", "wire"],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                let password = super::credentials::grafana_password(&ctx.settings)?;
                let plan = ctx.plan()?;
                let mut objects =
                    plan.applications(applications::platform_objects(config, &password));
                // A loaded bundle serves the charts from the local registry (its Secret first).
                if let Some(offline) = &ctx.options.offline {
                    let secret = offline.platform_objects(config, &mut objects);
                    objects.splice(0..0, secret);
                }
                let names = plan.application_names(config);
                let manifests = k8s::from_values(objects, "platform Applications")?;
                let applier = ctx.applier()?;
                ctx.record(applier, &manifests).await?;
                let report = applier.apply(&manifests, &step).await?;

                step.progress(format!(
                    "waiting for {} to be Synced and Healthy",
                    names.join(", ")
                ));
                let resolved = applier
                    .discovery()
                    .resolve("argoproj.io/v1alpha1", "Application", None)
                    .await?;
                let waits = names
                    .iter()
                    .map(|name| {
                        let target =
                            Target::namespaced(resolved.resource.clone(), ARGOCD_NAMESPACE, name);
                        let synced_healthy = k8s::wait::application_synced_healthy()
                            .explained_by(app_health::explain);
                        (target, synced_healthy)
                    })
                    .collect();
                Waiter::new(ctx.cluster()?.client.clone())
                    .wait_all(waits, config.timeouts.component)
                    .await?;
                Ok((report.outcome(), Some(report.summary())))
            }
            .boxed()
        },
    );
}
