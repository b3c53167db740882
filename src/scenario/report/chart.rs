//! The per-scenario SVG chart of the HTML report: share of successful traffic answered by
//! each version (stacked, per second) with the set weight as a step line, the error rate in
//! a strip below on its own scale (0.5% would be invisible on a 0–100% axis, and "< 1%" is
//! what the canary checks), and the rollout's events as numbered vertical markers across
//! both. Plain SVG, no script.

use super::escape::{attr, text};
use crate::scenario::model::{EventKind, RolloutEvent, ScenarioReport, TrafficSecond};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
/// Room above the plot for the marker numbers (two rows).
const TOP: f64 = 44.0;
/// Bottom of the share plot; the error strip sits below it, then the time axis.
const SHARE_BOTTOM: f64 = 290.0;
const STRIP_TOP: f64 = 308.0;
const STRIP_BOTTOM: f64 = 368.0;
/// Markers closer than this (px) go on the other badge row, and lose their inline label.
const MARKER_GAP: f64 = 16.0;

/// Colours by the version's place in `version_order`: the new version is the first.
const PALETTE: [&str; 6] = [
    "#f59e0b", "#3b82f6", "#8b5cf6", "#14b8a6", "#ec4899", "#84cc16",
];
pub const ERROR_COLOUR: &str = "#dc2626";
pub const WEIGHT_COLOUR: &str = "#111827";

pub fn version_colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

pub fn event_colour(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Released => "#374151",
        EventKind::Step | EventKind::Paused => "#6b7280",
        EventKind::AnalysisSuccessful | EventKind::Healthy => "#16a34a",
        EventKind::AnalysisFailed | EventKind::Aborted => "#dc2626",
        EventKind::Promoted => "#7c3aed",
    }
}

pub fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Released => "released",
        EventKind::Step => "step",
        EventKind::Paused => "paused",
        EventKind::AnalysisSuccessful => "analysis successful",
        EventKind::AnalysisFailed => "analysis failed",
        EventKind::Promoted => "promoted",
        EventKind::Aborted => "aborted",
        EventKind::Healthy => "healthy",
    }
}

/// Maps a domain interval onto a pixel interval (either may be reversed), clamping.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Linear {
    pub fn at(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return r0;
        }
        let t = ((v - d0) / (d1 - d0)).clamp(0.0, 1.0);
        r0 + t * (r1 - r0)
    }
}

/// A tick spacing in seconds that people read easily (5 s, 30 s, 1 min, 5 min …) giving
/// at most `max_ticks` intervals over `span` seconds.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    let max_ticks = max_ticks.max(1) as f64;
    STEPS
        .iter()
        .copied()
        .find(|step| span / step <= max_ticks)
        .unwrap_or_else(|| (span / max_ticks / 3600.0).ceil() * 3600.0)
}

/// 0, step, 2·step … up to and including `max`.
pub fn ticks(max: f64, step: f64) -> Vec<f64> {
    if step <= 0.0 || max < 0.0 {
        return vec![0.0];
    }
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= max + 1e-9)
        .collect()
}

/// Seconds as "m:ss" (or "h:mm:ss").
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The seconds the chart covers: the traffic, the events and the scenario's duration, at least 1.
pub fn span_seconds(s: &ScenarioReport) -> f64 {
    let traffic = s
        .timeline
        .iter()
        .map(|t| t.second as f64 + 1.0)
        .fold(0.0, f64::max);
    let events = s
        .events
        .iter()
        .map(|e| e.at_ms as f64 / 1000.0)
        .fold(0.0, f64::max);
    let duration = s.duration_ms as f64 / 1000.0;
    traffic.max(events).max(duration).max(1.0).ceil()
}

