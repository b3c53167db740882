//! Step: the doctor's checks; a failing one stops everything that follows, and `up` exits 3
//! as `doctor` does.

use super::UpContext;
use crate::doctor::{self, Status};
use crate::error::Error;
use crate::pipeline::Pipeline;
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step("preflight", "Preflight checks", &[], |ctx, _step| {
        async move {
            let results = doctor::run(&ctx.settings, &ctx.env).await;
            for r in results.iter().filter(|r| r.status == Status::Warn) {
                ctx.reporter
                    .warn(format!("{}: {}", r.check, r.detail), r.hint.clone());
            }
            let failed: Vec<_> = results
                .iter()
                .filter(|r| r.status == Status::Fail)
                .collect();
            if failed.is_empty() {
                return Ok((Outcome::Done, Some(format!("{} checks", results.len()))));
            }
            let why = failed
                .iter()
                .map(|r| format!("{}: {}", r.check, r.detail))
                .collect::<Vec<_>>()
                .join("; ");
            let mut hints: Vec<String> = failed.iter().filter_map(|r| r.hint.clone()).collect();
            hints.push("`kindling doctor` shows every check".into());
            Err(Error::Preflight {
                failed: failed.len(),
                why,
                hints,
            })
        }
        .boxed()
    });
}
