//! The checks of the real end-to-end run (scripts/lib/e2e-checks.sh), run here against a
//! stub kindling and manifest fixtures: the real run needs a cluster and the network.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn run_check(function: &str, arg: &Path) -> Output {
    let lib = support::root().join("scripts/lib/e2e-checks.sh");
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; source {}; {function} \"$1\"",
            lib.display()
        ))
        .arg("bash")
        .arg(arg)
        .output()
        .unwrap()
}

/// A kindling whose `up` prints `output` and exits with `code`.
fn stub_kindling(dir: &Path, output: &str, code: i32) -> std::path::PathBuf {
    let path = dir.join("kindling");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat <<'OUT'\n{output}\nOUT\nexit {code}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

const UNCHANGED: &str = r#"{"event":"step_finished","step":"cluster","title":"Cluster","outcome":"unchanged","elapsedMs":3}"#;

#[test]
fn a_second_up_that_fails_fails_the_run_even_when_it_changed_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The old check piped `up` into grep inside an `if`: grep found nothing, so this passed.
    let failing = stub_kindling(dir.path(), UNCHANGED, 3);
    let out = run_check("check_second_up", &failing);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the second up failed (exit 3)"),
        "{out:?}"
    );
}

#[test]
fn a_second_up_that_changes_something_fails_and_one_that_does_not_passes() {
    let dir = tempfile::tempdir().unwrap();
    let changed = stub_kindling(
        dir.path(),
        &format!(
            "{UNCHANGED}\n{}",
            r#"{"event":"step_finished","step":"hosts","title":"Hosts","outcome":"changed","elapsedMs":1}"#
        ),
        0,
    );
    let out = run_check("check_second_up", &changed);
    assert!(!out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("changed something"));

    let other = tempfile::tempdir().unwrap();
    let fine = stub_kindling(other.path(), UNCHANGED, 0);
    let out = run_check("check_second_up", &fine);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_node_image_must_be_an_index_with_arm64_for_apple_silicon() {
    if Command::new("jq").arg("--version").output().is_err() {
        support::skip::<()>("no jq");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let platform = |arch: &str| {
        format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{}","size":1,"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
            "0".repeat(64)
        )
    };
    let index = |arches: &[&str]| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            arches
                .iter()
                .map(|a| platform(a))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let both = write("both.json", &index(&["amd64", "arm64"]));
    assert!(run_check("check_multiarch_index", &both).status.success());
    let docker_list = write(
        "list.json",
        &index(&["amd64", "arm64"]).replace(
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ),
    );
    assert!(
        run_check("check_multiarch_index", &docker_list)
            .status
            .success()
    );
    let amd64_only = write("amd64.json", &index(&["amd64"]));
    let out = run_check("check_multiarch_index", &amd64_only);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("linux/arm64"));
    let single = write(
        "single.json",
        r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#,
    );
    assert!(!run_check("check_multiarch_index", &single).status.success());
}

#[test]
fn the_e2e_script_and_workflow_use_the_checks() {
    let root = support::root();
    let script = std::fs::read_to_string(root.join("scripts/e2e-kind.sh")).unwrap();
    assert!(script.contains("source scripts/lib/e2e-checks.sh"));
    assert!(script.contains("check_second_up \"$kindling\""));
    assert!(
        !script.contains("up --yes | grep"),
        "the piped check is back"
    );
    let workflow = std::fs::read_to_string(root.join(".github/workflows/e2e.yml")).unwrap();
    assert!(workflow.contains("check_multiarch_index"), "{workflow}");
}
