//! Step: the managed block of ingress names in the hosts file (network.manage_hosts).

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("hosts", "Hosts file entries", &["preflight"], |ctx, _| {
        async move {
            if ctx.settings.config.cluster.provider == crate::config::Provider::Existing {
                // Its names point at the cluster's ingress through DNS (see `up/ingress.rs`).
                ctx.reporter.step("hosts", "Hosts file entries").finish(
                    Outcome::Skipped,
                    "existing cluster: names come from DNS".to_string(),
                );
                return Ok((Outcome::Skipped, None));
            }
            if !ctx.settings.config.network.manage_hosts {
                ctx.reporter
                    .step("hosts", "Hosts file entries")
                    .finish(Outcome::Skipped, "network.manage_hosts = false".to_string());
                return Ok((Outcome::Skipped, None));
            }
            let options = crate::hosts::HostsOptions::detect(&ctx.env, None);
            crate::hosts::apply_step(&ctx.settings.config, &options, &ctx.reporter)?;
            Ok((Outcome::Done, None))
        }
        .boxed()
    });
}
