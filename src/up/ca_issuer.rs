//! Step: the local CA in the cluster — its TLS Secret in cert-manager and the `kindling-ca`
//! ClusterIssuer. cert-manager's webhook must be ready before the issuer is accepted, so the
//! apply is retried until the component timeout.

use super::UpContext;
use crate::k8s::{self, Condition, Verdict};
use crate::pipeline::Pipeline;
use crate::platform::applications;
use futures::FutureExt;
use std::time::Duration;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "ca-issuer",
        "Local CA in cert-manager (ClusterIssuer kindling-ca)",
        &["platform", "ca"],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                if !applications::uses_local_ca(config) {
                    let name = applications::cluster_issuer(config);
                    step.progress(format!("waiting for ClusterIssuer {name} to be Ready"));
                    let resolved = ctx
                        .applier()?
                        .discovery()
                        .resolve("cert-manager.io/v1", "ClusterIssuer", None)
                        .await?;
                    k8s::Waiter::new(ctx.cluster()?.client.clone())
                        .wait(
                            k8s::Target::cluster(resolved.resource, name),
                            issuer_ready(),
                            config.timeouts.component,
                        )
                        .await?;
                    return Ok((
                        crate::report::Outcome::Unchanged,
                        Some(format!(
                            "network.cluster_issuer: ClusterIssuer {name} is Ready"
                        )),
                    ));
                }
                let mut secret = serde_json::to_value(crate::tls::cluster::ca_secret(ctx.ca()?))
                    .map_err(|e| crate::Error::context("cannot make the CA Secret", e))?;
                // cert-manager reads a ClusterIssuer's Secret from the namespace it runs in.
                secret["metadata"]["namespace"] = ctx.plan()?.cert_manager_namespace.clone().into();
                let manifests = k8s::from_values(
                    vec![secret, crate::tls::cluster::cluster_issuer()],
                    "local CA",
                )?;
                let applier = ctx.applier()?;
                ctx.record(applier, &manifests).await?;
                let report = crate::retry::retry(
                    ctx.settings.config.timeouts.component,
                    Duration::from_secs(3),
                    || applier.apply(&manifests, &step),
                    |e| {
                        step.progress(format!("cert-manager not ready yet ({e}); retrying"));
                        true
                    },
                )
                .await?;
                Ok((report.outcome(), Some(report.summary())))
            }
            .boxed()
        },
    );
}

/// cert-manager's Ready condition on an issuer (`status.conditions[type=Ready]`).
fn issuer_ready() -> Condition {
    Condition::new("Ready", |o| {
        let Some(o) = o else {
            return Verdict::Failed(
                "it does not exist: network.cluster_issuer names a ClusterIssuer the cluster \
                 does not have (`kubectl get clusterissuer`)"
                    .into(),
            );
        };
        let ready = o.data["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready");
        match ready {
            Some(c) if c["status"] == "True" => Verdict::Done,
            Some(c) => Verdict::Pending(format!(
                "Ready {}: {}",
                c["status"].as_str().unwrap_or("Unknown"),
                c["message"].as_str().unwrap_or("")
            )),
            None => Verdict::Pending("cert-manager has not reported on it yet".into()),
        }
    })
}
