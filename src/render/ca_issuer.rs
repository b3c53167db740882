//! `ca-issuer/`: the ClusterIssuer that signs every Ingress certificate. The CA Secret the
//! `ca-issuer` step applies beside it holds the CA's key and is not rendered.

use super::{File, object_file};

pub(super) fn files() -> Vec<File> {
    vec![object_file(
        "ca-issuer",
        &crate::tls::cluster::cluster_issuer(),
    )]
}
