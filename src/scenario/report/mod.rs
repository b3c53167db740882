//! Renders a `RunReport`: the human summary table, JSON, JUnit XML and the self-contained
//! HTML report. Pure functions of the report: nothing here touches the network or a file
//! (`local_offset` alone asks the system for its time zone).

mod chart;
mod escape;
mod format;
mod html;
mod junit;
mod labels;
mod scale;
mod table;

pub use format::local_offset;
pub use html::html;
pub use junit::junit;
pub use table::table;

use super::model::RunReport;

/// The report as pretty JSON (`--output json`).
pub fn json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("a RunReport always serializes")
}
