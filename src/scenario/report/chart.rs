//! The per-scenario SVG chart of the HTML report: share of successful traffic answered by
//! each version (stacked, per second) with the set weight as a step line, the error rate in
//! a strip below on its own scale (0.5% would be invisible on a 0–100% axis, and "< 1%" is
//! what the canary checks), and the rollout's events as numbered markers across both, each
//! labelled in rows above the plot. Plain SVG, no script. Sizes are for a projector: text
//! is `FONT` units high in a `WIDTH`-unit-wide chart.

use super::escape::{attr, text};
use super::labels::{self, Side, Slot};
use super::scale::{Linear, clock, error_scale, nice_step, ticks};
use crate::scenario::model::{EventKind, RolloutEvent, ScenarioReport, TrafficSecond};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const WIDTH: f64 = 960.0;
/// Room for the percent labels left of the plot and for half a time label right of it.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 40.0;
/// Text size; the CSS (html.rs) gives every chart text this size.
pub const FONT: f64 = 15.0;
/// Marker labels: one row's height, the badge's radius, the longest label (characters).
const ROW: f64 = 30.0;
const BADGE: f64 = 12.0;
const LABEL_CHARS: usize = 28;
const PLOT_HEIGHT: f64 = 240.0;
/// Between the share plot and the error strip: the strip's title.
const STRIP_GAP: f64 = 34.0;
const STRIP_HEIGHT: f64 = 72.0;
/// Below the strip: the time labels.
const AXIS: f64 = 34.0;

/// Vertical layout: marker label rows on top, then the share plot, the error strip, the axis.
struct Frame {
    top: f64,
    share_bottom: f64,
    strip_top: f64,
    strip_bottom: f64,
    height: f64,
}

impl Frame {
    fn new(rows: usize) -> Frame {
        let top = 16.0 + rows as f64 * ROW + if rows > 0 { 12.0 } else { 0.0 };
        let share_bottom = top + PLOT_HEIGHT;
        let strip_top = share_bottom + STRIP_GAP;
        let strip_bottom = strip_top + STRIP_HEIGHT;
        Frame {
            top,
            share_bottom,
            strip_top,
            strip_bottom,
            height: strip_bottom + AXIS,
        }
    }

    /// The vertical centre of a marker label row (row 0 is nearest the plot).
    fn row_y(&self, row: usize) -> f64 {
        self.top - 12.0 - (row as f64 + 0.5) * ROW
    }
}

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

/// The chart for one scenario.
pub fn svg(s: &ScenarioReport) -> String {
    let span = span_seconds(s);
    let x = Linear {
        domain: (0.0, span),
        range: (LEFT, WIDTH - RIGHT),
    };
    let markers = Markers::place(&s.events, &x);
    let frame = Frame::new(markers.rows());
    let y = Linear {
        domain: (0.0, 100.0),
        range: (frame.share_bottom, frame.top),
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
        range: (frame.strip_bottom, frame.strip_top),
    };

    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        frame.height,
        attr(&format!(
            "traffic share by version and error rate over time, scenario {}",
            s.name
        )),
    );
    grid(&mut out, &frame, &x, &y, &e, span);

    if timeline.is_empty() {
        let _ = write!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no traffic recorded</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            (frame.top + frame.share_bottom) / 2.0,
        );
    }
    areas(&mut out, &timeline, &order, &x, &y);
    errors(&mut out, &timeline, &x, &e);
    weight(&mut out, &s.events, span, &x, &y);
    markers.draw(&mut out, &frame);
    out.push_str("</svg>");
    out
}

/// One horizontal line across the plot at height `py`, labelled `pct`% on the left.
fn gridline(out: &mut String, class: &str, py: f64, pct: f64) {
    let _ = write!(
        out,
        "<line{class} x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{pct}%</text>",
        WIDTH - RIGHT,
        LEFT - 8.0,
        py + FONT / 3.0,
    );
}