/// Versions bottom to top: the released version first, so the top of its band reads
/// directly against the set-weight line; the previous version last, on top; any other
/// version seen (a third one during a broken release) in between.
pub fn version_order(s: &ScenarioReport) -> Vec<String> {
    let seen: BTreeSet<&str> = s
        .timeline
        .iter()
        .flat_map(|t| t.by_version.keys().map(String::as_str))
        .collect();
    let mut order = vec![s.to_version.clone()];
    order.extend(
        seen.iter()
            .filter(|v| **v != s.to_version && **v != s.from_version)
            .map(|v| v.to_string()),
    );
    if s.from_version != s.to_version {
        order.push(s.from_version.clone());
    }
    order
}

/// Percent of this second's successful answers given by each version of `order`;
/// None when nothing succeeded (no share to show).
pub fn shares(second: &TrafficSecond, order: &[String]) -> Option<Vec<f64>> {
    let total: u32 = second.by_version.values().sum();
    if total == 0 {
        return None;
    }
    Some(
        order
            .iter()
            .map(|v| *second.by_version.get(v).unwrap_or(&0) as f64 * 100.0 / total as f64)
            .collect(),
    )
}

/// Percent of this second's requests that failed; None without requests.
pub fn error_rate(second: &TrafficSecond) -> Option<f64> {
    (second.requests > 0)
        .then(|| second.errors.min(second.requests) as f64 * 100.0 / second.requests as f64)
}

/// The set weight over time as (from s, to s, weight), from the events that set it.
pub fn weight_steps(events: &[RolloutEvent], end: f64) -> Vec<(f64, f64, u32)> {
    let mut changes: Vec<(f64, u32)> = events
        .iter()
        .filter_map(|e| e.set_weight.map(|w| (e.at_ms as f64 / 1000.0, w.min(100))))
        .collect();
    changes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut steps = Vec::with_capacity(changes.len());
    for (i, (start, weight)) in changes.iter().enumerate() {
        let until = changes.get(i + 1).map_or(end, |next| next.0).max(*start);
        steps.push((*start, until, *weight));
    }
    steps
}

/// The top of the error strip's scale (percent): the smallest of 1, 2, 5 … 100 that holds
/// the worst second, so a few failed requests show and 1% (the canary's bound) is on it.
pub fn error_scale(max_rate: f64) -> f64 {
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        .into_iter()
        .find(|top| max_rate <= *top)
        .unwrap_or(100.0)
}

/// Badge row (0 or 1) for markers at pixel positions `xs` (in time order): a marker close
/// to the previous one on its row moves to the other row; `crowded` is true when neither
/// row had room, or the next marker follows closely (no inline label then).
pub fn marker_rows(xs: &[f64], gap: f64) -> Vec<(usize, bool)> {
    let mut last = [f64::NEG_INFINITY; 2];
    let mut rows = Vec::with_capacity(xs.len());
    for (i, &x) in xs.iter().enumerate() {
        let row = if x - last[0] >= gap {
            0
        } else if x - last[1] >= gap {
            1
        } else {
            0
        };
        let crowded = x - last[row] < gap
            || xs.get(i + 1).is_some_and(|next| next - x < gap)
            || i > 0 && x - xs[i - 1] < gap;
        last[row] = x;
        rows.push((row, crowded));
    }
    rows
}

/// The chart for one scenario.
pub fn svg(s: &ScenarioReport) -> String {
    let span = span_seconds(s);
    let x = Linear {
        domain: (0.0, span),
        range: (LEFT, WIDTH - RIGHT),
    };
    let y = Linear {
        domain: (0.0, 100.0),
        range: (SHARE_BOTTOM, TOP),
    };
    let order = version_order(s);
    let timeline: BTreeMap<u32, &TrafficSecond> =
        s.timeline.iter().map(|t| (t.second, t)).collect();
    let worst = timeline
        .values()
        .filter_map(|t| error_rate(t))
        .fold(0.0, f64::max);
    let e = Linear {
        domain: (0.0, error_scale(worst)),
        range: (STRIP_BOTTOM, STRIP_TOP),
    };

    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        attr(&format!(
            "traffic share by version and error rate over time, scenario {}",
            s.name
        )),
    );
    grid(&mut out, &x, &y, &e, span);

    if timeline.is_empty() {
        let _ = write!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no traffic recorded</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            (TOP + SHARE_BOTTOM) / 2.0,
        );
    }
    areas(&mut out, &timeline, &order, &x, &y);
    errors(&mut out, &timeline, &x, &e);
    weight(&mut out, &s.events, span, &x, &y);
    markers(&mut out, &s.events, &x);
    out.push_str("</svg>");
    out
}

