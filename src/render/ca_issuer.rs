//! `ca-issuer/`: the ClusterIssuer that signs every Ingress certificate. The CA Secret the
//! `ca-issuer` step applies beside it holds the CA's key and is not rendered. With
//! `network.cluster_issuer` set, kindling makes no issuer: the named one signs them.

use super::{File, object_file};
use crate::config::Config;
use crate::platform::applications;

pub(super) fn files(config: &Config) -> Vec<File> {
    if !applications::uses_local_ca(config) {
        return Vec::new();
    }
    super::as_applied(config, vec![crate::tls::cluster::cluster_issuer()])
        .iter()
        .map(|o| object_file("ca-issuer", o))
        .collect()
}
