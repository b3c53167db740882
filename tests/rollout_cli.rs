//! `kindling rollout status --file` on upstream's fixtures, through the real binary.

mod support;

use serde_json::{Value, json};
use std::process::Command;

fn status_json(path: &std::path::Path) -> Value {
    let out = Command::new(support::kindling_bin())
        .args(["rollout", "status", "--file"])
        .arg(path)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "one JSON object on one line: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn status_file_prints_one_json_object_per_fixture() {
    let Some(dir) = support::upstream("argo-rollouts/v1.9.1/testdata") else {
        return;
    };
    assert_eq!(
        status_json(&dir.join("canary-rollout.yaml")),
        json!({"name": "canary-demo", "namespace": "jesse-test", "strategy": "Canary",
               "status": "Degraded",
               "message": "ProgressDeadlineExceeded: ReplicaSet \"canary-demo-65fb5ffc84\" has timed out progressing.",
               "step": "0/8", "setWeight": 20, "actualWeight": 0})
    );
    assert_eq!(
        status_json(&dir.join("bluegreen-rollout.yaml")),
        json!({"name": "bluegreen-demo", "namespace": "jesse-test", "strategy": "BlueGreen",
               "status": "Paused", "message": "BlueGreenPause",
               "step": null, "setWeight": null, "actualWeight": null})
    );
    assert_eq!(
        status_json(&dir.join("canary-demo.yaml")),
        json!({"name": "canary-demo", "namespace": "jesse-test", "strategy": "Canary",
               "status": "Progressing", "message": "more replicas need to be updated",
               "step": "0/1", "setWeight": 0, "actualWeight": 0})
    );
}

#[test]
fn status_file_reads_json_and_prints_a_human_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.json");
    let ro = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "demo-app", "namespace": "staging", "generation": 2},
        "spec": {"replicas": 5, "strategy": {"canary": {"steps": [{"setWeight": 40}, {"pause": {}}]}}},
        "status": {"observedGeneration": "2", "phase": "Paused", "message": "CanaryPauseStep",
                   "currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}]}});
    std::fs::write(&path, serde_json::to_string_pretty(&ro).unwrap()).unwrap();
    let v = status_json(&path);
    assert_eq!(
        (
            v["status"].as_str(),
            v["step"].as_str(),
            v["setWeight"].as_i64()
        ),
        (Some("Paused"), Some("1/2"), Some(40))
    );

    let out = Command::new(support::kindling_bin())
        .args(["rollout", "status", "--no-color", "--file"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "Name:           demo-app",
        "Message:        CanaryPauseStep",
        "Step:         1/2",
        "[████████░░░░░░░░░░░░]  40",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn a_file_that_is_not_a_rollout_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cm.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let out = Command::new(support::kindling_bin())
        .args(["rollout", "status", "--file"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("is not a Rollout: its kind is ConfigMap"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}
