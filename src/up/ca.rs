//! Step: the local CA (made once, then reused).

use super::UpContext;
use crate::pipeline::Pipeline;
use crate::report::Outcome;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.group("ca", "Local CA", &["preflight"], |ctx, _| {
        async move {
            let ca = crate::tls::ensure_ca(&ctx.settings, &ctx.reporter, false)?;
            let _ = ctx.ca.set(ca);
            Ok((Outcome::Done, None))
        }
        .boxed()
    })
    .reports(|_| vec![("tls-ca".into(), "Local CA".into())]);
}
