//! Shared helpers for kindling's integration tests. Include with `mod support;`.
#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// True under CI=true, where missing prerequisites fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips the calling test (returns None) with a reason, or panics under CI=true.
pub fn skip<T>(reason: &str) -> Option<T> {
    if in_ci() {
        panic!("required under CI=true: {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ../shared (or KINDLING_SHARED_DIR): upstream data and test tools.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KINDLING_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    if dir.join("upstream").is_dir() {
        Some(dir)
    } else {
        skip(&format!("{} not found (set KINDLING_SHARED_DIR)", dir.display()))
    }
}

/// A file under ../shared/upstream, e.g. "argo-cd/v3.5.1/install.yaml".
pub fn upstream(path: &str) -> Option<PathBuf> {
    Some(shared_dir()?.join("upstream").join(path))
}

/// Whether a Docker engine answers (scripts/test.sh starts one); None = skip.
pub fn docker_available() -> Option<()> {
    if std::env::var_os("KINDLING_TEST_NO_DOCKER").is_some() {
        return skip("no Docker engine (KINDLING_TEST_NO_DOCKER set by scripts/test.sh)");
    }
    let ok = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok { Some(()) } else { skip("no Docker engine answers (run scripts/test.sh, which starts one)") }
}

/// The stand-in registry image built by scripts/test.sh (distribution 2.8 from Debian).
pub fn registry_image() -> String {
    std::env::var("KINDLING_TEST_REGISTRY_IMAGE").unwrap_or_else(|_| "kindling-test/registry:2.8".into())
}

/// A name unique to this test process and call, for containers, volumes, clusters.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// The built kindling binary (for CLI tests).
pub fn kindling_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kindling"))
}

/// A tool from Debian unstable fetched by scripts/lib/prepare.sh (KINDLING_TEST_KIND, ...).
pub fn sid_tool(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => skip(&format!("{var} not set (scripts/test.sh fetches it from Debian unstable)")),
    }
}

/// The crd-apiserver build (KINDLING_CRD_APISERVER, set by scripts/test.sh).
pub fn crd_apiserver_build() -> Option<PathBuf> {
    match std::env::var_os("KINDLING_CRD_APISERVER").map(PathBuf::from) {
        Some(p) if p.join("bin/crd-apiserver").is_file() => Some(p),
        _ => skip("KINDLING_CRD_APISERVER not set or not built (scripts/test.sh builds it)"),
    }
}
