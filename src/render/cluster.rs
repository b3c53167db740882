//! `cluster/`: the kind config, exactly what `kind create cluster --config -` receives.

use super::{File, text_file};
use crate::config::{Config, Provider};

pub(super) fn files(config: &Config) -> Vec<File> {
    match config.cluster.provider {
        Provider::Kind => vec![text_file(
            "cluster",
            "kind-config.yaml",
            crate::cluster::kind_config::render(config),
        )],
        // An existing cluster is used as it is: kindling creates no cluster.
        Provider::Existing => Vec::new(),
    }
}