/// One horizontal line across the plot at height `py`, labelled `pct`% on the left.
fn gridline(out: &mut String, class: &str, py: f64, pct: f64) {
    let _ = write!(
        out,
        "<line{class} x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{pct}%</text>",
        WIDTH - RIGHT,
        LEFT - 6.0,
        py + 4.0,
    );
}

fn grid(out: &mut String, x: &Linear, y: &Linear, e: &Linear, span: f64) {
    out.push_str("<g class=\"grid\">");
    for pct in [0.0, 25.0, 50.0, 75.0, 100.0] {
        gridline(out, "", y.at(pct), pct);
    }
    // The error strip: its floor, its top and, when the top is above it, the 1% line.
    let top = e.domain.1;
    for (pct, class) in [(0.0, ""), (top, ""), (1.0, " class=\"bound\"")] {
        if pct == 1.0 && top <= 1.0 {
            continue;
        }
        gridline(out, class, e.at(pct), pct);
    }
    let _ = write!(
        out,
        "<text class=\"strip\" x=\"{:.1}\" y=\"{:.1}\">error rate</text>",
        LEFT + 4.0,
        STRIP_TOP + 10.0
    );
    for t in ticks(span, nice_step(span, 12)) {
        let px = x.at(t);
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            STRIP_BOTTOM,
            STRIP_BOTTOM + 5.0,
            STRIP_BOTTOM + 18.0,
            clock(t),
        );
    }
    out.push_str("</g>");
}

/// Consecutive seconds for which `value` is Some, as runs of (second, value).
fn runs<T>(
    timeline: &BTreeMap<u32, &TrafficSecond>,
    value: impl Fn(&TrafficSecond) -> Option<T>,
) -> Vec<Vec<(u32, T)>> {
    let mut runs: Vec<Vec<(u32, T)>> = Vec::new();
    for (&second, t) in timeline {
        let Some(v) = value(t) else { continue };
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(s, _)| s + 1 == second) => run.push((second, v)),
            _ => runs.push(vec![(second, v)]),
        }
    }
    runs
}

/// Each second is drawn flat over its width (a step shape): the data is per second, and
/// interpolating between seconds would invent shares no request saw.
fn areas(
    out: &mut String,
    timeline: &BTreeMap<u32, &TrafficSecond>,
    order: &[String],
    x: &Linear,
    y: &Linear,
) {
    let runs = runs(timeline, |t| shares(t, order));
    for (vi, version) in order.iter().enumerate() {
        let _ = write!(
            out,
            "<g class=\"area\" fill=\"{}\"><title>{}</title>",
            version_colour(vi),
            text(version)
        );
        for run in &runs {
            if run.iter().all(|(_, sh)| sh[vi] == 0.0) {
                continue;
            }
            let band = |sh: &Vec<f64>| {
                let lower: f64 = sh[..vi].iter().sum();
                (lower, lower + sh[vi])
            };
            let mut points = String::new();
            for (second, sh) in run {
                let upper = y.at(band(sh).1);
                let _ = write!(
                    points,
                    "{:.1},{upper:.1} {:.1},{upper:.1} ",
                    x.at(*second as f64),
                    x.at(*second as f64 + 1.0)
                );
            }
            for (second, sh) in run.iter().rev() {
                let lower = y.at(band(sh).0);
                let _ = write!(
                    points,
                    "{:.1},{lower:.1} {:.1},{lower:.1} ",
                    x.at(*second as f64 + 1.0),
                    x.at(*second as f64)
                );
            }
            let _ = write!(out, "<polygon points=\"{}\"/>", points.trim_end());
        }
        out.push_str("</g>");
    }
}

