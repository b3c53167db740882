//! `kindling rollout status --file` on upstream's fixtures, through the real binary; and the
//! `rollout` command's help.

mod support;

use serde_json::{Value, json};

fn status_json(path: &std::path::Path) -> Value {
    let out = support::kindling()
        .args(["rollout", "status", "--file"])
        .arg(path)
        .args(["--output", "json"])
        .output()
        .unwrap();
    // Exit 1 for a Degraded Rollout (as `kindling status`), 0 otherwise; the summary either way.
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let degraded = stdout.contains("\"status\":\"Degraded\"");
    assert_eq!(
        out.status.code(),
        Some(if degraded { 1 } else { 0 }),
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
    // Images and replica counts are checked in their own test; here the plugin's columns.
    let columns = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        assert!(o.remove("images").is_some() && o.remove("replicas").is_some());
        v
    };
    assert_eq!(
        columns(status_json(&dir.join("canary-rollout.yaml"))),
        json!({"name": "canary-demo", "namespace": "jesse-test", "strategy": "Canary",
               "status": "Degraded",
               "message": "ProgressDeadlineExceeded: ReplicaSet \"canary-demo-65fb5ffc84\" has timed out progressing.",
               "step": "0/8", "setWeight": 20, "actualWeight": 0})
    );
    assert_eq!(
        columns(status_json(&dir.join("bluegreen-rollout.yaml"))),
        json!({"name": "bluegreen-demo", "namespace": "jesse-test", "strategy": "BlueGreen",
               "status": "Paused", "message": "BlueGreenPause",
               "step": null, "setWeight": null, "actualWeight": null})
    );
    assert_eq!(
        columns(status_json(&dir.join("canary-demo.yaml"))),
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

    let out = support::kindling()
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
    let out = support::kindling()
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

/// `kindling --no-color rollout status --file PATH` (stdin piped from `input` when given).
fn status_text(args: &[&str], input: Option<&str>) -> (i32, String, String) {
    // Without input, an empty stdin (closed at once), as from /dev/null.
    let out = support::kindling()
        .args(["--no-color", "rollout", "status"])
        .args(args)
        .write_stdin(input.unwrap_or(""))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_degraded_rollout_is_shown_then_exits_1() {
    let Some(dir) = support::upstream("argo-rollouts/v1.9.1/testdata") else {
        return;
    };
    let path = dir.join("canary-rollout.yaml");
    let (code, stdout, stderr) = status_text(&["--file", path.to_str().unwrap()], None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("Status:         ✖ Degraded"), "{stdout}");
    assert!(
        stderr.contains("Rollout jesse-test/canary-demo is Degraded: ProgressDeadlineExceeded"),
        "{stderr}"
    );
}

#[test]
fn images_and_replica_counts_are_shown() {
    let Some(dir) = support::upstream("argo-rollouts/v1.9.1/testdata") else {
        return;
    };
    let path = dir.join("canary-demo.yaml");
    let (code, stdout, stderr) = status_text(&["--file", path.to_str().unwrap()], None);
    assert_eq!(code, 0, "{stderr}");
    for line in [
        "Image:          argoproj/rollouts-demo:blue",
        "Replicas:       desired 5 current 5 updated 0 ready 5 available 5",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn a_rollout_is_read_from_stdin_with_dash() {
    let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: demo-app, namespace: dev, generation: 1}\nspec:\n  strategy: {canary: {steps: [{setWeight: 50}]}}\nstatus: {observedGeneration: '1', phase: Healthy, message: '', currentStepIndex: 1}\n";
    let (code, stdout, stderr) = status_text(&["--file", "-"], Some(yaml));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Name:           demo-app"), "{stdout}");
    assert!(stdout.contains("Status:         ✔ Healthy"), "{stdout}");
}

#[test]
fn a_saved_rollout_without_status_says_it_has_no_status_yet() {
    let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: demo-app, namespace: dev}\nspec:\n  replicas: 3\n  template: {spec: {containers: [{name: app, image: 'demo:1'}]}}\n  strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}]}}\n";
    let (code, stdout, stderr) = status_text(&["--file", "-"], Some(yaml));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Message:        no status yet: the Argo Rollouts controller has not reconciled this Rollout"),
        "{stdout}"
    );
    for invented in ["Weight", "Step:", "Replicas:", "100"] {
        assert!(!stdout.contains(invented), "{invented:?} in:\n{stdout}");
    }
    assert!(stdout.contains("Image:          demo:1"), "{stdout}");
}

#[test]
fn endless_or_special_input_is_refused_in_bounded_memory() {
    let (code, _, stderr) = status_text(&["--file", "/dev/zero"], None);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error: cannot read /dev/zero\n  caused by: too large (more than 4 MiB)"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = status_text(&["--file", dir.path().to_str().unwrap()], None);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("it is a folder, not a regular file"),
        "{stderr}"
    );
}

#[test]
fn every_rollout_subcommand_and_argument_has_help() {
    use clap::CommandFactory;
    let cli = kindling::cli::Cli::command();
    let rollout = cli.find_subcommand("rollout").unwrap();
    let mut missing = Vec::new();
    for sub in rollout.get_subcommands() {
        if sub.get_about().is_none() {
            missing.push(sub.get_name().to_string());
        }
        for arg in sub.get_arguments() {
            let global = arg.is_global_set();
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !global && !builtin && arg.get_help().is_none() {
                missing.push(format!("{} {}", sub.get_name(), arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "without help: {missing:?}");
}
