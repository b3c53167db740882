//! The self-contained HTML report (`--report PATH.html`): what a workshop host puts on a
//! screen. One file, inline CSS and inline SVG, no script and nothing fetched, so it opens
//! from a CI artifact or a USB stick offline. The markup is also well-formed XML (every
//! element closed, only XML's own entities), which keeps it checkable by an XML parser.

use super::chart::{self, ERROR_COLOUR, WEIGHT_COLOUR};
use super::escape::text;
use super::format::{duration, verdict};
use crate::scenario::model::{RunReport, ScenarioReport};
use std::fmt::Write;

/// The whole report as one HTML document.
pub fn html(report: &RunReport) -> String {
    let passed = report.passed();
    let checks = report.checks().count();
    let failed = report.checks().filter(|c| !c.passed).count();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>kindling scenarios: {}</title><style>{CSS}</style></head><body>",
        verdict(passed),
    );
    let _ = write!(
        out,
        "<header><h1>kindling — delivery scenarios</h1>\
         <div class=\"banner {}\">{} <span>{} of {checks} checks passed{}</span></div>\
         <p class=\"meta\">profile <b>{}</b> · started <b>{}</b> · took <b>{}</b></p></header>",
        class(passed),
        verdict(passed),
        checks - failed,
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        },
        text(&report.profile),
        text(&report.started_at),
        duration(report.duration_ms),
    );
    overview(&mut out, report);
    for (i, scenario) in report.scenarios.iter().enumerate() {
        section(&mut out, i, scenario);
    }
    out.push_str("</body></html>\n");
    out
}

fn class(passed: bool) -> &'static str {
    if passed { "pass" } else { "fail" }
}

fn overview(out: &mut String, report: &RunReport) {
    if report.scenarios.is_empty() {
        out.push_str("<p class=\"empty\">No scenario ran.</p>");
        return;
    }
    out.push_str("<table class=\"overview\"><thead><tr><th>scenario</th><th>environment</th><th>release</th><th>checks</th><th>took</th><th>result</th></tr></thead><tbody>");
    for (i, s) in report.scenarios.iter().enumerate() {
        let ok = s.checks.iter().filter(|c| c.passed).count();
        let _ = write!(
            out,
            "<tr><td><a href=\"#scenario-{i}\">{}</a></td><td>{}</td><td>{} → {}</td><td>{ok}/{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            text(&s.name),
            text(&s.environment),
            text(&s.from_version),
            text(&s.to_version),
            s.checks.len(),
            duration(s.duration_ms),
            class(s.passed()),
            verdict(s.passed()),
        );
    }
    out.push_str("</tbody></table>");
}

fn section(out: &mut String, index: usize, s: &ScenarioReport) {
    let _ = write!(
        out,
        "<section class=\"scenario\" id=\"scenario-{index}\"><h2>{} <span class=\"badge {}\">{}</span></h2>\
         <p class=\"meta\"><b>{}</b> · <b>{}</b> → <b>{}</b> · took {}</p>",
        text(&s.name),
        class(s.passed()),
        verdict(s.passed()),
        text(&s.environment),
        text(&s.from_version),
        text(&s.to_version),
        duration(s.duration_ms),
    );
    out.push_str("<figure>");
    out.push_str(&chart::svg(s));
    legend(out, s);
    out.push_str("</figure>");
    events(out, s);
    checks(out, s);
    if let Some(diagnostics) = s.diagnostics.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = write!(
            out,
            "<details class=\"diagnostics\"{}><summary>diagnostics</summary><pre>{}</pre></details>",
            if s.passed() { "" } else { " open=\"open\"" },
            text(diagnostics),
        );
    }
    out.push_str("</section>");
}

fn legend(out: &mut String, s: &ScenarioReport) {
    out.push_str("<figcaption class=\"legend\">");
    for (i, version) in chart::version_order(s).iter().enumerate() {
        let role = if *version == s.to_version {
            " (released)"
        } else if *version == s.from_version {
            " (previous)"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<span><i class=\"swatch\" style=\"background:{}\"></i>answered by {}{role}</span>",
            chart::version_colour(i),
            text(version),
        );
    }
    let max_error = s
        .timeline
        .iter()
        .filter_map(chart::error_rate)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let _ = write!(
        out,
        "<span><i class=\"line\" style=\"border-color:{ERROR_COLOUR}\"></i>error rate{}</span>\
         <span><i class=\"line dashed\" style=\"border-color:{WEIGHT_COLOUR}\"></i>set weight</span>\
         <span class=\"note\">share of successful requests per second; markers numbered as listed below</span>",
        max_error.map_or(String::new(), |m| format!(" (max {m:.1}%)")),
    );
    out.push_str("</figcaption>");
}

