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

/// Whether `name` can be one component of a path kindling builds (a version in a cache or
/// bundle path, a file name): letters, digits, '.', '_', '+', '-', not starting with '.'.
/// No separator, no "..": joined to a folder, it stays inside it.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_names_cannot_leave_their_folder() {
        for ok in ["v3.5.1", "v1.0.0-rc.1+build.5", "kind-v0.33.0"] {
            assert!(super::is_plain_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "v1/../../x",
            "v3.5.1-;rm -rf /",
            "a b",
            ".hidden",
        ] {
            assert!(!super::is_plain_name(bad), "{bad}");
        }
    }
}
