//! Step: the host trusts the local CA (network.trust_ca); without root, a warning with the
//! commands. It runs last, after the CA ClusterIssuer: the trust serves the certificates
//! cert-manager signs with the CA, and a failed `up` leaves the trust store alone.

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

const ID: &str = "tls-trust";
const TITLE: &str = "Host trusts the local CA";

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("trust", TITLE, &["ca", "ca-issuer"], |ctx, _| {
        async move {
            if !ctx.settings.config.network.trust_ca {
                ctx.reporter
                    .step(ID, TITLE)
                    .finish(Outcome::Skipped, "network.trust_ca = false".to_string());
                return Ok((Outcome::Skipped, None));
            }
            let mut access = crate::tls::HostAccess::detect(&ctx.env);
            access.privilege = ctx.host_privilege();
            crate::tls::trust_step(ctx.ca()?, &ctx.settings, &access, &ctx.reporter)?;
            Ok((Outcome::Done, None))
        }
        .boxed()
    })
    .reports(|_| vec![(ID.into(), TITLE.into())]);
}
