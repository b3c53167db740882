//! Step: Argo CD from its pinned install.yaml (bundle, cache or network; sha256-verified),
//! server-side applied into `argocd` with kindling's patches (`platform::argocd_install`:
//! `server.insecure`, as TLS ends at the ingress, and the UI's Ingress), argocd-server
//! restarted when that setting changed, then every workload rolled out. Runs after the
//! registry wiring, so its images come through the caches.

use super::UpContext;
use crate::k8s::{self, Applied, Manifest, Target, Waiter};
use crate::pipeline::Pipeline;
use crate::platform::applications::ARGOCD_NAMESPACE;
use crate::platform::argocd_install::{self, PARAMS_CONFIG_MAP};
use crate::platform::fetch::{self, Sources};
use crate::platform::pinned;
use crate::report::Outcome;
use futures::FutureExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "argocd",
        "Argo CD",
        &["cluster", "wire", "existing"],
        |ctx, step| {
            async move {
                let version = &ctx.settings.config.components.argocd;
                let applier = ctx.new_applier()?;
                if let Some(reused) = ctx.plan()?.reused.get(crate::platform::adopt::ARGOCD) {
                    // The cluster's own Argo CD: kindling neither installs nor reconfigures it.
                    let _ = ctx.applier.set(applier);
                    return Ok((Outcome::Unchanged, Some(format!("reusing {reused}"))));
                }
                let sources = Sources {
                    bundle: ctx.options.bundle.clone(),
                    cache_dir: ctx.settings.cache_dir.clone(),
                    allow_unpinned: ctx.options.allow_unpinned,
                };
                step.progress(format!("install.yaml {version}"));
                let bytes = fetch::fetch(&pinned::argocd_install(version), &sources).await?;
                let text = String::from_utf8_lossy(&bytes);
                let mut manifests =
                    k8s::parse_str(&text, &format!("argo-cd {version} install.yaml"))?;
                argocd_install::patch_install(&mut manifests);
                manifests.extend(k8s::from_values(
                    argocd_install::objects(&ctx.settings.config),
                    "kindling's Argo CD objects",
                )?);

                let client = ctx.cluster()?.client.clone();
                ctx.record(&applier, &manifests).await?;
                let report = applier.apply(&manifests, &step).await?;
                let params_changed = report.objects.iter().any(|o| {
                    o.kind == "ConfigMap"
                        && o.name == PARAMS_CONFIG_MAP
                        && o.result == Applied::Configured
                });
                if params_changed {
                    step.progress("server.insecure changed: restarting argocd-server");
                    restart_server(&client).await?;
                }

                let timeout = ctx.settings.config.timeouts.component;
                let waits = workloads(&manifests);
                step.progress(format!("waiting for {} workloads", waits.len()));
                Waiter::new(client).wait_all(waits, timeout).await?;
                let _ = ctx.applier.set(applier);
                Ok((report.outcome(), Some(report.summary())))
            }
            .boxed()
        },
    );
}

/// `kubectl rollout restart`: a new pod-template annotation makes the Deployment roll.
async fn restart_server(client: &kube::Client) -> crate::Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ARGOCD_NAMESPACE);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let patch = serde_json::json!({
        "spec": { "template": { "metadata": { "annotations": { "kubectl.kubernetes.io/restartedAt": now } } } }
    });
    api.patch(
        "argocd-server",
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| crate::Error::context("cannot restart argocd-server", e))?;
    Ok(())
}

/// Every Deployment and StatefulSet of the install, each to be rolled out.
fn workloads(manifests: &[Manifest]) -> Vec<(Target, k8s::Condition)> {
    manifests
        .iter()
        .filter_map(|m| {
            let name = m.object.metadata.name.as_deref()?;
            let target = match m.kind() {
                "Deployment" => Target::of::<Deployment>(Some(ARGOCD_NAMESPACE), name),
                "StatefulSet" => Target::of::<StatefulSet>(Some(ARGOCD_NAMESPACE), name),
                _ => return None,
            };
            Some((target, k8s::wait::rolled_out()))
        })
        .collect()
}
