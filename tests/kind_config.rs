//! The generated kind config: a snapshot, the CLI prints it, and the real kind accepts it
//! (it fails here only at pulling the node image, after validating the config).

mod cluster_support;
mod support;

use cluster_support::containers_with_label;
use kindling::cluster::kind_config;
use kindling::config::Config;
use std::process::Command;

/// tests/snapshots/kind_config__kind-config.snap (`cargo insta review` accepts a change).
#[test]
fn the_default_config_matches_the_snapshot() {
    insta::assert_snapshot!("kind-config", kind_config::render(&Config::builtin()));
}

#[test]
fn cluster_config_prints_exactly_what_kind_receives() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::kindling()
        .current_dir(dir.path())
        .args([
            "--set",
            "network.http_port=8080",
            "--set",
            "cluster.workers=1",
            "cluster",
            "config",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut config = Config::builtin();
    config.network.http_port = 8080;
    config.cluster.workers = 1;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        kind_config::render(&config)
    );
}

/// Runs the real `kind create cluster --config <file>` with a private KUBECONFIG.
fn kind_create(kind: &std::path::Path, name: &str, config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kind.yaml");
    std::fs::write(&file, config).unwrap();
    let out = Command::new(kind)
        .args(["create", "cluster", "--name", name, "--config"])
        .arg(&file)
        .env("KUBECONFIG", dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    // Whatever happened, leave no node behind.
    let label = format!("io.x-k8s.kind.cluster={name}");
    for node in containers_with_label(&label) {
        let _ = cluster_support::docker(&["rm", "-f", "-v", &node]);
    }
    assert!(!out.status.success(), "kind cannot create a cluster here");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn real_kind_accepts_the_config_and_fails_only_at_the_node_image() {
    let Some(kind) = cluster_support::real_kind() else {
        return;
    };
    if support::docker_available().is_none() {
        return;
    }
    let mut config = Config::builtin();
    config.cluster.workers = 1;
    config.network.http_port = support::free_port();
    config.network.https_port = support::free_port();
    let name = support::unique("kcfg");
    let output = kind_create(&kind, &name, &kind_config::render(&config));
    assert!(output.contains("Ensuring node image"), "{output}");
    assert!(output.contains("failed to pull image"), "{output}");
    assert!(
        !output.contains("invalid configuration") && !output.contains("unable to decode"),
        "{output}"
    );
    assert!(containers_with_label(&format!("io.x-k8s.kind.cluster={name}")).is_empty());
}

#[test]
fn real_kind_rejects_a_broken_config_before_the_node_image() {
    let Some(kind) = cluster_support::real_kind() else {
        return;
    };
    if support::docker_available().is_none() {
        return;
    }
    let good = kind_config::render(&Config::builtin());
    // A typo in a field name, and a role that does not exist: both caught while loading.
    let misspelled = good.replace("extraPortMappings", "extraPortMapping");
    let output = kind_create(&kind, &support::unique("kbad"), &misspelled);
    assert!(output.contains("unable to decode config"), "{output}");
    assert!(!output.contains("Ensuring node image"), "{output}");
    let bad_role = good.replace("role: control-plane", "role: controlplane");
    let output = kind_create(&kind, &support::unique("kbad"), &bad_role);
    assert!(output.contains("invalid configuration"), "{output}");
    assert!(!output.contains("Ensuring node image"), "{output}");
}
