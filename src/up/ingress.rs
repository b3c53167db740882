//! Step: where the platform's names must point. On kind, 127.0.0.1 (the host ports). On an
//! existing cluster, the address the ingress controller published (the load balancer's, or
//! `network.ingress_address` on node ports): `up` waits for it, names the DNS record to make
//! (`*.<domain>` → it), and waits until the names resolve there before anything waits for
//! HTTPS (`platform::ingress_address`).

use super::UpContext;
use crate::config::Provider;
use crate::pipeline::Pipeline;
use crate::platform::ingress_address::{self, Address};
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "ingress-address",
        "Ingress address and DNS",
        &["platform"],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                if config.cluster.provider != Provider::Existing {
                    let _ = ctx.ingress.set(Address::Ip([127, 0, 0, 1].into()));
                    return Ok((
                        Outcome::Skipped,
                        Some("kind: 127.0.0.1 (host ports)".into()),
                    ));
                }
                let timeout = config.timeouts.component;
                step.progress("waiting for the ingress controller to publish its address");
                let address = ingress_address::wait(&ctx.cluster()?.client, timeout).await?;
                let record = address.record(&config.network.domain);
                ctx.reporter.info(format!(
                    "the platform answers at {address}: create the DNS record `{record}`"
                ));
                ingress_address::wait_for_dns(config, &ctx.env, &address, timeout, &|m| {
                    step.progress(m)
                })
                .await?;
                let _ = ctx.ingress.set(address.clone());
                Ok((
                    Outcome::Done,
                    Some(format!(
                        "{address}; every name under *.{} resolves there",
                        config.network.domain
                    )),
                ))
            }
            .boxed()
        },
    );
}
