//! Renders a `RunReport`: the human summary table, JSON, JUnit XML and the self-contained
//! HTML report. Pure functions of the report: nothing here touches the network or a file.

use super::model::RunReport;

/// The report as pretty JSON (`--output json`).
pub fn json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("a RunReport always serializes")
}
