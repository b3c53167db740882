//! An installed kindling has no repository beside it: the demo image's source build context
//! is compiled in. Proven with a copy of the binary in an empty folder, run inside a container
//! whose filesystem holds nothing but that binary and the libraries it links (no checkout, no
//! CARGO_MANIFEST_DIR to fall back on), then the context it wrote resolved by the real cargo.

mod cluster_support;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared libraries and the loader `binary` needs, as ldd resolves them on this host.
fn linked_files(binary: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let path = match l.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn locked_packages(lock: &str) -> BTreeSet<(String, String, Option<String>)> {
    let table: toml::Table = toml::from_str(lock).unwrap();
    table["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p.get("checksum").and_then(|c| c.as_str()).map(String::from),
            )
        })
        .collect()
}

#[test]
fn a_lone_binary_with_no_repository_writes_the_demo_build_context() {
    if support::docker_available().is_none() {
        return;
    }
    let Some(image) = cluster_support::node_image() else {
        return;
    };
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(support::kindling_bin(), app.path().join("kindling")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let name = support::unique("kindling-test-demo-context");
    let mut docker = Command::new("docker");
    docker.args(["run", "--rm", "--name", &name, "--network", "none"]);
    docker
        .arg("-v")
        .arg(format!("{}:/app:ro", app.path().display()));
    docker
        .arg("-v")
        .arg(format!("{}:/out", out.path().display()));
    for file in linked_files(&support::kindling_bin()) {
        let real = file.canonicalize().unwrap();
        docker
            .arg("-v")
            .arg(format!("{}:{}:ro", real.display(), file.display()));
    }
    docker.args([
        "-w",
        "/",
        &image,
        "/app/kindling",
        "demo-context",
        "/out/ctx",
    ]);
    let run = docker.output().unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let ctx = out.path().join("ctx");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "demo-app/Dockerfile",
        "demo-app/Cargo.toml",
        "demo-app/build.rs",
        "demo-app/src/main.rs",
        "demo-app/src/server.rs",
        "Cargo.lock",
    ] {
        assert_eq!(
            std::fs::read(ctx.join(file)).unwrap_or_default(),
            std::fs::read(repo.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(!ctx.join("src").exists() && !ctx.join("crates").exists());

    // The real cargo resolves the context to the lock file's versions: it only drops entries.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let resolved = Command::new(&cargo)
        .args(["metadata", "--offline", "--format-version", "1"])
        .current_dir(&ctx)
        .output()
        .unwrap();
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&resolved.stdout).unwrap();
    let members = metadata["workspace_members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    let pinned = locked_packages(&std::fs::read_to_string(repo.join("Cargo.lock")).unwrap());
    let used = locked_packages(&std::fs::read_to_string(ctx.join("Cargo.lock")).unwrap());
    let moved: Vec<_> = used.difference(&pinned).collect();
    assert!(
        moved.is_empty(),
        "versions not from the lock file: {moved:?}"
    );
    assert!(used.iter().any(|(n, _, _)| n == "axum"));
    assert!(
        !used.iter().any(|(n, _, _)| n == "kube"),
        "kindling's own deps"
    );

    // A second run refuses to write into a folder that is not empty.
    let again = support::kindling()
        .args(["demo-context"])
        .arg(&ctx)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
