//! Step: the local CA in the cluster — its TLS Secret in cert-manager and the `kindling-ca`
//! ClusterIssuer. cert-manager's webhook must be ready before the issuer is accepted, so the
//! apply is retried until the component timeout.

use super::UpContext;
use crate::k8s;
use crate::pipeline::Pipeline;
use futures::FutureExt;
use std::time::{Duration, Instant};

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "ca-issuer",
        "Local CA in cert-manager (ClusterIssuer kindling-ca)",
        &["platform", "ca"],
        |ctx, step| {
            async move {
                let secret = serde_json::to_value(crate::tls::cluster::ca_secret(ctx.ca()?))
                    .map_err(|e| crate::Error::context("cannot make the CA Secret", e))?;
                let manifests = k8s::from_values(
                    vec![secret, crate::tls::cluster::cluster_issuer()],
                    "local CA",
                )?;
                let applier = ctx.applier()?;
                let deadline = Instant::now() + ctx.settings.config.timeouts.component;
                loop {
                    match applier.apply(&manifests, &step).await {
                        Ok(report) => return Ok((report.outcome(), Some(report.summary()))),
                        Err(e) if Instant::now() < deadline => {
                            step.progress(format!("cert-manager not ready yet ({e}); retrying"));
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            .boxed()
        },
    );
}
