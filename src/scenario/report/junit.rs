//! JUnit XML (`--junit PATH`), written by quick-junit: one `<testsuite>` per scenario, one
//! `<testcase>` per check, in the shape CI systems (GitLab, Jenkins, GitHub test reporters)
//! read. A run that could not start is one failed test case naming the cause.

use crate::scenario::model::{Check, NotStarted, RunReport, ScenarioReport};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The run as JUnit XML. Counts match the report: `tests` = checks, `failures` = failed
/// checks; a failed check's detail is the failure message; diagnostics go to the failed
/// scenario's `<system-out>`. quick-junit drops ANSI escapes and the control characters
/// XML cannot hold.
pub fn junit(report: &RunReport) -> String {
    let mut out = Report::new("kindling");
    out.set_time(millis(report.duration_ms));
    let started = timestamp(&report.started_at);
    if let Some(at) = started {
        out.set_timestamp(at);
    }
    for scenario in &report.scenarios {
        out.add_test_suite(suite(report, scenario, started));
    }
    if let Some(not_started) = &report.not_started {
        out.add_test_suite(not_started_suite(report, not_started, started));
    }
    let mut xml = out
        .to_string()
        .expect("a report of strings and numbers always serializes");
    xml.push('\n');
    xml
}

type Timestamp = chrono::DateTime<chrono::FixedOffset>;

fn timestamp(rfc3339: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok()
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn suite(report: &RunReport, s: &ScenarioReport, started: Option<Timestamp>) -> TestSuite {
    let mut suite = TestSuite::new(clean(&s.name));
    suite.set_time(millis(s.duration_ms));
    if let Some(at) = started {
        suite.set_timestamp(at);
    }
    for (name, value) in [
        ("environment", &s.environment),
        ("from_version", &s.from_version),
        ("to_version", &s.to_version),
        ("profile", &report.profile),
    ] {
        suite.add_property((name, clean(value).as_str()));
    }
    let classname = format!("kindling.{}", s.name);
    suite.add_test_cases(s.checks.iter().map(|check| case(&classname, check)));
    if let Some(diagnostics) = s.diagnostics.as_deref().filter(|d| !d.is_empty()) {
        suite.set_system_out(clean(diagnostics));
    }
    suite
}

fn case(classname: &str, check: &Check) -> TestCase {
    let status = if check.passed {
        TestCaseStatus::success()
    } else {
        failure(&check.detail, "CheckFailed")
    };
    let mut case = TestCase::new(one_line(&check.name), status);
    case.set_classname(one_line(classname))
        .set_time(millis(check.duration_ms));
    case
}

fn failure(detail: &str, kind: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_message(one_line(detail))
        .set_type(kind)
        .set_description(clean(detail));
    status
}

/// The run stopped before its first scenario: a suite holding one failed case whose
/// message is the error and whose text adds the hints.
fn not_started_suite(
    report: &RunReport,
    not_started: &NotStarted,
    started: Option<Timestamp>,
) -> TestSuite {
    let mut suite = TestSuite::new("kindling");
    suite.set_time(millis(report.duration_ms));
    if let Some(at) = started {
        suite.set_timestamp(at);
    }
    suite.add_property(("profile", clean(&report.profile).as_str()));
    let mut text = not_started.error.clone();
    for hint in &not_started.hints {
        text.push_str("\nhint: ");
        text.push_str(hint);
    }
    let mut status = failure(&not_started.error, "NotStarted");
    status.set_description(clean(&text));
    let mut case = TestCase::new("scenarios started", status);
    case.set_classname("kindling")
        .set_time(millis(report.duration_ms));
    suite.add_test_case(case);
    suite
}

/// What quick-junit would lose or XML cannot hold: a tab (quick-junit drops it with the
/// ANSI escapes, joining the words either side) becomes a space; U+FFFE and U+FFFF (not
/// even a reference can hold them) become U+FFFD. The other C0 controls quick-junit drops.
fn clean(s: &str) -> String {
    s.replace('\t', " ")
        .replace(['\u{fffe}', '\u{ffff}'], "\u{fffd}")
}

/// For attributes: a parser reads a tab or line break in an attribute as a space anyway
/// (quick-xml writes them literally), so the file says what readers will show.
fn one_line(s: &str) -> String {
    clean(s).replace(['\t', '\n', '\r'], " ")
}