fn grid(out: &mut String, frame: &Frame, x: &Linear, y: &Linear, e: &Linear, span: f64) {
    out.push_str("<g class=\"grid\">");
    for pct in [0.0, 25.0, 50.0, 75.0, 100.0] {
        gridline(out, "", y.at(pct), pct);
    }
    // The error strip: its floor and top labelled on the left. The 1% bound is the top when
    // the scale is 1%; above that its own line is labelled on the right, where no other
    // label is (on a 50% scale it lies 1 unit above the floor).
    let top = e.domain.1;
    let bound = " class=\"bound\"";
    gridline(out, "", e.at(0.0), 0.0);
    gridline(out, if top <= 1.0 { bound } else { "" }, e.at(top), top);
    if top > 1.0 {
        let py = e.at(1.0);
        let _ = write!(
            out,
            "<line{bound} x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text class=\"bound-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">1%</text>",
            WIDTH - RIGHT,
            WIDTH - RIGHT - 4.0,
            py - 5.0,
        );
    }
    let _ = write!(
        out,
        "<text class=\"strip\" x=\"{LEFT:.1}\" y=\"{:.1}\">error rate (failed requests per second)</text>",
        frame.strip_top - 9.0
    );
    // As many time labels as fit with room between them.
    let room = labels::text_width(&clock(span), FONT) + 32.0;
    let max_ticks = ((WIDTH - LEFT - RIGHT) / room).floor() as usize;
    for t in ticks(span, nice_step(span, max_ticks)) {
        let px = x.at(t);
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.strip_bottom,
            frame.strip_bottom + 5.0,
            frame.strip_bottom + 6.0 + FONT,
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

/// The rollout's events as numbered markers: a line at the event's time through both plots,
/// and above the plot a badge with the number (as in the event list) and a short label.
struct Markers<'a> {
    /// (number, event, x, where its label goes), in time order.
    placed: Vec<(usize, &'a RolloutEvent, f64, Slot, String)>,
}

impl<'a> Markers<'a> {
    fn place(events: &'a [RolloutEvent], x: &Linear) -> Markers<'a> {
        let mut sorted: Vec<(usize, &RolloutEvent)> = events.iter().enumerate().collect();
        sorted.sort_by_key(|(i, e)| (e.at_ms, *i));
        let xs: Vec<f64> = sorted
            .iter()
            .map(|(_, e)| x.at(e.at_ms as f64 / 1000.0))
            .collect();
        let texts: Vec<String> = sorted.iter().map(|(_, e)| short_label(e)).collect();
        let widths: Vec<f64> = texts
            .iter()
            .map(|t| 2.0 * BADGE + 6.0 + labels::text_width(t, FONT))
            .collect();
        let slots = labels::stack(&xs, &widths, (4.0, WIDTH - 4.0));
        let placed = sorted
            .into_iter()
            .zip(xs)
            .zip(slots)
            .zip(texts)
            .map(|((((i, e), px), slot), text)| (i + 1, e, px, slot, text))
            .collect();
        Markers { placed }
    }

    fn rows(&self) -> usize {
        self.placed
            .iter()
            .map(|(_, _, _, slot, _)| slot.row + 1)
            .max()
            .unwrap_or(0)
    }

    /// Lines first, then badges and labels, so no line is drawn over a label.
    fn draw(&self, out: &mut String, frame: &Frame) {
        for (_, event, px, slot, _) in &self.placed {
            let _ = write!(
                out,
                "<line class=\"marker-line\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.5\"/>",
                frame.row_y(slot.row),
                frame.strip_bottom,
                event_colour(event.kind),
            );
        }
        for (number, event, px, slot, label) in &self.placed {
            let cy = frame.row_y(slot.row);
            let (dir, anchor) = match slot.side {
                Side::Right => (1.0, "start"),
                Side::Left => (-1.0, "end"),
            };
            let badge_x = px + dir * (4.0 + BADGE);
            let label_x = px + dir * (4.0 + 2.0 * BADGE + 6.0);
            let _ = write!(
                out,
                "<g class=\"marker {}\"><title>{number}. {} at {}: {}</title>\
                 <line x1=\"{px:.1}\" x2=\"{badge_x:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>\
                 <circle cx=\"{badge_x:.1}\" cy=\"{cy:.1}\" r=\"{BADGE}\" fill=\"{colour}\"/>\
                 <text class=\"badge\" x=\"{badge_x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{number}</text>\
                 <text class=\"label\" x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
                event.kind.css(),
                event_name(event.kind),
                clock(event.at_ms as f64 / 1000.0),
                text(&event.label),
                cy + FONT / 3.0,
                cy + FONT / 3.0,
                text(label),
                colour = event_colour(event.kind),
            );
        }
    }
}

/// What a marker says on the chart; the event list below has the whole label.
/// "step 4/9: setWeight 40" → "setWeight 40", "AnalysisRun demo-app-6f9-2 Successful" →
/// "analysis Successful", "release v1.0.2 (error-rate=0.5) to staging" → "release v1.0.2".
pub fn short_label(event: &RolloutEvent) -> String {
    let label = event.label.as_str();
    let short = match event.kind {
        EventKind::Step => label
            .split_once(": ")
            .map_or(label, |(_, what)| what)
            .to_string(),
        EventKind::Released => label.split(' ').take(2).collect::<Vec<_>>().join(" "),
        EventKind::AnalysisSuccessful => "analysis Successful".to_string(),
        EventKind::AnalysisFailed => "analysis Failed".to_string(),
        EventKind::Aborted => "aborted".to_string(),
        EventKind::Promoted => "promoted".to_string(),
        EventKind::Healthy => "Healthy".to_string(),
        EventKind::Paused => label.to_string(),
    };
    labels::truncate(&short, LABEL_CHARS)
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
    fn markers_say_briefly_what_happened() {
        let event = |kind, label: &str| RolloutEvent {
            at_ms: 0,
            kind,
            label: label.into(),
            set_weight: None,
        };
        let short = |kind, label| short_label(&event(kind, label));
        assert_eq!(
            short(EventKind::Step, "step 4/9: setWeight 40"),
            "setWeight 40"
        );
        assert_eq!(short(EventKind::Step, "set weight 40"), "set weight 40");
        assert_eq!(
            short(
                EventKind::Released,
                "release v1.0.2 (error-rate=0.5) to staging"
            ),
            "release v1.0.2"
        );
        assert_eq!(
            short(
                EventKind::AnalysisFailed,
                "AnalysisRun demo-app-6f9-2 Failed"
            ),
            "analysis Failed"
        );
        assert_eq!(
            short(EventKind::Aborted, "aborted: RolloutAborted: …"),
            "aborted"
        );
        assert_eq!(
            short(EventKind::Paused, "paused: BlueGreenPause"),
            "paused: BlueGreenPause"
        );
        assert_eq!(
            short(
                EventKind::Paused,
                "paused: SomeVeryLongPauseReasonFromTheFuture"
            )
            .chars()
            .count(),
            LABEL_CHARS
        );
    }
}
