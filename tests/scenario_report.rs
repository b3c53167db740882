//! The run report renderers on hand-built reports: JUnit parses back with matching counts
//! and round-tripped text, the HTML is self-contained and well-formed with one chart per
//! scenario, the table marks failures and totals, the JSON round-trips. How the HTML looks
//! in a browser: tests/scenario_report_browser.rs.

use kindling::scenario::model::{
    Check, EventKind, NotStarted, RolloutEvent, RunReport, ScenarioReport, TrafficSecond,
};
use kindling::scenario::report::{html, json, junit, table};
use roxmltree::{Document, Node, ParsingOptions};
use time::macros::offset;

const TRICKY: &str = "<&\"'> a\tb\nc ]]> https://evil.example/x.js";

fn check(name: &str, passed: bool, detail: &str) -> Check {
    Check {
        name: name.into(),
        passed,
        detail: detail.into(),
        duration_ms: 1_250,
    }
}

fn event(at_ms: u64, kind: EventKind, label: &str, set_weight: Option<u32>) -> RolloutEvent {
    RolloutEvent {
        at_ms,
        kind,
        label: label.into(),
        set_weight,
    }
}

/// 40 s of a canary: v2's share follows the weight 0 → 20 → 50 → 100.
fn canary() -> ScenarioReport {
    let timeline = (0..40)
        .map(|second| {
            let weight = match second {
                0..5 => 0,
                5..15 => 20,
                15..30 => 50,
                _ => 100,
            };
            let v2 = weight * 20 / 100;
            TrafficSecond {
                second,
                requests: 20,
                errors: u32::from(second == 16),
                by_version: [
                    ("v1".to_string(), 20 - v2 - u32::from(second == 16)),
                    ("v2".to_string(), v2),
                ]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
                p50_ms: 3.0,
                p99_ms: 12.0,
            }
        })
        .collect();
    ScenarioReport {
        name: "canary".into(),
        environment: "staging".into(),
        from_version: "v1".into(),
        to_version: "v2".into(),
        duration_ms: 41_000,
        checks: vec![
            check(
                "step 1: set weight 20 reached",
                true,
                "new version answered 20.0% (target 20% ± 10)",
            ),
            check("every AnalysisRun Successful", true, "2 of 2 Successful"),
            check("error rate < 1%", true, "0.13%"),
        ],
        timeline,
        events: vec![
            event(0, EventKind::Released, "released v2", Some(0)),
            event(5_000, EventKind::Step, "step 1/4: setWeight 20", Some(20)),
            event(
                12_000,
                EventKind::AnalysisSuccessful,
                "AnalysisRun demo-app-6f9-2 Successful",
                None,
            ),
            event(15_000, EventKind::Step, "step 2/4: setWeight 50", Some(50)),
            event(30_000, EventKind::Promoted, "fully promoted", Some(100)),
            event(39_000, EventKind::Healthy, "Healthy on v2", None),
        ],
        diagnostics: None,
    }
}

/// A failed scenario whose texts are hostile, and whose traffic was never recorded.
fn broken() -> ScenarioReport {
    ScenarioReport {
        name: "broken<&>".into(),
        environment: "staging\"".into(),
        from_version: "v2".into(),
        to_version: "v3'".into(),
        duration_ms: 65_000,
        checks: vec![
            check(
                "analysis ends Failed",
                true,
                "AnalysisRun demo-app-1 Failed",
            ),
            check(TRICKY, false, TRICKY),
            check(
                "traffic back to 100% stable within 30s",
                false,
                "still 48% v3 after 30s",
            ),
        ],
        timeline: vec![],
        events: vec![
            event(2_000, EventKind::Step, TRICKY, Some(20)),
            event(
                2_500,
                EventKind::AnalysisFailed,
                "AnalysisRun failed: error-rate 0.5 > 0.01",
                None,
            ),
            event(3_000, EventKind::Aborted, "aborted", Some(0)),
        ],
        diagnostics: Some(
            "Rollout demo-app: Degraded RolloutAborted\n  <pods> & \u{1b}[31mevents\u{1b}[0m \u{0}\u{ffff}"
                .into(),
        ),
    }
}

