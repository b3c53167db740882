//! The rules agree with Argo CD v3.5.1 on every fixture upstream tests its Go rules with:
//! gitops-engine/pkg/health/health_test.go (read here, so the table cannot drift), its inline
//! Workflow cases, and the one fixture outside health/ (utils/kube/testdata/nginx.yaml); the
//! ported Rollout check against every case of upstream's Rollout/health_test.yaml. The other
//! ported Lua checks are held by their unit tests (src/ported.rs), one case per entry of
//! upstream's health_test.yaml (the shared folder does not hold those fixtures).

use argocd_health::{Health, Status, assess};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// ../shared (KINDLING_SHARED_DIR) next to the workspace: Argo CD v3.5.1's health folder.
fn health_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("KINDLING_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("upstream/argo-cd/v3.5.1/health");
    if dir.join("health_test.go").is_file() {
        return Some(dir);
    }
    let reason = format!("{} not found (set KINDLING_SHARED_DIR)", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("required under CI=true: {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// One YAML document as sigs.k8s.io/yaml reads it: a repeated key keeps its last value (an
/// upstream fixture, statefulset-ondelete.yaml, has one).
fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins
    };
    serde_saphyr::from_str_with_options(&text, options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (fixture path relative to health/, expected status or None for "no health") from every
/// `assertAppHealth(t, "<path>", HealthStatus<X>)` and `assert.Nil(t, getHealthStatus(t, "<path>"))`.
fn go_cases(test_go: &str) -> Vec<(String, Option<Status>)> {
    let quoted = |line: &str, after: &str| -> Option<String> {
        let rest = &line[line.find(after)? + after.len()..];
        Some(rest[..rest.find('"')?].to_string())
    };
    test_go
        .lines()
        .filter_map(|line| {
            if let Some(path) = quoted(line, "assertAppHealth(t, \"") {
                let code = line.split("HealthStatus").last()?.trim_end_matches(')');
                let status = Status::parse(code).unwrap_or_else(|| panic!("status in {line}"));
                Some((path, Some(status)))
            } else if line.contains("assert.Nil(t, getHealthStatus(t, \"") {
                Some((quoted(line, "getHealthStatus(t, \"")?, None))
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn core_kinds_are_rated_as_health_test_go_expects_for_every_fixture() {
    let Some(dir) = health_dir() else { return };
    let test_go = std::fs::read_to_string(dir.join("health_test.go")).unwrap();
    let cases = go_cases(&test_go);
    // Every assertion in the file is a case here (none silently dropped by the parser).
    let asserts = test_go.matches("assertAppHealth(t, \"").count()
        + test_go
            .matches("assert.Nil(t, getHealthStatus(t, \"")
            .count();
    assert_eq!(cases.len(), asserts);
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut wrong = Vec::new();
    for (path, expected) in &cases {
        let obj = load(&dir.join(path));
        let got = assess(&obj).unwrap_or_else(|e| panic!("{path}: {e}"));
        if got.as_ref().and_then(|h| h.status) != *expected {
            wrong.push(format!("{path}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// TestGetArgoWorkflowHealth builds its Workflows inline; the same three cases.
#[test]
fn argo_workflows_are_rated_as_upstream_test_expects() {
    let workflow = |status: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
               "spec": {"entrypoint": "sampleEntryPoint"}, "status": status})
    };
    let cases = [
        (
            workflow(json!({"phase": "Running", "message": "This node is running"})),
            Health::new(Status::Progressing, "This node is running"),
        ),
        (
            workflow(json!({"phase": "Succeeded", "message": "This node is has succeeded"})),
            Health::new(Status::Healthy, "This node is has succeeded"),
        ),
        (workflow(Value::Null), Health::new(Status::Progressing, "")),
    ];
    for (obj, expected) in cases {
        assert_eq!(assess(&obj).unwrap(), Some(expected));
    }
}

/// The fixture outside health/: gitops-engine/pkg/utils/kube/testdata/nginx.yaml, the first
/// case of TestDeploymentHealth (also read through the parsed table above).
#[test]
fn upstream_nginx_deployment_is_healthy() {
    let Some(dir) = health_dir() else { return };
    let obj = load(&dir.join("../utils/kube/testdata/nginx.yaml"));
    assert_eq!(
        assess(&obj).unwrap().and_then(|h| h.status),
        Some(Status::Healthy)
    );
}

/// argoproj.io/Rollout/health.lua's own tests: every case, status and message.
#[test]
fn rollouts_are_rated_as_argo_cds_lua_check_expects_for_every_fixture() {
    let Some(dir) = health_dir() else { return };
    let dir = dir.join("resource_customizations/argoproj.io/Rollout");
    let tests = load(&dir.join("health_test.yaml"));
    let cases = tests["tests"].as_array().unwrap();
    let mut wrong = Vec::new();
    for case in cases {
        let input = case["inputPath"].as_str().unwrap();
        let expected = Health::new(
            Status::parse(case["healthStatus"]["status"].as_str().unwrap()).unwrap(),
            case["healthStatus"]["message"].as_str().unwrap_or(""),
        );
        let got = assess(&load(&dir.join(input)));
        if got.as_ref().ok() != Some(&Some(expected.clone())) {
            wrong.push(format!("{input}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
