//! The self-contained HTML report (`--report PATH.html`): what a workshop host puts on a
//! screen. One file, inline CSS and inline SVG, no script and nothing fetched, so it opens
//! from a CI artifact or a USB stick offline. The markup is also well-formed XML (every
//! element closed, only XML's own entities), which keeps it checkable by an XML parser.

use super::chart::{self, ERROR_COLOUR, WEIGHT_COLOUR};
use super::escape::{attr, text};
use super::format::{local_time, verdict};
use super::scale::clock;
use crate::report::format_elapsed as duration;
use crate::scenario::model::{RunReport, ScenarioReport};
use std::fmt::Write;
use time::UtcOffset;

/// The whole report as one HTML document. Times of day are shown at `offset` (the machine's
/// zone when the run started, `super::local_offset`), or in UTC, saying so, without one.
pub fn html(report: &RunReport, offset: Option<UtcOffset>) -> String {
    let passed = report.passed();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>kindling scenarios: {}</title><style>{CSS}</style></head><body>",
        verdict(passed),
    );
    out.push_str("<header><h1>kindling — delivery scenarios</h1>");
    banner(&mut out, report);
    let _ = write!(
        out,
        "<p class=\"meta\">profile <b>{}</b> · started <b><time datetime=\"{}\">{}</time></b> · took <b>{}</b></p></header>",
        text(&report.profile),
        attr(&report.started_at),
        text(&local_time(&report.started_at, offset)),
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

/// The verdict, the counts and, by name, every failed check (linked to its scenario), or
/// why no scenario ran: what the room reads first.
fn banner(out: &mut String, report: &RunReport) {
    let passed = report.passed();
    let checks = report.checks().count();
    let failed = report.checks().filter(|c| !c.passed).count();
    let summary = if report.not_started.is_some() {
        "no scenario ran".to_string()
    } else if failed > 0 {
        format!(
            "{} of {checks} checks passed, {failed} failed",
            checks - failed
        )
    } else {
        format!("{checks} of {checks} checks passed")
    };
    let _ = write!(
        out,
        "<div class=\"banner {}\"><p class=\"verdict\">{} <span>{summary}</span></p>",
        class(passed),
        verdict(passed),
    );
    if let Some(not_started) = &report.not_started {
        let _ = write!(out, "<p class=\"cause\">{}</p>", text(&not_started.error));
        for hint in &not_started.hints {
            let _ = write!(out, "<p class=\"hint\">hint: {}</p>", text(hint));
        }
    }
    if failed > 0 {
        out.push_str("<ul class=\"failed\">");
        for (i, s) in report.scenarios.iter().enumerate() {
            for check in s.checks.iter().filter(|c| !c.passed) {
                let _ = write!(
                    out,
                    "<li>✗ <a href=\"#scenario-{i}\">{}: {}</a></li>",
                    text(&s.name),
                    text(&check.name),
                );
            }
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
}

fn overview(out: &mut String, report: &RunReport) {
    if report.scenarios.is_empty() {
        // Why is in the banner.
        out.push_str("<p class=\"empty fail\">No scenario ran.</p>");
        return;
    }
    out.push_str("<table class=\"overview\"><thead><tr><th>scenario</th><th>environment</th><th>release</th><th>checks</th><th>took</th><th>result</th></tr></thead><tbody>");
    for (i, s) in report.scenarios.iter().enumerate() {
        let ok = s.checks.iter().filter(|c| c.passed).count();
        let _ = write!(
            out,
            "<tr><td><a href=\"#scenario-{i}\">{}</a></td><td>{}</td><td>{} → {}</td><td>{ok}/{}</td><td class=\"took\">{}</td><td class=\"{}\">{}</td></tr>",
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
         <span class=\"note\">share of successful requests per second; markers numbered as in the list below</span>",
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
            clock(event.at_ms as f64 / 1000.0),
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
            "<tr class=\"{}\"><td class=\"mark\">{}</td><td>{}</td><td>{}</td><td class=\"took\">{}</td></tr>",
            class(check.passed),
            if check.passed { "✓" } else { "✗" },
            text(&check.name),
            text(&check.detail),
            duration(check.duration_ms),
        );
    }
    out.push_str("</tbody></table>");
}

/// System fonts only: a web font would be a fetch. Sized for a projector: no text under
/// 16px at 1280 px wide (tests/scenario_report_browser.rs measures it); chart text is
/// `chart::FONT` units of a 960-unit-wide chart, drawn at least 1050 px wide there.
const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;font-size:18px;line-height:1.4;margin:0 auto;max-width:1100px;padding:24px;color:#111827;background:#f9fafb}\
h1{font-size:30px;margin:0 0 12px}h2{font-size:26px;margin:0 0 4px}\
.banner{padding:14px 20px;border-radius:10px;color:#fff}\
.banner p{margin:0}.banner .verdict{font-size:40px;font-weight:800;letter-spacing:.05em;line-height:1.2}\
.banner .verdict span{font-size:22px;font-weight:500;letter-spacing:0;margin-left:16px}\
.banner .cause{font-size:22px;margin-top:8px;white-space:pre-wrap}.banner .hint{font-size:20px;margin-top:4px}\
.banner ul{margin:8px 0 0;padding:0;list-style:none;font-size:22px;font-weight:600}\
.banner a{color:inherit}\
.banner.pass{background:#15803d}.banner.fail{background:#b91c1c}\
.meta{color:#374151;margin:8px 0 16px}\
table{border-collapse:collapse;width:100%;background:#fff;margin:12px 0}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e5e7eb;vertical-align:top}\
th{font-size:16px;color:#4b5563;font-weight:600}td.took{white-space:nowrap}\
td.pass,tr.pass .mark{color:#15803d;font-weight:700}td.fail,tr.fail .mark{color:#b91c1c;font-weight:700}\
tr.fail{background:#fef2f2}\
.scenario{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:18px;margin:24px 0}\
.badge{font-size:18px;color:#fff;padding:3px 10px;border-radius:6px;vertical-align:middle}\
.badge.pass{background:#15803d}.badge.fail{background:#b91c1c}\
figure{margin:0}\
.chart{display:block;background:#fff}\
.chart text{font-size:15px}\
.chart .grid line{stroke:#e5e7eb}.chart .grid line.bound{stroke:#f87171;stroke-dasharray:5 4}.chart .grid text{fill:#4b5563}\
.chart .grid .strip,.chart .grid .bound-label{fill:#b91c1c}\
.chart .area polygon{opacity:.85}\
.chart .marker-line{opacity:.8}\
.chart .badge{font-weight:700;fill:#fff}\
.chart .label,.chart .bound-label{fill:#111827;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}\
.chart .bound-label{fill:#b91c1c}\
.chart .empty{font-size:20px;fill:#6b7280}\
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:18px;margin:8px 0}\
.legend .note{color:#4b5563;font-size:16px}\
.swatch{display:inline-block;width:16px;height:16px;border-radius:3px;margin-right:6px;vertical-align:-2px}\
.line{display:inline-block;width:22px;border-top:3px solid;margin-right:6px;vertical-align:5px}\
.line.dashed{border-top-style:dashed}\
.events{font-size:18px;columns:2;column-gap:32px;padding-left:36px}\
.events li{margin:2px 0;break-inside:avoid}\
.events time{font-variant-numeric:tabular-nums;color:#4b5563}\
.kind{color:#fff;font-size:16px;padding:1px 6px;border-radius:4px}\
.weight{color:#4b5563;font-size:16px}\
.empty{color:#4b5563}.empty.fail{color:#b91c1c}\
.diagnostics summary{font-size:18px;font-weight:600;cursor:pointer}\
.diagnostics pre{background:#111827;color:#e5e7eb;padding:12px;border-radius:6px;overflow:auto;font-size:16px;line-height:1.35;white-space:pre-wrap}\
@media print{body{background:#fff}.scenario{break-inside:avoid}}";
