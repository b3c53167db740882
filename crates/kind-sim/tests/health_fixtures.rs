//! The health rules agree with Argo CD v3.5.1 on every fixture upstream tests them with:
//! gitops-engine/pkg/health/health_test.go (read here, so the table cannot drift) and every
//! resource_customizations/<group>/<kind>/health_test.yaml of the Lua checks.

use kind_sim::health::{Health, Rules, Status, shared_dir, upstream_dir};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn health_dir() -> Option<PathBuf> {
    let dir = upstream_dir(&shared_dir());
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

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kind_sim::yaml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
    let rules = Rules::upstream().unwrap();
    let mut wrong = Vec::new();
    for (path, expected) in &cases {
        let obj = load(&dir.join(path));
        let got = rules.assess(&obj).unwrap_or_else(|e| panic!("{path}: {e}"));
        if got.as_ref().and_then(|h| h.status) != *expected {
            wrong.push(format!("{path}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// TestGetArgoWorkflowHealth builds its Workflows inline; the same three cases.
#[test]
fn argo_workflows_are_rated_as_upstream_test_expects() {
    let rules = Rules::new("/nonexistent");
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
        assert_eq!(rules.assess(&obj).unwrap(), Some(expected));
    }
}

#[test]
fn custom_resources_are_rated_by_upstream_lua_as_every_health_test_yaml_expects() {
    let Some(dir) = health_dir() else { return };
    let customizations = dir.join("resource_customizations");
    let rules = Rules::new(&customizations);
    let (mut checked, mut scripts, mut wrong) = (0, 0, Vec::new());
    for group in std::fs::read_dir(&customizations).unwrap().flatten() {
        for kind in std::fs::read_dir(group.path()).unwrap().flatten() {
            if !kind.path().join("health.lua").is_file() {
                continue;
            }
            scripts += 1;
            let tests = load(&kind.path().join("health_test.yaml"));
            for test in tests["tests"].as_array().unwrap() {
                let input = test["inputPath"].as_str().unwrap();
                let obj = load(&kind.path().join(input));
                let expected = &test["healthStatus"];
                let expected = Health {
                    status: expected["status"].as_str().and_then(Status::parse),
                    message: expected["message"].as_str().unwrap_or("").to_string(),
                };
                let got = rules.assess(&obj);
                checked += 1;
                if got.as_ref().ok() != Some(&Some(expected.clone())) {
                    wrong.push(format!(
                        "{}/{input}: expected {expected:?}, got {got:?}",
                        kind.path().display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        scripts >= 6 && checked >= 40,
        "{scripts} scripts, {checked} cases"
    );
}

/// The fixture outside health/: gitops-engine/pkg/utils/kube/testdata/nginx.yaml, the first
/// case of TestDeploymentHealth (also read through the parsed table above).
#[test]
fn upstream_nginx_deployment_is_healthy() {
    let Some(dir) = health_dir() else { return };
    let obj = load(&dir.join("../utils/kube/testdata/nginx.yaml"));
    let rules = Rules::new(dir.join("resource_customizations"));
    assert_eq!(
        rules.assess(&obj).unwrap().and_then(|h| h.status),
        Some(Status::Healthy)
    );
}
