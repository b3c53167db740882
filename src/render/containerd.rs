//! `containerd/<host>/hosts.toml`: the registry hosts kindling writes into every node's
//! `/etc/containerd/certs.d/` (the local registry and one per pull-through cache).

use super::{File, text_file};
use crate::cluster::wiring::{CERTS_D, node_files};
use crate::config::{Config, Provider};

pub(super) fn files(config: &Config) -> Vec<File> {
    if config.cluster.provider == Provider::Existing {
        // No nodes of kindling's own to wire.
        return Vec::new();
    }
    node_files(config)
        .into_iter()
        .map(|f| {
            let relative = f.path.trim_start_matches(CERTS_D).trim_start_matches('/');
            text_file("containerd", relative, f.content)
        })
        .collect()
}