fn report() -> RunReport {
    RunReport {
        profile: "fast".into(),
        started_at: "2026-11-26T07:00:00Z".into(),
        duration_ms: 106_000,
        scenarios: vec![canary(), broken()],
        not_started: None,
    }
}

fn elements<'a, 'i>(doc: &'a Document<'i>, name: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants().filter(|n| n.has_tag_name(name)).collect()
}

#[test]
fn junit_parses_back_with_counts_and_text_of_the_report() {
    let report = report();
    let xml = junit(&report);
    let doc = Document::parse(&xml).expect("JUnit output is well-formed XML");

    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("6"));
    assert_eq!(root.attribute("failures"), Some("2"));
    assert_eq!(root.attribute("time"), Some("106.000"));

    let suites = elements(&doc, "testsuite");
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[1].attribute("name"), Some("broken<&>"));
    assert_eq!(suites[1].attribute("failures"), Some("2"));
    assert_eq!(suites[0].attribute("failures"), Some("0"));

    let cases = elements(&doc, "testcase");
    let checks: Vec<&Check> = report.checks().collect();
    assert_eq!(cases.len(), checks.len());
    // Attributes are one line (a parser turns a tab or line break in one into a space).
    let one_line = |s: &str| s.replace(['\t', '\n'], " ");
    for (case, check) in cases.iter().zip(&checks) {
        assert_eq!(
            case.attribute("name"),
            Some(one_line(&check.name).as_str()),
            "name round-trips"
        );
        assert_eq!(case.attribute("time"), Some("1.250"));
        let failure = case.children().find(|n| n.has_tag_name("failure"));
        assert_eq!(failure.is_some(), !check.passed, "{}", check.name);
        if let Some(failure) = failure {
            assert_eq!(
                failure.attribute("message"),
                Some(one_line(&check.detail).as_str()),
                "message round-trips"
            );
            assert_eq!(failure.attribute("type"), Some("CheckFailed"));
            // The text keeps line breaks; a tab is a space (quick-junit would drop it).
            assert_eq!(
                failure.text(),
                Some(check.detail.replace('\t', " ").as_str())
            );
        }
    }
    assert_eq!(cases[0].attribute("classname"), Some("kindling.canary"));
    assert_eq!(cases[4].attribute("classname"), Some("kindling.broken<&>"));
    assert_eq!(elements(&doc, "failure").len(), 2);

    // Diagnostics of the failed scenario, without its colour codes and NUL (no XML holds
    // them; quick-junit drops them).
    let outs = elements(&doc, "system-out");
    assert_eq!(outs.len(), 1);
    let out = outs[0].text().unwrap();
    assert_eq!(
        out,
        "Rollout demo-app: Degraded RolloutAborted\n  <pods> & events \u{fffd}"
    );
    assert_eq!(
        outs[0].parent().unwrap().attribute("name"),
        Some("broken<&>")
    );
    let profile = doc.descendants().find(|n| {
        n.attribute("name") == Some("environment") && n.attribute("value") == Some("staging\"")
    });
    assert!(profile.is_some(), "properties round-trip");
}

#[test]
fn junit_of_an_empty_run_is_valid_and_counts_zero() {
    let report = RunReport {
        profile: "fast".into(),
        started_at: String::new(),
        duration_ms: 0,
        scenarios: vec![],
        not_started: None,
    };
    let xml = junit(&report);
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    assert!(elements(&doc, "testcase").is_empty());
}

fn not_started() -> RunReport {
    RunReport {
        profile: "fast".into(),
        started_at: "2026-11-26T07:00:00Z".into(),
        duration_ms: 40,
        scenarios: vec![],
        not_started: Some(NotStarted {
            error: "the platform is not up: no kubeconfig for cluster kindling".into(),
            hints: vec!["run `kindling up`, or pass --kubeconfig PATH".into()],
        }),
    }
}

