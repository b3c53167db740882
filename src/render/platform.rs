//! `platform/`: every platform Application with its Helm values, Grafana's admin Secret
//! (redacted) and the Grafana dashboards — what the `platform` step applies.

use super::{File, object_file};
use crate::config::Config;
use crate::platform::applications;

pub(super) fn files(config: &Config) -> Vec<File> {
    super::as_applied(
        config,
        applications::platform_objects(config, super::redact::REDACTED),
    )
    .iter()
    .map(|o| object_file("platform", o))
    .collect()
}
