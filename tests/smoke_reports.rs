//! `kindling smoke --report/--junit` through the real binary: the files are written even
//! when the run fails before its first scenario (docs/scenarios.md promises them for every
//! run), and they say why no scenario ran.

mod support;

use roxmltree::{Document, ParsingOptions};
use std::path::Path;
use std::process::Output;

/// Runs kindling with a home, data and cache of its own: no kubeconfig anywhere, no platform.
fn kindling_without_a_platform(home: &Path, args: &[&str]) -> Output {
    support::kindling()
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("KINDLING_DATA_DIR", home.join("data"))
        .env("KINDLING_CACHE_DIR", home.join("cache"))
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The error line kindling printed ("error: …" without the prefix).
fn printed_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| panic!("an error line on stderr:\n{stderr}"))
        .to_string()
}

fn text_of(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// The message of the one failed test case in a JUnit file.
fn only_failure(junit: &Path) -> String {
    let xml = std::fs::read_to_string(junit).expect("the JUnit file is written");
    let doc = Document::parse(&xml).expect("well-formed JUnit");
    assert_eq!(doc.root_element().attribute("tests"), Some("1"), "{xml}");
    assert_eq!(doc.root_element().attribute("failures"), Some("1"), "{xml}");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1, "{xml}");
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("the one test case failed");
    failure.attribute("message").unwrap_or_default().to_string()
}

#[test]
fn smoke_that_cannot_start_still_writes_a_report_and_junit_naming_the_cause() {
    let home = tempfile::tempdir().unwrap();
    let report = home.path().join("smoke.html");
    let junit = home.path().join("smoke.xml");
    let out = kindling_without_a_platform(
        home.path(),
        &[
            "smoke",
            "--report",
            report.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "no platform: the run fails");
    let cause = printed_error(&out);

    assert_eq!(
        only_failure(&junit),
        cause,
        "the failure is the error kindling printed"
    );

    let page = std::fs::read_to_string(&report).expect("the HTML report is written");
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&page, options).expect("well-formed HTML");
    let banner = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("banner fail"))
        .expect("a FAIL banner");
    let said = text_of(banner);
    assert!(said.contains("no scenario ran"), "{said}");
    assert!(said.contains(&cause), "the banner says why: {said}");
    assert!(said.contains("hint: "), "and what to do: {said}");
}

#[test]
fn a_scenario_that_cannot_start_writes_its_junit_too() {
    let home = tempfile::tempdir().unwrap();
    let junit = home.path().join("canary.xml");
    let out = kindling_without_a_platform(
        home.path(),
        &["scenario", "canary", "--junit", junit.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert_eq!(only_failure(&junit), printed_error(&out));
}

#[test]
fn an_unwritable_report_path_does_not_hide_why_the_run_could_not_start() {
    let home = tempfile::tempdir().unwrap();
    let out = kindling_without_a_platform(
        home.path(),
        &["smoke", "--report", "/nonexistent-dir/smoke.html"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent-dir/smoke.html"), "{stderr}");
    assert!(!printed_error(&out).contains("nonexistent-dir"), "{stderr}");
}