fn events(out: &mut String, s: &ScenarioReport) {
    if s.events.is_empty() {
        out.push_str("<p class=\"empty\">No rollout events recorded.</p>");
        return;
    }
    out.push_str("<ol class=\"events\">");
    for event in &s.events {
        let weight = event.set_weight.map_or(String::new(), |w| {
            format!(" <span class=\"weight\">weight {w}%</span>")
        });
        let _ = write!(
            out,
            "<li><time>{}</time> <span class=\"kind\" style=\"background:{}\">{}</span> {}{weight}</li>",
            chart::clock(event.at_ms as f64 / 1000.0),
            chart::event_colour(event.kind),
            chart::event_name(event.kind),
            text(&event.label),
        );
    }
    out.push_str("</ol>");
}

fn checks(out: &mut String, s: &ScenarioReport) {
    if s.checks.is_empty() {
        out.push_str("<p class=\"empty fail\">No check was decided.</p>");
        return;
    }
    out.push_str("<table class=\"checks\"><thead><tr><th></th><th>check</th><th>what was seen</th><th>took</th></tr></thead><tbody>");
    for check in &s.checks {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td class=\"mark\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            class(check.passed),
            if check.passed { "✓" } else { "✗" },
            text(&check.name),
            text(&check.detail),
            duration(check.duration_ms),
        );
    }
    out.push_str("</tbody></table>");
}

/// System fonts only: a web font would be a fetch.
const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#111827;background:#f9fafb}\
h1{font-size:28px;margin:0 0 12px}h2{font-size:22px;margin:0 0 4px}\
.banner{font-size:36px;font-weight:800;padding:14px 20px;border-radius:10px;color:#fff;letter-spacing:.05em}\
.banner span{font-size:18px;font-weight:500;letter-spacing:0;margin-left:16px}\
.banner.pass{background:#16a34a}.banner.fail{background:#dc2626}\
.meta{color:#4b5563;margin:8px 0 16px}\
table{border-collapse:collapse;width:100%;background:#fff;margin:12px 0}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e5e7eb;vertical-align:top}\
th{font-size:13px;color:#6b7280;font-weight:600}\
td.pass,tr.pass .mark{color:#16a34a;font-weight:700}td.fail,tr.fail .mark{color:#dc2626;font-weight:700}\
tr.fail{background:#fef2f2}\
.scenario{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:18px;margin:24px 0}\
.badge{font-size:14px;color:#fff;padding:3px 10px;border-radius:6px;vertical-align:middle}\
.badge.pass{background:#16a34a}.badge.fail{background:#dc2626}\
figure{margin:0}\
.chart{display:block;background:#fff}\
.chart .grid line{stroke:#e5e7eb}.chart .grid line.bound{stroke:#fca5a5;stroke-dasharray:4 3}.chart .grid .strip{text-anchor:start;fill:#dc2626}.chart .grid text{font-size:11px;fill:#6b7280}\
.chart .area polygon{opacity:.85}\
.chart .badge{font-size:10px;fill:#fff;font-weight:700}\
.chart .label{font-size:10px;fill:#374151;paint-order:stroke;stroke:#fff;stroke-width:3px}\
.chart .empty{font-size:16px;fill:#9ca3af}\
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:14px;margin:8px 0}\
.legend .note{color:#6b7280;font-size:12px}\
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:6px;vertical-align:-2px}\
.line{display:inline-block;width:20px;border-top:3px solid;margin-right:6px;vertical-align:4px}\
.line.dashed{border-top-style:dashed}\
.events{font-size:14px;columns:2;column-gap:32px;padding-left:28px}\
.events li{margin:2px 0;break-inside:avoid}\
.events time{font-variant-numeric:tabular-nums;color:#6b7280}\
.kind{color:#fff;font-size:11px;padding:1px 6px;border-radius:4px}\
.weight{color:#6b7280;font-size:12px}\
.empty{color:#6b7280}.empty.fail{color:#dc2626}\
.diagnostics pre{background:#111827;color:#e5e7eb;padding:12px;border-radius:6px;overflow:auto;font-size:12px;white-space:pre-wrap}\
@media print{body{background:#fff}.scenario{break-inside:avoid}}";