fn errors(out: &mut String, timeline: &BTreeMap<u32, &TrafficSecond>, x: &Linear, e: &Linear) {
    let _ = write!(
        out,
        "<g class=\"errors\" fill=\"none\" stroke=\"{ERROR_COLOUR}\" stroke-width=\"2\"><title>error rate</title>"
    );
    for run in runs(timeline, error_rate) {
        let mut points = String::new();
        for (second, rate) in run {
            let py = e.at(rate);
            let _ = write!(
                points,
                "{:.1},{py:.1} {:.1},{py:.1} ",
                x.at(second as f64),
                x.at(second as f64 + 1.0)
            );
        }
        let _ = write!(out, "<polyline points=\"{}\"/>", points.trim_end());
    }
    out.push_str("</g>");
}

fn weight(out: &mut String, events: &[RolloutEvent], span: f64, x: &Linear, y: &Linear) {
    let steps = weight_steps(events, span);
    if steps.is_empty() {
        return;
    }
    let mut points = String::new();
    for (from, to, w) in steps {
        let py = y.at(w as f64);
        let _ = write!(points, "{:.1},{py:.1} {:.1},{py:.1} ", x.at(from), x.at(to));
    }
    let _ = write!(
        out,
        "<polyline class=\"weight\" fill=\"none\" stroke=\"{WEIGHT_COLOUR}\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points=\"{}\"><title>set weight</title></polyline>",
        points.trim_end(),
    );
}

fn markers(out: &mut String, events: &[RolloutEvent], x: &Linear) {
    let mut sorted: Vec<(usize, &RolloutEvent)> = events.iter().enumerate().collect();
    sorted.sort_by_key(|(i, e)| (e.at_ms, *i));
    let xs: Vec<f64> = sorted
        .iter()
        .map(|(_, e)| x.at(e.at_ms as f64 / 1000.0))
        .collect();
    let rows = marker_rows(&xs, MARKER_GAP);
    for (((index, event), px), (row, crowded)) in sorted.iter().zip(&xs).zip(rows) {
        let colour = event_colour(event.kind);
        let number = index + 1;
        let badge_y = 10.0 + row as f64 * 16.0;
        let _ = write!(
            out,
            "<g class=\"marker {}\"><title>{number}. {} at {}: {}</title>\
             <line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>\
             <circle cx=\"{px:.1}\" cy=\"{badge_y:.1}\" r=\"7.5\" fill=\"{colour}\"/>\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"badge\">{number}</text>",
            event.kind.css(),
            event_name(event.kind),
            clock(event.at_ms as f64 / 1000.0),
            text(&event.label),
            badge_y + 7.5,
            STRIP_BOTTOM,
            badge_y + 3.5,
        );
        if !crowded {
            let _ = write!(
                out,
                "<text class=\"label\" transform=\"translate({:.1},{:.1}) rotate(-90)\" text-anchor=\"end\">{}</text>",
                px - 4.0,
                TOP + 4.0,
                text(&event.label),
            );
        }
        out.push_str("</g>");
    }
}

