//! JUnit XML (`--junit PATH`): one `<testsuite>` per scenario, one `<testcase>` per check,
//! in the shape CI systems (GitLab, Jenkins, GitHub test reporters) read.

use super::escape::{attr, text};
use super::format::seconds;
use crate::scenario::model::{Check, RunReport, ScenarioReport};
use std::fmt::Write;

/// The run as JUnit XML. Counts match the report: `tests` = checks, `failures` = failed
/// checks; a failed check's detail is the failure message; diagnostics go to the failed
/// scenario's `<system-out>`.
pub fn junit(report: &RunReport) -> String {
    let tests = report.checks().count();
    let failures = report.checks().filter(|c| !c.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kindling\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{}\" timestamp=\"{}\">",
        seconds(report.duration_ms),
        attr(&report.started_at),
    );
    for scenario in &report.scenarios {
        suite(&mut out, report, scenario);
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(out: &mut String, report: &RunReport, s: &ScenarioReport) {
    let failures = s.checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">",
        attr(&s.name),
        s.checks.len(),
        seconds(s.duration_ms),
        attr(&report.started_at),
    );
    out.push_str("    <properties>\n");
    for (name, value) in [
        ("environment", &s.environment),
        ("from_version", &s.from_version),
        ("to_version", &s.to_version),
        ("profile", &report.profile),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attr(value)
        );
    }
    out.push_str("    </properties>\n");
    let classname = format!("kindling.{}", s.name);
    for check in &s.checks {
        case(out, &classname, check);
    }
    if let Some(diagnostics) = s.diagnostics.as_deref().filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "    <system-out>{}</system-out>", text(diagnostics));
    }
    out.push_str("  </testsuite>\n");
}

fn case(out: &mut String, classname: &str, check: &Check) {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        attr(classname),
        attr(&check.name),
        seconds(check.duration_ms),
    );
    if check.passed {
        let _ = writeln!(out, "{open}/>");
    } else {
        let _ = writeln!(
            out,
            "{open}>\n      <failure message=\"{}\" type=\"CheckFailed\">{}</failure>\n    </testcase>",
            attr(&check.detail),
            text(&check.detail),
        );
    }
}
