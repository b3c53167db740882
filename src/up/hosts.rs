//! Step: the managed block of ingress names in the hosts file (network.manage_hosts). It runs
//! after the platform components, Traefik among them: the names lead to the ingress, so a
//! failed `up` leaves the hosts file alone.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

const ID: &str = "hosts";
const TITLE: &str = "Hosts file entries";

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("hosts", TITLE, &["platform"], |ctx, _| {
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
                    .step(ID, TITLE)
                    .finish(Outcome::Skipped, "network.manage_hosts = false".to_string());
                return Ok((Outcome::Skipped, None));
            }
            let mut options = crate::hosts::HostsOptions::detect(&ctx.env, None);
            options.privilege = ctx.host_privilege();
            crate::hosts::apply_step(&ctx.settings.config, &options, &ctx.reporter)?;
            Ok((Outcome::Done, None))
        }
        .boxed()
    })
    .reports(|_| vec![(ID.into(), TITLE.into())]);
}