impl EventKind {
    /// A class name for the marker (kebab-case, like the JSON).
    fn css(self) -> &'static str {
        match self {
            EventKind::Released => "released",
            EventKind::Step => "step",
            EventKind::Paused => "paused",
            EventKind::AnalysisSuccessful => "analysis-successful",
            EventKind::AnalysisFailed => "analysis-failed",
            EventKind::Promoted => "promoted",
            EventKind::Aborted => "aborted",
            EventKind::Healthy => "healthy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(second: u32, requests: u32, errors: u32, by: &[(&str, u32)]) -> TrafficSecond {
        TrafficSecond {
            second,
            requests,
            errors,
            by_version: by.iter().map(|(v, n)| (v.to_string(), *n)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn linear_maps_ends_middle_and_clamps_also_when_reversed() {
        let y = Linear {
            domain: (0.0, 100.0),
            range: (300.0, 40.0),
        };
        assert_eq!(y.at(0.0), 300.0);
        assert_eq!(y.at(100.0), 40.0);
        assert_eq!(y.at(50.0), 170.0);
        assert_eq!(y.at(150.0), 40.0);
        assert_eq!(y.at(-5.0), 300.0);
        let flat = Linear {
            domain: (3.0, 3.0),
            range: (10.0, 20.0),
        };
        assert_eq!(flat.at(3.0), 10.0);
    }

    #[test]
    fn tick_steps_are_readable_and_bounded() {
        assert_eq!(nice_step(10.0, 12), 1.0);
        assert_eq!(nice_step(50.0, 12), 5.0);
        assert_eq!(nice_step(180.0, 12), 15.0);
        assert_eq!(nice_step(600.0, 12), 60.0);
        assert_eq!(nice_step(100_000.0, 12), 10_800.0);
        assert_eq!(ticks(30.0, 10.0), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(35.0, 10.0), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(5.0, 0.0), vec![0.0]);
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(75.4), "1:15");
        assert_eq!(clock(3725.0), "1:02:05");
    }

    #[test]
    fn shares_are_of_successful_answers_in_version_order() {
        let order = vec!["v2".to_string(), "v1".to_string()];
        let s = second(0, 20, 4, &[("v1", 12), ("v2", 4)]);
        assert_eq!(shares(&s, &order), Some(vec![25.0, 75.0]));
        assert_eq!(error_rate(&s), Some(20.0));
        assert_eq!(shares(&second(1, 5, 5, &[]), &order), None);
        assert_eq!(error_rate(&second(1, 5, 5, &[])), Some(100.0));
        assert_eq!(error_rate(&second(2, 0, 0, &[])), None);
    }

    #[test]
    fn released_version_is_bottom_and_previous_on_top() {
        let mut s = ScenarioReport {
            name: "canary".into(),
            environment: "staging".into(),
            from_version: "v1".into(),
            to_version: "v2".into(),
            duration_ms: 2500,
            checks: vec![],
            timeline: vec![
                second(0, 3, 0, &[("v1", 1), ("v2", 1), ("v0", 1)]),
                second(4, 1, 0, &[("v1", 1)]),
            ],
            events: vec![],
            diagnostics: None,
        };
        assert_eq!(version_order(&s), vec!["v2", "v0", "v1"]);
        assert_eq!(span_seconds(&s), 5.0);
        s.events.push(RolloutEvent {
            at_ms: 9_200,
            kind: EventKind::Healthy,
            label: "x".into(),
            set_weight: None,
        });
        assert_eq!(span_seconds(&s), 10.0);
    }

    #[test]
    fn set_weight_is_held_until_the_next_change() {
        let event = |at_ms, w| RolloutEvent {
            at_ms,
            kind: EventKind::Step,
            label: String::new(),
            set_weight: w,
        };
        let events = [
            event(2_000, Some(20)),
            event(3_000, None),
            event(10_000, Some(150)),
            event(0, Some(0)),
        ];
        assert_eq!(
            weight_steps(&events, 30.0),
            vec![(0.0, 2.0, 0), (2.0, 10.0, 20), (10.0, 30.0, 100)]
        );
        assert!(weight_steps(&[], 30.0).is_empty());
    }

    #[test]
    fn error_strip_scale_holds_the_worst_second_and_the_one_percent_bound() {
        assert_eq!(error_scale(0.0), 1.0);
        assert_eq!(error_scale(0.4), 1.0);
        assert_eq!(error_scale(1.3), 2.0);
        assert_eq!(error_scale(50.0), 50.0);
        assert_eq!(error_scale(52.0), 100.0);
    }

    #[test]
    fn close_markers_alternate_rows_and_drop_inline_labels() {
        let rows = marker_rows(&[100.0, 105.0, 110.0, 300.0], 16.0);
        assert_eq!(rows, vec![(0, true), (1, true), (0, true), (0, false)]);
    }
}
