//! The cluster's kubeconfig: kind merges context `kind-<name>` into the user's kubeconfig;
//! kindling keeps its own copy (mode 0600: it holds the admin credentials) and builds its
//! kube client from that copy, so it never depends on the user's current context.

use super::ClusterError;
use super::kind_cli::KindCli;
use crate::config::Settings;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `<data_dir>/kubeconfig-<name>`.
pub fn path(settings: &Settings) -> PathBuf {
    settings
        .data_dir
        .join(format!("kubeconfig-{}", settings.config.cluster.name))
}

/// The context kind names for a cluster.
pub fn context(name: &str) -> String {
    format!("kind-{name}")
}

/// Fetches the kubeconfig from kind and keeps the copy; returns whether the copy changed.
pub async fn fetch(settings: &Settings, kind: &KindCli) -> Result<bool, ClusterError> {
    let name = &settings.config.cluster.name;
    let out = kind.run(&["get", "kubeconfig", "--name", name]).await?;
    write_private(&path(settings), out.stdout.as_bytes())
}

/// Writes a secret file: created 0600 under a temporary name, then renamed into place,
/// so no reader ever sees it world-readable or half-written. Unchanged content is left alone.
pub fn write_private(path: &Path, content: &[u8]) -> Result<bool, ClusterError> {
    let io = |what| {
        let path = path.to_path_buf();
        move |source| ClusterError::Io { what, path, source }
    };
    if std::fs::read(path).is_ok_and(|old| old == content) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io("cannot restrict the permissions of"))?;
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("cannot create the directory of"))?;
    let partial = dir.join(format!(
        ".{}.{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .and_then(|mut f| {
            // An old partial file keeps its mode through `open`; force 0600.
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(content)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map_err(io("cannot write"))?;
    Ok(true)
}

/// A kube client for `context` (None: the file's current context) of a kubeconfig file.
pub async fn client(path: &Path, context: Option<&str>) -> Result<kube::Client, ClusterError> {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
            source_name: path.display().to_string(),
            reason: e.to_string(),
        })?;
    client_from(kubeconfig, &path.display().to_string(), context).await
}

pub(super) async fn client_from(
    kubeconfig: kube::config::Kubeconfig,
    source_name: &str,
    context: Option<&str>,
) -> Result<kube::Client, ClusterError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let failed = |reason: String| ClusterError::Kubeconfig {
        source_name: source_name.to_string(),
        reason,
    };
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| failed(e.to_string()))?;
    crate::k8s::direct_to_loopback(&mut config);
    kube::Client::try_from(config).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_private_and_rewritten_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/kubeconfig-x");
        assert!(write_private(&file, b"one").unwrap());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!write_private(&file, b"one").unwrap());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an unchanged copy is still made private");
        assert!(write_private(&file, b"two").unwrap());
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
