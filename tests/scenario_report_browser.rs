//! The HTML report as a workshop projector shows it: rendered from recorded runs and laid
//! out by headless Chromium at 1280×720, where a script measures every piece of text. No
//! text covers other text, none is smaller than the back of the room can read, none is cut
//! off, and the banner names every failed check.

mod browser_support;
mod support;

use browser_support::{chromium, lay_out, runs};
use kindling::scenario::report::html;
use time::macros::offset;

#[test]
fn the_layout_check_sees_overlapping_small_and_clipped_text() {
    let Some(chromium) = chromium() else { return };
    let page = "<!DOCTYPE html><html><head><style>body{font-size:18px}</style></head><body>\
        <p>enough text to measure</p><p>one</p><p>two</p><p>three</p><p>four</p><p>five</p>\
        <p>six</p><p>seven</p><p>eight</p><p>nine</p>\
        <svg viewBox=\"0 0 200 100\" width=\"400\"><text x=\"10\" y=\"50\" font-size=\"10\">0%</text>\
        <text x=\"12\" y=\"51\" font-size=\"10\">1%</text>\
        <text x=\"190\" y=\"80\" font-size=\"10\">cut off at the edge</text></svg>\
        <p style=\"font-size:11px\">tiny</p></body></html>";
    let layout = lay_out(&chromium, page);
    let overlaps = layout.list("overlaps");
    assert_eq!(overlaps.len(), 1, "{}", layout.json);
    assert_eq!(overlaps[0][0]["text"], "0%");
    assert_eq!(overlaps[0][1]["text"], "1%");
    let small: Vec<&str> = layout
        .list("small")
        .iter()
        .filter_map(|t| t["text"].as_str())
        .collect();
    assert_eq!(
        small,
        ["tiny"],
        "SVG text is measured after scaling (10 → 20px)"
    );
    let clipped: Vec<&str> = layout
        .list("clipped")
        .iter()
        .filter_map(|t| t["text"].as_str())
        .collect();
    assert_eq!(clipped, ["cut off at the edge"]);
}

#[test]
fn a_failing_smoke_run_reads_from_the_back_of_the_room() {
    let Some(chromium) = chromium() else { return };
    let report = runs::failing_run();
    // Without the machine's zone: the longest start time ("… UTC (local time zone unknown)").
    let layout = lay_out(&chromium, &html(&report, None));
    layout.assert_readable("failing smoke run");
    let events: usize = report.scenarios.iter().map(|s| s.events.len()).sum();
    assert_eq!(
        layout.markers(),
        (events as u64, events as u64),
        "every marker labelled, also four within half a second"
    );
    let banner = layout.banner();
    assert!(banner.contains("FAIL"), "{banner}");
    let failed = runs::failed_checks(&report);
    assert_eq!(failed.len(), 4);
    for (scenario, check) in failed {
        assert!(
            banner.contains(&format!("{scenario}: {check}")),
            "the banner names {scenario}: {check}:\n{banner}"
        );
    }
}

#[test]
fn a_passing_smoke_run_reads_from_the_back_of_the_room() {
    let Some(chromium) = chromium() else { return };
    let layout = lay_out(&chromium, &html(&runs::passing_run(), Some(offset!(-8))));
    layout.assert_readable("passing smoke run");
    let (markers, labelled) = layout.markers();
    assert_eq!(markers, labelled);
    assert!(layout.banner().contains("PASS"), "{}", layout.banner());
}

#[test]
fn a_run_that_could_not_start_says_why_in_the_banner() {
    let Some(chromium) = chromium() else { return };
    let report = runs::not_started_run();
    let layout = lay_out(&chromium, &html(&report, Some(offset!(+1))));
    layout.assert_readable("run that could not start");
    let banner = layout.banner();
    let not_started = report.not_started.unwrap();
    assert!(banner.contains("no scenario ran"), "{banner}");
    assert!(banner.contains(&not_started.error), "{banner}");
    assert!(
        banner.contains(&format!("hint: {}", not_started.hints[0])),
        "{banner}"
    );
}
