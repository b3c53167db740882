//! `argocd/`: what kindling adds to Argo CD's pinned install.yaml (the `argocd` namespace,
//! argocd-cmd-params-cm's keys, the UI's Ingress). install.yaml itself is upstream's file,
//! applied unchanged apart from that ConfigMap and namespaces (sha256-pinned, see
//! `platform::pinned`), so it is named in a note rather than copied.

use super::{File, object_file, text_file};
use crate::config::Config;
use crate::platform::{argocd_install, pinned};

pub(super) fn files(config: &Config) -> Vec<File> {
    let mut objects = argocd_install::objects(config);
    objects.push(argocd_install::params_patch());
    let mut files: Vec<File> = super::as_applied(config, objects)
        .iter()
        .map(|o| object_file("argocd", o))
        .collect();
    let install = pinned::argocd_install(&config.components.argocd);
    files.push(text_file(
        "argocd",
        "install.txt",
        format!(
            "Argo CD {version} is installed from upstream's install.yaml, server-side applied into\n\
             namespace argocd, with argocd-cmd-params-cm given the keys in\n\
             configmap-argocd-cmd-params-cm.yaml:\n  {url}\n  sha256 {sha}\n",
            version = install.version,
            url = install.url,
            sha = install.sha256.unwrap_or("(not pinned: needs --allow-unpinned)"),
        ),
    ));
    files
}