#[test]
fn junit_of_a_run_that_could_not_start_is_one_failed_case_naming_the_cause() {
    let xml = junit(&not_started());
    let doc = Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("1"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases = elements(&doc, "testcase");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].attribute("name"), Some("scenarios started"));
    let failure = elements(&doc, "failure")[0];
    assert_eq!(
        failure.attribute("message"),
        Some("the platform is not up: no kubeconfig for cluster kindling")
    );
    assert_eq!(failure.attribute("type"), Some("NotStarted"));
    assert_eq!(
        failure.text(),
        Some(
            "the platform is not up: no kubeconfig for cluster kindling\nhint: run `kindling up`, or pass --kubeconfig PATH"
        )
    );
}

#[test]
fn html_of_a_run_that_could_not_start_says_why() {
    let page = html(&not_started(), None);
    let doc = parse_html(&page);
    let banner = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("banner fail"))
        .expect("a FAIL banner");
    let said: String = banner
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(said.contains("no scenario ran"), "{said}");
    assert!(
        said.contains("the platform is not up: no kubeconfig for cluster kindling"),
        "{said}"
    );
    assert!(
        said.contains("hint: run `kindling up`, or pass --kubeconfig PATH"),
        "{said}"
    );
    assert!(!page.contains("<svg"), "no chart without a scenario");
}

fn parse_html(html: &str) -> Document<'_> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(html, options).expect("the HTML report is well-formed")
}

#[test]
fn html_is_self_contained_well_formed_and_charts_every_scenario() {
    let report = report();
    let page = html(&report, Some(offset!(+1)));
    let doc = parse_html(&page);

    // Nothing fetched: no script, stylesheet link, external image, font or CSS import.
    assert!(elements(&doc, "script").is_empty());
    assert!(elements(&doc, "link").is_empty());
    for node in doc.descendants().filter(|n| n.is_element()) {
        for a in node.attributes() {
            if matches!(
                a.name(),
                "src" | "href" | "xlink:href" | "action" | "srcset"
            ) {
                assert!(
                    a.value().starts_with('#'),
                    "{} {}={}",
                    node.tag_name().name(),
                    a.name(),
                    a.value()
                );
            }
        }
    }
    let css: String = elements(&doc, "style")
        .iter()
        .filter_map(|s| s.text())
        .collect();
    assert!(!css.contains("url(") && !css.contains("@import") && !css.contains("@font-face"));
    assert!(!page.contains("<script"));

    // Title, verdict banner, profile and start time.
    let title = elements(&doc, "title")[0].text().unwrap();
    assert!(title.contains("FAIL"), "{title}");
    let banner = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("banner fail"))
        .expect("a FAIL banner");
    let banner_text: String = banner
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(
        banner_text.starts_with("FAIL 4 of 6 checks passed, 2 failed"),
        "{banner_text}"
    );
    // Every failed check by name, linked to its scenario.
    let failed: Vec<(Option<&str>, String)> = banner
        .descendants()
        .filter(|n| n.has_tag_name("a"))
        .map(|a| {
            let text: String = a
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            (a.attribute("href"), text)
        })
        .collect();
    assert_eq!(
        failed,
        [
            (Some("#scenario-1"), format!("broken<&>: {TRICKY}")),
            (
                Some("#scenario-1"),
                "broken<&>: traffic back to 100% stable within 30s".to_string()
            ),
        ]
    );
    // The start in the machine's zone, named, with the instant itself machine-readable.
    let meta: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(meta.contains("fast") && meta.contains("2026-11-26 08:00:00 UTC+01:00"));
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("time")
                && n.attribute("datetime") == Some("2026-11-26T07:00:00Z"))
    );

    // One chart per scenario, each with its markers; the canary's shows areas and lines.
    let sections: Vec<Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("scenario"))
        .collect();
    assert_eq!(sections.len(), 2);
    for (section, scenario) in sections.iter().zip(&report.scenarios) {
        let svgs: Vec<Node> = section
            .descendants()
            .filter(|n| n.has_tag_name("svg"))
            .collect();
        assert_eq!(svgs.len(), 1);
        let markers = svgs[0]
            .descendants()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.starts_with("marker "))
            })
            .count();
        assert_eq!(markers, scenario.events.len());
        let legend = section
            .descendants()
            .find(|n| n.attribute("class") == Some("legend"))
            .expect("a legend");
        let legend_text: String = legend
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        assert!(
            legend_text.contains(&format!("answered by {} (released)", scenario.to_version)),
            "{legend_text}"
        );
        assert!(legend_text.contains("error rate") && legend_text.contains("set weight"));
    }
    let canary_svg = sections[0]
        .descendants()
        .find(|n| n.has_tag_name("svg"))
        .unwrap();
    assert!(
        canary_svg.descendants().any(|n| n.has_tag_name("polygon")),
        "version areas"
    );
    assert!(
        canary_svg
            .descendants()
            .any(|n| n.attribute("class") == Some("weight")),
        "set-weight line"
    );
    assert!(
        canary_svg
            .descendants()
            .any(|n| n.attribute("class") == Some("marker analysis-successful"))
    );
    let broken_svg = sections[1]
        .descendants()
        .find(|n| n.has_tag_name("svg"))
        .unwrap();
    assert!(
        broken_svg
            .descendants()
            .any(|n| n.text() == Some("no traffic recorded")),
        "empty timeline said so"
    );
    assert!(
        broken_svg
            .descendants()
            .any(|n| n.attribute("class") == Some("marker aborted"))
    );

    // Hostile text comes back exactly as it was, as text.
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        texts.contains(&TRICKY),
        "check name and detail survive escaping"
    );
    assert!(
        texts.iter().any(|t| t.ends_with(&format!(": {TRICKY}"))),
        "marker title carries the label"
    );
    assert!(texts.contains(&"broken<&>"));

    // The failed check's row is marked failed.
    let failed_rows = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr") && n.attribute("class") == Some("fail"))
        .count();
    assert_eq!(failed_rows, 2);
}

