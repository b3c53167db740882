//! `kindling lint`'s Rollout rules, through the real binary: a good set of objects passes,
//! and each rule is caught by one crafted mistake (exit 1, message on the Rollout).

mod support;

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

fn canary_set() -> Vec<Value> {
    vec![
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {
                "replicas": 5,
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a", "tier": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}},
                "strategy": {"canary": {
                    "canaryService": "r-canary", "stableService": "r-stable",
                    "maxSurge": 1, "maxUnavailable": 0,
                    "steps": [{"setWeight": 20}, {"analysis": {
                        "templates": [{"templateName": "t"}],
                        "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}]}}}}),
        service("r-canary"),
        service("r-stable"),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": {"args": [{"name": "hash"}, {"name": "optional", "value": "x"}],
                     "metrics": [{"name": "m", "count": 1, "successCondition": "result[0] > 0",
                                  "provider": {"prometheus": {"address": "http://p:9090", "query": "vector(1)"}}}]}}),
    ]
}

fn bluegreen_set() -> Vec<Value> {
    let mut set = canary_set();
    set[0]["spec"]["strategy"] = json!({"blueGreen": {
        "activeService": "r-stable", "previewService": "r-canary", "autoPromotionEnabled": false,
        "prePromotionAnalysis": {"templates": [{"templateName": "t"}],
            "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}});
    set
}

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
        "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

/// Runs `kindling --output json lint --schemas <dir> -` on the objects (as a JSON stream).
fn lint(objects: &[Value], schemas: &std::path::Path) -> (i32, Value) {
    let mut child = Command::new(support::kindling_bin())
        .args(["--output", "json", "lint", "--schemas"])
        .arg(schemas)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = objects.iter().map(|o| format!("{o}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

fn rollout_messages(report: &Value) -> Vec<String> {
    let rollout = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Rollout")
        .unwrap();
    rollout["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// Lints a mutated set and asserts exit 1 with `expected` in the Rollout's messages.
fn assert_caught(objects: Vec<Value>, expected: &str) {
    let empty = tempfile::tempdir().unwrap();
    let (code, report) = lint(&objects, empty.path());
    let messages = rollout_messages(&report);
    assert_eq!(
        code, 1,
        "expected exit 1 for {expected:?}; messages {messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains(expected)),
        "expected {expected:?} in {messages:#?}"
    );
}

#[test]
fn good_sets_pass_without_and_with_schemas() {
    let empty = tempfile::tempdir().unwrap();
    for set in [canary_set(), bluegreen_set()] {
        let (code, report) = lint(&set, empty.path());
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(
            rollout_messages(&report).len(),
            1,
            "only the 'no schema' skip note: {report:#}"
        );
        assert_eq!(report["objects"][0]["status"], "skipped");
        assert_eq!(
            report["objects"][1]["status"], "valid",
            "Service checked as a core object"
        );
    }
    let Some(upstream) = support::shared_dir().map(|d| d.join("upstream")) else {
        return;
    };
    let (code, report) = lint(&canary_set(), &upstream);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "valid"),
        "{report:#}"
    );
}

#[test]
fn selector_rules() {
    let mut set = canary_set();
    set[0]["spec"].as_object_mut().unwrap().remove("selector");
    assert_caught(set, ".spec.selector: Required value");

    let mut set = canary_set();
    set[0]["spec"]["selector"]["matchLabels"]["app"] = json!("b");
    assert_caught(set, "selector does not match the template labels");

    let mut set = canary_set();
    set[0]["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]});
    assert_caught(set, "selector does not match the template labels");
}

#[test]
fn max_surge_and_max_unavailable_both_zero() {
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["maxSurge"] = json!("0%");
    assert_caught(set, "maxSurge and maxUnavailable are both zero");
}

#[test]
fn services_must_exist_in_the_namespace_and_select_the_pods() {
    let mut set = canary_set();
    set.remove(1);
    assert_caught(
        set,
        ".spec.strategy.canary.canaryService: Service \"r-canary\" not found in the input (namespace ns)",
    );

    let mut set = canary_set();
    set[2]["metadata"]["namespace"] = json!("other");
    assert_caught(set, "Service \"r-stable\" not found");

    let mut set = canary_set();
    set[2]["spec"]["selector"] = json!({"app": "a", "tier": "db"});
    assert_caught(
        set,
        ".spec.strategy.canary.stableService: Service \"r-stable\" selector does not match",
    );

    let mut set = bluegreen_set();
    set.remove(1);
    assert_caught(
        set,
        ".spec.strategy.blueGreen.previewService: Service \"r-canary\" not found",
    );
}

#[test]
fn analysis_templates_must_exist_and_get_their_args() {
    let mut set = canary_set();
    set.remove(3);
    assert_caught(
        set,
        ".spec.strategy.canary.steps[1].analysis.templates[0]: AnalysisTemplate \"t\" not found",
    );

    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["steps"][1]["analysis"]["args"] = json!([]);
    assert_caught(
        set,
        "AnalysisTemplate \"t\" needs argument \"hash\", which is not supplied",
    );

    let mut set = bluegreen_set();
    set[0]["spec"]["strategy"]["blueGreen"]["postPromotionAnalysis"] =
        json!({"templates": [{"templateName": "t"}]});
    assert_caught(
        set,
        ".spec.strategy.blueGreen.postPromotionAnalysis.args: AnalysisTemplate \"t\" needs argument \"hash\"",
    );
}

#[test]
fn blue_green_active_and_preview_must_differ() {
    let mut set = bluegreen_set();
    set[0]["spec"]["strategy"]["blueGreen"]["previewService"] = json!("r-stable");
    assert_caught(
        set,
        "activeService and previewService must be different Services",
    );
}

#[test]
fn missing_path_is_a_usage_error_and_yaml_errors_are_invalid() {
    let out = Command::new(support::kindling_bin())
        .args(["lint", "--schemas", "/nonexistent-schemas", "-"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "kind: [unclosed\n").unwrap();
    let out = Command::new(support::kindling_bin())
        .args(["lint", "--schemas"])
        .arg(dir.path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid YAML"));
}
