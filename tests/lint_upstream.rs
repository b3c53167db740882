//! `kindling lint` against upstream's own `kubectl argo rollouts lint` suite (argo-rollouts
//! v1.9.1 pkg/kubectl-argo-rollouts/cmd/lint): the list of valid files and the exact error
//! for each invalid one are read from upstream's lint_test.go, so this test follows the
//! suite rather than a copy of it. Every file gets kindling's verdict compared, and the
//! message too where upstream's is a validation error.

mod support;

use serde_json::Value;
use std::path::Path;

/// The Go string literals of `text`, in order, unescaped (\" \\ \n \t).
fn go_strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(other) => s.push(other),
                    None => break,
                },
                other => s.push(other),
            }
        }
        out.push(s);
    }
    out
}

/// The body of a Go test function (from its name to the next `func `).
fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text.find(&format!("func {name}(")).expect("test function");
    let rest = &text[start + 5..];
    &rest[..rest.find("\nfunc ").unwrap_or(rest.len())]
}

struct Suite {
    dir: std::path::PathBuf,
    valid: Vec<String>,
    /// (file, upstream's stderr)
    invalid: Vec<(String, String)>,
}

fn suite() -> Option<Suite> {
    let dir = support::upstream("argo-rollouts/v1.9.1/lint-testdata")?;
    let go = std::fs::read_to_string(dir.join("lint_test.go.txt")).unwrap();
    let file = |s: &str| s.strip_prefix("testdata/").map(str::to_string);
    let valid: Vec<String> = go_strings(function(&go, "TestLintValidRollout"))
        .iter()
        .filter_map(|s| file(s))
        .collect();
    let strings = go_strings(function(&go, "TestLintInvalidRollout"));
    let mut invalid = Vec::new();
    for pair in strings.windows(2) {
        if let (Some(name), true) = (file(&pair[0]), pair[1].starts_with("Error: ")) {
            invalid.push((name, pair[1].clone()));
        }
    }
    // The suite as of v1.9.1: if upstream's file changes shape, say so instead of testing less.
    assert_eq!(
        valid.len(),
        14,
        "valid files read from lint_test.go: {valid:?}"
    );
    assert_eq!(
        invalid.len(),
        9,
        "invalid files read from lint_test.go: {invalid:?}"
    );
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "lint_test.go.txt")
        .count();
    assert_eq!(
        on_disk,
        valid.len() + invalid.len(),
        "every testdata file is in the suite"
    );
    Some(Suite {
        dir,
        valid,
        invalid,
    })
}

/// `kindling --output json lint --schemas DIR FILE`: exit code and report.
fn lint(file: &Path, schemas: &Path) -> (i32, Value) {
    let out = support::kindling()
        .args(["--output", "json", "lint", "--schemas"])
        .arg(schemas)
        .arg(file)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

/// Messages on the invalid Rollouts of a report.
fn rollout_errors(report: &Value) -> Vec<String> {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Rollout" && o["status"] == "invalid")
        .flat_map(|o| o["messages"].as_array().unwrap().clone())
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// What kindling must say for upstream's error line.
#[derive(Debug)]
enum Expected {
    /// This exact message.
    Exact(String),
    /// A message ending so: upstream's strict decoder names an unknown field without its
    /// path ("json: unknown field \"x\""); kindling's schema check gives the full path.
    EndsWith(String),
}

impl Expected {
    /// Upstream names canary fields `spec.strategy.<field>` (its canary validator is handed
    /// the strategy's path); kindling gives the field's real path `.spec.strategy.canary.<field>`.
    fn from_upstream(upstream: &str) -> Expected {
        let line = upstream
            .strip_prefix("Error: ")
            .unwrap()
            .trim_end_matches('\n');
        if let Some(field) = line
            .split("unknown field \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            return Expected::EndsWith(format!(".{field}: field not declared in schema"));
        }
        let (path, body) = line.split_once(": ").unwrap();
        let path = match path.strip_prefix("spec.strategy.") {
            Some(rest) if !rest.starts_with("canary.") && !rest.starts_with("blueGreen.") => {
                format!("spec.strategy.canary.{rest}")
            }
            _ => path.to_string(),
        };
        Expected::Exact(format!(".{path}: {body}"))
    }

    fn matches(&self, message: &str) -> bool {
        match self {
            Expected::Exact(m) => message == m,
            Expected::EndsWith(m) => message.ends_with(m.as_str()),
        }
    }
}

#[test]
fn upstream_lint_suite_valid_files_are_valid() {
    let Some(suite) = suite() else { return };
    let schemas = suite.dir.parent().unwrap().to_path_buf(); // argo-rollouts/v1.9.1 (crds/)
    let empty = tempfile::tempdir().unwrap();
    for file in &suite.valid {
        for dir in [schemas.as_path(), empty.path()] {
            let (code, report) = lint(&suite.dir.join(file), dir);
            assert_eq!(
                code,
                0,
                "{file} (schemas {}): upstream says valid; kindling: {report:#}",
                dir.display()
            );
            assert!(rollout_errors(&report).is_empty(), "{file}: {report:#}");
        }
    }
}

#[test]
fn upstream_lint_suite_invalid_files_are_invalid_with_upstreams_message() {
    let Some(suite) = suite() else { return };
    let schemas = suite.dir.parent().unwrap().to_path_buf();
    let empty = tempfile::tempdir().unwrap();
    for (file, upstream) in &suite.invalid {
        let (code, report) = lint(&suite.dir.join(file), &schemas);
        assert_eq!(
            code, 1,
            "{file}: upstream says {upstream:?}; kindling: {report:#}"
        );
        let expected = Expected::from_upstream(upstream);
        let errors = rollout_errors(&report);
        assert!(
            errors.iter().any(|e| expected.matches(e)),
            "{file}: expected {expected:?} (upstream: {upstream:?}) among {errors:#?}"
        );
        // Without CRD schemas the verdict holds (the unknown field also leaves the Rollout
        // without a strategy, which the Rollout rules catch).
        let (code, report) = lint(&suite.dir.join(file), empty.path());
        assert_eq!(code, 1, "{file} without schemas: {report:#}");
    }
}
