//! The health rules agree with Argo CD v3.5.1 on every fixture upstream tests its Lua checks
//! with (every resource_customizations/<group>/<kind>/health_test.yaml), run in place; the
//! core kinds' Go rules are crates/argocd-health's, held by its own upstream-fixture tests.

use kind_sim::health::{Health, Rules, Status, shared_dir, upstream_dir};
use serde_json::Value;
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
