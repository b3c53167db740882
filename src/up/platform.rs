//! Step: the platform Applications (Traefik, cert-manager, kube-prometheus-stack, Argo
//! Rollouts), the Argo CD Ingress and Grafana's admin Secret; then every Application Synced
//! and Healthy (a failed sync or a comparison error fails at once, naming the Application).

use super::UpContext;
use crate::k8s::{self, Target, Waiter};
use crate::pipeline::Pipeline;
use crate::platform::applications::{self, ARGOCD_NAMESPACE, GRAFANA_ADMIN_SECRET};
use futures::FutureExt;
use serde_json::json;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step("platform", "Platform components (Argo CD Applications)", &["argocd"], |ctx, step| {
        async move {
            let config = &ctx.settings.config;
            let password = super::credentials::grafana_password(&ctx.settings)?;
            let mut objects = vec![
                json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "monitoring" } }),
                json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": { "name": GRAFANA_ADMIN_SECRET, "namespace": "monitoring" },
                    "stringData": { "admin-user": "admin", "admin-password": password }
                }),
                applications::argocd_ingress(config),
            ];
            let mut apps = applications::all(config);
            // A loaded bundle serves the charts from the local registry (its Secret goes first).
            if let Some(offline) = &ctx.options.offline {
                objects.extend(offline.platform_objects(config, &mut apps));
            }
            let names: Vec<String> =
                apps.iter().filter_map(|a| a["metadata"]["name"].as_str().map(str::to_string)).collect();
            objects.extend(apps);
            let manifests = k8s::from_values(objects, "platform Applications")?;
            let applier = ctx.applier()?;
            let report = applier.apply(&manifests, &step).await?;

            step.progress(format!("waiting for {} to be Synced and Healthy", names.join(", ")));
            let resolved = applier.discovery().resolve("argoproj.io/v1alpha1", "Application", None).await?;
            let waits = names
                .iter()
                .map(|name| {
                    let target = Target::namespaced(resolved.resource.clone(), ARGOCD_NAMESPACE, name);
                    (target, k8s::wait::application_synced_healthy())
                })
                .collect();
            Waiter::new(ctx.cluster()?.client.clone()).wait_all(waits, config.timeouts.component()).await?;
            Ok((report.outcome(), Some(report.summary())))
        }
        .boxed()
    });
}
