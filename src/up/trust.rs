//! Step: the host trusts the local CA (network.trust_ca); without root, a warning with the commands.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("trust", "Host trusts the local CA", &["ca"], |ctx, _| {
        async move {
            if !ctx.settings.config.network.trust_ca {
                ctx.reporter
                    .step("tls-trust", "Host trusts the local CA")
                    .finish(Outcome::Skipped, "network.trust_ca = false".to_string());
                return Ok((Outcome::Skipped, None));
            }
            let access = crate::tls::HostAccess::detect(&ctx.env);
            crate::tls::trust_step(ctx.ca()?, &ctx.settings, &access, &ctx.reporter)?;
            Ok((Outcome::Done, None))
        }
        .boxed()
    });
}