#[test]
fn html_of_a_passing_run_shows_pass() {
    let report = RunReport {
        scenarios: vec![canary()],
        ..report()
    };
    let page = html(&report, None);
    let doc = parse_html(&page);
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("banner pass"))
    );
    assert!(
        !doc.descendants()
            .any(|n| n.attribute("class") == Some("banner fail"))
    );
    assert!(
        !doc.descendants()
            .any(|n| n.has_tag_name("ul") && n.attribute("class") == Some("failed")),
        "no failed checks listed"
    );
    // Without the machine's zone, UTC, and the page says so.
    assert!(page.contains("2026-11-26 07:00:00 UTC (local time zone unknown)"));
}

#[test]
fn table_marks_failures_totals_and_diagnostics_after() {
    let report = report();
    let plain = table(&report, kindling::style::Paint::PLAIN);
    assert!(
        !plain.contains('\u{1b}'),
        "no colour and no raw escape from the diagnostics:\n{plain}"
    );
    assert!(plain.contains("✓ step 1: set weight 20 reached"), "{plain}");
    assert!(
        plain.contains("✗ traffic back to 100% stable within 30s"),
        "{plain}"
    );
    assert!(plain.contains("still 48% v3 after 30s"));
    assert_eq!(plain.matches('✗').count(), 2);
    assert_eq!(plain.matches('✓').count(), 4);
    let header = plain
        .lines()
        .find(|l| l.starts_with("broken<&>"))
        .expect("scenario header");
    assert!(
        header.contains("staging\"") && header.contains("v2 → v3'") && header.ends_with("FAIL"),
        "{header}"
    );
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("canary") && l.ends_with("PASS"))
    );

    let totals = plain
        .find("FAIL 2 scenarios (1 failed), 6 checks: 4 passed, 2 failed")
        .expect("totals line");
    let diagnostics = plain.find("Degraded RolloutAborted").expect("diagnostics");
    assert!(totals < diagnostics, "diagnostics come after the table");

    let coloured = table(&report, kindling::style::Paint::new(true));
    assert!(coloured.contains("\x1b[31m✗\x1b[0m"));
}

#[test]
fn json_round_trips() {
    let report = report();
    let back: RunReport = serde_json::from_str(&json(&report)).unwrap();
    assert_eq!(back, report);
}
