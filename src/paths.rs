//! Where kindling keeps state (data dir) and downloads (cache dir).

use crate::env::Env;
use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "kindling", "kindling")
}

/// CA, state and kubeconfig: KINDLING_DATA_DIR, else the platform's data directory.
pub fn data_dir(env: &Env) -> PathBuf {
    env.path("KINDLING_DATA_DIR")
        .or_else(|| project_dirs().map(|d| d.data_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".kindling/data"))
}

/// Downloads (kind, install manifests, schemas): KINDLING_CACHE_DIR, else the platform's cache directory.
pub fn cache_dir(env: &Env) -> PathBuf {
    env.path("KINDLING_CACHE_DIR")
        .or_else(|| project_dirs().map(|d| d.cache_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".kindling/cache"))
}
